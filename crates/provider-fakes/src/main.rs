//! `provider-fakes [--port N] [--client PROVIDER=ID:SECRET]… [--seed-demo FILE]`: serves the fakes
//! until SIGINT or SIGTERM. The one line on stdout, `listening on http://127.0.0.1:PORT`, is what
//! scripts wait for; with `--seed-demo` the demo's grants exist and FILE holds them by then.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::Parser;
use provider_fakes::{FakeConfig, FakeProviders, Provider};
use tokio::signal::unix::{SignalKind, signal};

#[derive(Parser)]
#[command(
    version,
    about = "Local HTTP fakes of TikTok, Reddit, Instagram and a generic OAuth2 server"
)]
struct Cli {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0, env = "PROVIDER_FAKES_PORT")]
    port: u16,
    /// Client credentials a provider accepts, e.g. `reddit=my-id:my-secret` (repeatable).
    #[arg(long = "client", value_name = "PROVIDER=ID:SECRET")]
    clients: Vec<String>,
    /// Seed the README demo's sample grants and write them to FILE as `deployer tokens import`
    /// reads them (JSON lines).
    #[arg(long, value_name = "FILE")]
    seed_demo: Option<std::path::PathBuf>,
}

fn config(cli: &Cli) -> Result<FakeConfig> {
    let mut config = FakeConfig {
        port: cli.port,
        ..FakeConfig::default()
    };
    for spec in &cli.clients {
        let Some((name, (id, secret))) = spec
            .split_once('=')
            .and_then(|(name, creds)| Some((name, creds.split_once(':')?)))
        else {
            bail!("--client `{spec}` is not PROVIDER=ID:SECRET, e.g. reddit=my-id:my-secret");
        };
        let provider: Provider = name.parse()?;
        let settings = config.provider_mut(provider);
        id.clone_into(&mut settings.client_id);
        secret.clone_into(&mut settings.client_secret);
    }
    Ok(config)
}

async fn run(cli: Cli) -> Result<()> {
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let fakes = FakeProviders::start(config(&cli)?).await?;
    if let Some(path) = &cli.seed_demo {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("the clock is before 1970")?
            .as_secs();
        std::fs::write(path, provider_fakes::demo::seed(&fakes, now))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", fakes.base_url()).context("cannot write to stdout")?;
    stdout.flush().context("cannot write to stdout")?;
    drop(stdout);
    tokio::select! {
        signalled = tokio::signal::ctrl_c() => signalled.context("cannot watch SIGINT")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "provider-fakes: {error:#}");
            ExitCode::FAILURE
        }
    }
}
