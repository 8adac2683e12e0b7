//! [`RawStage`] to [`Stage`]: every value checked against what AWS and the providers accept,
//! defaults filled in. Each check adds a [`Problem`] and goes on, so a file's problems come at once.

use std::collections::BTreeMap;

use super::duration::{format_duration, parse_duration};
use super::model::{
    Alarms, Architecture, ClientAuth, Function, Provider, ProviderKind, RuleGroup, Stage, Table,
    Tables, TokensTable,
};
use super::raw::{RawAlarms, RawFunction, RawProvider, RawTable, RawTokenFormat, RawTokensTable};
use super::schedule::Schedule;
use super::sections::Parts;
use super::{Problem, http_trigger, names};
use refresher::crypto::TokenFormat;

/// Retention values CloudWatch Logs accepts (`PutRetentionPolicy`).
const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];
const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];
/// The no-successful-run alarm watches two schedule periods, and CloudWatch evaluates an alarm
/// over at most 7 days.
const MAX_SCHEDULE_GAP_S: u64 = 7 * 86_400 / 2;
/// Instagram long-lived tokens live 60 days and refresh only once 24 hours old (PROVIDERS.md).
const INSTAGRAM_MAX_WINDOW_S: u64 = 59 * 86_400;

/// Checks every section that could be read, and builds the [`Stage`] when all of them could and
/// none has a problem.
pub(super) fn validate(
    parts: Parts,
    file_stem: Option<&str>,
    problems: &mut Vec<Problem>,
) -> Option<Stage> {
    let before = problems.len();
    let mut p = Checker { problems };
    // Names derived from other sections fall back to a stand-in when those are broken, so the
    // checks of this section still run; the stage is not built then anyway.
    let stage_name = parts.stage.as_deref().unwrap_or("stage");
    p.identity(&parts, file_stem);
    let (stack_name, artifact_bucket) = p.names(&parts, stage_name);
    let function = parts.function.as_ref().map(|f| p.function(f, stage_name));
    let tables = parts
        .tables
        .as_ref()
        .map(|t| p.tables(&t.tokens, &t.analytics));
    let alarms = parts.alarms.as_ref().map(|a| p.alarms(a));
    let jitter = function.as_ref().map_or(0, |f| f.jitter_seconds);
    let providers: BTreeMap<String, Provider> = parts
        .providers
        .iter()
        .filter_map(|(name, rp)| Some((name.clone(), p.provider(name, rp, jitter)?)))
        .collect();
    let rules = p.rule_groups(&providers, stage_name);
    let http_trigger = parts
        .http_trigger
        .as_ref()
        .map(|raw| http_trigger::validate(raw, stage_name, &rules, p.problems));
    if let Some(tags) = &parts.tags {
        p.tags(tags);
    }
    if p.problems.len() > before || providers.len() != parts.providers.len() {
        return None;
    }
    let raw = parts.complete()?;
    Some(Stage {
        name: raw.stage,
        region: raw.region,
        account_id: raw.account_id,
        stack_name,
        endpoint_url: raw.endpoint_url,
        termination_protection: raw.termination_protection,
        artifact_bucket,
        function: function?,
        tables: tables?,
        alarms: alarms?,
        providers,
        rules,
        http_trigger: http_trigger.flatten(),
        tags: raw.tags,
    })
}

impl Checker<'_> {
    /// The stage's identity: its name (matching the file), region, account and endpoint.
    fn identity(&mut self, parts: &Parts, file_stem: Option<&str>) {
        if let Some(stage) = &parts.stage {
            self.check_stage_name(stage, file_stem);
        }
        if let Some(region) = &parts.region {
            self.check(
                names::is_region(region),
                "region",
                format!(
                    "`{region}` is not an AWS region; write one like `us-east-1` or `eu-west-3`"
                ),
            );
        }
        if let Some(account) = &parts.account_id {
            self.check(
                account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()),
                "account_id",
                format!("`{account}` is not a 12-digit AWS account id; write it quoted, e.g. \"123456789012\""),
            );
        }
        if let Some(url) = &parts.endpoint_url {
            self.check(
                names::is_http_url(url),
                "endpoint_url",
                format!("`{url}` is not an http(s) URL; write e.g. `http://localhost:5000`, or remove it for real AWS"),
            );
        }
    }

    /// The stack and artifact bucket names, the stage file's or their defaults, checked.
    fn names(&mut self, parts: &Parts, stage_name: &str) -> (String, String) {
        let stack_name = parts
            .stack_name
            .clone()
            .unwrap_or_else(|| names::default_stack_name(stage_name));
        self.check(
            names::is_stack_name(&stack_name),
            "stack_name",
            format!(
                "`{stack_name}` is not a CloudFormation stack name; start with a letter and use only \
                 letters, digits and hyphens, at most 128 characters"
            ),
        );
        let artifact_bucket = parts.artifact_bucket.clone().unwrap_or_else(|| {
            names::default_artifact_bucket(
                parts.account_id.as_deref().unwrap_or("000000000000"),
                parts.region.as_deref().unwrap_or("us-east-1"),
            )
        });
        self.check(
            names::is_bucket_name(&artifact_bucket),
            "artifact_bucket",
            format!(
                "`{artifact_bucket}` is not an S3 bucket name; use 3-63 lowercase letters, digits, \
                 hyphens and dots, starting and ending with a letter or digit"
            ),
        );
        (stack_name, artifact_bucket)
    }
}

struct Checker<'a> {
    problems: &'a mut Vec<Problem>,
}

impl Checker<'_> {
    fn check(&mut self, ok: bool, field: &str, message: String) -> bool {
        if !ok {
            self.problems.push(Problem::new(field, message));
        }
        ok
    }

    fn check_stage_name(&mut self, stage: &str, file_stem: Option<&str>) {
        let valid = self.check(
            names::is_stage_name(stage),
            "stage",
            format!(
                "`{stage}` is not a stage name; use 1-20 lowercase letters, digits and hyphens, \
                 starting with a letter"
            ),
        );
        if let Some(stem) = file_stem.filter(|stem| valid && stem != &stage) {
            self.problems.push(Problem::new(
                "stage",
                format!("`{stage}` does not match the file name `{stem}.yaml`; rename one of them"),
            ));
        }
    }

    fn function(&mut self, f: &RawFunction, stage: &str) -> Function {
        let architecture = self.architecture(f.architecture.as_deref());
        let memory_mb = f.memory_mb.unwrap_or(256);
        self.check(
            (128..=10_240).contains(&memory_mb),
            "function.memory_mb",
            format!("{memory_mb} MB is outside what Lambda allows; use 128 to 10240"),
        );
        let timeout_s = f.timeout_s.unwrap_or(300);
        self.check(
            (1..=900).contains(&timeout_s),
            "function.timeout_s",
            format!("{timeout_s} s is outside what Lambda allows; use 1 to 900 (15 minutes)"),
        );
        if let Some(n) = f.reserved_concurrency {
            self.check(
                (1..=1000).contains(&n),
                "function.reserved_concurrency",
                format!(
                    "{n} is not usable: 0 stops every invocation and accounts start with 1000; \
                     use 1 (runs never overlap) or set it to null for unreserved"
                ),
            );
        }
        let log_retention_days = f.log_retention_days.unwrap_or(30);
        self.check(
            RETENTION_DAYS.contains(&log_retention_days),
            "function.log_retention_days",
            format!(
                "CloudWatch Logs does not accept {log_retention_days} days; use one of {}",
                join(&RETENTION_DAYS)
            ),
        );
        let jitter_seconds = f.jitter_seconds.unwrap_or(120);
        self.check(
            jitter_seconds <= timeout_s / 2,
            "function.jitter_seconds",
            format!(
                "{jitter_seconds} s of start jitter leaves too little of the {timeout_s} s timeout \
                 for refreshing; use at most {} or raise function.timeout_s",
                timeout_s / 2
            ),
        );
        let log_level = self.log_level(f.log_level.as_deref());
        Function {
            name: names::function_name(stage),
            architecture,
            memory_mb,
            timeout_s,
            reserved_concurrency: f.reserved_concurrency,
            log_retention_days,
            jitter_seconds,
            log_level,
        }
    }

    /// `function.architecture`: arm64 when left out.
    fn architecture(&mut self, text: Option<&str>) -> Architecture {
        match text {
            None | Some("arm64") => Architecture::Arm64,
            Some("x86_64") => Architecture::X86_64,
            Some(other) => {
                self.problems.push(Problem::new(
                    "function.architecture",
                    format!("`{other}` is not a Lambda architecture; write `arm64` or `x86_64`"),
                ));
                Architecture::Arm64
            }
        }
    }

    /// `function.log_level`: info when left out.
    fn log_level(&mut self, text: Option<&str>) -> String {
        let log_level = text.unwrap_or("info").to_owned();
        self.check(
            LOG_LEVELS.contains(&log_level.as_str()),
            "function.log_level",
            format!(
                "`{log_level}` is not a log level; use one of {}",
                LOG_LEVELS.join(", ")
            ),
        );
        log_level
    }

    fn tables(&mut self, tokens: &RawTokensTable, analytics: &RawTable) -> Tables {
        for (field, name) in [
            ("tables.tokens.name", &tokens.name),
            ("tables.analytics.name", &analytics.name),
        ] {
            self.check(
                names::is_table_name(name),
                field,
                format!(
                    "`{name}` is not a DynamoDB table name; use 3-255 letters, digits, `_`, `-` and `.`"
                ),
            );
        }
        self.check(
            tokens.name != analytics.name,
            "tables.analytics.name",
            format!(
                "`{}` is also the tokens table; give the analytics table its own name",
                analytics.name
            ),
        );
        Tables {
            tokens: TokensTable {
                name: tokens.name.clone(),
                create: tokens.create,
                format: self.token_format(tokens),
            },
            analytics: Table {
                name: analytics.name.clone(),
                create: analytics.create,
            },
        }
    }

    /// An adopted table holds an app's items in the app's own format: converting them by default
    /// would lock the app out of its tokens, keeping them would surprise a stage that meant to
    /// encrypt. The stage must say which.
    fn token_format(&mut self, tokens: &RawTokensTable) -> TokenFormat {
        match (tokens.format, tokens.create) {
            (Some(RawTokenFormat::Envelope), _) | (None, true) => TokenFormat::Envelope,
            (Some(RawTokenFormat::Plaintext), _) => TokenFormat::Plaintext,
            (None, false) => {
                self.problems.push(Problem::new(
                    "tables.tokens.format",
                    "an adopted table (`create: false`) must state how token values are written: \
                     `plaintext` keeps the strings as the app writes and reads them (protected by \
                     the table's encryption at rest), `envelope` encrypts each value with the \
                     stage's KMS key (apps must then read through the readers under clients/); \
                     items in the other format are converted on their next write \
                     (docs/token-store.md)"
                        .to_owned(),
                ));
                TokenFormat::Envelope
            }
        }
    }

    fn alarms(&mut self, a: &RawAlarms) -> Alarms {
        if let Some(email) = &a.email {
            self.check(
                names::is_email(email),
                "alarms.email",
                format!("`{email}` is not an email address; write one like `ops@example.com`"),
            );
        }
        let errors_threshold = a.errors_threshold.unwrap_or(1);
        self.check(
            errors_threshold >= 1,
            "alarms.errors_threshold",
            "0 would alarm all the time; use 1 or more".to_owned(),
        );
        let period_s = a.period_s.unwrap_or(300);
        self.check(
            period_s == 10 || period_s == 30 || (period_s.is_multiple_of(60) && (60..=86_400).contains(&period_s)),
            "alarms.period_s",
            format!("CloudWatch does not accept a {period_s} s period; use 10, 30 or a multiple of 60 up to 86400"),
        );
        Alarms {
            email: a.email.clone(),
            errors_threshold,
            period_s,
        }
    }

    fn provider(&mut self, name: &str, raw: &RawProvider, jitter_s: u32) -> Option<Provider> {
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
    fn window_fits(
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
    fn rate_limit(&mut self, name: &str, kind: ProviderKind, given: Option<u32>) -> u32 {
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

    fn provider_kind(&mut self, name: &str, raw: &RawProvider) -> Option<ProviderKind> {
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
    fn window_covers_schedule(
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

    fn user_agent(&mut self, name: &str, kind: ProviderKind, ua: Option<&str>) {
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
    fn oauth2_settings(
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
    fn connect_settings(&mut self, name: &str, raw: &RawProvider) {
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

    fn rule_groups(
        &mut self,
        providers: &BTreeMap<String, Provider>,
        stage: &str,
    ) -> Vec<RuleGroup> {
        let mut by_schedule: BTreeMap<&str, Vec<&Provider>> = BTreeMap::new();
        for provider in providers.values() {
            by_schedule
                .entry(provider.schedule.expression())
                .or_default()
                .push(provider);
        }
        let mut groups: Vec<RuleGroup> = by_schedule
            .into_values()
            .map(|members| {
                let schedule = members[0].schedule.clone();
                let label = schedule.rate_label().unwrap_or_else(|| {
                    members
                        .iter()
                        .map(|p| names::provider_label(&p.name))
                        .collect()
                });
                RuleGroup {
                    name: names::rule_group_name(&label, stage),
                    logical_id: format!("RefreshRule{label}"),
                    schedule,
                    providers: members.iter().map(|p| p.name.clone()).collect(),
                }
            })
            .collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        for group in &groups {
            let field = format!("providers.{}.schedule", group.providers[0]);
            self.check(
                group.name.len() <= 64,
                &field,
                format!("the rule name `{}` is longer than EventBridge's 64 characters; use a shorter stage or provider name", group.name),
            );
        }
        for pair in groups.windows(2) {
            let field = format!("providers.{}.schedule", pair[1].providers[0]);
            self.check(
                pair[0].name != pair[1].name,
                &field,
                format!(
                    "`{}` and `{}` would both be rule `{}`; give these providers the same schedule",
                    pair[0].schedule, pair[1].schedule, pair[1].name
                ),
            );
        }
        groups
    }

    fn tags(&mut self, tags: &BTreeMap<String, String>) {
        self.check(
            tags.len() <= 50,
            "tags",
            format!(
                "{} tags are more than the 50 CloudFormation allows; remove some",
                tags.len()
            ),
        );
        for (key, value) in tags {
            self.check(
                !key.is_empty()
                    && key.len() <= 128
                    && !key.to_ascii_lowercase().starts_with("aws:"),
                &format!("tags.{key}"),
                "a tag key is 1-128 characters and must not start with `aws:`; rename it"
                    .to_owned(),
            );
            self.check(
                value.len() <= 256,
                &format!("tags.{key}"),
                "a tag value is at most 256 characters; shorten it".to_owned(),
            );
        }
    }
}

fn join(values: &[u32]) -> String {
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
