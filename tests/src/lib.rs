//! The integration suite's own helpers; the harness (moto, tool paths) is the `testkit` crate,
//! re-exported here so tests write `suite::moto::Moto`. [`stack`] creates the `local` stage's
//! stack in moto for the tests that need its resources; [`iam`] holds an identity to a policy
//! with the stand-in's IAM enforcement; [`readers`] drives the TypeScript and Python readers.

pub use testkit::{moto, tools};

pub mod iam;
pub mod readers;
pub mod stack;
