//! One `providers:` entry: its kind, window against its schedule, rate, concurrency, user agent,
//! RFC 6749 settings and connect settings.

use super::{
    Checker, ClientAuth, INSTAGRAM_MAX_WINDOW_S, MAX_SCHEDULE_GAP_S, Problem, Provider,
    ProviderKind, RawProvider, Schedule, format_duration, names, parse_duration,
};

impl Checker<'_> {
    pub(super) fn provider(
        &mut self,
        name: &str,
        raw: &RawProvider,
        jitter_s: u32,
    ) -> Option<Provider> {
        let field = |f: &str| format!("providers.{name}.{f}");
        let before = self.problems.len();
        if !names::is_provider_name(name) {
            self.problems.push(Problem::new(
                format!("providers.{name}"),
                format!("`{name}` is not a provider name; use 1-32 lowercase letters, digits and `_`, starting with a letter"),
            ));
        }
        let kind = self.provider_kind(name, raw)?;
        let window_s = parse_duration(&raw.window)
            .map_err(|e| self.problems.push(Problem::new(field("window"), e)))
            .ok();
        let schedule = Schedule::parse(&raw.schedule)
            .map_err(|e| self.problems.push(Problem::new(field("schedule"), e)))
            .ok();
        if let (Some(window_s), Some(schedule)) = (window_s, &schedule) {
            self.window_fits(name, kind, raw, window_s, schedule, jitter_s);
        }
        let rate_limit_per_minute = self.rate_limit(name, kind, raw.rate_limit_per_minute);
        let concurrency = raw.concurrency.unwrap_or(8);
        self.check(
            (1..=64).contains(&concurrency),
            &field("concurrency"),
            format!("{concurrency} refreshes in flight is not usable; use 1 to 64"),
        );
        self.user_agent(name, kind, raw.user_agent.as_deref());
        let auth = self.oauth2_settings(name, kind, raw);
        self.connect_settings(name, raw);
        if self.problems.len() > before {
            return None;
        }
        Some(Provider {
            name: name.to_owned(),
            kind,
            window_s: window_s?,
            schedule: schedule?,
            rate_limit_per_minute,
            concurrency,
            user_agent: raw.user_agent.clone(),
            token_url: raw.token_url.clone(),
            auth,
            authorize_url: raw.authorize_url.clone(),
            scopes: raw.scopes.clone().unwrap_or_default(),
        })
    }

    /// The window covers the schedule's gaps; an Instagram window stays under the tokens' life.
    pub(super) fn window_fits(
        &mut self,
        name: &str,
        kind: ProviderKind,
        raw: &RawProvider,
        window_s: u64,
        schedule: &Schedule,
        jitter_s: u32,
    ) {
        self.window_covers_schedule(name, window_s, schedule, jitter_s);
        if kind == ProviderKind::Instagram {
            self.check(
                window_s <= INSTAGRAM_MAX_WINDOW_S,
                &format!("providers.{name}.window"),
                format!(
                    "{} would make every Instagram token due at once; tokens live 60 days and \
                     refresh only once 24 hours old, so use at most 59d (7d is typical)",
                    raw.window
                ),
            );
        }
    }

    /// `rate_limit_per_minute`: the kind's default when left out; Reddit's ceiling is 100.
    pub(super) fn rate_limit(&mut self, name: &str, kind: ProviderKind, given: Option<u32>) -> u32 {
        let field = format!("providers.{name}.rate_limit_per_minute");
        let rate_limit_per_minute = given.unwrap_or(kind.default_rate_limit());
        self.check(
            (1..=100_000).contains(&rate_limit_per_minute),
            &field,
            format!(
                "{rate_limit_per_minute} is not a usable rate; use 1 to 100000 requests a minute"
            ),
        );
        if kind == ProviderKind::Reddit {
            self.check(
                rate_limit_per_minute <= 100,
                &field,
                format!("Reddit allows 100 requests a minute per OAuth client; {rate_limit_per_minute} would be throttled; use at most 100"),
            );
        }
        rate_limit_per_minute
    }

    pub(super) fn provider_kind(&mut self, name: &str, raw: &RawProvider) -> Option<ProviderKind> {
        let built_in = ProviderKind::parse(name).filter(|k| *k != ProviderKind::Oauth2);
        match (raw.kind.as_deref(), built_in) {
            (None, Some(kind)) => Some(kind),
            (None, None) => {
                let nearest = ProviderKind::BUILT_IN
                    .iter()
                    .map(|(n, _)| (strsim::levenshtein(n, name), *n))
                    .filter(|(d, _)| *d <= 2)
                    .min();
                let hint =
                    nearest.map_or(String::new(), |(_, n)| format!("did you mean `{n}`? Or, "));
                self.problems.push(Problem::new(
                    format!("providers.{name}"),
                    format!(
                        "`{name}` is not a built-in provider (tiktok, reddit, instagram); {hint}for \
                         any other OAuth2 server set `kind: oauth2` and its `token_url`"
                    ),
                ));
                None
            }
            (Some(k), built_in) => {
                match ProviderKind::parse(k) {
                    Some(kind) if built_in.is_none_or(|b| b == kind) => Some(kind),
                    Some(_) => {
                        self.problems.push(Problem::new(
                        format!("providers.{name}.kind"),
                        format!("`{name}` is built in and cannot be `kind: {k}`; remove `kind` or rename the provider"),
                    ));
                        None
                    }
                    None => {
                        self.problems.push(Problem::new(
                        format!("providers.{name}.kind"),
                        format!("`{k}` is not a provider kind; use tiktok, reddit, instagram or oauth2"),
                    ));
                        None
                    }
                }
            }
        }
    }

    /// A token that expires just outside the window at one run must still be inside it at the
    /// next one, which may start up to the jitter later than planned.
    pub(super) fn window_covers_schedule(
        &mut self,
        name: &str,
        window_s: u64,
        schedule: &Schedule,
        jitter_s: u32,
    ) {
        let gap = schedule.max_gap_s();
        let needed = gap + u64::from(jitter_s);
        self.check(
            window_s >= needed,
            &format!("providers.{name}.window"),
            format!(
                "a {} window is shorter than the {} between runs of `{schedule}` plus {jitter_s} s \
                 of start jitter, so tokens would expire between runs; make the window at least {} \
                 or run more often",
                format_duration(window_s),
                format_duration(gap),
                format_duration(needed)
            ),
        );
        self.check(
            gap <= MAX_SCHEDULE_GAP_S,
            &format!("providers.{name}.schedule"),
            format!(
                "`{schedule}` leaves up to {} between runs; the no-successful-run alarm watches two \
                 periods and CloudWatch evaluates at most 7 days, so run at least every 3d12h",
                format_duration(gap)
            ),
        );
    }

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
        let field = |f: &str| format!("providers.{name}.{f}");
        match raw.token_url.as_deref() {
            None if kind == ProviderKind::Oauth2 => self.problems.push(Problem::new(
                field("token_url"),
                "an oauth2 provider needs its token endpoint; add e.g. `token_url: https://auth.example.com/oauth/token`",
            )),
            None => {}
            Some(url) => {
                self.check(
                    names::is_http_url(url) && (url.starts_with("https://") || names::is_loopback_url(url)),
                    &field("token_url"),
                    format!(
                        "`{url}` is not an https URL; token requests carry secrets and need TLS \
                         (plain http is accepted only for localhost, for local provider fakes)"
                    ),
                );
            }
        }
        if kind != ProviderKind::Oauth2 {
            self.check(
                raw.auth.is_none(),
                &field("auth"),
                format!("`auth` is only for `kind: oauth2` providers; the {name} adapter knows how to authenticate; remove it"),
            );
            return None;
        }
        match raw.auth.as_deref() {
            None | Some("basic") => Some(ClientAuth::Basic),
            Some("body") => Some(ClientAuth::Body),
            Some(other) => {
                self.problems.push(Problem::new(
                    field("auth"),
                    format!("`{other}` is not a client authentication; use `basic` (HTTP Basic) or `body` (form fields)"),
                ));
                None
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
