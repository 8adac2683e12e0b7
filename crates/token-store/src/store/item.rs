//! Reading and writing item attributes: numbers, keys, statuses and token attributes (envelope
//! maps or legacy plaintext strings). Errors name the attribute, never its value.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::{Claim, DueToken, StoreError, TokenItem, TokenStatus};
use crate::crypto::{Envelope, StoredToken};
use crate::secret::SecretString;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn string(item: &Item, name: &str) -> Option<String> {
    item.get(name)?.as_s().ok().cloned()
}

/// An attribute, or `None` when it is absent or `NULL` (the contract: NULL counts as absent).
fn present<'a>(item: &'a Item, name: &str) -> Option<&'a AttributeValue> {
    item.get(name).filter(|value| !value.is_null())
}

/// A string attribute (absent or NULL: `None`); present but of another type is an error.
pub(crate) fn strict_string(item: &Item, name: &str) -> Result<Option<String>, StoreError> {
    match present(item, name) {
        None => Ok(None),
        Some(AttributeValue::S(value)) => Ok(Some(value.clone())),
        Some(_) => Err(StoreError::Malformed(format!("`{name}` is not a string"))),
    }
}

/// A numeric attribute (absent or NULL: `None`); present but not a whole number from 0 to
/// 2**64 - 1 is an error.
fn number(item: &Item, name: &str) -> Result<Option<u64>, StoreError> {
    let Some(value) = present(item, name) else {
        return Ok(None);
    };
    let wrong = || StoreError::Malformed(format!("`{name}` is not a whole number"));
    let text = value.as_n().map_err(|_| wrong())?;
    text.parse().map(Some).map_err(|_| wrong())
}

fn keys(item: &Item) -> Result<(String, String), StoreError> {
    let user_id = string(item, "userId")
        .ok_or_else(|| StoreError::Malformed("no userId string".to_owned()))?;
    let platform = string(item, "platform")
        .ok_or_else(|| StoreError::Malformed("no platform string".to_owned()))?;
    Ok((user_id, platform))
}

/// A row of the due listing. Lenient on `version` and `expiresAt`: one malformed item must not hide every other
/// due token of its provider; the run reads each item in full ([`token_item`], strict) before
/// refreshing it, and reports a malformed one there by name.
pub(crate) fn due_row(item: &Item) -> Result<DueToken, StoreError> {
    let (user_id, platform) = keys(item)?;
    Ok(DueToken {
        // Lenient too: an app's item with a fractional or negative `expiresAt` is reported as
        // missing its expiry by the run, instead of failing the provider's whole due listing.
        expires_at: number(item, "expiresAt").ok().flatten(),
        version: number(item, "version").ok().flatten().unwrap_or(0),
        status: TokenStatus::parse(string(item, "status").as_deref()),
        user_id,
        platform,
    })
}

pub(crate) fn token_item(item: &Item) -> Result<TokenItem, StoreError> {
    let (user_id, platform) = keys(item)?;
    Ok(TokenItem {
        version: number(item, "version")?.unwrap_or(0),
        status: status(item)?,
        expires_at: number(item, "expiresAt")?,
        refresh_expires_at: number(item, "refreshExpiresAt")?,
        last_refresh_at: number(item, "lastRefreshAt")?,
        failures: number(item, "failures")?.unwrap_or(0),
        scope: string(item, "scope"),
        access_token: stored_token(item, "accessToken")?,
        refresh_token: stored_token(item, "refreshToken")?,
        claim: claim(item)?,
        user_id,
        platform,
    })
}

/// `claimOwner` and `claimUntil`, both or neither (a claim half written is not a claim).
fn claim(item: &Item) -> Result<Option<Claim>, StoreError> {
    let owner = strict_string(item, "claimOwner")?;
    let until = number(item, "claimUntil")?;
    Ok(owner
        .zip(until)
        .map(|(owner, until)| Claim { owner, until }))
}

/// `status`: absent (or NULL) is active; present but not a string is malformed, not guessed.
pub(crate) fn status(item: &Item) -> Result<TokenStatus, StoreError> {
    Ok(TokenStatus::parse(
        strict_string(item, "status")?.as_deref(),
    ))
}

/// An envelope map, or plaintext (`S`); errors never quote the value.
pub(crate) fn stored_token(item: &Item, name: &str) -> Result<Option<StoredToken>, StoreError> {
    match present(item, name) {
        None => Ok(None),
        Some(AttributeValue::S(plain)) if plain.is_empty() => Ok(None),
        Some(AttributeValue::S(plain)) => {
            Ok(Some(StoredToken::Plain(SecretString::new(plain.as_str()))))
        }
        Some(AttributeValue::M(map)) => envelope(map).map(|e| Some(StoredToken::Envelope(e))),
        Some(_) => Err(StoreError::Malformed(format!(
            "`{name}` is neither an envelope map nor a string"
        ))),
    }
}

fn envelope(map: &Item) -> Result<Envelope, StoreError> {
    let field = |name: &str| {
        string(map, name)
            .ok_or_else(|| StoreError::Malformed(format!("envelope field `{name}` is missing")))
    };
    let version = number(map, "version")?
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| StoreError::Malformed("envelope field `version` is missing".to_owned()))?;
    Ok(Envelope {
        version,
        key_id: field("keyId")?,
        encrypted_key: field("encryptedKey")?,
        nonce: field("nonce")?,
        ciphertext: field("ciphertext")?,
    })
}

/// A token value as DynamoDB stores it: an envelope map, or the plain string.
pub fn stored_value(stored: &StoredToken) -> AttributeValue {
    match stored {
        StoredToken::Envelope(envelope) => envelope_value(envelope),
        StoredToken::Plain(value) => s(value.expose()),
    }
}

/// An envelope as the map DynamoDB stores.
pub fn envelope_value(envelope: &Envelope) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("version".to_owned(), n(u64::from(envelope.version))),
        ("keyId".to_owned(), s(&envelope.key_id)),
        ("encryptedKey".to_owned(), s(&envelope.encrypted_key)),
        ("nonce".to_owned(), s(&envelope.nonce)),
        ("ciphertext".to_owned(), s(&envelope.ciphertext)),
    ]))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A well-formed envelope (store tests' fixture).
    pub(crate) fn env() -> Envelope {
        Envelope {
            version: 1,
            key_id: "k".to_owned(),
            encrypted_key: "ZQ==".to_owned(),
            nonce: "bm9uY2U=".to_owned(),
            ciphertext: "Yw==".to_owned(),
        }
    }

    #[test]
    fn a_malformed_version_keeps_the_row_listed_and_fails_the_full_read() {
        let item: Item = [
            ("userId".to_owned(), s("u")),
            ("platform".to_owned(), s("tiktok")),
            ("expiresAt".to_owned(), n(10)),
            ("version".to_owned(), s("seven")),
        ]
        .into_iter()
        .collect();
        let row = due_row(&item).unwrap();
        assert_eq!((row.version, row.expires_at), (0, Some(10)));
        let mut fractional = item.clone();
        fractional.insert("expiresAt".to_owned(), AttributeValue::N("10.5".to_owned()));
        assert_eq!(
            due_row(&fractional).unwrap().expires_at,
            None,
            "listed, not failing the query"
        );
        let err = token_item(&item).unwrap_err();
        assert!(
            err.to_string().contains("`version` is not a whole number"),
            "{err}"
        );
    }

    #[test]
    fn envelopes_round_trip_and_strings_are_plaintext() {
        let item: Item = HashMap::from([
            ("userId".to_owned(), s("u")),
            ("platform".to_owned(), s("tiktok")),
            ("version".to_owned(), n(3)),
            ("accessToken".to_owned(), envelope_value(&env())),
            ("refreshToken".to_owned(), s("plain-value")),
        ]);
        let parsed = token_item(&item).unwrap();
        assert_eq!(parsed.version, 3);
        assert_eq!(parsed.status, TokenStatus::Active);
        assert_eq!(parsed.access_token, Some(StoredToken::Envelope(env())));
        assert!(matches!(parsed.refresh_token, Some(StoredToken::Plain(_))));
        let shown = format!("{parsed:?}");
        assert!(!shown.contains("plain-value"), "{shown}");
        assert_eq!(
            stored_value(parsed.refresh_token.as_ref().unwrap()),
            s("plain-value")
        );
    }

    #[test]
    fn malformed_numbers_and_tokens_are_reported_without_values() {
        let item: Item = HashMap::from([
            ("userId".to_owned(), s("u")),
            ("platform".to_owned(), s("p")),
            ("expiresAt".to_owned(), s("soon")),
        ]);
        assert_eq!(
            token_item(&item).unwrap_err().to_string(),
            "the item is malformed: `expiresAt` is not a whole number"
        );
        let item: Item = HashMap::from([
            ("userId".to_owned(), s("u")),
            ("platform".to_owned(), s("p")),
            ("accessToken".to_owned(), AttributeValue::Bool(true)),
        ]);
        assert!(token_item(&item).is_err());
    }

    #[test]
    fn a_status_that_is_not_a_string_is_malformed() {
        let mut item: Item = HashMap::from([
            ("userId".to_owned(), s("u")),
            ("platform".to_owned(), s("p")),
            ("status".to_owned(), AttributeValue::Bool(true)),
        ]);
        assert_eq!(
            token_item(&item).unwrap_err().to_string(),
            "the item is malformed: `status` is not a string"
        );
        item.insert("status".to_owned(), AttributeValue::Null(true));
        assert_eq!(token_item(&item).unwrap().status, TokenStatus::Active);
    }

    #[test]
    fn status_parsing_is_conservative() {
        assert_eq!(TokenStatus::parse(None), TokenStatus::Active);
        assert_eq!(
            TokenStatus::parse(Some("needs_reauth")),
            TokenStatus::NeedsReauth
        );
        assert_eq!(TokenStatus::parse(Some("weird")), TokenStatus::Inactive);
    }
}
