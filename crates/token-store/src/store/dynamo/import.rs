//! Writing an imported token item (`deployer tokens import`) in the same encoding the run writes.
//!
//! The function's role never calls this (it has no `PutItem`); the operator's credentials do. A new
//! item is created only if the key is free (`attribute_not_exists`), an existing one is replaced
//! only at the version the importer read (`version = :seen`): the importer checks that the stored
//! tokens are the ones it is importing first, so a token the run has refreshed since is never
//! overwritten, and a concurrent refresh makes the write fail instead of being lost.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{DynamoStore, applied};
use crate::crypto::Envelope;
use crate::store::item::{envelope_value, n, s};
use crate::store::{StoreError, TokenStatus};

/// A token item as an import writes it: sealed tokens and the file's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedItem {
    pub user_id: String,
    pub platform: String,
    pub access_token: Envelope,
    /// `None` for a provider that refreshes with the access token itself (Instagram): the item
    /// then has no `refreshToken`, rather than a second copy of the access token.
    pub refresh_token: Option<Envelope>,
    pub expires_at: u64,
    pub refresh_expires_at: Option<u64>,
    pub status: TokenStatus,
}

/// What the write may replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The item must not exist; it is created with version 1.
    Absent,
    /// The item must still be at this version; it becomes `version + 1`.
    Version(u64),
}

impl ImportedItem {
    fn attributes(&self, version: u64, now: u64) -> HashMap<String, AttributeValue> {
        let mut item = HashMap::from([
            ("userId".to_owned(), s(&self.user_id)),
            ("platform".to_owned(), s(&self.platform)),
            ("accessToken".to_owned(), envelope_value(&self.access_token)),
            ("expiresAt".to_owned(), n(self.expires_at)),
            ("status".to_owned(), s(self.status.as_str())),
            ("version".to_owned(), n(version)),
            ("failures".to_owned(), n(0)),
            ("updatedAt".to_owned(), n(now)),
        ]);
        if let Some(at) = self.refresh_expires_at {
            item.insert("refreshExpiresAt".to_owned(), n(at));
        }
        if let Some(refresh) = &self.refresh_token {
            item.insert("refreshToken".to_owned(), envelope_value(refresh));
        }
        item
    }
}

impl DynamoStore {
    /// Writes `item` whole (one `PutItem`, so never half-written) if `expect` still holds.
    /// [`StoreError::Conflict`]: the item appeared or changed since it was read.
    pub async fn put_imported(
        &self,
        item: &ImportedItem,
        expect: Expect,
        now: u64,
    ) -> Result<(), StoreError> {
        let (version, condition) = match expect {
            Expect::Absent => (1, "attribute_not_exists(#userId)"),
            Expect::Version(seen) => (seen + 1, "#version = :seen"),
        };
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item.attributes(version, now)))
            .condition_expression(condition);
        request = match expect {
            Expect::Absent => request.expression_attribute_names("#userId", "userId"),
            Expect::Version(seen) => request
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":seen", n(seen)),
        };
        if applied(
            request.send().await,
            PutItemError::is_conditional_check_failed_exception,
        )? {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::item::tests::env;

    #[test]
    fn attributes_use_the_run_encoding() {
        let env = env();
        let item = ImportedItem {
            user_id: "u".to_owned(),
            platform: "tiktok".to_owned(),
            access_token: env.clone(),
            refresh_token: Some(env),
            expires_at: 100,
            refresh_expires_at: None,
            status: TokenStatus::Active,
        };
        let attrs = item.attributes(4, 50);
        let parsed = crate::store::item::token_item(&attrs).unwrap();
        assert_eq!(parsed.version, 4);
        assert_eq!(parsed.expires_at, Some(100));
        assert_eq!(parsed.refresh_expires_at, None);
        assert!(parsed.refresh_token.is_some());
        assert!(!attrs.contains_key("refreshExpiresAt"));

        // Instagram: no refresh token, no attribute (not an empty one).
        let instagram = ImportedItem {
            refresh_token: None,
            ..item
        };
        let attrs = instagram.attributes(1, 50);
        assert!(!attrs.contains_key("refreshToken"));
        assert_eq!(
            crate::store::item::token_item(&attrs)
                .unwrap()
                .refresh_token,
            None
        );
    }
}
