//! The CSV this importer reads: one record per line, comma-separated, fields optionally in double
//! quotes (a quote inside a quoted field is doubled), as spreadsheets export it. Records spanning
//! lines are not supported: token values never contain line breaks.

/// Splits one line into fields. The error says where, never what (the line holds tokens).
pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_start => quoted = true,
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => {
                quoted = false;
                if !matches!(chars.peek(), None | Some(',')) {
                    return Err(format!(
                        "field {} has text after its closing quote",
                        fields.len() + 1
                    ));
                }
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
                continue;
            }
            _ => field.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err(format!("field {} has no closing quote", fields.len() + 1));
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_quoted_fields() {
        assert_eq!(split("a,b,,c").unwrap(), ["a", "b", "", "c"]);
        assert_eq!(
            split(r#""a,1","say ""hi""",x"#).unwrap(),
            ["a,1", r#"say "hi""#, "x"]
        );
        assert_eq!(split("a,b\r").unwrap(), ["a", "b"]);
        assert_eq!(split("").unwrap(), [""]);
    }

    #[test]
    fn broken_quotes_are_reported_by_position() {
        assert_eq!(
            split(r#"a,"secret"#).unwrap_err(),
            "field 2 has no closing quote"
        );
        assert_eq!(
            split(r#""secret"x,b"#).unwrap_err(),
            "field 1 has text after its closing quote"
        );
    }
}
