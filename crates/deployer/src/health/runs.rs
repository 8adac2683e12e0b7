//! What the deployer can tell about the refresher's runs: it keeps no run record, so the last run
//! is derived from the analytics table's newest `refreshed` record (its key format is the
//! refresher's, `refresher::events::AnalyticsRow::partition`).

/// Where the last run comes from, said in every output that shows it.
pub const RUN_SOURCE: &str =
    "derived from the newest `refreshed` analytics record; the refresher keeps no run record";
