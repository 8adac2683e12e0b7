//! The integration suite's own helpers; the harness (moto, tool paths) is the `testkit` crate,
//! re-exported here so tests write `suite::moto::Moto`. [`stack`] creates the `local` stage's
//! stack in moto for the tests that need its resources.

pub use testkit::{moto, tools};

pub mod stack;
