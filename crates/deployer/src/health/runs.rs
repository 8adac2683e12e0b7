//! What the deployer can tell about the refresher's runs: it keeps no run record, so the last run
//! is derived from the analytics table's newest `refreshed` record (`refresher::status`, whose
//! wording every output that shows a last run repeats).

pub use refresher::status::RUN_SOURCE;
