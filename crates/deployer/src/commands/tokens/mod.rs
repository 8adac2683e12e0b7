//! `deployer tokens ...`: `import --stage S FILE` and `list --stage S [--platform P] [--due 24h]`
//! here; `connect`, `check` and `migrate` in their own files. None ever prints a token value: the
//! import reports counts and skipped rows by line and field, the list shows keys, status, expiry
//! and version.
//!
//! `list` queries the `byExpiry` index per provider (`expiresAt <= now + due`, or no bound without
//! `--due`), as the refresher does; items without `expiresAt` are not in that index and are not
//! listed (finding them takes a `Scan`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use anyhow::{Context, Result, bail};
use refresher::clock::{Clock, rfc3339};
use refresher::kms::KmsKeySource;
use refresher::store::{DueToken, DynamoStore, TokenStore};
use serde::Serialize;

mod check;
mod connect;
mod grant;
mod migrate;

use super::Ctx;
use crate::cli::{TokensArgs, TokensCommand, TokensImportArgs, TokensListArgs};
use crate::stage::{ProviderKind, Stage, duration};
use crate::template::context::EXPIRY_INDEX;
use crate::tokens::rows::Parsed;
use crate::tokens::{self, RowError, import::Importer, import::Outcome};
use crate::{Status, output};

pub(super) async fn run(args: &TokensArgs, ctx: &Ctx) -> Result<Status> {
    match &args.command {
        TokensCommand::Import(args) => import(args, ctx).await,
        TokensCommand::List(args) => list(args, ctx).await,
        TokensCommand::Connect(args) => connect::run(args, ctx).await,
        TokensCommand::Check(args) => check::run(args, ctx).await,
        TokensCommand::Migrate(args) => migrate::run(args, ctx).await,
    }
}

/// What an import did. `skipped` holds bad rows and rows not written, by line.
#[derive(Debug, Default, Serialize)]
struct ImportReport {
    table: String,
    read: usize,
    written: usize,
    created: usize,
    updated: usize,
    unchanged: usize,
    skipped: Vec<RowError>,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} rows read, {} written ({} new, {} updated), {} unchanged, {} skipped",
            self.table,
            self.read,
            self.written,
            self.created,
            self.updated,
            self.unchanged,
            self.skipped.len()
        )?;
        for skip in &self.skipped {
            writeln!(f, "  skipped {skip}")?;
        }
        Ok(())
    }
}

fn platforms(stage: &Stage) -> BTreeSet<String> {
    stage.providers.keys().cloned().collect()
}

/// The stage's providers with their kinds, for the import's rules (Instagram's refresh token).
fn kinds(stage: &Stage) -> BTreeMap<String, ProviderKind> {
    stage
        .providers
        .iter()
        .map(|(name, provider)| (name.clone(), provider.kind))
        .collect()
}

fn store(aws: &crate::aws::Aws, stage: &Stage) -> DynamoStore {
    aws.token_store(stage)
}

async fn import(args: &TokensImportArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let parsed = read_rows(&args.file, &stage)?;
    let aws = ctx.aws(&stage).await;
    let keys = aws.token_keys(&stage);
    let importer = Importer::new(
        store(&aws, &stage),
        keys,
        stage.tables.tokens.format,
        Clock::system().now(),
    );
    let report = import_rows(&importer, stage.tables.tokens.name.clone(), parsed).await?;
    ctx.printer.emit(&report)?;
    if report.skipped.is_empty() {
        Ok(Status::Ok)
    } else {
        output::note(
            "some rows were skipped: fix them and import the file again (written rows stay as they are)",
        );
        Ok(Status::Failed)
    }
}

/// The import file's rows, read and parsed with the rules of the stage's providers.
fn read_rows(file: &Path, stage: &Stage) -> Result<Parsed> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    tokens::parse(&text, &kinds(stage)).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
}

/// Writes each good row through `importer` and counts what became of it; skipped rows by line.
async fn import_rows(
    importer: &Importer<KmsKeySource>,
    table: String,
    parsed: Parsed,
) -> Result<ImportReport> {
    let mut report = ImportReport {
        table,
        read: parsed.rows.len() + parsed.errors.len(),
        skipped: parsed.errors,
        ..ImportReport::default()
    };
    for row in &parsed.rows {
        match importer.import(row).await? {
            Outcome::Created => report.created += 1,
            Outcome::Updated => report.updated += 1,
            Outcome::Unchanged => report.unchanged += 1,
            Outcome::Skipped(reason) => report.skipped.push(RowError {
                line: row.line,
                field: None,
                reason,
            }),
        }
    }
    report.written = report.created + report.updated;
    report.skipped.sort_by_key(|s| s.line);
    Ok(report)
}

/// One listed item: never a token value.
#[derive(Debug, Serialize)]
struct Listed {
    user_id: String,
    platform: String,
    status: &'static str,
    expires_at: Option<u64>,
    expires: Option<String>,
    version: u64,
}

#[derive(Debug, Serialize)]
struct TokenList {
    now: u64,
    /// The `expiresAt` bound of the query, when `--due` was given.
    due_before: Option<u64>,
    items: Vec<Listed>,
}

impl fmt::Display for TokenList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.items.is_empty() {
            return writeln!(f, "no token items");
        }
        let rows: Vec<[String; 5]> = self
            .items
            .iter()
            .map(|i| {
                let expiry = match i.expires_at {
                    Some(at) => format!("{} ({})", rfc3339(at), duration::relative(at, self.now)),
                    None => "-".to_owned(),
                };
                let fields = [
                    &i.user_id,
                    &i.platform,
                    i.status,
                    &expiry,
                    &i.version.to_string(),
                ];
                fields.map(ToString::to_string)
            })
            .collect();
        let header = ["USER", "PLATFORM", "STATUS", "EXPIRES", "VERSION"];
        output::write_table(f, header, &rows)
    }
}

async fn list(args: &TokensListArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let platforms = listed_platforms(&stage, args.platform.as_ref())?;
    let now = Clock::system().now();
    let due_before = due_before(args.due.as_deref(), now)?;
    let aws = ctx.aws(&stage).await;
    let store = store(&aws, &stage);
    let items = due_items(&store, &platforms, due_before, &stage.tables.tokens.name).await?;
    ctx.printer.emit(&TokenList {
        now,
        due_before,
        items,
    })?;
    Ok(Status::Ok)
}

/// The providers to list: `--platform`'s, which must be one of the stage's, else all of them.
fn listed_platforms(stage: &Stage, only: Option<&String>) -> Result<Vec<String>> {
    let platforms: Vec<String> = platforms(stage).into_iter().collect();
    let Some(only) = only else {
        return Ok(platforms);
    };
    if !platforms.contains(only) {
        bail!(
            "`{only}` is not a provider of stage {}; its providers are {}",
            stage.name,
            platforms.join(", ")
        );
    }
    Ok(vec![only.clone()])
}

/// The `expiresAt` bound `--due` sets from `now`, if given.
fn due_before(due: Option<&str>, now: u64) -> Result<Option<u64>> {
    let Some(due) = due else {
        return Ok(None);
    };
    let span = duration::parse_duration(due).map_err(|e| anyhow::anyhow!("--due: {e}"))?;
    Ok(Some(now.saturating_add(span)))
}

/// Each platform's items expiring before `due_before` (all without it), soonest first.
async fn due_items(
    store: &DynamoStore,
    platforms: &[String],
    due_before: Option<u64>,
    table: &str,
) -> Result<Vec<Listed>> {
    let mut items = Vec::new();
    for platform in platforms {
        let rows = store
            .due(platform, due_before.unwrap_or(u64::MAX))
            .await
            .with_context(|| format!("cannot query the index {EXPIRY_INDEX} of {table}"))?;
        items.extend(rows.into_iter().map(listed));
    }
    items.sort_by(|a, b| {
        (a.expires_at, &a.platform, &a.user_id).cmp(&(b.expires_at, &b.platform, &b.user_id))
    });
    Ok(items)
}

fn listed(row: DueToken) -> Listed {
    Listed {
        expires: row.expires_at.map(rfc3339),
        status: row.status.as_str(),
        expires_at: row.expires_at,
        version: row.version,
        user_id: row.user_id,
        platform: row.platform,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_shows_no_values() {
        let list = TokenList {
            now: 0,
            due_before: None,
            items: vec![Listed {
                user_id: "u1".to_owned(),
                platform: "tiktok".to_owned(),
                status: "active",
                expires_at: Some(86_400),
                expires: Some(rfc3339(86_400)),
                version: 3,
            }],
        };
        let text = list.to_string();
        assert!(
            text.starts_with("USER  PLATFORM  STATUS  EXPIRES"),
            "{text}"
        );
        assert!(
            text.contains("u1    tiktok    active  1970-01-02T00:00:00Z (in 1d)  3"),
            "{text}"
        );
    }
}
