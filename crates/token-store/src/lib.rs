//! The tokens table's contract (`docs/token-store.md`) in Rust, shared by the refresher, the
//! deployer and the apps' Rust services.
//!
//! # Crate map
//! - [`secret`]: [`secret::SecretString`], the wrapper every token and client secret lives in
//!   (`***` in `Debug`, zeroed on drop).
//! - [`crypto`]: envelope format v1 (AES-256-GCM, KMS data keys, associated data
//!   `userId|platform`), the token formats ([`crypto::TokenFormat`]), the [`crypto::KeySource`]
//!   seam to KMS and the per-run [`crypto::KeyCache`].
//! - [`kms`]: KMS as the [`crypto::KeySource`].
//! - [`store`]: token items (attributes, statuses, the version rule), the [`store::TokenStore`]
//!   seam and its DynamoDB implementation (due query, conditional writes, the run lock).
//! - [`reader`]: [`reader::TokenReader`], what an app calls right before a provider call:
//!   one consistent `GetItem`, a bounded data-key cache, typed errors.
//!
//! # Invariants
//! - No token value or data key appears in any `Debug`, `Display` or error message.
//! - Only [`store::dynamo`], [`kms`] and [`reader`] touch the network.
//! - Every write follows the version rule; an attribute this crate does not own is never written.

pub mod crypto;
pub mod kms;
pub mod reader;
pub mod secret;
pub mod store;
