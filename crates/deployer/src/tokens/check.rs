//! `deployer tokens check`: what a reader would make of an item, without printing any value.
//!
//! Per item: its format, status, version and expiry, whether its tokens open with the stage's key,
//! and what would stop the apps or the refresher: a token that does not open, no access token, or
//! no `expiresAt` (such an item is not in the `byExpiry` index, so the refresher never refreshes
//! it).

use std::fmt;

use refresher::crypto::{ItemKey, KeyCache, KeySource, StoredToken, TokenFormat};
use refresher::store::TokenItem;
use serde::Serialize;

/// One item's check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemCheck {
    pub user_id: String,
    pub platform: String,
    /// `envelope`, `plaintext`, `mixed` (the two tokens differ), or `none`.
    pub format: &'static str,
    pub status: &'static str,
    pub version: u64,
    pub expires_at: Option<u64>,
    /// A reader gets the access token (whatever the status says).
    pub readable: bool,
    /// What needs attention, and the fix; `None` when nothing does.
    pub problem: Option<String>,
}

impl ItemCheck {
    /// An item the table could not even parse (a wrong attribute type).
    pub fn malformed(user_id: &str, platform: &str, reason: &str) -> Self {
        Self {
            user_id: user_id.to_owned(),
            platform: platform.to_owned(),
            format: "none",
            status: "unknown",
            version: 0,
            expires_at: None,
            readable: false,
            problem: Some(format!(
                "malformed: {reason}; rewrite it with `deployer tokens connect` or `tokens import`"
            )),
        }
    }
}

impl fmt::Display for ItemCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.readable {
            "readable"
        } else {
            "UNREADABLE"
        };
        write!(
            f,
            "{}/{}: {verdict}, {}, {}, version {}",
            self.user_id, self.platform, self.format, self.status, self.version
        )?;
        match self.expires_at {
            Some(at) => write!(f, ", expires {}", refresher::clock::rfc3339(at))?,
            None => write!(f, ", no expiresAt")?,
        }
        if let Some(problem) = &self.problem {
            write!(f, "\n    {problem}")?;
        }
        Ok(())
    }
}

/// Checks `item` with the stage's keys.
pub async fn check_item<S: KeySource>(keys: &KeyCache<S>, item: &TokenItem) -> ItemCheck {
    let key = ItemKey {
        user_id: &item.user_id,
        platform: &item.platform,
    };
    let mut problems = Vec::new();
    let readable = match &item.access_token {
        None => {
            problems.push("no accessToken: readers answer NOT_FOUND".to_owned());
            false
        }
        Some(stored) => opens(keys, stored, key, "accessToken", &mut problems).await,
    };
    if let Some(stored) = &item.refresh_token {
        opens(keys, stored, key, "refreshToken", &mut problems).await;
    }
    let version_one = item
        .tokens()
        .any(|stored| matches!(stored, StoredToken::Envelope(e) if !e.is_bound()));
    if version_one {
        problems.push(
            "envelope version 1: the reader policy opens only version 2 (table-bound data keys); \
             `deployer tokens migrate --to envelope` seals it again"
                .to_owned(),
        );
    }
    if item.expires_at.is_none() {
        problems.push(
            "no expiresAt: not in the byExpiry index, so never refreshed; set it (re-import or \
             `tokens connect`)"
                .to_owned(),
        );
    }
    ItemCheck {
        user_id: item.user_id.clone(),
        platform: item.platform.clone(),
        format: format_of(item),
        status: item.status.as_str(),
        version: item.version,
        expires_at: item.expires_at,
        readable,
        problem: (!problems.is_empty()).then(|| problems.join("; ")),
    }
}

async fn opens<S: KeySource>(
    keys: &KeyCache<S>,
    stored: &StoredToken,
    key: ItemKey<'_>,
    name: &str,
    problems: &mut Vec<String>,
) -> bool {
    match keys.read(stored, key).await {
        Ok(_) => true,
        Err(err) => {
            problems.push(format!("{name} does not open with the stage's key: {err}"));
            false
        }
    }
}

fn format_of(item: &TokenItem) -> &'static str {
    let formats: Vec<TokenFormat> = item.tokens().map(StoredToken::format).collect();
    match formats.as_slice() {
        [] => "none",
        [first, rest @ ..] if rest.iter().all(|f| f == first) => first.as_str(),
        _ => "mixed",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;
    use refresher::crypto::{DataKey, GeneratedKey, KeySourceError};
    use refresher::secret::SecretString;
    use refresher::store::TokenStatus;

    use super::*;

    struct OneKey;

    #[async_trait]
    impl KeySource for OneKey {
        async fn generate_data_key(&self) -> Result<GeneratedKey, KeySourceError> {
            Ok(GeneratedKey {
                plaintext: DataKey::from_slice(&[3; 32]).unwrap(),
                encrypted: vec![1],
                key_id: "k".to_owned(),
            })
        }

        async fn decrypt(&self, _: &[u8], _: &str, _: bool) -> Result<DataKey, KeySourceError> {
            Ok(DataKey::from_slice(&[3; 32]).unwrap())
        }
    }

    fn item(access: Option<StoredToken>, expires_at: Option<u64>) -> TokenItem {
        TokenItem {
            user_id: "u".to_owned(),
            platform: "tiktok".to_owned(),
            version: 2,
            status: TokenStatus::Active,
            expires_at,
            refresh_expires_at: None,
            last_refresh_at: None,
            failures: 0,
            scope: None,
            access_token: access,
            refresh_token: Some(StoredToken::Plain(SecretString::new("rt.value"))),
        }
    }

    #[tokio::test]
    async fn formats_problems_and_fixes_are_reported_without_values() {
        let keys = KeyCache::new(Arc::new(OneKey));
        let key = ItemKey {
            user_id: "u",
            platform: "tiktok",
        };
        let sealed = keys
            .encrypt(&SecretString::new("act.value"), key)
            .await
            .unwrap();
        let good = check_item(
            &keys,
            &item(Some(StoredToken::Envelope(sealed.clone())), Some(9)),
        )
        .await;
        assert_eq!(
            (good.format, good.readable, good.problem.as_deref()),
            ("mixed", true, None)
        );

        let moved = ItemKey {
            user_id: "other",
            platform: "tiktok",
        };
        let foreign = keys
            .encrypt(&SecretString::new("act.value"), moved)
            .await
            .unwrap();
        let bad = check_item(&keys, &item(Some(StoredToken::Envelope(foreign)), None)).await;
        assert!(!bad.readable);
        let problem = bad.problem.unwrap();
        assert!(problem.contains("accessToken does not open"), "{problem}");
        assert!(
            problem.contains("no expiresAt: not in the byExpiry index"),
            "{problem}"
        );
        assert!(!problem.contains("act.value") && !problem.contains("rt.value"));

        let none = check_item(&keys, &item(None, Some(9))).await;
        assert!(!none.readable && none.problem.unwrap().contains("NOT_FOUND"));
        let plain = check_item(
            &keys,
            &item(Some(StoredToken::Plain(SecretString::new("a"))), Some(9)),
        )
        .await;
        assert_eq!(plain.format, "plaintext");
    }
}
