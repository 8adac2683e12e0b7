//! Generic RFC 6749 refresh (§6): `grant_type=refresh_token` to a configured token endpoint.
//!
//! Client authentication is HTTP Basic (the default; §2.3.1 says servers must support it, with id
//! and secret form-urlencoded before base64) or `client_id`/`client_secret` in the body. A returned
//! refresh token replaces the old one (the server may have discarded it); when none is returned the
//! current one is kept. `expires_in` is only RECOMMENDED by the RFC, so it may be absent. Reddit
//! reuses this adapter with its own rules.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::response::{self, RefreshRule, Rules};
use super::{
    HttpRequest, Method, Param, Provider, ProviderError, TokenSecrets, TokenSet, headers,
    refresh_token,
};
use crate::config::{ClientAuth, ClientCredentials, ProviderKind};
use crate::secret::SecretString;

const RULES: Rules = Rules {
    expires_in_required: false,
    refresh: RefreshRule::Optional,
    error_shape: response::oauth_error,
};

/// A standards-following OAuth2 server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2 {
    token_url: String,
    auth: ClientAuth,
    user_agent: Option<String>,
}

impl OAuth2 {
    pub fn new(token_url: String, auth: ClientAuth, user_agent: Option<String>) -> Self {
        Self {
            token_url,
            auth,
            user_agent,
        }
    }

    /// The refresh request for a given refresh token (shared with adapters that wrap this one).
    pub(crate) fn refresh_request(
        &self,
        refresh: &SecretString,
        creds: &ClientCredentials,
    ) -> HttpRequest {
        let mut request = HttpRequest::new(Method::Post, &self.token_url);
        request.push_user_agent(self.user_agent.as_deref());
        request
            .form
            .push(("grant_type".to_owned(), Param::plain("refresh_token")));
        request
            .form
            .push(("refresh_token".to_owned(), Param::Secret(refresh.clone())));
        match self.auth {
            ClientAuth::Basic => request
                .headers
                .push(("Authorization".to_owned(), basic_auth(creds))),
            ClientAuth::Body => {
                request.form.push((
                    "client_id".to_owned(),
                    Param::plain(creds.client_id.as_str()),
                ));
                request.form.push((
                    "client_secret".to_owned(),
                    Param::Secret(creds.client_secret.clone()),
                ));
            }
        }
        request
    }
}

impl Provider for OAuth2 {
    fn kind(&self) -> ProviderKind {
        ProviderKind::OAuth2
    }

    fn request(
        &self,
        current: &TokenSecrets,
        creds: &ClientCredentials,
    ) -> Result<HttpRequest, ProviderError> {
        Ok(self.refresh_request(refresh_token(current)?, creds))
    }

    fn parse(
        &self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
        now: u64,
    ) -> Result<TokenSet, ProviderError> {
        let retry_after = headers::retry_after(headers, now);
        response::parse_with_hint(status, body, now, retry_after, &RULES)
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
pub fn basic_auth(creds: &ClientCredentials) -> Param {
    // Intermediate copies are wrapped too, so they are wiped when dropped (best effort).
    let secret = SecretString::new(form_encode(creds.client_secret.expose()));
    let pair = SecretString::new(format!(
        "{}:{}",
        form_encode(&creds.client_id),
        secret.expose()
    ));
    let encoded = SecretString::new(BASE64.encode(pair.expose()));
    Param::Secret(SecretString::new(format!("Basic {}", encoded.expose())))
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0x0F)]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::tests::{creds, current, no_headers};

    fn server(auth: ClientAuth) -> OAuth2 {
        OAuth2::new(
            "https://api.schwabapi.com/v1/oauth/token".to_owned(),
            auth,
            None,
        )
    }

    fn parse(status: u16, body: &str) -> Result<TokenSet, ProviderError> {
        server(ClientAuth::Basic).parse(status, &no_headers(), body.as_bytes(), 1000)
    }

    #[test]
    fn basic_auth_request() {
        let request = server(ClientAuth::Basic)
            .request(&current(), &creds())
            .unwrap();
        assert_eq!(request.method, Method::Post);
        assert_eq!(request.url, "https://api.schwabapi.com/v1/oauth/token");
        assert_eq!(
            request.header("authorization").unwrap().expose(),
            "Basic YXBwLWlkOmFwcC1zZWNyZXQ="
        );
        assert_eq!(
            request.form_value("grant_type").unwrap().expose(),
            "refresh_token"
        );
        assert_eq!(
            request.form_value("refresh_token").unwrap().expose(),
            "old-refresh"
        );
        assert!(request.form_value("client_secret").is_none() && request.query.is_empty());
        assert!(request.header("User-Agent").is_none());
    }

    #[test]
    fn body_auth_request() {
        let request = server(ClientAuth::Body)
            .request(&current(), &creds())
            .unwrap();
        assert!(request.header("Authorization").is_none());
        assert_eq!(request.form_value("client_id").unwrap().expose(), "app-id");
        assert!(
            matches!(request.form_value("client_secret"), Some(Param::Secret(s)) if s.expose() == "app-secret")
        );
    }

    #[test]
    fn basic_auth_form_encodes_first() {
        let creds = ClientCredentials {
            client_id: "id:x".to_owned(),
            client_secret: SecretString::new("a b/é"),
        };
        assert_eq!(form_encode("id:x"), "id%3Ax");
        assert_eq!(form_encode("a b/é"), "a+b%2F%C3%A9");
        let expected = format!("Basic {}", BASE64.encode("id%3Ax:a+b%2F%C3%A9"));
        assert_eq!(basic_auth(&creds).expose(), expected);
    }

    #[test]
    fn no_refresh_token_no_request() {
        let secrets = TokenSecrets {
            refresh_token: None,
            ..current()
        };
        assert_eq!(
            server(ClientAuth::Basic).request(&secrets, &creds()),
            Err(ProviderError::MissingRefreshToken)
        );
    }

    #[test]
    fn rotation_and_keeping() {
        let rotated = parse(200, r#"{"access_token":"new-a","refresh_token":"new-r","expires_in":1800,"token_type":"Bearer"}"#)
            .unwrap();
        assert_eq!(rotated.refresh_token.unwrap().expose(), "new-r");
        assert_eq!(rotated.expires_at, Some(2800));
        let kept = parse(200, r#"{"access_token":"new-a","token_type":"Bearer"}"#).unwrap();
        assert_eq!((kept.refresh_token, kept.expires_at), (None, None));
        assert_eq!(kept.access_token.expose(), "new-a");
    }

    #[test]
    fn rfc_error_codes() {
        assert_eq!(
            parse(
                400,
                r#"{"error":"invalid_grant","error_description":"used"}"#
            ),
            Err(ProviderError::InvalidGrant)
        );
        let client = parse(401, r#"{"error":"invalid_client"}"#);
        assert_eq!(
            client,
            Err(ProviderError::Rejected {
                status: 401,
                code: Some("invalid_client".to_owned())
            })
        );
        for code in [
            "invalid_request",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
        ] {
            let err = parse(400, &format!(r#"{{"error":"{code}"}}"#)).unwrap_err();
            assert_eq!(
                err,
                ProviderError::Rejected {
                    status: 400,
                    code: Some(code.to_owned())
                }
            );
        }
    }

    #[test]
    fn retry_after_is_honoured() {
        let headers = vec![("Retry-After".to_owned(), "17".to_owned())];
        let err = server(ClientAuth::Basic)
            .parse(503, &headers, b"", 0)
            .unwrap_err();
        assert_eq!(
            err,
            ProviderError::Transient {
                status: Some(503),
                retry_after: Some(17)
            }
        );
    }

    #[test]
    fn missing_access_token_is_malformed() {
        let err = parse(200, r#"{"token_type":"Bearer"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the provider's response is malformed: the field `access_token` is missing"
        );
    }
}
