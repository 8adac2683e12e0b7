//! Paging through the whole tokens table for the operator's commands (`deployer tokens check
//! --all`, `deployer tokens migrate`). The function's role has no `Scan`, and neither has the
//! readers' policy: only the operator's credentials call this, and its read cost (reported as
//! consumed capacity) is the whole table's.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};

use super::{DynamoStore, sdk_error};
use crate::store::item::{Item, token_item};
use crate::store::{StoreError, TokenItem, is_lock_key};

/// One item of a scan: parsed, or why not (by key, never by value).
#[derive(Debug)]
pub enum Scanned {
    Token(Box<TokenItem>),
    Malformed {
        user_id: String,
        platform: String,
        reason: String,
    },
}

/// One page of a scan.
#[derive(Debug, Default)]
pub struct ScanPage {
    /// The token items of the page (the provider locks' items are left out).
    pub items: Vec<Scanned>,
    /// Where the next page starts; `None` after the last one.
    pub next: Option<HashMap<String, AttributeValue>>,
    /// Read capacity units the page consumed, as DynamoDB reports them.
    pub capacity_units: f64,
}

impl DynamoStore {
    /// A page of the table from `start` (`None`: the beginning), eventually consistent.
    pub async fn scan_page(
        &self,
        start: Option<HashMap<String, AttributeValue>>,
    ) -> Result<ScanPage, StoreError> {
        let out = self
            .client
            .scan()
            .table_name(&self.table)
            .set_exclusive_start_key(start)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|err| sdk_error(&err))?;
        Ok(ScanPage {
            items: out.items().iter().filter_map(scanned).collect(),
            next: out.last_evaluated_key().filter(|k| !k.is_empty()).cloned(),
            capacity_units: out
                .consumed_capacity()
                .and_then(aws_sdk_dynamodb::types::ConsumedCapacity::capacity_units)
                .unwrap_or(0.0),
        })
    }
}

fn scanned(raw: &Item) -> Option<Scanned> {
    let key = |name: &str| {
        raw.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let (user_id, platform) = (key("userId"), key("platform"));
    if is_lock_key(&user_id, &platform) {
        return None;
    }
    Some(match token_item(raw) {
        Ok(item) => Scanned::Token(Box::new(item)),
        Err(err) => Scanned::Malformed {
            user_id,
            platform,
            reason: match err {
                StoreError::Malformed(reason) => reason,
                other => other.to_string(),
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::item::{n, s};

    #[test]
    fn locks_are_left_out_and_malformed_items_are_named() {
        for platform in ["refresh-oauth", "refresh-oauth#tiktok"] {
            let lock: Item = HashMap::from([
                ("userId".to_owned(), s("cron")),
                ("platform".to_owned(), s(platform)),
                ("expiresAt".to_owned(), n(0)),
            ]);
            assert!(scanned(&lock).is_none(), "{platform}");
        }
        let bad: Item = HashMap::from([
            ("userId".to_owned(), s("u")),
            ("platform".to_owned(), s("tiktok")),
            ("expiresAt".to_owned(), s("tomorrow")),
        ]);
        match scanned(&bad) {
            Some(Scanned::Malformed {
                user_id, reason, ..
            }) => {
                assert_eq!(user_id, "u");
                assert_eq!(reason, "`expiresAt` is not a whole number");
            }
            other => panic!("{other:?}"),
        }
    }
}
