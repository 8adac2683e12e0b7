//! Every stage file renders, deterministically, to the committed snapshot; the structural checks
//! find nothing in any of them. A template change shows up here as a reviewed snapshot diff.

// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

use deployer::template::check::{Severity, check};
use suite::tools::stage_files;

#[test]
fn every_stage_renders_to_its_snapshot() {
    let stages = stage_files();
    assert!(
        stages.len() >= 4,
        "expected local, dev, staging and prod, found {stages:?}"
    );
    for (name, path) in stages {
        let stage = deployer::stage::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let first = deployer::template::render(&stage).unwrap();
        let second = deployer::template::render(&stage).unwrap();
        assert_eq!(
            first.text, second.text,
            "{name}: rendering is not deterministic"
        );
        insta::assert_snapshot!(format!("template-{name}"), first.text);
    }
}

#[test]
fn rendered_templates_pass_the_structural_checks() {
    for (name, path) in stage_files() {
        let stage = deployer::stage::load(&path).unwrap();
        let rendered = deployer::template::render(&stage).unwrap();
        let findings = check(&rendered.text, &rendered.value, &stage.stack_name);
        let errors: Vec<_> = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        assert!(
            rendered.text.len() < deployer::template::check::INLINE_TEMPLATE_LIMIT,
            "{name}: {} bytes no longer fits inline",
            rendered.text.len()
        );
    }
}

#[test]
fn adopted_tables_are_named_but_not_created() {
    let (_, path) = stage_files().into_iter().find(|(n, _)| n == "dev").unwrap();
    let stage = deployer::stage::load(&path).unwrap();
    assert!(!stage.tables.tokens.create, "dev adopts its tokens table");
    let rendered = deployer::template::render(&stage).unwrap();
    let resources = rendered.value["Resources"].as_object().unwrap();
    assert!(!resources.contains_key("TokensTable"));
    assert!(resources.contains_key("AnalyticsTable"));
    let policy = serde_json::to_string(&resources["RefresherRole"]).unwrap();
    assert!(policy.contains(&format!(
        "table/{}/index/byExpiry",
        stage.tables.tokens.name
    )));
    assert_eq!(
        rendered.value["Outputs"]["TokensTableName"]["Value"],
        stage.tables.tokens.name
    );
}

#[test]
fn every_policy_statement_names_its_resources() {
    for (name, path) in stage_files() {
        let stage = deployer::stage::load(&path).unwrap();
        let rendered = deployer::template::render(&stage).unwrap();
        let role = &rendered.value["Resources"]["RefresherRole"]["Properties"]["Policies"][0]["PolicyDocument"];
        let statements = role["Statement"].as_array().unwrap();
        assert!(statements.len() >= 8, "{name}");
        for statement in statements {
            assert_ne!(statement["Resource"], "*", "{name}: {statement}");
            let actions = statement["Action"].as_array().unwrap();
            assert!(
                actions.iter().all(|a| !a.as_str().unwrap().contains('*')),
                "{name}: {statement}"
            );
        }
    }
}
