//! Where each provider's consent page and code exchange are, and what the authorization request
//! asks for. Pure: the command supplies the stage's provider, the client id and the redirect.
//!
//! The built-in providers' endpoints are their documented ones; a stage's `authorize_url`
//! overrides the consent page and its `token_url` the exchange (local provider fakes). Instagram
//! exchanges a code in two steps on other hosts than its refresh endpoint
//! (`api.instagram.com/oauth/access_token`, then `graph.instagram.com/access_token`); with a
//! `token_url` override both are taken as siblings of the overriding refresh URL.

use refresher::providers::{reddit, tiktok};
use url::Url;

use crate::stage::{Provider, ProviderKind};

const TIKTOK_AUTHORIZE: &str = "https://www.tiktok.com/v2/auth/authorize/";
const REDDIT_AUTHORIZE: &str = "https://www.reddit.com/api/v1/authorize";
const INSTAGRAM_AUTHORIZE: &str = "https://www.instagram.com/oauth/authorize";
const INSTAGRAM_CODE: &str = "https://api.instagram.com/oauth/access_token";
const INSTAGRAM_LONG_LIVED: &str = "https://graph.instagram.com/access_token";
const INSTAGRAM_REFRESH_PATH: &str = "refresh_access_token";

/// A provider's endpoints for the code flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub kind: ProviderKind,
    /// The consent page the operator opens.
    pub authorize: String,
    /// Where the code is exchanged.
    pub token: String,
    /// Instagram only: where the short-lived token becomes a long-lived one.
    pub long_lived: Option<String>,
}

impl Endpoints {
    /// The endpoints of a stage's provider, or what the stage file lacks.
    pub fn of(provider: &Provider) -> Result<Self, String> {
        match provider.kind {
            ProviderKind::Tiktok => Ok(Self::documented(
                provider,
                TIKTOK_AUTHORIZE,
                tiktok::TOKEN_URL,
            )),
            ProviderKind::Reddit => Ok(Self::documented(
                provider,
                REDDIT_AUTHORIZE,
                reddit::TOKEN_URL,
            )),
            ProviderKind::Instagram => Self::instagram(provider),
            ProviderKind::Oauth2 => Self::oauth2(provider),
        }
    }

    /// A provider exchanging its code at its token endpoint: the documented ones unless the stage
    /// overrides them.
    fn documented(provider: &Provider, authorize: &str, token: &str) -> Self {
        Self {
            kind: provider.kind,
            authorize: authorize_or(provider, authorize),
            token: provider
                .token_url
                .clone()
                .unwrap_or_else(|| token.to_owned()),
            long_lived: None,
        }
    }

    /// Instagram's two exchange endpoints, derived from an overriding `token_url` when there is one.
    fn instagram(provider: &Provider) -> Result<Self, String> {
        let name = &provider.name;
        let (code, long_lived) = match &provider.token_url {
            None => (INSTAGRAM_CODE.to_owned(), INSTAGRAM_LONG_LIVED.to_owned()),
            Some(url) => {
                let base = url.strip_suffix(INSTAGRAM_REFRESH_PATH).ok_or_else(|| {
                    format!(
                        "providers.{name}.token_url `{url}` does not end in \
                         `{INSTAGRAM_REFRESH_PATH}`, so the code exchange endpoints \
                         (`oauth/access_token`, `access_token` beside it) cannot be derived"
                    )
                })?;
                (
                    format!("{base}oauth/access_token"),
                    format!("{base}access_token"),
                )
            }
        };
        Ok(Self {
            kind: provider.kind,
            authorize: authorize_or(provider, INSTAGRAM_AUTHORIZE),
            token: code,
            long_lived: Some(long_lived),
        })
    }

    /// A generic server's endpoints, both named by the stage.
    fn oauth2(provider: &Provider) -> Result<Self, String> {
        let name = &provider.name;
        let authorize = provider.authorize_url.clone().ok_or_else(|| {
            format!(
                "providers.{name} has no `authorize_url`; add the server's authorization \
                 endpoint, e.g. `authorize_url: https://auth.example.com/oauth/authorize`"
            )
        })?;
        // The stage validation requires `token_url` for `oauth2`.
        let token = provider
            .token_url
            .clone()
            .ok_or_else(|| format!("providers.{name} has no `token_url`"))?;
        Ok(Self {
            kind: provider.kind,
            authorize,
            token,
            long_lived: None,
        })
    }
}

/// The stage's `authorize_url`, or the provider's documented consent page.
fn authorize_or(provider: &Provider, default: &str) -> String {
    provider
        .authorize_url
        .clone()
        .unwrap_or_else(|| default.to_owned())
}

/// What the consent request carries.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    /// Empty: the provider's basic scope.
    pub scopes: &'a [String],
    pub state: &'a str,
    /// The PKCE S256 challenge, for providers that take one.
    pub challenge: Option<&'a str>,
}

/// Whether the flow uses PKCE. The generic server gets it (RFC 9700 §2.1.1 asks every client to);
/// Reddit and Instagram do not document it, and TikTok's web flow takes none (its desktop flow
/// wants a hex challenge, which no standard client sends).
pub fn uses_pkce(kind: ProviderKind) -> bool {
    kind == ProviderKind::Oauth2
}

/// The scope asked for when the stage and the command line name none.
fn default_scopes(kind: ProviderKind) -> &'static [&'static str] {
    match kind {
        ProviderKind::Tiktok => &["user.info.basic"],
        ProviderKind::Reddit => &["identity"],
        ProviderKind::Instagram => &["instagram_business_basic"],
        ProviderKind::Oauth2 => &[],
    }
}

/// The `scope` parameter: the request's scopes, else the kind's default, joined the way the
/// provider reads them; `None` when there are none.
fn scope(kind: ProviderKind, requested: &[String]) -> Option<String> {
    let scopes: Vec<&str> = if requested.is_empty() {
        default_scopes(kind).to_vec()
    } else {
        requested.iter().map(String::as_str).collect()
    };
    // TikTok and Instagram separate scopes with commas; RFC 6749 §3.3 (and Reddit) with spaces.
    let separator = match kind {
        ProviderKind::Tiktok | ProviderKind::Instagram => ",",
        ProviderKind::Reddit | ProviderKind::Oauth2 => " ",
    };
    (!scopes.is_empty()).then(|| scopes.join(separator))
}

/// The name of the client id parameter: TikTok calls it `client_key`.
fn client_id_name(kind: ProviderKind) -> &'static str {
    if kind == ProviderKind::Tiktok {
        "client_key"
    } else {
        "client_id"
    }
}

/// The consent page's URL with the request's parameters.
pub fn authorize_url(endpoints: &Endpoints, request: &AuthorizeRequest<'_>) -> Result<Url, String> {
    let mut url = Url::parse(&endpoints.authorize).map_err(|e| {
        format!(
            "the authorization endpoint `{}` is not a URL: {e}",
            endpoints.authorize
        )
    })?;
    let kind = endpoints.kind;
    let scope = scope(kind, request.scopes);
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair(client_id_name(kind), request.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", request.redirect_uri)
            .append_pair("state", request.state);
        if let Some(scope) = &scope {
            query.append_pair("scope", scope);
        }
        if kind == ProviderKind::Reddit {
            // Without it Reddit issues no refresh token.
            query.append_pair("duration", "permanent");
        }
        if let Some(challenge) = request.challenge {
            query
                .append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256");
        }
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::Schedule;

    fn provider(kind: ProviderKind, token_url: Option<&str>, authorize: Option<&str>) -> Provider {
        Provider {
            name: "p".to_owned(),
            kind,
            window_s: 600,
            schedule: Schedule::parse("rate(5 minutes)").unwrap(),
            rate_limit_per_minute: 60,
            concurrency: 1,
            user_agent: None,
            token_url: token_url.map(str::to_owned),
            auth: None,
            authorize_url: authorize.map(str::to_owned),
            scopes: Vec::new(),
        }
    }

    fn request<'a>(scopes: &'a [String], challenge: Option<&'a str>) -> AuthorizeRequest<'a> {
        AuthorizeRequest {
            client_id: "app id",
            redirect_uri: "http://127.0.0.1:8910/callback",
            scopes,
            state: "st",
            challenge,
        }
    }

    #[test]
    fn built_in_providers_use_their_documented_endpoints() {
        let tiktok = Endpoints::of(&provider(ProviderKind::Tiktok, None, None)).unwrap();
        assert_eq!(tiktok.authorize, TIKTOK_AUTHORIZE);
        assert_eq!(tiktok.token, refresher::providers::tiktok::TOKEN_URL);
        let instagram = Endpoints::of(&provider(ProviderKind::Instagram, None, None)).unwrap();
        assert_eq!(instagram.token, INSTAGRAM_CODE);
        assert_eq!(instagram.long_lived.as_deref(), Some(INSTAGRAM_LONG_LIVED));
    }

    #[test]
    fn overrides_point_everything_at_the_fakes() {
        let fake = provider(
            ProviderKind::Instagram,
            Some("http://127.0.0.1:9/instagram/refresh_access_token"),
            Some("http://127.0.0.1:9/instagram/authorize"),
        );
        let endpoints = Endpoints::of(&fake).unwrap();
        assert_eq!(
            endpoints.authorize,
            "http://127.0.0.1:9/instagram/authorize"
        );
        assert_eq!(
            endpoints.token,
            "http://127.0.0.1:9/instagram/oauth/access_token"
        );
        assert_eq!(
            endpoints.long_lived.as_deref(),
            Some("http://127.0.0.1:9/instagram/access_token")
        );
        let odd = provider(ProviderKind::Instagram, Some("http://127.0.0.1:9/x"), None);
        assert!(
            Endpoints::of(&odd)
                .unwrap_err()
                .contains("refresh_access_token")
        );
    }

    #[test]
    fn an_oauth2_provider_needs_its_authorization_endpoint() {
        let bare = provider(ProviderKind::Oauth2, Some("https://a.example/token"), None);
        let err = Endpoints::of(&bare).unwrap_err();
        assert!(err.contains("providers.p has no `authorize_url`"), "{err}");
    }

    #[test]
    fn the_request_carries_each_providers_parameters() {
        let tiktok = Endpoints::of(&provider(ProviderKind::Tiktok, None, None)).unwrap();
        let url = authorize_url(&tiktok, &request(&[], None)).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert!(pairs.contains(&("client_key".into(), "app id".into())));
        assert!(pairs.contains(&("scope".into(), "user.info.basic".into())));
        assert!(pairs.contains(&("state".into(), "st".into())));
        assert!(!pairs.iter().any(|(k, _)| k == "code_challenge"));

        let reddit = Endpoints::of(&provider(ProviderKind::Reddit, None, None)).unwrap();
        let scopes = ["identity".to_owned(), "read".to_owned()];
        let url = authorize_url(&reddit, &request(&scopes, None)).unwrap();
        assert!(url.as_str().contains("scope=identity+read"), "{url}");
        assert!(url.as_str().contains("duration=permanent"));

        let generic = provider(
            ProviderKind::Oauth2,
            Some("https://a.example/token"),
            Some("https://a.example/authorize?tenant=x"),
        );
        let generic = Endpoints::of(&generic).unwrap();
        let url = authorize_url(&generic, &request(&[], Some("ch"))).unwrap();
        let query = url.query().unwrap();
        assert!(query.starts_with("tenant=x&client_id=app+id"), "{query}");
        assert!(query.contains("code_challenge=ch&code_challenge_method=S256"));
        assert!(!query.contains("scope="));
    }
}
