//! The README's "Using the tokens from your app" snippets are taken from the readers' example
//! files, which the readers' own suites run: every code line of each snippet must stand in its
//! example (so the README cannot drift from code that is tested).

#![allow(clippy::unwrap_used)]

use testkit::tools::project_root;

/// The code lines of the README's first fenced block of `language` after `heading`.
fn snippet(readme: &str, heading: &str, language: &str) -> Vec<String> {
    let section = &readme[readme.find(heading).unwrap()..];
    let fence = format!("```{language}\n");
    let start = section.find(&fence).unwrap() + fence.len();
    let end = start + section[start..].find("```").unwrap();
    section[start..end]
        .lines()
        .map(|line| {
            line.split(" //")
                .next()
                .unwrap()
                .split("  #")
                .next()
                .unwrap()
                .trim()
                .to_owned()
        })
        // Imports are shown for context; an example may group them.
        .filter(|line| {
            !line.is_empty() && !line.starts_with("import ") && !line.starts_with("from ")
        })
        .collect()
}

fn normalized(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn readme_snippets_stand_in_the_tested_examples() {
    let root = project_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for (language, example) in [
        ("ts", "clients/typescript/examples/get-token.ts"),
        ("python", "clients/python/examples/get_token.py"),
    ] {
        let code = normalized(&std::fs::read_to_string(root.join(example)).unwrap());
        let lines = snippet(&readme, "## Using the tokens from your app", language);
        assert!(lines.len() >= 3, "{language}: {lines:?}");
        for line in lines {
            // The README shows a call's first line; the example may wrap its arguments.
            let probe = normalized(line.trim_end_matches(['{', '(', ',']));
            assert!(
                code.contains(&probe),
                "README's {language} line `{line}` is not in {example}: take snippets from the example"
            );
        }
    }
}
