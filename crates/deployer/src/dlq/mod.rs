//! The stage's dead-letter queue as data: what a message is ([`message`], pure) and how a
//! recovery record is written back ([`replay`]). `commands/dlq/` lists, shows, redrives, replays
//! and purges with them.

pub mod message;
pub mod replay;
