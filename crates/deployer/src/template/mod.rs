//! The stack template: a validated [`Stage`] rendered with tera into one CloudFormation template.
//!
//! Pure: no I/O beyond reading nothing at all; the templates in `templates/` and the policy
//! documents in `policies/` are compiled into the binary, so `deployer` renders the same bytes
//! wherever it runs. `check.rs` holds the structural checks of a rendered template; `runbook.rs`
//! renders the operations runbook with the same engine and context.

pub mod check;
pub mod context;
mod outputs;
pub mod runbook;

use std::collections::HashMap;
use std::fmt::Write;

use serde_json::Value;

use crate::canonical::canonical;
use crate::stage::Stage;

/// Every template, by the name it is included under.
const TEMPLATES: &[(&str, &str)] = &[
    (
        runbook::RUNBOOK,
        include_str!("../../../../templates/runbook.md.tera"),
    ),
    (
        "stack.yaml.tera",
        include_str!("../../../../templates/stack.yaml.tera"),
    ),
    (
        "resources/storage.yaml.tera",
        include_str!("../../../../templates/resources/storage.yaml.tera"),
    ),
    (
        "resources/function.yaml.tera",
        include_str!("../../../../templates/resources/function.yaml.tera"),
    ),
    (
        "resources/schedule.yaml.tera",
        include_str!("../../../../templates/resources/schedule.yaml.tera"),
    ),
    (
        "resources/http_trigger.yaml.tera",
        include_str!("../../../../templates/resources/http_trigger.yaml.tera"),
    ),
    (
        "resources/alarms.yaml.tera",
        include_str!("../../../../templates/resources/alarms.yaml.tera"),
    ),
    (
        "outputs.yaml.tera",
        include_str!("../../../../templates/outputs.yaml.tera"),
    ),
    (
        "dashboard.json.tera",
        include_str!("../../../../templates/dashboard.json.tera"),
    ),
    (
        "policies/refresher.json.tera",
        include_str!("../../../../policies/refresher.json.tera"),
    ),
    (
        "policies/key.json.tera",
        include_str!("../../../../policies/key.json.tera"),
    ),
    (
        "policies/dlq.json.tera",
        include_str!("../../../../policies/dlq.json.tera"),
    ),
    (
        "policies/token-reader.json.tera",
        include_str!("../../../../policies/token-reader.json.tera"),
    ),
];

/// Why a template could not be rendered: a bug in `templates/` or `policies/`, never in a stage
/// file (a validated stage always renders).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {name} failed to render: {detail}")]
    Tera { name: String, detail: String },
    #[error("{name} did not render to valid {format}: {detail}")]
    Parse {
        name: String,
        format: &'static str,
        detail: String,
    },
}

/// A rendered template: its text, and the same parsed, for checks and for the deploy path.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub text: String,
    pub value: Value,
}

/// Renders the stack template of a stage.
pub fn render(stage: &Stage) -> Result<Rendered, RenderError> {
    let tera = engine()?;
    let mut ctx = tera::Context::from_serialize(context::build(stage))
        .map_err(|e| tera_error("context", &e))?;
    for (key, name) in [
        ("refresher_policy", "policies/refresher.json.tera"),
        ("key_policy", "policies/key.json.tera"),
        ("dlq_policy", "policies/dlq.json.tera"),
        ("token_reader_policy", "policies/token-reader.json.tera"),
    ] {
        let doc = render_json(&tera, name, &ctx)?;
        ctx.insert(key, &doc);
    }
    let dashboard = render_json(&tera, "dashboard.json.tera", &ctx)?;
    ctx.insert("dashboard_body", &canonical(&dashboard).to_string());
    let text = tera
        .render("stack.yaml.tera", &ctx)
        .map_err(|e| tera_error("stack.yaml.tera", &e))?;
    let text = tidy(&text);
    let value = serde_norway::from_str(&text).map_err(|e| RenderError::Parse {
        name: "stack.yaml.tera".to_owned(),
        format: "YAML",
        detail: e.to_string(),
    })?;
    Ok(Rendered { text, value })
}

fn engine() -> Result<tera::Tera, RenderError> {
    let mut tera = tera::Tera::default();
    tera.add_raw_templates(TEMPLATES.iter().copied())
        .map_err(|e| tera_error("templates/", &e))?;
    tera.register_filter("yaml", yaml_filter);
    Ok(tera)
}

fn render_json(tera: &tera::Tera, name: &str, ctx: &tera::Context) -> Result<Value, RenderError> {
    let text = tera.render(name, ctx).map_err(|e| tera_error(name, &e))?;
    serde_json::from_str(&text).map_err(|e| RenderError::Parse {
        name: name.to_owned(),
        format: "JSON",
        detail: e.to_string(),
    })
}

fn tera_error(name: &str, err: &tera::Error) -> RenderError {
    // tera nests the cause (e.g. the variable that is missing) in `source()`.
    let mut detail = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    RenderError::Tera {
        name: name.to_owned(),
        detail,
    }
}

/// `{{ value | yaml(indent=8) }}`: a JSON value as a YAML block, every line indented.
fn yaml_filter(value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let indent = args
        .get("indent")
        .and_then(Value::as_u64)
        .ok_or_else(|| tera::Error::msg("the yaml filter needs indent=<spaces>"))?;
    let mut out = String::new();
    yaml_block(
        &canonical(value),
        usize::try_from(indent).unwrap_or(0),
        &mut out,
    );
    Ok(Value::String(out.trim_end().to_owned()))
}

/// Block-style YAML whose every string is JSON-quoted, so no value is ever read as another type
/// (`Version: 2012-10-17` would be a date to a YAML 1.1 parser). Hand-written because YAML
/// serializers choose their own quoting, and that choice is exactly what must not vary here.
fn yaml_block(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, inner) in map {
                let key = if key.chars().all(|c| c.is_ascii_alphanumeric()) {
                    key.clone()
                } else {
                    Value::String(key.clone()).to_string()
                };
                if is_scalar(inner) {
                    let _ = writeln!(out, "{pad}{key}: {inner}");
                } else {
                    let _ = writeln!(out, "{pad}{key}:");
                    yaml_block(inner, indent + 2, out);
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                if is_scalar(item) {
                    let _ = writeln!(out, "{pad}- {item}");
                } else {
                    // The item's first line goes after the dash, the rest stays aligned with it.
                    let mut inner = String::new();
                    yaml_block(item, indent + 2, &mut inner);
                    let _ = write!(out, "{pad}- {}", &inner[indent + 2..]);
                }
            }
        }
        scalar => {
            let _ = writeln!(out, "{pad}{scalar}");
        }
    }
}

/// Scalars, and empty collections (written inline as `{}` / `[]`).
fn is_scalar(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => true,
    }
}

/// Drops the blank lines tera's block tags leave, so the output reads as written by hand.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
