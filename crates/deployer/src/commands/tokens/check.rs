//! `deployer tokens check --stage S (--user U --platform P | --all)`: whether readers can use the
//! items, without printing any value (`tokens::check`).
//!
//! One item is one consistent `GetItem`. `--all` pages through the whole table with `Scan` (an
//! operator command: it reads every item, and the report gives the read capacity it consumed),
//! which also finds the items without `expiresAt` that the expiry index, and so the refresher,
//! never sees.

use std::fmt;

use anyhow::{Context, Result, bail};
use refresher::crypto::KeyCache;
use refresher::kms::KmsKeySource;
use refresher::store::{DynamoStore, TokenStore};
use serde::Serialize;

use crate::Status;
use crate::cli::TokensCheckArgs;
use crate::commands::Ctx;
use crate::tokens::check::{Expected, ItemCheck, check_all, check_item};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckReport {
    table: String,
    checked: usize,
    readable: usize,
    with_problems: usize,
    /// Read capacity units the scan consumed (`--all` only).
    read_capacity_units: Option<f64>,
    items: Vec<ItemCheck>,
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in &self.items {
            writeln!(f, "{item}")?;
        }
        write!(
            f,
            "{}: {} items checked, {} readable, {} with problems",
            self.table, self.checked, self.readable, self.with_problems
        )?;
        if let Some(units) = self.read_capacity_units {
            write!(f, " (the scan consumed {units:.1} read capacity units)")?;
        }
        writeln!(f)
    }
}

impl CheckReport {
    /// The report on `items`, with their counts.
    fn of(table: String, items: Vec<ItemCheck>, read_capacity_units: Option<f64>) -> Self {
        Self {
            table,
            checked: items.len(),
            readable: items.iter().filter(|i| i.readable).count(),
            with_problems: items.iter().filter(|i| i.problem.is_some()).count(),
            read_capacity_units,
            items,
        }
    }
}

pub(super) async fn run(args: &TokensCheckArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let aws = ctx.aws(&stage).await;
    let table = stage.tables.tokens.name.clone();
    let store = aws.token_store(&stage);
    let keys = aws.token_keys(&stage);
    let expected = Expected {
        stage: stage.name.clone(),
        format: stage.tables.tokens.format,
        key_arn: aws.token_key_arn(&stage).await?,
    };
    let (items, units) = match (&args.user, &args.platform, args.all) {
        (Some(user), Some(platform), false) => {
            let check = check_one(&store, &keys, &expected, &table, user, platform).await?;
            (vec![check], None)
        }
        (None, None, true) => {
            let (items, units) = check_all(&store, &keys, &expected, &table).await?;
            (items, Some(units))
        }
        _ => bail!("name one item with --user and --platform, or check every item with --all"),
    };
    let report = CheckReport::of(table, items, units);
    ctx.printer.emit(&report)?;
    Ok(if report.with_problems == 0 {
        Status::Ok
    } else {
        Status::Failed
    })
}

/// Checks one item, read with a consistent `GetItem`; an absent item is an error.
async fn check_one(
    store: &DynamoStore,
    keys: &KeyCache<KmsKeySource>,
    expected: &Expected,
    table: &str,
    user: &str,
    platform: &str,
) -> Result<ItemCheck> {
    let item = store
        .get(user, platform)
        .await
        .with_context(|| format!("cannot read {user}/{platform} from {table}"))?;
    let Some(item) = item else {
        bail!(
            "no item {user}/{platform} in {table}; `deployer tokens list --stage {}` lists them",
            expected.stage
        );
    };
    Ok(check_item(keys, expected, &item).await)
}
