//! `deployer serve --stage S [--port N]`: the stage's deployed functions behind Lambda's own
//! `Invoke` API on 127.0.0.1, until interrupted. An app on this machine points its AWS SDK at it
//! with `AWS_ENDPOINT_URL_LAMBDA` and calls the token API (and the scheduled function) exactly as
//! it would in AWS; each function runs from the deployed zip, warm between invocations, with up
//! to its reserved concurrency of instances (docs/token-api.md, "On this machine").

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use serde::Serialize;

use super::Ctx;
use crate::Status;
use crate::aws::Aws;
use crate::cli::ServeArgs;
use crate::deploy;
use crate::emulator::endpoint;
use crate::emulator::pool::Pool;
use crate::emulator::{LogSink, deployed};
use crate::stage::Stage;

/// Instances of a function without reserved concurrency (Lambda's would be the account's).
const UNRESERVED_INSTANCES: u32 = 10;

/// What is served where: printed once, when the endpoint is ready.
#[derive(Debug, Serialize)]
struct Serving {
    endpoint: String,
    /// Function name -> the most instances it runs at once.
    functions: BTreeMap<String, usize>,
}

impl fmt::Display for Serving {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Lambda endpoint at {} serving:", self.endpoint)?;
        for (name, limit) in &self.functions {
            writeln!(f, "  {name} (up to {limit} instances)")?;
        }
        writeln!(
            f,
            "Point an app's AWS SDK at it: export AWS_ENDPOINT_URL_LAMBDA={}",
            self.endpoint
        )?;
        writeln!(f, "Function logs follow on stderr; Ctrl-C stops.")
    }
}

pub(super) async fn run(args: &ServeArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let aws = ctx.aws(&stage).await;
    deploy::check_account(&aws, &stage).await?;
    let dir = tempfile::tempdir().context("cannot create a directory for the bootstrap")?;
    let binary = deployed::bootstrap(&aws, &stage, dir.path()).await?;
    let functions = pools(&aws, &stage, &binary).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on 127.0.0.1:{}; is another `deployer serve` using it? Pick another with --port (0 takes a free one)",
                args.port
            )
        })?;
    let address = listener
        .local_addr()
        .context("cannot read the endpoint's address; is a loopback interface up?")?;
    ctx.printer.emit(&Serving::of(address, &functions))?;
    axum::serve(listener, endpoint::router(Arc::clone(&functions)))
        .with_graceful_shutdown(interrupted())
        .await
        .context("the Lambda endpoint stopped")?;
    for pool in functions.values() {
        pool.stop().await;
    }
    Ok(Status::Ok)
}

/// One pool of instances per served function, each up to its reserved concurrency, logging
/// on stderr under the function's name.
async fn pools(aws: &Aws, stage: &Stage, binary: &Path) -> Result<endpoint::Functions> {
    let mut functions = BTreeMap::new();
    for (name, reserved) in served(stage) {
        let spec = deployed::function(aws, stage, binary, &name).await?;
        let limit = usize::try_from(reserved.unwrap_or(UNRESERVED_INSTANCES)).unwrap_or(1);
        let sink = LogSink::Echo {
            prefix: format!("[{name}]"),
        };
        functions.insert(name, Arc::new(Pool::new(spec, limit, sink)));
    }
    Ok(Arc::new(functions))
}

impl Serving {
    /// The endpoint at `address` and each function's instance limit.
    fn of(address: SocketAddr, functions: &endpoint::Functions) -> Self {
        Self {
            endpoint: format!("http://{address}"),
            functions: functions
                .iter()
                .map(|(name, pool)| (name.clone(), pool.limit()))
                .collect(),
        }
    }
}

/// The stage's functions and their reserved concurrency: the token API first, when it has one.
fn served(stage: &Stage) -> Vec<(String, Option<u32>)> {
    let mut functions: Vec<(String, Option<u32>)> = stage
        .token_api
        .iter()
        .map(|api| (api.name.clone(), api.reserved_concurrency))
        .collect();
    functions.push((
        stage.function.name.clone(),
        stage.function.reserved_concurrency,
    ));
    functions
}

/// Ctrl-C or SIGTERM (how a test or a process manager stops it).
async fn interrupted() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let term = async {
        match terminate.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}
