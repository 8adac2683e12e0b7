//! Token items as `deployer tokens` handles them (DESIGN §4).
//!
//! - [`rows`]: an import file (JSON lines, or CSV with a header) parsed into rows, each bad row
//!   reported by line number and field, never by value (pure).
//! - [`import`]: good rows sealed and written through the refresher's own crypto and store code,
//!   idempotently, never over a token the refresher has refreshed since.
//! - [`check`]: what a reader would make of an item (format, status, expiry, whether it opens).
//! - [`migrate`]: an item converted to the stage's token format with the version rule.

pub mod check;
pub mod csv;
pub mod import;
pub mod migrate;
pub mod rows;

pub use rows::{Row, RowError, parse};
