//! `deployer tokens migrate --stage S --to envelope|plaintext [--max-items N]`: converts the items
//! still in the other format (`tokens::migrate`), page by page with `Scan`, each item with the
//! version rule. The target must be the stage's format (change `tables.tokens.format` and deploy
//! first, after the apps' readers read both formats: `docs/token-store.md`), or the refresher
//! would convert the items back. Running it again resumes: converted items are skipped.

use std::fmt;

use anyhow::{Context, Result, bail};
use refresher::clock::Clock;
use refresher::crypto::TokenFormat;
use refresher::kms::KmsKeySource;
use refresher::store::DynamoStore;
use refresher::store::dynamo::scan::Scanned;
use serde::Serialize;

use crate::cli::TokensMigrateArgs;
use crate::commands::Ctx;
use crate::tokens::migrate::{Converted, Migrator};
use crate::{Status, output};

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct MigrateReport {
    table: String,
    to: &'static str,
    scanned: usize,
    converted: usize,
    already: usize,
    /// Items whose tokens do not open, or that cannot be parsed, by key and reason.
    unreadable: Vec<String>,
    /// Items that kept changing (refreshed meanwhile): run again.
    changed: Vec<String>,
    /// True when `--max-items` stopped the run before the end of the table.
    stopped_early: bool,
    read_capacity_units: f64,
}

impl fmt::Display for MigrateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} to {}: {} items scanned, {} converted, {} already {}, {} unreadable, {} changed meanwhile",
            self.table,
            self.to,
            self.scanned,
            self.converted,
            self.already,
            self.to,
            self.unreadable.len(),
            self.changed.len()
        )?;
        for line in self.unreadable.iter().chain(&self.changed) {
            writeln!(f, "  {line}")?;
        }
        if self.stopped_early {
            writeln!(
                f,
                "stopped at --max-items; run the same command again to go on"
            )?;
        }
        writeln!(
            f,
            "the scan consumed {:.1} read capacity units",
            self.read_capacity_units
        )
    }
}

pub(super) async fn run(args: &TokensMigrateArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let Some(to) = TokenFormat::parse(&args.to) else {
        bail!("--to `{}`: use `envelope` or `plaintext`", args.to);
    };
    let format = stage.tables.tokens.format;
    if to != format {
        bail!(
            "stage {} writes `{}` (tables.tokens.format): set it to `{}` and deploy first, or the \
             refresher converts the items back; see docs/token-store.md for the safe order",
            stage.name,
            format.as_str(),
            to.as_str()
        );
    }
    let aws = ctx.aws(&stage).await;
    let table = stage.tables.tokens.name.clone();
    let store = aws.token_store(&stage);
    let keys = aws.token_keys(&stage);
    let migrator = Migrator::new(store.clone(), keys, to, Clock::system().now());
    let mut report = MigrateReport {
        table,
        to: to.as_str(),
        ..MigrateReport::default()
    };
    migrate(&store, &migrator, args.max_items, &mut report).await?;
    ctx.printer.emit(&report)?;
    let complete =
        report.unreadable.is_empty() && report.changed.is_empty() && !report.stopped_early;
    Ok(if complete { Status::Ok } else { Status::Failed })
}

async fn migrate(
    store: &DynamoStore,
    migrator: &Migrator<KmsKeySource>,
    max_items: Option<usize>,
    report: &mut MigrateReport,
) -> Result<()> {
    let mut start = None;
    loop {
        let page = store
            .scan_page(start)
            .await
            .with_context(|| format!("cannot scan {} (needs dynamodb:Scan on it)", report.table))?;
        report.read_capacity_units += page.capacity_units;
        for scanned in page.items {
            if max_items.is_some_and(|max| report.converted >= max) {
                report.stopped_early = true;
                return Ok(());
            }
            report.scanned += 1;
            convert(migrator, scanned, report).await?;
        }
        output::note(&format!(
            "{} items scanned, {} converted",
            report.scanned, report.converted
        ));
        match page.next {
            Some(next) => start = Some(next),
            None => return Ok(()),
        }
    }
}

async fn convert(
    migrator: &Migrator<KmsKeySource>,
    scanned: Scanned,
    report: &mut MigrateReport,
) -> Result<()> {
    let item = match scanned {
        Scanned::Token(item) => item,
        Scanned::Malformed {
            user_id,
            platform,
            reason,
        } => {
            report
                .unreadable
                .push(format!("{user_id}/{platform}: malformed: {reason}"));
            return Ok(());
        }
    };
    let key = format!("{}/{}", item.user_id, item.platform);
    match migrator.convert(&item).await? {
        Converted::Converted => report.converted += 1,
        Converted::AlreadyInFormat => report.already += 1,
        Converted::Unreadable(reason) => report.unreadable.push(format!("{key}: {reason}")),
        Converted::Changed => report
            .changed
            .push(format!("{key}: kept changing while converted; run again")),
    }
    Ok(())
}
