//! The code exchange: requests to build and answers to read, without a network (the command
//! sends them with the refresher's own HTTP transport).
//!
//! The answers of TikTok, Reddit and a generic server are RFC 6749 §5.1 token responses, which the
//! refresher's adapters already read (with each provider's error quirks), so they parse these
//! too. Instagram answers a code with a short-lived token, traded at once for a long-lived one,
//! whose answer has its refresh response's shape. What is stored must be refreshable: a refresh
//! token (Instagram: the long-lived token itself) and an expiry.

use refresher::config::{ClientAuth as WireAuth, ClientCredentials};
use refresher::providers::{
    HttpRequest, Instagram, Method, OAuth2, Param, Provider as _, ProviderError, Reddit, TikTok,
    TokenSet, oauth2::basic_auth,
};
use refresher::secret::SecretString;
use serde_json::Value;

use super::endpoints::Endpoints;
use crate::stage::{ClientAuth, ProviderKind};

/// What the exchange needs besides the code.
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    pub endpoints: &'a Endpoints,
    pub creds: &'a ClientCredentials,
    pub redirect_uri: &'a str,
    pub verifier: Option<&'a SecretString>,
    pub user_agent: Option<&'a str>,
    /// Client authentication of a generic server (`None`: HTTP Basic).
    pub auth: Option<ClientAuth>,
}

/// A code exchange's answer.
#[derive(Debug)]
pub enum Exchanged {
    Tokens(TokenSet),
    /// Instagram: a one-hour token, to trade with [`Exchange::long_lived_request`].
    ShortLived(SecretString),
}

/// The token set as a token item holds it.
#[derive(Debug)]
pub struct Connected {
    pub access_token: SecretString,
    /// `None` for Instagram, whose long-lived access token refreshes itself.
    pub refresh_token: Option<SecretString>,
    pub expires_at: u64,
    pub refresh_expires_at: Option<u64>,
    pub scope: Option<String>,
}

fn request(method: Method, url: &str) -> HttpRequest {
    HttpRequest {
        method,
        url: url.to_owned(),
        headers: vec![(
            "Accept".to_owned(),
            Param::Plain("application/json".to_owned()),
        )],
        query: Vec::new(),
        form: Vec::new(),
    }
}

fn plain(name: &str, value: &str) -> (String, Param) {
    (name.to_owned(), Param::Plain(value.to_owned()))
}

fn secret(name: &str, value: &SecretString) -> (String, Param) {
    (name.to_owned(), Param::Secret(value.clone()))
}

impl Exchange<'_> {
    /// The request that redeems `code` (RFC 6749 §4.1.3, with each provider's client
    /// authentication).
    pub fn code_request(&self, code: &SecretString) -> HttpRequest {
        let creds = self.creds;
        let mut req = request(Method::Post, &self.endpoints.token);
        if let Some(agent) = self.user_agent {
            req.headers.push(plain("User-Agent", agent));
        }
        req.form.push(plain("grant_type", "authorization_code"));
        req.form.push(secret("code", code));
        req.form.push(plain("redirect_uri", self.redirect_uri));
        let basic = match self.endpoints.kind {
            ProviderKind::Reddit => true,
            ProviderKind::Oauth2 => self.auth != Some(ClientAuth::Body),
            ProviderKind::Tiktok | ProviderKind::Instagram => false,
        };
        if basic {
            req.headers
                .push(("Authorization".to_owned(), basic_auth(creds)));
        } else {
            let id_name = if self.endpoints.kind == ProviderKind::Tiktok {
                "client_key"
            } else {
                "client_id"
            };
            req.form.push(plain(id_name, &creds.client_id));
            req.form.push(secret("client_secret", &creds.client_secret));
        }
        if let Some(verifier) = self.verifier {
            req.form.push(secret("code_verifier", verifier));
        }
        req
    }

    /// Reads the code exchange's answer.
    pub fn read_code_response(
        &self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
        now: u64,
    ) -> Result<Exchanged, ProviderError> {
        let token = self.endpoints.token.clone();
        let agent = self.user_agent.map(str::to_owned);
        let parse = |adapter: &dyn refresher::providers::Provider| {
            adapter.parse(status, headers, body, now)
        };
        match self.endpoints.kind {
            ProviderKind::Tiktok => parse(&TikTok::new(Some(token), agent)).map(Exchanged::Tokens),
            ProviderKind::Reddit => {
                parse(&Reddit::new(Some(token), agent.unwrap_or_default())).map(Exchanged::Tokens)
            }
            ProviderKind::Oauth2 => {
                let auth = match self.auth {
                    Some(ClientAuth::Body) => WireAuth::Body,
                    _ => WireAuth::Basic,
                };
                parse(&OAuth2::new(token, auth, agent)).map(Exchanged::Tokens)
            }
            ProviderKind::Instagram => match short_lived_token(status, body) {
                Some(short) => Ok(Exchanged::ShortLived(short)),
                None => Err(parse(&Instagram::new(Some(token), agent))
                    .err()
                    .unwrap_or_else(|| malformed("the answer has no short-lived access_token"))),
            },
        }
    }

    /// Instagram: trades the short-lived token for a long-lived one.
    pub fn long_lived_request(&self, short: &SecretString) -> Option<HttpRequest> {
        let url = self.endpoints.long_lived.as_deref()?;
        let mut req = request(Method::Get, url);
        req.query.push(plain("grant_type", "ig_exchange_token"));
        req.query
            .push(secret("client_secret", &self.creds.client_secret));
        req.query.push(secret("access_token", short));
        Some(req)
    }

    /// Reads the long-lived token's answer (the refresh answer's shape).
    pub fn read_long_lived(
        &self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
        now: u64,
    ) -> Result<TokenSet, ProviderError> {
        let adapter = Instagram::new(
            self.endpoints.long_lived.clone(),
            self.user_agent.map(str::to_owned),
        );
        adapter.parse(status, headers, body, now)
    }
}

fn malformed(reason: &str) -> ProviderError {
    ProviderError::Malformed {
        reason: reason.to_owned(),
        salvaged_refresh_token: None,
    }
}

/// `{"data": [{"access_token": …}]}` (current API) or `{"access_token": …}` (older answers).
fn short_lived_token(status: u16, body: &[u8]) -> Option<SecretString> {
    if status != 200 {
        return None;
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    let entry = value.get("data").and_then(|d| d.get(0)).unwrap_or(&value);
    entry
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(SecretString::new)
}

/// The token set as stored, or why it cannot be kept refreshed.
pub fn to_item(kind: ProviderKind, set: TokenSet) -> Result<Connected, String> {
    let Some(expires_at) = set.expires_at else {
        return Err("the provider's answer has no `expires_in`, so the refresher could not tell when to refresh the token".to_owned());
    };
    let refresh_token = match (kind, set.refresh_token) {
        // The long-lived access token is Instagram's refresh credential: nothing else to keep.
        (ProviderKind::Instagram, _) => None,
        (_, Some(token)) if !token.is_empty() => Some(token),
        (ProviderKind::Reddit, _) => {
            return Err("Reddit issued no refresh token; the consent must ask `duration=permanent` (the deployer does: was the app changed?)".to_owned());
        }
        _ => {
            return Err("the provider issued no refresh token; ask for offline access (often the `offline_access` scope: `--scope offline_access`)".to_owned());
        }
    };
    Ok(Connected {
        access_token: set.access_token,
        refresh_token,
        expires_at,
        refresh_expires_at: set.refresh_expires_at,
        scope: set.scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(kind: ProviderKind) -> Endpoints {
        Endpoints {
            kind,
            authorize: "https://a.example/authorize".to_owned(),
            token: "https://a.example/token".to_owned(),
            long_lived: (kind == ProviderKind::Instagram)
                .then(|| "https://g.example/access_token".to_owned()),
        }
    }

    fn creds() -> ClientCredentials {
        ClientCredentials {
            client_id: "app".to_owned(),
            client_secret: SecretString::new("s3cret"),
        }
    }

    fn exchange<'a>(
        endpoints: &'a Endpoints,
        creds: &'a ClientCredentials,
        verifier: Option<&'a SecretString>,
    ) -> Exchange<'a> {
        Exchange {
            endpoints,
            creds,
            redirect_uri: "http://127.0.0.1:1/callback",
            verifier,
            user_agent: Some("web:app:1 (by /u/ops)"),
            auth: None,
        }
    }

    #[test]
    fn tiktok_sends_its_client_key_in_the_body() {
        let (e, c) = (endpoints(ProviderKind::Tiktok), creds());
        let req = exchange(&e, &c, None).code_request(&SecretString::new("the-code"));
        assert_eq!(req.form_value("client_key").unwrap().expose(), "app");
        assert_eq!(req.form_value("code").unwrap().expose(), "the-code");
        assert_eq!(
            req.form_value("grant_type").unwrap().expose(),
            "authorization_code"
        );
        assert!(req.header("Authorization").is_none());
        // Secrets never show in a Debug of the request.
        let debug = format!("{req:?}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("the-code"),
            "{debug}"
        );
    }

    #[test]
    fn generic_servers_get_basic_auth_and_the_pkce_verifier() {
        let (e, c) = (endpoints(ProviderKind::Oauth2), creds());
        let verifier = SecretString::new("v-123");
        let req = exchange(&e, &c, Some(&verifier)).code_request(&SecretString::new("c"));
        assert!(
            req.header("Authorization")
                .unwrap()
                .expose()
                .starts_with("Basic ")
        );
        assert!(req.form_value("client_secret").is_none());
        assert_eq!(req.form_value("code_verifier").unwrap().expose(), "v-123");
    }

    #[test]
    fn a_token_answer_becomes_an_item() {
        let (e, c) = (endpoints(ProviderKind::Oauth2), creds());
        let body =
            br#"{"access_token":"a","refresh_token":"r","expires_in":1800,"token_type":"Bearer"}"#;
        let Exchanged::Tokens(set) = exchange(&e, &c, None)
            .read_code_response(200, &[], body, 1000)
            .unwrap()
        else {
            panic!("a token set was expected");
        };
        let item = to_item(ProviderKind::Oauth2, set).unwrap();
        assert_eq!(item.expires_at, 2800);
        assert_eq!(item.refresh_token.unwrap().expose(), "r");
    }

    #[test]
    fn answers_that_cannot_be_kept_refreshed_are_refused() {
        let (e, c) = (endpoints(ProviderKind::Oauth2), creds());
        let read = |body: &[u8]| match exchange(&e, &c, None).read_code_response(200, &[], body, 0)
        {
            Ok(Exchanged::Tokens(set)) => to_item(ProviderKind::Oauth2, set).map(|_| ()),
            other => panic!("{other:?}"),
        };
        let err = read(br#"{"access_token":"a","expires_in":60}"#).unwrap_err();
        assert!(err.contains("offline_access"), "{err}");
        let err = read(br#"{"access_token":"a","refresh_token":"r"}"#).unwrap_err();
        assert!(err.contains("expires_in"), "{err}");
        let err = exchange(&e, &c, None)
            .read_code_response(400, &[], br#"{"error":"invalid_grant"}"#, 0)
            .unwrap_err();
        assert_eq!(err, ProviderError::InvalidGrant);
    }

    #[test]
    fn instagram_trades_a_short_lived_token_for_a_long_lived_one() {
        let (e, c) = (endpoints(ProviderKind::Instagram), creds());
        let x = exchange(&e, &c, None);
        let code = x.code_request(&SecretString::new("c"));
        assert_eq!(code.form_value("client_id").unwrap().expose(), "app");
        let body = br#"{"data":[{"access_token":"short","user_id":"1","permissions":"p"}]}"#;
        let Exchanged::ShortLived(short) = x.read_code_response(200, &[], body, 0).unwrap() else {
            panic!("a short-lived token was expected");
        };
        let req = x.long_lived_request(&short).unwrap();
        assert_eq!(req.url, "https://g.example/access_token");
        assert_eq!(req.query_value("access_token").unwrap().expose(), "short");
        let long = br#"{"access_token":"long","token_type":"bearer","expires_in":5184000}"#;
        let set = x.read_long_lived(200, &[], long, 100).unwrap();
        let item = to_item(ProviderKind::Instagram, set).unwrap();
        assert_eq!(item.access_token.expose(), "long");
        assert!(item.refresh_token.is_none(), "no second copy of the token");
        assert_eq!(item.expires_at, 5_184_100);
        let err = x
            .read_code_response(
                400,
                &[],
                br#"{"error":{"type":"OAuthException","code":190,"message":"m"}}"#,
                0,
            )
            .unwrap_err();
        assert!(
            matches!(
                err,
                ProviderError::Rejected { status: 400, .. } | ProviderError::InvalidGrant
            ),
            "{err:?}"
        );
    }
}
