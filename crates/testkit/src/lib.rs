//! The test harness: paths of the project and its tools, and the local AWS stand-in.
//!
//! Nothing here skips: a missing tool fails the test with the command that installs it
//! (the README's test command installs them all).

// A harness fails a test by panicking with the reason; saying so on every function adds nothing.
#![allow(clippy::missing_panics_doc)]

pub mod bus_capture;
pub mod fault_proxy;
pub mod moto;
pub mod resource_policy;
pub mod tools;
