//! The sample grants of the README demo (`scripts/demo`) and of its end-to-end test: a few users
//! at each provider of the `local` stage, some of them due for a refresh, one whose grant is dead.
//!
//! [`seed`] creates the grants at the fakes and returns the app's copy of the tokens as the JSON
//! lines `deployer tokens import` reads, with expiries relative to `now` (the fakes themselves
//! only judge Instagram's age and TikTok's refresh-token lifetime). The stage's generic OAuth2
//! provider is named `schwab` there; the fakes serve it as [`Provider::Oauth2`].

use serde_json::json;

use crate::{FakeProviders, Provider, SeedOptions};

const MINUTE: i64 = 60;
const DAY: i64 = 86_400;

/// One sample token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub user: &'static str,
    /// The stage's provider name (the item's `platform`).
    pub platform: &'static str,
    pub provider: Provider,
    /// Seconds from now to the access token's expiry (negative: expired).
    pub expires_in: i64,
    /// Due at the `local` stage's windows (tiktok 1h, reddit 20m, instagram 7d, schwab 10m).
    pub due: bool,
    /// A revoked grant whose item is `needs_reauth`: the run skips it until it is reconnected.
    pub dead: bool,
}

const fn sample(
    user: &'static str,
    platform: &'static str,
    provider: Provider,
    expires_in: i64,
    due: bool,
) -> Sample {
    Sample {
        user,
        platform,
        provider,
        expires_in,
        due,
        dead: false,
    }
}

/// The demo's users.
pub const SAMPLES: [Sample; 7] = [
    sample("alice", "tiktok", Provider::Tiktok, 30 * MINUTE, true),
    sample("bob", "tiktok", Provider::Tiktok, 2 * DAY, false),
    sample("carol", "reddit", Provider::Reddit, 10 * MINUTE, true),
    sample("dave", "reddit", Provider::Reddit, 50 * MINUTE, false),
    // 55 days old of its 60: refreshable (over 24 h old) and inside the 7-day window.
    sample("erin", "instagram", Provider::Instagram, 5 * DAY, true),
    sample("frank", "schwab", Provider::Oauth2, 5 * MINUTE, true),
    Sample {
        dead: true,
        ..sample("grace", "tiktok", Provider::Tiktok, -3 * DAY, true)
    },
];

/// Seeds every sample's grant and returns the import file's text (one JSON object a line).
pub fn seed(fakes: &FakeProviders, now: u64) -> String {
    let mut lines = String::new();
    for s in SAMPLES {
        let expires_at = now.saturating_add_signed(s.expires_in);
        // Instagram's fake judges a token's age by when it was issued: 60 days before expiry.
        let issued_at = (s.provider == Provider::Instagram)
            .then(|| expires_at.saturating_sub(fakes.config().provider(s.provider).expires_in));
        let options = SeedOptions {
            issued_at,
            revoked: s.dead,
        };
        let pair = fakes.seed(s.provider, s.user, options);
        let mut row = json!({
            "userId": s.user,
            "platform": s.platform,
            "accessToken": pair.access_token,
            "expiresAt": expires_at,
            "status": if s.dead { "needs_reauth" } else { "active" },
        });
        // Instagram has no refresh token: the long-lived token is its own refresh credential.
        if let Some(refresh) = pair.refresh_token {
            row["refreshToken"] = json!(refresh);
        }
        lines.push_str(&row.to_string());
        lines.push('\n');
    }
    lines
}
