//! Authorization codes (RFC 6749 §4.1) with PKCE (RFC 7636, S256 only), and Instagram's
//! short-lived tokens that a code turns into before they are exchanged for a long-lived one.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::config::Provider;
use crate::tokens::{Kind, new_token, pkce_s256};

/// Instagram's short-lived tokens last one hour.
const SHORT_LIVED: Duration = Duration::from_hours(1);

/// What `/authorize` was asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CodeRequest {
    pub(crate) user: String,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) challenge: Option<String>,
}

/// What a token endpoint was given to redeem a code.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Redemption<'a> {
    pub(crate) code: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) redirect_uri: Option<&'a str>,
    pub(crate) verifier: Option<&'a str>,
}

/// Why a code was refused (all `invalid_grant`, RFC 6749 §5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CodeRefusal {
    /// Unknown, expired, another client's, or a different redirect URI.
    Invalid,
    /// The PKCE verifier is missing or does not match the challenge.
    Pkce,
    /// Used before: the grant issued from it should be revoked (RFC 6749 §4.1.2).
    Reused { user: String },
}

#[derive(Debug)]
struct Pending {
    provider: Provider,
    request: CodeRequest,
    expires: Instant,
    used: bool,
}

/// Issued codes and Instagram short-lived tokens.
#[derive(Debug, Default)]
pub(crate) struct Codes {
    codes: HashMap<String, Pending>,
    short_lived: HashMap<String, (String, Instant)>,
}

impl Codes {
    /// A new single-use code for `request`, valid for `ttl`.
    pub(crate) fn issue(
        &mut self,
        provider: Provider,
        request: CodeRequest,
        ttl: Duration,
        now: Instant,
    ) -> String {
        let code = new_token(provider, Kind::Code);
        let pending = Pending {
            provider,
            request,
            expires: now + ttl,
            used: false,
        };
        self.codes.insert(code.clone(), pending);
        code
    }

    /// Redeems a code once; returns the user it was issued for.
    pub(crate) fn redeem(
        &mut self,
        provider: Provider,
        given: &Redemption<'_>,
        now: Instant,
    ) -> Result<String, CodeRefusal> {
        let pending = self
            .codes
            .get_mut(given.code)
            .filter(|p| p.provider == provider)
            .ok_or(CodeRefusal::Invalid)?;
        if pending.used {
            return Err(CodeRefusal::Reused {
                user: pending.request.user.clone(),
            });
        }
        let request = &pending.request;
        let redirect_ok = given
            .redirect_uri
            .is_none_or(|uri| uri == request.redirect_uri);
        if now >= pending.expires || request.client_id != given.client_id || !redirect_ok {
            return Err(CodeRefusal::Invalid);
        }
        if let Some(challenge) = &request.challenge {
            match given.verifier {
                Some(verifier) if pkce_s256(verifier) == *challenge => {}
                _ => return Err(CodeRefusal::Pkce),
            }
        }
        pending.used = true;
        Ok(request.user.clone())
    }

    /// A new Instagram short-lived token for `user`.
    pub(crate) fn issue_short_lived(&mut self, user: String, now: Instant) -> String {
        let token = new_token(Provider::Instagram, Kind::ShortLived);
        self.short_lived
            .insert(token.clone(), (user, now + SHORT_LIVED));
        token
    }

    /// Consumes a short-lived token; returns its user if it was valid.
    pub(crate) fn take_short_lived(&mut self, token: &str, now: Instant) -> Option<String> {
        self.short_lived
            .remove(token)
            .filter(|(_, expires)| now < *expires)
            .map(|(user, _)| user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mJ0kFWFydrxf5gM3LgBbyoAl9hmvvo";

    fn request(challenge: Option<&str>) -> CodeRequest {
        CodeRequest {
            user: "alice".into(),
            client_id: "client".into(),
            redirect_uri: "http://localhost/cb".into(),
            challenge: challenge.map(str::to_owned),
        }
    }

    fn redemption<'a>(code: &'a str, verifier: Option<&'a str>) -> Redemption<'a> {
        Redemption {
            code,
            client_id: "client",
            redirect_uri: Some("http://localhost/cb"),
            verifier,
        }
    }

    #[test]
    fn pkce_verifier_must_match() {
        let now = Instant::now();
        let mut codes = Codes::default();
        let challenge = pkce_s256(VERIFIER);
        let ttl = Duration::from_secs(90);
        let code = codes.issue(Provider::Oauth2, request(Some(&challenge)), ttl, now);
        let wrong = codes.redeem(Provider::Oauth2, &redemption(&code, Some("other")), now);
        assert_eq!(wrong, Err(CodeRefusal::Pkce));
        let missing = codes.redeem(Provider::Oauth2, &redemption(&code, None), now);
        assert_eq!(missing, Err(CodeRefusal::Pkce));
        let ok = codes.redeem(Provider::Oauth2, &redemption(&code, Some(VERIFIER)), now);
        assert_eq!(ok, Ok("alice".to_owned()));
        let again = codes.redeem(Provider::Oauth2, &redemption(&code, Some(VERIFIER)), now);
        assert_eq!(
            again,
            Err(CodeRefusal::Reused {
                user: "alice".into()
            })
        );
    }

    #[test]
    fn expired_foreign_or_redirected_codes_are_invalid() {
        let now = Instant::now();
        let mut codes = Codes::default();
        let ttl = Duration::from_secs(90);
        let code = codes.issue(Provider::Reddit, request(None), ttl, now);
        let other_provider = codes.redeem(Provider::Tiktok, &redemption(&code, None), now);
        assert_eq!(other_provider, Err(CodeRefusal::Invalid));
        let mut moved = redemption(&code, None);
        moved.redirect_uri = Some("http://evil/cb");
        assert_eq!(
            codes.redeem(Provider::Reddit, &moved, now),
            Err(CodeRefusal::Invalid)
        );
        let late = codes.redeem(Provider::Reddit, &redemption(&code, None), now + ttl);
        assert_eq!(late, Err(CodeRefusal::Invalid));
    }

    #[test]
    fn short_lived_tokens_are_single_use() {
        let now = Instant::now();
        let mut codes = Codes::default();
        let token = codes.issue_short_lived("bob".into(), now);
        assert_eq!(codes.take_short_lived(&token, now), Some("bob".into()));
        assert_eq!(codes.take_short_lived(&token, now), None);
    }
}
