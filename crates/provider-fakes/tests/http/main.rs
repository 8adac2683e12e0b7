//! Drives the fakes over HTTP with reqwest, one module per provider or feature.
// Test helpers fail the test by panicking; `unwrap` is the clearest way to do that.
#![allow(clippy::unwrap_used)]

mod admin;
mod authorize;
mod binary;
mod common;
mod faults;
mod instagram;
mod oauth2;
mod reddit;
mod tiktok;
