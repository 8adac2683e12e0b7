//! Policy documents as services return them. IAM's `GetRolePolicy` gives URL-encoded JSON on real
//! AWS; the local stand-in (moto) gives a Python `repr` (`{'Version': '2012-10-17', ...}`); SQS
//! gives plain JSON. [`parse`] reads all three; [`normalize`] makes equal policies compare equal.

use serde_json::Value;

/// The document as JSON, from JSON, URL-encoded JSON or a Python literal.
pub fn parse(raw: &str) -> Result<Value, String> {
    if let Ok(v) = serde_json::from_str(raw) {
        return Ok(v);
    }
    let decoded = percent_decode(raw);
    if let Ok(v) = serde_json::from_str(&decoded) {
        return Ok(v);
    }
    serde_json::from_str(&python_to_json(&decoded))
        .map_err(|e| format!("the policy document is neither JSON nor a Python literal ({e})"))
}

/// One-element lists become their element (IAM treats `"Action": "x"` and `["x"]` alike);
/// objects compare by key already.
pub fn normalize(value: &Value) -> Value {
    match value {
        Value::Array(items) if items.len() == 1 => normalize(&items[0]),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        other => other.clone(),
    }
}

fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A Python literal of dicts, lists, strings, numbers, `True`/`False`/`None` as JSON text.
fn python_to_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                let mut s = String::new();
                while let Some(ch) = chars.next() {
                    match ch {
                        '\\' => {
                            if let Some(esc) = chars.next() {
                                s.push(if esc == 'n' { '\n' } else { esc });
                            }
                        }
                        q if q == c => break,
                        other => s.push(other),
                    }
                }
                out.push_str(&Value::String(s).to_string());
            }
            c if c.is_ascii_alphabetic() => {
                let mut word = String::from(c);
                while let Some(&n) = chars.peek().filter(|n| n.is_ascii_alphanumeric()) {
                    word.push(n);
                    chars.next();
                }
                out.push_str(match word.as_str() {
                    "True" => "true",
                    "False" => "false",
                    "None" => "null",
                    other => other,
                });
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_json_url_encoded_and_python_repr() {
        let want = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*"}]});
        let plain = want.to_string();
        assert_eq!(parse(&plain).unwrap(), want);
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGet%2A%22%7D%5D%7D";
        assert_eq!(parse(encoded).unwrap(), want);
        let repr =
            "{'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 's3:Get*'}]}";
        assert_eq!(parse(repr).unwrap(), want);
        let flags = "{'a': True, 'b': None, 'c': \"it's\"}";
        assert_eq!(
            parse(flags).unwrap(),
            json!({"a": true, "b": null, "c": "it's"})
        );
        assert!(parse("<xml/>").is_err());
    }

    #[test]
    fn single_item_lists_equal_their_item() {
        let a = json!({"Action": ["sqs:SendMessage"], "Resource": ["a", "b"]});
        let b = json!({"Action": "sqs:SendMessage", "Resource": ["a", "b"]});
        assert_eq!(normalize(&a), normalize(&b));
        assert_ne!(
            normalize(&a),
            normalize(&json!({"Action": "sqs:*", "Resource": ["a", "b"]}))
        );
    }
}
