//! [`TokenStore`] on DynamoDB: `Query` on the expiry index, `GetItem`, conditional `UpdateItem`.
//!
//! Attribute names that are reserved words (`status`, `ttl`, `version`…) always go through
//! `ExpressionAttributeNames`; every name is aliased, so no new attribute can collide later.
//! Attribute parsing lives in `item`; envelopes are maps (`M`), legacy plaintext tokens are strings
//! (`S`): see [`crate::crypto`].

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{
    DueToken, LOCK_USER_ID, SealedTokens, StoreError, TokenItem, TokenStatus, TokenStore, Update,
    lock_platform,
};
use crate::crypto::ItemKey;

use super::item::{Item, due_row, n, s, token_item};
pub use super::item::{envelope_value, stored_value};

pub mod import;
pub mod scan;

/// The tokens table and its expiry index.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    index: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>, index: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            index: index.into(),
        }
    }

    /// An `UpdateItem` on the item keyed `user_id`, `platform`.
    fn update_item(&self, user_id: &str, platform: &str) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("userId", s(user_id))
            .key("platform", s(platform))
    }
}

fn sdk_error<E, R>(err: &SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Failed(DisplayErrorContext(err).to_string())
}

/// A conditional write's outcome: `Ok(true)` applied, `Ok(false)` its condition failed
/// (`is_condition_failure` recognises that error), any other failure an error.
fn applied<O, E, R>(
    result: Result<O, SdkError<E, R>>,
    is_condition_failure: impl Fn(&E) -> bool,
) -> Result<bool, StoreError>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(err) if err.as_service_error().is_some_and(&is_condition_failure) => Ok(false),
        Err(err) => Err(sdk_error(&err)),
    }
}

/// [`applied`] for an `UpdateItem`.
fn update_applied<O, R: std::fmt::Debug>(
    result: Result<O, SdkError<UpdateItemError, R>>,
) -> Result<bool, StoreError> {
    applied(
        result,
        UpdateItemError::is_conditional_check_failed_exception,
    )
}

/// Builds an `UpdateItem`'s expressions: `SET` and `REMOVE` clauses with every name aliased.
#[derive(Default)]
pub(crate) struct Expr {
    set: Vec<String>,
    remove: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn name(&mut self, attr: &str) -> String {
        let alias = format!("#{attr}");
        self.names.insert(alias.clone(), attr.to_owned());
        alias
    }

    fn set(&mut self, attr: &str, value: AttributeValue) {
        let name = self.name(attr);
        self.values.insert(format!(":{attr}"), value);
        self.set.push(format!("{name} = :{attr}"));
    }

    fn remove(&mut self, attr: &str) {
        let name = self.name(attr);
        self.remove.push(name);
    }

    /// `version + 1`; an app's own item may have no version (read as 0) and gets one here.
    fn bump_version(&mut self) {
        let version = self.name("version");
        self.set.push(format!(
            "{version} = if_not_exists({version}, :zero) + :one"
        ));
        self.values.insert(":zero".to_owned(), n(0));
        self.values.insert(":one".to_owned(), n(1));
    }

    fn update_expression(&self) -> String {
        let mut text = format!("SET {}", self.set.join(", "));
        if !self.remove.is_empty() {
            text.push_str(" REMOVE ");
            text.push_str(&self.remove.join(", "));
        }
        text
    }
}

fn refreshed(expr: &mut Expr, sealed: &SealedTokens, now: u64) {
    expr.set("accessToken", stored_value(&sealed.access_token));
    if let Some(refresh) = &sealed.refresh_token {
        expr.set("refreshToken", stored_value(refresh));
    }
    if let Some(at) = sealed.expires_at {
        expr.set("expiresAt", n(at));
    }
    if let Some(at) = sealed.refresh_expires_at {
        expr.set("refreshExpiresAt", n(at));
    }
    if let Some(scope) = &sealed.scope {
        expr.set("scope", s(scope));
    }
    expr.set("lastRefreshAt", n(now));
    expr.set("failures", n(0));
    expr.set("status", s(TokenStatus::Active.as_str()));
    expr.remove("lastError");
}

fn describe(update: &Update, now: u64) -> Expr {
    let mut expr = Expr::default();
    match update {
        Update::Refreshed(sealed) => refreshed(&mut expr, sealed, now),
        Update::Failed {
            reason,
            refresh_token,
        } => {
            if let Some(refresh) = refresh_token {
                expr.set("refreshToken", stored_value(refresh));
            }
            let failures = expr.name("failures");
            expr.set.push(format!(
                "{failures} = if_not_exists({failures}, :zero) + :one"
            ));
            expr.set("lastError", s(reason));
        }
        Update::NeedsReauth { reason } => {
            expr.set("status", s(TokenStatus::NeedsReauth.as_str()));
            expr.set("lastError", s(reason));
        }
        Update::Converted {
            access_token,
            refresh_token,
        } => {
            if let Some(access) = access_token {
                expr.set("accessToken", stored_value(access));
            }
            if let Some(refresh) = refresh_token {
                expr.set("refreshToken", stored_value(refresh));
            }
        }
    }
    if !matches!(update, Update::Converted { .. }) {
        // The token's own write ends the refresh in flight (DESIGN §4: claims).
        expr.remove("claimOwner");
        expr.remove("claimUntil");
    }
    expr.set("updatedAt", n(now));
    expr.bump_version();
    expr
}

/// `… AND` no one holds a live claim: a conversion must not swap an item's tokens under a refresh
/// in flight (its write would then fail its version condition after the provider answered).
fn unclaimed_condition(expr: &mut Expr, now: u64) -> String {
    let until = expr.name("claimUntil");
    expr.values.insert(":now".to_owned(), n(now));
    format!("(attribute_not_exists({until}) OR {until} < :now)")
}

/// The version rule's condition (`docs/token-store.md`): the version read, where an item without
/// one (an app's own) was read as 0. The item must still exist: an `UpdateItem` would otherwise
/// create a new one from the write alone.
pub(crate) fn version_condition(expr: &mut Expr, seen: u64) -> String {
    let version = expr.name("version");
    expr.values.insert(":seen".to_owned(), n(seen));
    if seen == 0 {
        let user_id = expr.name("userId");
        format!(
            "attribute_exists({user_id}) AND (attribute_not_exists({version}) OR {version} = :seen)"
        )
    } else {
        format!("{version} = :seen")
    }
}

#[async_trait]
impl TokenStore for DynamoStore {
    async fn due(&self, platform: &str, before: u64) -> Result<Vec<DueToken>, StoreError> {
        let mut rows = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(&self.index)
                .key_condition_expression("#platform = :p AND #expiresAt <= :t")
                .projection_expression("#userId, #platform, #expiresAt, #version, #status")
                .expression_attribute_names("#userId", "userId")
                .expression_attribute_names("#platform", "platform")
                .expression_attribute_names("#expiresAt", "expiresAt")
                .expression_attribute_names("#version", "version")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":p", s(platform))
                .expression_attribute_values(":t", n(before))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|err| sdk_error(&err))?;
            for item in page.items() {
                rows.push(due_row(item)?);
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(rows),
            }
        }
    }

    async fn get(&self, user_id: &str, platform: &str) -> Result<Option<TokenItem>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("userId", s(user_id))
            .key("platform", s(platform))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| sdk_error(&err))?;
        out.item().map(token_item).transpose()
    }

    async fn write(
        &self,
        user_id: &str,
        platform: &str,
        seen: u64,
        update: &Update,
        now: u64,
    ) -> Result<(), StoreError> {
        let mut expr = describe(update, now);
        let mut condition = version_condition(&mut expr, seen);
        if matches!(update, Update::Converted { .. }) {
            let unclaimed = unclaimed_condition(&mut expr, now);
            condition = format!("({condition}) AND {unclaimed}");
        }
        let result = self
            .update_item(user_id, platform)
            .update_expression(expr.update_expression())
            .condition_expression(condition)
            .set_expression_attribute_names(Some(expr.names))
            .set_expression_attribute_values(Some(expr.values))
            .send()
            .await;
        if update_applied(result)? {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn claim(
        &self,
        key: ItemKey<'_>,
        seen: u64,
        owner: &str,
        now: u64,
        until: u64,
    ) -> Result<bool, StoreError> {
        let mut expr = Expr::default();
        expr.set("claimOwner", s(owner));
        expr.set("claimUntil", n(until));
        let version = version_condition(&mut expr, seen);
        let (until_name, owner_name) = (expr.name("claimUntil"), expr.name("claimOwner"));
        expr.values.insert(":now".to_owned(), n(now));
        let condition = format!(
            "({version}) AND (attribute_not_exists({until_name}) OR {until_name} < :now \
             OR {owner_name} = :claimOwner)"
        );
        let result = self
            .update_item(key.user_id, key.platform)
            .update_expression(expr.update_expression())
            .condition_expression(condition)
            .set_expression_attribute_names(Some(expr.names))
            .set_expression_attribute_values(Some(expr.values))
            .send()
            .await;
        update_applied(result)
    }

    async fn release(&self, key: ItemKey<'_>, owner: &str) -> Result<(), StoreError> {
        let result = self
            .update_item(key.user_id, key.platform)
            .update_expression("REMOVE #claimOwner, #claimUntil")
            .condition_expression("#claimOwner = :claimOwner")
            .expression_attribute_names("#claimOwner", "claimOwner")
            .expression_attribute_names("#claimUntil", "claimUntil")
            .expression_attribute_values(":claimOwner", s(owner))
            .send()
            .await;
        // A claim taken over since belongs to its new owner: nothing to release.
        update_applied(result)?;
        Ok(())
    }

    async fn lock(
        &self,
        provider: &str,
        owner: &str,
        now: u64,
        lease_until: u64,
    ) -> Result<bool, StoreError> {
        let result = self
            .update_item(LOCK_USER_ID, &lock_platform(provider))
            .update_expression("SET #expiresAt = :until, #lockOwner = :owner, #updatedAt = :now")
            .condition_expression("attribute_not_exists(#userId) OR #expiresAt < :now")
            .expression_attribute_names("#userId", "userId")
            .expression_attribute_names("#expiresAt", "expiresAt")
            .expression_attribute_names("#lockOwner", "lockOwner")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_values(":until", n(lease_until))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        update_applied(result)
    }

    async fn unlock(&self, provider: &str, owner: &str) -> Result<(), StoreError> {
        let result = self
            .update_item(LOCK_USER_ID, &lock_platform(provider))
            .update_expression("SET #expiresAt = :zero REMOVE #lockOwner")
            .condition_expression("#lockOwner = :owner")
            .expression_attribute_names("#expiresAt", "expiresAt")
            .expression_attribute_names("#lockOwner", "lockOwner")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        // A lock stolen after our lease ran out belongs to its new owner: nothing to release.
        update_applied(result)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::item::tests::env;

    #[test]
    fn update_expressions_alias_every_name_and_bump_the_version() {
        let expr = describe(
            &Update::Failed {
                reason: "transient".to_owned(),
                refresh_token: None,
            },
            100,
        );
        let text = expr.update_expression();
        assert_eq!(
            text,
            "SET #failures = if_not_exists(#failures, :zero) + :one, #lastError = :lastError, \
             #updatedAt = :updatedAt, #version = if_not_exists(#version, :zero) + :one \
             REMOVE #claimOwner, #claimUntil"
        );
        let expr = describe(
            &Update::Refreshed(SealedTokens {
                access_token: crate::crypto::StoredToken::Envelope(env()),
                refresh_token: None,
                expires_at: None,
                refresh_expires_at: None,
                scope: None,
            }),
            100,
        );
        let text = expr.update_expression();
        assert!(text.contains("#status = :status"));
        assert!(text.ends_with("REMOVE #lastError, #claimOwner, #claimUntil"));
        assert!(!text.contains("expiresAt"), "no lifetime keeps expiresAt");
        assert_eq!(expr.names["#status"], "status");
    }

    #[test]
    fn an_item_without_a_version_is_written_at_version_zero_only_if_it_exists() {
        let mut expr = Expr::default();
        assert_eq!(
            version_condition(&mut expr, 0),
            "attribute_exists(#userId) AND (attribute_not_exists(#version) OR #version = :seen)"
        );
        assert_eq!(expr.values[":seen"], n(0));
        let mut expr = Expr::default();
        assert_eq!(version_condition(&mut expr, 4), "#version = :seen");
        assert!(!expr.names.contains_key("#userId"));
    }
}
