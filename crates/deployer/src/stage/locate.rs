//! Finds the line of a field in a stage file, so errors can say `stages/prod.yaml:14`.
//!
//! serde's YAML value carries no positions, and stage files are small block-style mappings
//! (sometimes with a flow mapping per entry), so an indentation walk over the text finds a key's
//! line exactly for those and the nearest enclosing key's line otherwise.

/// The 1-based line of the deepest key of `path` (e.g. `["providers", "reddit", "window"]`) that
/// can be found, or `None` if not even the first key is in the text.
pub(super) fn line_of(text: &str, path: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found: Option<usize> = None;
    let mut start = 0;
    let mut parent_indent: Option<usize> = None;
    for segment in path {
        match find_key(&lines, start, parent_indent, segment) {
            Some((index, indent)) => {
                found = Some(index + 1);
                start = index + 1;
                parent_indent = Some(indent);
            }
            // Not a block key: it sits in a flow mapping on the parent's line
            // (`tiktok: { window: 12h }`), or is missing; the parent's line is the best answer.
            None => break,
        }
    }
    found
}

/// First line at or after `start`, inside the parent block, that is the key `key`.
fn find_key(
    lines: &[&str],
    start: usize,
    parent_indent: Option<usize>,
    key: &str,
) -> Option<(usize, usize)> {
    for (index, line) in lines.iter().enumerate().skip(start) {
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') || body.starts_with("---") {
            continue;
        }
        let indent = line.len() - body.len();
        if parent_indent.is_some_and(|p| indent <= p) {
            return None; // left the parent's block
        }
        if is_key(body, key) {
            return Some((index, indent));
        }
    }
    None
}

fn is_key(body: &str, key: &str) -> bool {
    [key.to_owned(), format!("\"{key}\""), format!("'{key}'")]
        .iter()
        .any(|k| {
            body.strip_prefix(k.as_str())
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
stage: prod
# comment
function:
  memory_mb: 256
providers:
  tiktok: { window: 12h, schedule: rate(15 minutes) }
  reddit:
    window: 20m
    schedule: rate(15 minutes)
tags:
  window: x
";

    #[test]
    fn finds_block_keys() {
        assert_eq!(line_of(TEXT, &["stage"]), Some(1));
        assert_eq!(line_of(TEXT, &["function", "memory_mb"]), Some(4));
        assert_eq!(line_of(TEXT, &["providers", "reddit", "window"]), Some(8));
    }

    #[test]
    fn flow_mapping_keys_point_at_their_entry() {
        assert_eq!(line_of(TEXT, &["providers", "tiktok", "window"]), Some(6));
    }

    #[test]
    fn stays_inside_the_parent_block() {
        // `window` under `tags` is not `providers.reddit.window`'s sibling.
        assert_eq!(line_of(TEXT, &["function", "window"]), Some(3));
        assert_eq!(line_of(TEXT, &["nothing"]), None);
    }
}
