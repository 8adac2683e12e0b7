//! One `providers:` entry: its name and kind, window against its schedule, rate and concurrency
//! (its HTTP settings are checked in `provider_http.rs`).

use super::{
    Checker, INSTAGRAM_MAX_WINDOW_S, MAX_SCHEDULE_GAP_S, Problem, Provider, ProviderKind,
    RawProvider, Schedule, format_duration, names, parse_duration,
};

impl Checker<'_> {
    pub(super) fn provider(
        &mut self,
        name: &str,
        raw: &RawProvider,
        jitter_s: u32,
    ) -> Option<Provider> {
        let before = self.problems.len();
        self.provider_name(name);
        let kind = self.provider_kind(name, raw)?;
        let (window_s, schedule) = self.timing(name, kind, raw, jitter_s);
        let rate_limit_per_minute = self.rate_limit(name, kind, raw.rate_limit_per_minute);
        let concurrency = self.concurrency(name, raw.concurrency);
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

    /// Records a problem when the entry's key is not a usable provider name.
    fn provider_name(&mut self, name: &str) {
        if !names::is_provider_name(name) {
            self.problems.push(Problem::new(
                format!("providers.{name}"),
                format!("`{name}` is not a provider name; use 1-32 lowercase letters, digits and `_`, starting with a letter"),
            ));
        }
    }

    /// `window` and `schedule`, each `None` when it does not parse; the window is checked against
    /// the schedule when both do.
    fn timing(
        &mut self,
        name: &str,
        kind: ProviderKind,
        raw: &RawProvider,
        jitter_s: u32,
    ) -> (Option<u64>, Option<Schedule>) {
        let field = |f: &str| format!("providers.{name}.{f}");
        let window_s = parse_duration(&raw.window)
            .map_err(|e| self.problems.push(Problem::new(field("window"), e)))
            .ok();
        let schedule = Schedule::parse(&raw.schedule)
            .map_err(|e| self.problems.push(Problem::new(field("schedule"), e)))
            .ok();
        if let (Some(window_s), Some(schedule)) = (window_s, &schedule) {
            self.window_fits(name, kind, raw, window_s, schedule, jitter_s);
        }
        (window_s, schedule)
    }

    /// `concurrency`: 8 refreshes in flight when left out, 1 to 64.
    fn concurrency(&mut self, name: &str, given: Option<u32>) -> u32 {
        let concurrency = given.unwrap_or(8);
        self.check(
            (1..=64).contains(&concurrency),
            &format!("providers.{name}.concurrency"),
            format!("{concurrency} refreshes in flight is not usable; use 1 to 64"),
        );
        concurrency
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
                self.unknown_provider(name);
                None
            }
            (Some(k), built_in) => self.declared_kind(name, k, built_in),
        }
    }

    /// Records that a provider without `kind` is not built in, suggesting the nearest built-in name.
    fn unknown_provider(&mut self, name: &str) {
        let nearest = ProviderKind::BUILT_IN
            .iter()
            .map(|(n, _)| (strsim::levenshtein(n, name), *n))
            .filter(|(d, _)| *d <= 2)
            .min();
        let hint = nearest.map_or(String::new(), |(_, n)| format!("did you mean `{n}`? Or, "));
        self.problems.push(Problem::new(
            format!("providers.{name}"),
            format!(
                "`{name}` is not a built-in provider (tiktok, reddit, instagram); {hint}for \
                 any other OAuth2 server set `kind: oauth2` and its `token_url`"
            ),
        ));
    }

    /// The kind `kind: k` declares; `None` when it is no kind or contradicts a built-in name.
    fn declared_kind(
        &mut self,
        name: &str,
        k: &str,
        built_in: Option<ProviderKind>,
    ) -> Option<ProviderKind> {
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
                    format!(
                        "`{k}` is not a provider kind; use tiktok, reddit, instagram or oauth2"
                    ),
                ));
                None
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
}
