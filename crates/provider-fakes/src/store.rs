//! The grants: each user's current tokens, the tokens rotated out of them, and the refresh rules.
//!
//! A grant is one token family (RFC 9700 §4.14.2). Every token a family ever had stays indexed, so
//! presenting a rotated-out one is recognised as reuse and revokes the whole family.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::config::{Provider, ProviderConfig, Rotation};
use crate::tokens::{Kind, new_token};

/// Instagram refuses to refresh a token younger than this (seconds).
pub(crate) const INSTAGRAM_MIN_AGE: u64 = 86_400;

/// A grant's current tokens, as the admin API and [`crate::FakeProviders::current`] report them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    /// The newest access token.
    pub access_token: String,
    /// The newest refresh token; `None` for Instagram, which has none.
    pub refresh_token: Option<String>,
    /// Whether the grant is revoked (by reuse detection, code reuse or seeding).
    pub revoked: bool,
    /// When the current access token was issued, epoch seconds.
    pub issued_at: u64,
}

/// How [`crate::FakeProviders::seed`] creates a grant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedOptions {
    /// When the grant's tokens were issued, epoch seconds; now when absent. Instagram judges age by it.
    pub issued_at: Option<u64>,
    /// Seed the grant already revoked.
    #[serde(default)]
    pub revoked: bool,
}

/// Why a refresh was refused; every one of these is `invalid_grant` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No grant ever had this token.
    Unknown,
    /// The grant was revoked earlier.
    Revoked,
    /// A rotated-out token came back: the family is now revoked.
    Reused,
    /// Instagram: the token is less than 24 h old.
    TooYoung,
    /// The token (Instagram's access token, TikTok's refresh token) has expired.
    Expired,
}

/// What a successful refresh or code exchange hands out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Issued {
    pub(crate) access_token: String,
    /// Present when the refresh token was rotated or newly created.
    pub(crate) refresh_token: Option<String>,
    pub(crate) expires_in: u64,
    pub(crate) refresh_expires_in: u64,
    pub(crate) open_id: String,
}

type GrantKey = (Provider, String);

#[derive(Debug)]
struct Grant {
    issued_at: u64,
    refresh_issued_at: u64,
    access_token: String,
    refresh_token: Option<String>,
    revoked: bool,
    refreshes: u64,
    open_id: String,
    family: Vec<String>,
}

impl Grant {
    fn pair(&self) -> TokenPair {
        TokenPair {
            access_token: self.access_token.clone(),
            refresh_token: self.refresh_token.clone(),
            revoked: self.revoked,
            issued_at: self.issued_at,
        }
    }

    /// The token a client presents to refresh: Instagram's access token, everyone else's refresh token.
    fn credential(&self) -> Option<&str> {
        self.refresh_token
            .as_deref()
            .or(Some(self.access_token.as_str()))
    }
}

/// All grants of all providers.
#[derive(Debug, Default)]
pub(crate) struct Store {
    grants: HashMap<GrantKey, Grant>,
    index: HashMap<String, GrantKey>,
}

impl Store {
    /// Creates (or replaces, with a new family) the grant of `user`.
    pub(crate) fn seed(
        &mut self,
        provider: Provider,
        user: &str,
        options: &SeedOptions,
        now: u64,
    ) -> TokenPair {
        let grant = self.insert(provider, user, options.issued_at.unwrap_or(now));
        grant.revoked = options.revoked;
        grant.pair()
    }

    /// Creates (or replaces) a grant issued now, as a code exchange does, and returns its first tokens.
    pub(crate) fn create(
        &mut self,
        provider: Provider,
        user: &str,
        config: &ProviderConfig,
        now: u64,
    ) -> Issued {
        let grant = self.insert(provider, user, now);
        Issued {
            access_token: grant.access_token.clone(),
            refresh_token: grant.refresh_token.clone(),
            expires_in: config.expires_in,
            refresh_expires_in: config.refresh_expires_in,
            open_id: grant.open_id.clone(),
        }
    }

    fn insert(&mut self, provider: Provider, user: &str, issued_at: u64) -> &mut Grant {
        let key = (provider, user.to_owned());
        if let Some(old) = self.grants.remove(&key) {
            for token in old.family {
                self.index.remove(&token);
            }
        }
        let mut grant = Grant {
            issued_at,
            refresh_issued_at: issued_at,
            access_token: new_token(provider, Kind::Access),
            refresh_token: (provider != Provider::Instagram)
                .then(|| new_token(provider, Kind::Refresh)),
            revoked: false,
            refreshes: 0,
            open_id: format!("{provider}-open-id-{user}"),
            family: Vec::new(),
        };
        if let Some(credential) = grant.credential().map(str::to_owned) {
            self.index.insert(credential.clone(), key.clone());
            grant.family.push(credential);
        }
        self.grants.entry(key).or_insert(grant)
    }

    /// The current tokens of `user`'s grant.
    pub(crate) fn current(&self, provider: Provider, user: &str) -> Option<TokenPair> {
        self.grants
            .get(&(provider, user.to_owned()))
            .map(Grant::pair)
    }

    /// The user whose grant (current or past) holds `token`.
    pub(crate) fn owner(&self, provider: Provider, token: &str) -> Option<&str> {
        self.index
            .get(token)
            .filter(|(p, _)| *p == provider)
            .map(|(_, user)| user.as_str())
    }

    /// Revokes `user`'s grant; true if there was one.
    pub(crate) fn revoke(&mut self, provider: Provider, user: &str) -> bool {
        self.grants
            .get_mut(&(provider, user.to_owned()))
            .map(|grant| grant.revoked = true)
            .is_some()
    }

    /// Refreshes the grant that `presented` belongs to, following the provider's rules.
    pub(crate) fn refresh(
        &mut self,
        provider: Provider,
        presented: &str,
        config: &ProviderConfig,
        now: u64,
    ) -> Result<Issued, Refusal> {
        let key = match self.index.get(presented) {
            Some(key) if key.0 == provider => key.clone(),
            _ => return Err(Refusal::Unknown),
        };
        let grant = self.grants.get_mut(&key).ok_or(Refusal::Unknown)?;
        if grant.revoked {
            return Err(Refusal::Revoked);
        }
        if grant.credential() != Some(presented) {
            grant.revoked = true;
            return Err(Refusal::Reused);
        }
        check_age(provider, grant, config, now)?;
        let rotate = rotates(provider, config.rotation, grant.refreshes);
        grant.refreshes += 1;
        grant.issued_at = now;
        grant.access_token = new_token(provider, Kind::Access);
        let mut issued_refresh = None;
        if provider == Provider::Instagram {
            grant.family.push(grant.access_token.clone());
            self.index.insert(grant.access_token.clone(), key);
        } else if rotate {
            let token = new_token(provider, Kind::Refresh);
            grant.refresh_token = Some(token.clone());
            grant.refresh_issued_at = now;
            grant.family.push(token.clone());
            self.index.insert(token.clone(), key);
            issued_refresh = Some(token);
        }
        Ok(Issued {
            access_token: grant.access_token.clone(),
            refresh_token: issued_refresh,
            expires_in: config.expires_in,
            refresh_expires_in: config
                .refresh_expires_in
                .saturating_sub(now.saturating_sub(grant.refresh_issued_at)),
            open_id: grant.open_id.clone(),
        })
    }
}

/// Whether this refresh issues a new refresh token; `done` counts the grant's earlier refreshes.
fn rotates(provider: Provider, rotation: Rotation, done: u64) -> bool {
    match (provider, rotation) {
        (Provider::Tiktok | Provider::Instagram, _) | (_, Rotation::Always) => true,
        (_, Rotation::Never) => false,
        (_, Rotation::Alternate) => done % 2 == 1,
    }
}

/// Instagram's "at least 24 h old and not expired" rule, and TikTok's refresh-token lifetime.
fn check_age(
    provider: Provider,
    grant: &Grant,
    config: &ProviderConfig,
    now: u64,
) -> Result<(), Refusal> {
    match provider {
        Provider::Instagram => {
            let age = now.saturating_sub(grant.issued_at);
            if age >= config.expires_in {
                Err(Refusal::Expired)
            } else if age < INSTAGRAM_MIN_AGE {
                Err(Refusal::TooYoung)
            } else {
                Ok(())
            }
        }
        Provider::Tiktok
            if now.saturating_sub(grant.refresh_issued_at) >= config.refresh_expires_in =>
        {
            Err(Refusal::Expired)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
