//! What the fakes are started with: the providers, their client credentials, lifetimes and limits.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The providers the fakes imitate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// TikTok Login Kit v2: always rotates the refresh token.
    Tiktok,
    /// Reddit: HTTP Basic client auth, a User-Agent rule, 200-with-error bodies.
    Reddit,
    /// Instagram API with Instagram Login: the long-lived access token refreshes itself.
    Instagram,
    /// A generic RFC 6749 server.
    Oauth2,
}

impl Provider {
    /// Every provider, in a fixed order.
    pub const ALL: [Self; 4] = [Self::Tiktok, Self::Reddit, Self::Instagram, Self::Oauth2];

    /// The lower-case name used in routes, token prefixes and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tiktok => "tiktok",
            Self::Reddit => "reddit",
            Self::Instagram => "instagram",
            Self::Oauth2 => "oauth2",
        }
    }

    /// The path of the endpoint that refreshes a token, below the base URL.
    pub fn token_path(self) -> &'static str {
        match self {
            Self::Tiktok => "/tiktok/v2/oauth/token/",
            Self::Reddit => "/reddit/api/v1/access_token",
            Self::Instagram => "/instagram/refresh_access_token",
            Self::Oauth2 => "/oauth2/token",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A provider name that is none of `tiktok`, `reddit`, `instagram`, `oauth2`.
#[derive(Debug, thiserror::Error)]
#[error("unknown provider `{0}`; use one of tiktok, reddit, instagram, oauth2")]
pub struct UnknownProvider(String);

impl FromStr for Provider {
    type Err = UnknownProvider;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == name)
            .ok_or_else(|| UnknownProvider(name.to_owned()))
    }
}

/// Whether a refresh answers with a new refresh token (the old one then counts as used).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rotation {
    /// Every refresh rotates.
    Always,
    /// No refresh rotates; the response carries no refresh token.
    Never,
    /// Every second refresh of a grant rotates (the 2nd, 4th, ...): "sometimes", deterministically.
    Alternate,
}

/// One provider's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderConfig {
    /// The client id (TikTok: `client_key`) the fake accepts.
    pub client_id: String,
    /// The client secret the fake accepts.
    pub client_secret: String,
    /// `expires_in` of issued access tokens, in seconds.
    pub expires_in: u64,
    /// `refresh_expires_in` of issued refresh tokens (TikTok reports and enforces it).
    pub refresh_expires_in: u64,
    /// Refresh-token rotation; TikTok always rotates and Instagram has no refresh token, whatever this says.
    pub rotation: Rotation,
    /// Requests per rate window and client; `None` is unlimited.
    pub rate_limit: Option<u32>,
    /// Added before every token-endpoint answer.
    pub latency: Duration,
}

impl ProviderConfig {
    /// The defaults for `provider`: credentials `fake-<provider>-client` / `fake-<provider>-secret`.
    pub fn defaults(provider: Provider) -> Self {
        let (expires_in, rotation, rate_limit) = match provider {
            Provider::Tiktok => (7_200, Rotation::Always, None),
            Provider::Reddit => (3_600, Rotation::Never, Some(100)),
            Provider::Instagram => (5_184_000, Rotation::Always, None),
            Provider::Oauth2 => (3_600, Rotation::Always, None),
        };
        Self {
            client_id: format!("fake-{provider}-client"),
            client_secret: format!("fake-{provider}-secret"),
            expires_in,
            refresh_expires_in: 15_552_000,
            rotation,
            rate_limit,
            latency: Duration::ZERO,
        }
    }
}

/// Settings for [`crate::FakeProviders::start`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// TikTok's settings.
    pub tiktok: ProviderConfig,
    /// Reddit's settings (rate limit 100 per window by default).
    pub reddit: ProviderConfig,
    /// Instagram's settings.
    pub instagram: ProviderConfig,
    /// The generic server's settings.
    pub oauth2: ProviderConfig,
    /// The window the rate limits count in: one minute, shorter in tests.
    pub rate_window: Duration,
    /// How long an authorization code stays usable.
    pub code_ttl: Duration,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            port: 0,
            tiktok: ProviderConfig::defaults(Provider::Tiktok),
            reddit: ProviderConfig::defaults(Provider::Reddit),
            instagram: ProviderConfig::defaults(Provider::Instagram),
            oauth2: ProviderConfig::defaults(Provider::Oauth2),
            rate_window: Duration::from_mins(1),
            code_ttl: Duration::from_mins(10),
        }
    }
}

impl FakeConfig {
    /// The settings of one provider.
    pub fn provider(&self, provider: Provider) -> &ProviderConfig {
        match provider {
            Provider::Tiktok => &self.tiktok,
            Provider::Reddit => &self.reddit,
            Provider::Instagram => &self.instagram,
            Provider::Oauth2 => &self.oauth2,
        }
    }

    /// The settings of one provider, to change before starting.
    pub fn provider_mut(&mut self, provider: Provider) -> &mut ProviderConfig {
        match provider {
            Provider::Tiktok => &mut self.tiktok,
            Provider::Reddit => &mut self.reddit,
            Provider::Instagram => &mut self.instagram,
            Provider::Oauth2 => &mut self.oauth2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for provider in Provider::ALL {
            assert_eq!(provider.as_str().parse::<Provider>().ok(), Some(provider));
        }
        assert!("google".parse::<Provider>().is_err());
    }

    #[test]
    fn default_credentials_name_the_provider() {
        let config = FakeConfig::default();
        assert_eq!(config.reddit.client_id, "fake-reddit-client");
        assert_eq!(
            config.provider(Provider::Tiktok).client_secret,
            "fake-tiktok-secret"
        );
        assert_eq!(config.reddit.rate_limit, Some(100));
    }
}
