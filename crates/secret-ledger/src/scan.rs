//! The scan: every ledger value searched for at once (Aho-Corasick) in captured text, as it is,
//! URL-encoded (either case of hex digits) and JSON-escaped (`\/`), with the XML entities of a
//! `JUnit` report undone first. A hit names the file, the
//! line, the test case and where the value came from, never the value.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use aho_corasick::{AhoCorasick, MatchKind};

/// Values shorter than this are not searched: they would match ordinary text. Every value the
/// suite's fakes issue is far longer (`tiktok-rt-` and 43 random characters).
pub const MIN_LEN: usize = 8;

/// One recorded value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    pub label: String,
    pub value: String,
}

/// The ledger's `label<TAB>value` lines; other lines are ignored.
#[must_use]
pub fn parse_ledger(text: &str) -> Vec<Secret> {
    text.lines()
        .filter_map(|line| line.split_once('\t'))
        .map(|(label, value)| Secret {
            label: label.to_owned(),
            value: value.to_owned(),
        })
        .collect()
}

/// A recorded value found in captured text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<'s> {
    pub offset: usize,
    /// Where the value came from (its first label).
    pub label: &'s str,
    pub value_len: usize,
}

/// The searcher over a ledger's distinct values.
pub struct Scanner {
    matcher: AhoCorasick,
    /// Pattern index -> (label, value length).
    owners: Vec<(String, usize)>,
    values: usize,
    too_short: usize,
}

impl Scanner {
    /// # Errors
    /// When the automaton cannot be built (far beyond any ledger's size).
    pub fn new(secrets: &[Secret]) -> Result<Self, String> {
        let mut distinct: BTreeMap<&str, &str> = BTreeMap::new();
        for secret in secrets {
            distinct
                .entry(secret.value.as_str())
                .or_insert(secret.label.as_str());
        }
        let mut patterns = Vec::new();
        let mut owners = Vec::new();
        let mut too_short = 0;
        for (value, label) in &distinct {
            if value.len() < MIN_LEN {
                too_short += 1;
                continue;
            }
            let mut forms = vec![(*value).to_owned()];
            let encoded = percent_encode(value);
            forms.push(encoded.to_ascii_lowercase());
            forms.push(encoded);
            forms.push(value.replace('/', "\\/"));
            forms.sort();
            forms.dedup();
            for form in forms {
                patterns.push(form);
                owners.push(((*label).to_owned(), value.len()));
            }
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .map_err(|err| format!("cannot build the matcher: {err}"))?;
        Ok(Self {
            matcher,
            owners,
            values: distinct.len() - too_short,
            too_short,
        })
    }

    /// Distinct values searched.
    #[must_use]
    pub fn values(&self) -> usize {
        self.values
    }

    /// Distinct values too short to search ([`MIN_LEN`]).
    #[must_use]
    pub fn too_short(&self) -> usize {
        self.too_short
    }

    /// Every recorded value in `text`.
    #[must_use]
    pub fn find(&self, text: &str) -> Vec<Hit<'_>> {
        self.matcher
            .find_iter(text)
            .map(|m| {
                let (label, value_len) = &self.owners[m.pattern().as_usize()];
                Hit {
                    offset: m.start(),
                    label,
                    value_len: *value_len,
                }
            })
            .collect()
    }
}

/// `value` as it appears in a URL or a form body: everything but RFC 3986's unreserved
/// characters as `%XX`.
#[must_use]
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The text of an XML document with its five named entities and numeric references undone, so a
/// value holding `&`, `<` or `"` is found as the test printed it.
#[must_use]
pub fn xml_unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let entity = rest
            .get(1..)
            .and_then(|r| r.find(';').filter(|&end| end <= 10).map(|end| &r[..end]));
        let decoded = entity.and_then(|name| match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => name
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        });
        if let (Some(name), Some(c)) = (entity, decoded) {
            out.push(c);
            rest = &rest[name.len() + 2..];
        } else {
            out.push('&');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The 1-based line of `offset` in `text`.
#[must_use]
pub fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// The `JUnit` test case whose output holds `offset`: the last `<testcase` opened before it, as
/// `classname name`.
#[must_use]
pub fn junit_case_at(text: &str, offset: usize) -> Option<String> {
    let head = text.get(..offset)?;
    let start = head.rfind("<testcase ")?;
    let tag = &head[start..];
    let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
    let attribute = |name: &str| {
        let key = format!("{name}=\"");
        let from = tag.find(&key)? + key.len();
        let to = tag[from..].find('"')? + from;
        Some(xml_unescape(&tag[from..to]).into_owned())
    };
    match (attribute("classname"), attribute("name")) {
        (Some(class), Some(name)) => Some(format!("{class} {name}")),
        (None, Some(name)) => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(label: &str, value: &str) -> Secret {
        Secret {
            label: label.to_owned(),
            value: value.to_owned(),
        }
    }

    #[test]
    fn ledger_lines_are_label_tab_value() {
        let parsed = parse_ledger("fakes:tiktok:rt\ttiktok-rt-abc123456\nbroken line\n");
        assert_eq!(parsed, [secret("fakes:tiktok:rt", "tiktok-rt-abc123456")]);
    }

    #[test]
    fn a_value_is_found_as_it_is_and_url_encoded() {
        let scanner = Scanner::new(&[
            secret("a", "tiktok-rt-AAAAAAAA"),
            secret("b", "s3cr+t/value=="),
            secret("short", "abc"),
        ])
        .unwrap();
        assert_eq!((scanner.values(), scanner.too_short()), (2, 1));
        let text = "ok\nrefresh_token=s3cr%2Bt%2Fvalue%3D%3D&x=1 then tiktok-rt-AAAAAAAA.";
        let hits = scanner.find(text);
        let labels: Vec<&str> = hits.iter().map(|h| h.label).collect();
        assert_eq!(labels, ["b", "a"]);
        assert_eq!(line_of(text, hits[1].offset), 2);
        assert!(scanner.find("abc and tiktok-rt-AAAA").is_empty());
        // Lower-case hex digits, and a JSON writer's escaped slash.
        assert_eq!(scanner.find("v=s3cr%2bt%2fvalue%3d%3d").len(), 1);
        assert_eq!(scanner.find(r#"{"t":"s3cr+t\/value=="}"#).len(), 1);
    }

    #[test]
    fn a_value_recorded_twice_is_searched_once_under_its_first_label() {
        let scanner = Scanner::new(&[
            secret("first", "value-12345"),
            secret("again", "value-12345"),
        ])
        .unwrap();
        assert_eq!(scanner.values(), 1);
        assert_eq!(scanner.find("x value-12345 y")[0].label, "first");
    }

    #[test]
    fn xml_entities_are_undone_before_the_search() {
        let xml = "<system-err>tok&amp;en=&quot;a&lt;b&#62;&#x21;&quot; &bogus; &</system-err>";
        assert_eq!(
            xml_unescape(xml),
            "<system-err>tok&en=\"a<b>!\" &bogus; &</system-err>"
        );
        let scanner = Scanner::new(&[secret("x", "tok&en=\"a<b>!")]).unwrap();
        assert_eq!(scanner.find(&xml_unescape(xml)).len(), 1);
    }

    #[test]
    fn a_hit_in_a_junit_report_names_its_test_case() {
        let xml = r#"<testsuite><testcase name="first" classname="deployer::a"><system-out>fine</system-out></testcase><testcase name="leaky" classname="deployer::b"><system-err>tiktok-rt-LEAKED-1</system-err></testcase></testsuite>"#;
        let scanner = Scanner::new(&[secret("fakes", "tiktok-rt-LEAKED-1")]).unwrap();
        let hits = scanner.find(xml);
        assert_eq!(hits.len(), 1);
        assert_eq!(
            junit_case_at(xml, hits[0].offset).as_deref(),
            Some("deployer::b leaky")
        );
    }
}
