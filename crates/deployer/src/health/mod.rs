//! Facts about a deployed stage's health, shared by `status`, `verify`, `alarms`, `rules` and
//! `secrets`: pure functions from what AWS answered (read by `aws/`) and the stage to rows and
//! verdicts. No I/O here; the commands fetch and print.

pub mod alarms;
pub mod checks;
pub mod credentials;
pub mod rules;
pub mod runs;
