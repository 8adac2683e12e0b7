//! The arguments of `tokens` (import, list, connect, check, migrate) and `secrets` (set, list):
//! the commands that touch the tokens and the providers' credentials.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::StageArg;

#[derive(Debug, Args)]
pub struct TokensArgs {
    #[command(subcommand)]
    pub command: TokensCommand,
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Write token items from a JSON-lines or CSV file, in the stage's format as the refresher writes them;
    /// bad rows are skipped and reported by line (exit 1), the rest written. Idempotent.
    Import(TokensImportArgs),
    /// List token items by expiry (items without `expiresAt` are not in the index, so not listed).
    List(TokensListArgs),
    /// Connect (or re-authorise) a user: print the provider's consent URL, receive the redirect on
    /// a loopback listener, exchange the code and store the tokens (stage's format), status `active`.
    Connect(TokensConnectArgs),
    /// Check items as a reader would (format, status, expiry, whether they open with the stage's
    /// key), never printing a value; exit 1 if any needs attention.
    Check(TokensCheckArgs),
    /// Convert the items still in the other format to the stage's `tables.tokens.format`, each
    /// with the version check; resumable (run it again).
    Migrate(TokensMigrateArgs),
}

#[derive(Debug, Args)]
pub struct TokensCheckArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// The item's user (with --platform).
    #[arg(long, value_name = "ID", requires = "platform", conflicts_with = "all")]
    pub user: Option<String>,
    /// The item's provider (with --user).
    #[arg(long, value_name = "NAME", requires = "user", conflicts_with = "all")]
    pub platform: Option<String>,
    /// Every item of the table: a Scan, which reads (and bills) the whole table.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct TokensMigrateArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// The format to convert to: `envelope` or `plaintext` (must be the stage's format).
    #[arg(long, value_name = "FORMAT")]
    pub to: String,
    /// Stop after converting this many items (run again to go on).
    #[arg(long, value_name = "N")]
    pub max_items: Option<usize>,
}

#[derive(Debug, Args)]
pub struct TokensConnectArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// The provider, a key of the stage's `providers:` (the item's `platform`).
    #[arg(long, value_name = "NAME")]
    pub provider: String,
    /// The app's user id (the item's `userId`).
    #[arg(long, value_name = "ID")]
    pub user: String,
    /// Port of the redirect `http://127.0.0.1:PORT/callback` (default: any free port). Providers
    /// that check the redirect URI need the one registered for the app.
    #[arg(long, value_name = "PORT", conflicts_with = "redirect_uri")]
    pub port: Option<u16>,
    /// The redirect URI registered with the provider. Loopback http is listened on; for any other
    /// (https), paste the address the browser ends on.
    #[arg(long, value_name = "URL")]
    pub redirect_uri: Option<String>,
    /// A scope to ask for instead of the stage's `scopes` (repeat for several).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// How long to wait for the browser's redirect (`90s`, `5m`).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub timeout: String,
}

#[derive(Debug, Args)]
pub struct TokensImportArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// JSON lines, or CSV with a header: userId, platform, accessToken, refreshToken, expiresAt,
    /// and optionally refreshExpiresAt and status.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct TokensListArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// Only this provider (default: every provider of the stage).
    #[arg(long, value_name = "NAME")]
    pub platform: Option<String>,
    /// Only items expiring within this duration (`30m`, `24h`, `7d`), expired ones included.
    #[arg(long, value_name = "DURATION")]
    pub due: Option<String>,
}

#[derive(Debug, Args)]
pub struct SecretsArgs {
    #[command(subcommand)]
    pub command: SecretsCommand,
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Store a provider's client id and secret, read from stdin or `--from-file`, never argv.
    Set(SecretsSetArgs),
    /// Show which providers of the stage have client credentials, never the values.
    List(SecretsListArgs),
}

#[derive(Debug, Args)]
pub struct SecretsSetArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// The provider, as the stage file names it.
    #[arg(long, value_name = "NAME")]
    pub provider: String,
    /// Read the values from this file instead of stdin: two lines (client id, then secret) or
    /// `{"client_id": "...", "client_secret": "..."}`.
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SecretsListArgs {
    #[command(flatten)]
    pub stage: StageArg,
}
