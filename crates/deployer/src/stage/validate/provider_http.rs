//! A provider's HTTP settings: its user agent, token endpoint and client authentication (RFC 6749),
//! and the consent page and scopes of `deployer tokens connect`.

use super::{Checker, ClientAuth, Problem, ProviderKind, RawProvider, names};

impl Checker<'_> {
    pub(super) fn user_agent(&mut self, name: &str, kind: ProviderKind, ua: Option<&str>) {
        let field = format!("providers.{name}.user_agent");
        match (kind, ua) {
            (ProviderKind::Reddit, None) => {
                self.problems.push(Problem::new(
                    field,
                    "Reddit blocks clients without a descriptive User-Agent; add e.g. \
                     `user_agent: \"web:com.example.refresher:1.0 (by /u/ops)\"`",
                ));
            }
            (ProviderKind::Reddit, Some(ua)) => {
                self.check(
                    names::is_reddit_user_agent(ua),
                    &field,
                    format!(
                        "`{ua}` is not the User-Agent Reddit asks for; write \
                         `<platform>:<app id>:<version> (by /u/<user>)`, e.g. \
                         `web:com.example.refresher:1.0 (by /u/ops)`"
                    ),
                );
            }
            (_, Some(ua)) => {
                self.check(
                    !ua.trim().is_empty() && ua.len() <= 256 && !ua.contains(['\r', '\n']),
                    &field,
                    "a User-Agent must be one line of 1-256 characters; shorten it or remove the line breaks".to_owned(),
                );
            }
            (_, None) => {}
        }
    }

    /// `token_url` is required for `oauth2` and overrides a built-in adapter's endpoint (a local
    /// provider fake, a proxy); `auth` is only for `oauth2`.
    pub(super) fn oauth2_settings(
        &mut self,
        name: &str,
        kind: ProviderKind,
        raw: &RawProvider,
    ) -> Option<ClientAuth> {
        let field = format!("providers.{name}.auth");
        self.token_url(name, kind, raw.token_url.as_deref());
        if kind != ProviderKind::Oauth2 {
            self.check(
                raw.auth.is_none(),
                &field,
                format!("`auth` is only for `kind: oauth2` providers; the {name} adapter knows how to authenticate; remove it"),
            );
            return None;
        }
        match raw.auth.as_deref() {
            None | Some("basic") => Some(ClientAuth::Basic),
            Some("body") => Some(ClientAuth::Body),
            Some(other) => {
                self.problems.push(Problem::new(
                    field,
                    format!("`{other}` is not a client authentication; use `basic` (HTTP Basic) or `body` (form fields)"),
                ));
                None
            }
        }
    }

    /// Records a problem when an `oauth2` provider has no `token_url`, or one is not https (or
    /// loopback http).
    fn token_url(&mut self, name: &str, kind: ProviderKind, url: Option<&str>) {
        let field = format!("providers.{name}.token_url");
        match url {
            None if kind == ProviderKind::Oauth2 => self.problems.push(Problem::new(
                field,
                "an oauth2 provider needs its token endpoint; add e.g. `token_url: https://auth.example.com/oauth/token`",
            )),
            None => {}
            Some(url) => {
                self.check(
                    names::is_http_url(url) && (url.starts_with("https://") || names::is_loopback_url(url)),
                    &field,
                    format!(
                        "`{url}` is not an https URL; token requests carry secrets and need TLS \
                         (plain http is accepted only for localhost, for local provider fakes)"
                    ),
                );
            }
        }
    }

    /// `authorize_url` and `scopes`, used only by `deployer tokens connect`.
    pub(super) fn connect_settings(&mut self, name: &str, raw: &RawProvider) {
        let field = |f: &str| format!("providers.{name}.{f}");
        if let Some(url) = raw.authorize_url.as_deref() {
            self.check(
                names::is_http_url(url)
                    && (url.starts_with("https://") || names::is_loopback_url(url)),
                &field("authorize_url"),
                format!(
                    "`{url}` is not an https URL; the consent page must use TLS (plain http is \
                     accepted only for localhost, for local provider fakes)"
                ),
            );
        }
        for (i, scope) in raw.scopes.iter().flatten().enumerate() {
            self.check(
                !scope.is_empty()
                    && scope
                        .chars()
                        .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\'),
                &format!("{}[{i}]", field("scopes")),
                format!(
                    "`{scope}` is not a scope (RFC 6749 §3.3: printable ASCII without spaces, \
                     quotes or backslashes); give one scope per list item"
                ),
            );
        }
    }
}
