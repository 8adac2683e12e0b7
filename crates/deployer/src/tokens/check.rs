//! `deployer tokens check`: what a reader would make of an item, without printing any value.
//!
//! Per item: its format, status, version and expiry, whether its tokens open with the stage's key,
//! and what would stop the apps or the refresher: a token that does not open, no access token, a
//! dead or disconnected grant, an envelope sealed under another KMS key (readers that pin the
//! stage's key refuse it), a format other than the stage's, or no `expiresAt` (such an item is not
//! in the `byExpiry` index, so the refresher never refreshes it).

use std::fmt;

use refresher::crypto::{ItemKey, KeyCache, KeySource, StoredToken, TokenFormat};
use refresher::store::dynamo::scan::Scanned;
use refresher::store::{DynamoStore, TokenItem, TokenStatus};
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

/// What the stage expects of every item.
#[derive(Debug, Clone)]
pub struct Expected {
    pub stage: String,
    /// The format of the stage's writes (`tables.tokens.format`).
    pub format: TokenFormat,
    /// The ARN of the stage's KMS key, as KMS names it in the envelopes it seals.
    pub key_arn: String,
}

/// Checks `item` with the stage's keys against what the stage expects.
pub async fn check_item<S: KeySource>(
    keys: &KeyCache<S>,
    expected: &Expected,
    item: &TokenItem,
) -> ItemCheck {
    let mut problems = Vec::new();
    let readable = open_tokens(keys, item, &mut problems).await;
    problems.extend(status_problem(item));
    problems.extend(stage_problems(expected, item));
    problems.extend(version_problem(item));
    problems.extend(expiry_problem(item));
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

/// Whether a reader gets the access token; each token that does not open adds a problem.
async fn open_tokens<S: KeySource>(
    keys: &KeyCache<S>,
    item: &TokenItem,
    problems: &mut Vec<String>,
) -> bool {
    let key = ItemKey {
        user_id: &item.user_id,
        platform: &item.platform,
    };
    let readable = match &item.access_token {
        None => {
            problems.push("no accessToken: readers answer NOT_FOUND".to_owned());
            false
        }
        Some(stored) => opens(keys, stored, key, "accessToken", problems).await,
    };
    if let Some(stored) = &item.refresh_token {
        opens(keys, stored, key, "refreshToken", problems).await;
    }
    readable
}

/// A version 1 envelope, which the reader policy does not open, and how to seal it again.
fn version_problem(item: &TokenItem) -> Option<String> {
    let version_one = item
        .tokens()
        .any(|stored| matches!(stored, StoredToken::Envelope(e) if !e.is_bound()));
    version_one.then(|| {
        "envelope version 1: the reader policy opens only version 2 (table-bound data keys); \
         `deployer tokens migrate --to envelope` seals it again"
            .to_owned()
    })
}

/// An item the refresher never sees (no `expiresAt`), and how to set it.
fn expiry_problem(item: &TokenItem) -> Option<String> {
    item.expires_at.is_none().then(|| {
        "no expiresAt: not in the byExpiry index, so never refreshed; set it (re-import or \
         `tokens connect`)"
            .to_owned()
    })
}

/// A grant readers refuse, and what makes it usable again.
fn status_problem(item: &TokenItem) -> Option<String> {
    match item.status {
        TokenStatus::Active => None,
        TokenStatus::NeedsReauth => Some(
            "needs_reauth: the grant is dead, readers answer NEEDS_REAUTH and nothing refreshes \
             it; the user must connect again (the app's connect flow or `deployer tokens connect`)"
                .to_owned(),
        ),
        TokenStatus::Inactive => Some(
            "inactive: readers answer INACTIVE and nothing refreshes it; connect the user again \
             to use it"
                .to_owned(),
        ),
    }
}

/// Where the item differs from what the stage writes: another format, another KMS key.
fn stage_problems(expected: &Expected, item: &TokenItem) -> Vec<String> {
    let mut problems = Vec::new();
    let format = format_of(item);
    if format != "none" && format != expected.format.as_str() {
        problems.push(format!(
            "stored as {format} while the stage writes {}: converted on its next write, or now \
             with `deployer tokens migrate --stage {} --to {}`",
            expected.format.as_str(),
            expected.stage,
            expected.format.as_str()
        ));
    }
    let foreign = item.tokens().find_map(|stored| match stored {
        StoredToken::Envelope(e) if e.key_id != expected.key_arn => Some(e.key_id.as_str()),
        _ => None,
    });
    if let Some(key_id) = foreign {
        problems.push(format!(
            "sealed under the KMS key {key_id}, not the stage's {}: readers that pin KmsKeyArn \
             refuse it; write it again under the stage's key (`deployer tokens connect` or \
             `tokens import`)",
            expected.key_arn
        ));
    }
    problems
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

/// Checks every item of `table`, paging through it with `Scan` (an operator's read of the whole
/// table): the checks, and the read capacity the scan consumed.
pub async fn check_all<S: KeySource>(
    store: &DynamoStore,
    keys: &KeyCache<S>,
    expected: &Expected,
    table: &str,
) -> anyhow::Result<(Vec<ItemCheck>, f64)> {
    use anyhow::Context as _;
    let (mut checks, mut units, mut start) = (Vec::new(), 0.0, None);
    loop {
        let page = store
            .scan_page(start)
            .await
            .with_context(|| format!("cannot scan {table} (needs dynamodb:Scan on it)"))?;
        units += page.capacity_units;
        for scanned in page.items {
            checks.push(match scanned {
                Scanned::Token(item) => check_item(keys, expected, &item).await,
                Scanned::Malformed {
                    user_id,
                    platform,
                    reason,
                } => ItemCheck::malformed(&user_id, &platform, &reason),
            });
        }
        crate::output::note(&format!("checked {} items", checks.len()));
        match page.next {
            Some(next) => start = Some(next),
            None => return Ok((checks, units)),
        }
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
            claim: None,
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
        let expected = expected(TokenFormat::Envelope);
        let mut sealed_item = item(Some(StoredToken::Envelope(sealed.clone())), Some(9));
        let good = check_item(&keys, &expected, &sealed_item).await;
        assert_eq!((good.format, good.readable), ("mixed", true));
        let problem = good.problem.unwrap();
        assert!(
            problem.contains("stored as mixed while the stage writes envelope")
                && problem.contains("tokens migrate --stage dev --to envelope"),
            "{problem}"
        );
        sealed_item.refresh_token = Some(StoredToken::Envelope(sealed.clone()));
        let good = check_item(&keys, &expected, &sealed_item).await;
        assert_eq!(
            (good.format, good.readable, good.problem.as_deref()),
            ("envelope", true, None)
        );

        let moved = ItemKey {
            user_id: "other",
            platform: "tiktok",
        };
        let foreign = keys
            .encrypt(&SecretString::new("act.value"), moved)
            .await
            .unwrap();
        let bad = check_item(
            &keys,
            &expected,
            &item(Some(StoredToken::Envelope(foreign)), None),
        )
        .await;
        assert!(!bad.readable);
        let problem = bad.problem.unwrap();
        assert!(problem.contains("accessToken does not open"), "{problem}");
        assert!(
            problem.contains("no expiresAt: not in the byExpiry index"),
            "{problem}"
        );
        assert!(!problem.contains("act.value") && !problem.contains("rt.value"));

        let none = check_item(&keys, &expected, &item(None, Some(9))).await;
        assert!(!none.readable && none.problem.unwrap().contains("NOT_FOUND"));
        let plain = item(Some(StoredToken::Plain(SecretString::new("a"))), Some(9));
        let checked = check_item(&keys, &self::expected(TokenFormat::Plaintext), &plain).await;
        assert_eq!((checked.format, checked.problem), ("plaintext", None));
    }

    #[tokio::test]
    async fn dead_grants_and_envelopes_under_another_key_are_flagged() {
        let keys = KeyCache::new(Arc::new(OneKey));
        let key = ItemKey {
            user_id: "u",
            platform: "tiktok",
        };
        let mut sealed = keys
            .encrypt(&SecretString::new("act.value"), key)
            .await
            .unwrap();
        sealed.key_id = "arn:aws:kms:us-east-1:123456789012:key/other".to_owned();
        let mut dead = item(Some(StoredToken::Envelope(sealed.clone())), Some(9));
        dead.refresh_token = Some(StoredToken::Envelope(sealed));
        dead.status = TokenStatus::NeedsReauth;
        let checked = check_item(&keys, &expected(TokenFormat::Envelope), &dead).await;
        let problem = checked.problem.unwrap();
        assert!(
            problem.contains("needs_reauth: the grant is dead"),
            "{problem}"
        );
        assert!(
            problem.contains("sealed under the KMS key arn:aws:kms:us-east-1:123456789012:key/other, not the stage's k"),
            "{problem}"
        );
        dead.status = TokenStatus::Inactive;
        let checked = check_item(&keys, &expected(TokenFormat::Envelope), &dead).await;
        assert!(
            checked
                .problem
                .unwrap()
                .contains("inactive: readers answer INACTIVE")
        );
    }

    fn expected(format: TokenFormat) -> Expected {
        Expected {
            stage: "dev".to_owned(),
            format,
            key_arn: "k".to_owned(),
        }
    }
}
