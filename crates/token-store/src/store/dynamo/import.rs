//! Writing an imported token item (`deployer tokens import`) in the same encoding the run writes.
//!
//! The function's role never calls this (it has no `PutItem`); the operator's credentials do. A new
//! item is created whole (`PutItem`) only if the key is free (`attribute_not_exists`). An existing
//! one is updated (`UpdateItem`) only at the version the importer read, with the version rule of
//! `docs/token-store.md` (an app's item without `version` counts as 0): the importer checks that
//! the stored tokens are the ones it is importing first, so a token the run has refreshed since is
//! never overwritten, and a concurrent refresh makes the write fail instead of being lost. Only
//! the attributes of the contract are written: an app's own attributes in an adopted table stay.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{DynamoStore, Expr, applied, update_applied, version_condition};
use crate::crypto::StoredToken;
use crate::store::item::{n, s, stored_value};
use crate::store::{StoreError, TokenStatus};

/// A token item as an import writes it: sealed tokens and the file's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedItem {
    pub user_id: String,
    pub platform: String,
    /// In the stage's format.
    pub access_token: StoredToken,
    /// `None` for a provider that refreshes with the access token itself (Instagram): the item
    /// then has no `refreshToken`, rather than a second copy of the access token.
    pub refresh_token: Option<StoredToken>,
    pub expires_at: u64,
    pub refresh_expires_at: Option<u64>,
    pub status: TokenStatus,
    /// Granted scopes, when the grant says (a connect); `None` leaves a stored one as it is.
    pub scope: Option<String>,
}

/// What the write may replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The item must not exist; it is created with version 1.
    Absent,
    /// The item must still be at this version (0: an app's item without one); it becomes
    /// `version + 1`.
    Version(u64),
}

impl ImportedItem {
    fn attributes(&self, version: u64, now: u64) -> HashMap<String, AttributeValue> {
        let mut item = HashMap::from([
            ("userId".to_owned(), s(&self.user_id)),
            ("platform".to_owned(), s(&self.platform)),
            ("accessToken".to_owned(), stored_value(&self.access_token)),
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
            item.insert("refreshToken".to_owned(), stored_value(refresh));
        }
        if let Some(scope) = &self.scope {
            item.insert("scope".to_owned(), s(scope));
        }
        item
    }

    /// The update of an existing item: the contract's attributes set (or removed where the new
    /// grant has none), the version bumped; nothing else of the item is touched.
    fn update(&self, now: u64) -> Expr {
        let mut expr = Expr::default();
        expr.set("accessToken", stored_value(&self.access_token));
        match &self.refresh_token {
            Some(refresh) => expr.set("refreshToken", stored_value(refresh)),
            None => expr.remove("refreshToken"),
        }
        expr.set("expiresAt", n(self.expires_at));
        match self.refresh_expires_at {
            Some(at) => expr.set("refreshExpiresAt", n(at)),
            None => expr.remove("refreshExpiresAt"),
        }
        expr.set("status", s(self.status.as_str()));
        if let Some(scope) = &self.scope {
            expr.set("scope", s(scope));
        }
        expr.set("failures", n(0));
        expr.set("updatedAt", n(now));
        expr.remove("lastError");
        // A live grant again: a dead item's deletion time must not delete it.
        expr.remove("ttl");
        expr.bump_version();
        expr
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
        let written = match expect {
            Expect::Absent => self.create(item, now).await?,
            Expect::Version(seen) => self.replace(item, seen, now).await?,
        };
        if written {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn create(&self, item: &ImportedItem, now: u64) -> Result<bool, StoreError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item.attributes(1, now)))
            .condition_expression("attribute_not_exists(#userId)")
            .expression_attribute_names("#userId", "userId");
        applied(
            request.send().await,
            PutItemError::is_conditional_check_failed_exception,
        )
    }

    async fn replace(&self, item: &ImportedItem, seen: u64, now: u64) -> Result<bool, StoreError> {
        let mut expr = item.update(now);
        let condition = version_condition(&mut expr, seen);
        let result = self
            .update_item(&item.user_id, &item.platform)
            .update_expression(expr.update_expression())
            .condition_expression(condition)
            .set_expression_attribute_names(Some(expr.names))
            .set_expression_attribute_values(Some(expr.values))
            .send()
            .await;
        update_applied(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::item::tests::env;

    #[test]
    fn attributes_use_the_run_encoding() {
        let env = StoredToken::Envelope(env());
        let item = ImportedItem {
            user_id: "u".to_owned(),
            platform: "tiktok".to_owned(),
            access_token: env.clone(),
            refresh_token: Some(env),
            expires_at: 100,
            refresh_expires_at: None,
            status: TokenStatus::Active,
            scope: None,
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
        // Updating it removes a stale refresh token and touches only the contract's attributes.
        let text = instagram.update(50).update_expression();
        assert!(
            text.contains("REMOVE #refreshToken, #refreshExpiresAt, #lastError"),
            "{text}"
        );
        assert!(
            text.contains("#version = if_not_exists(#version, :zero) + :one"),
            "{text}"
        );
    }
}
