//! The stage's dead-letter queue as data: what a message is ([`message`], pure) and how a
//! recovery record is written back ([`replay`]). `commands/dlq/` lists, shows, redrives, replays
//! and purges with them.

pub mod message;
pub mod outcome;
pub mod replay;

/// The functions a redrive may invoke: the scheduled function, and the token API (for
/// `token.refresh-requested` events) when the stage has one.
pub fn redrive_targets(stage: &crate::stage::Stage) -> String {
    match &stage.token_api {
        Some(api) => format!("{} or {}", stage.function.name, api.name),
        None => stage.function.name.clone(),
    }
}
