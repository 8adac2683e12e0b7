//! `function:`, `token_api:`, `tables:`, `alarms:` and `kms:`: the Lambda settings, the tables
//! (and the tokens' format), the alarm thresholds, the key's rotation.

use super::{
    Alarms, Architecture, Checker, Function, Kms, LOG_LEVELS, Problem, RETENTION_DAYS, RawAlarms,
    RawFunction, RawKms, RawTables, RawTokenApi, RawTokenFormat, RawTokensTable, Table, Tables,
    TokenApi, TokenFormat, TokensTable, join, names,
};

impl Checker<'_> {
    /// `kms:`: the key's rotation period, 90 days when left out, within what KMS allows.
    pub(super) fn kms(&mut self, k: &RawKms) -> Kms {
        let rotation_days = k.rotation_days.unwrap_or(90);
        self.check(
            (90..=2560).contains(&rotation_days),
            "kms.rotation_days",
            format!(
                "{rotation_days} days is outside what KMS allows for automatic rotation; use 90 \
                 to 2560 (90 is the shortest and the default)"
            ),
        );
        Kms { rotation_days }
    }

    /// `token_api:`: `None` when turned off.
    pub(super) fn token_api(&mut self, a: &RawTokenApi, stage: &str) -> Option<TokenApi> {
        let memory_mb = self.memory(a.memory_mb, "token_api.memory_mb");
        let timeout_s = a.timeout_s.unwrap_or(30);
        self.check(
            (5..=60).contains(&timeout_s),
            "token_api.timeout_s",
            format!(
                "{timeout_s} s does not suit an API an app waits for; use 5 to 60 (a request \
                 keeps 3 s to answer, and waits for a refresh in flight within the rest)"
            ),
        );
        if let Some(n) = a.reserved_concurrency {
            self.check(
                (1..=1000).contains(&n),
                "token_api.reserved_concurrency",
                format!(
                    "{n} is not usable: 0 stops every request and accounts start with 1000; \
                     use e.g. 10, or set it to null for unreserved"
                ),
            );
        }
        a.enabled.then(|| TokenApi {
            name: names::token_api_name(stage),
            rule_name: names::refresh_requested_rule_name(stage),
            memory_mb,
            timeout_s,
            reserved_concurrency: a.reserved_concurrency,
        })
    }

    pub(super) fn function(&mut self, f: &RawFunction, stage: &str) -> Function {
        let architecture = self.architecture(f.architecture.as_deref());
        let memory_mb = self.memory(f.memory_mb, "function.memory_mb");
        let timeout_s = self.function_timeout(f.timeout_s);
        self.function_concurrency(f.reserved_concurrency);
        let log_retention_days = self.log_retention(f.log_retention_days);
        let jitter_seconds = self.jitter(f.jitter_seconds, timeout_s);
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

    /// `function.timeout_s`: 300 s when left out, within what Lambda allows.
    fn function_timeout(&mut self, given: Option<u32>) -> u32 {
        let timeout_s = given.unwrap_or(300);
        self.check(
            (1..=900).contains(&timeout_s),
            "function.timeout_s",
            format!("{timeout_s} s is outside what Lambda allows; use 1 to 900 (15 minutes)"),
        );
        timeout_s
    }

    /// `function.reserved_concurrency`: unreserved when left out, otherwise 1 to 1000.
    fn function_concurrency(&mut self, given: Option<u32>) {
        if let Some(n) = given {
            self.check(
                (1..=1000).contains(&n),
                "function.reserved_concurrency",
                format!(
                    "{n} is not usable: 0 stops every invocation and accounts start with 1000; \
                     use 1 (runs never overlap) or set it to null for unreserved"
                ),
            );
        }
    }

    /// `function.log_retention_days`: 30 when left out, a value CloudWatch Logs accepts.
    fn log_retention(&mut self, given: Option<u32>) -> u32 {
        let log_retention_days = given.unwrap_or(30);
        self.check(
            RETENTION_DAYS.contains(&log_retention_days),
            "function.log_retention_days",
            format!(
                "CloudWatch Logs does not accept {log_retention_days} days; use one of {}",
                join(&RETENTION_DAYS)
            ),
        );
        log_retention_days
    }

    /// `function.jitter_seconds`: 120 when left out, at most half the timeout.
    fn jitter(&mut self, given: Option<u32>, timeout_s: u32) -> u32 {
        let jitter_seconds = given.unwrap_or(120);
        self.check(
            jitter_seconds <= timeout_s / 2,
            "function.jitter_seconds",
            format!(
                "{jitter_seconds} s of start jitter leaves too little of the {timeout_s} s timeout \
                 for refreshing; use at most {} or raise function.timeout_s",
                timeout_s / 2
            ),
        );
        jitter_seconds
    }

    /// A function's memory (256 MB when left out), within what Lambda allows.
    fn memory(&mut self, given: Option<u32>, field: &str) -> u32 {
        let memory_mb = given.unwrap_or(256);
        self.check(
            (128..=10_240).contains(&memory_mb),
            field,
            format!("{memory_mb} MB is outside what Lambda allows; use 128 to 10240"),
        );
        memory_mb
    }

    /// `function.architecture`: arm64 when left out.
    pub(super) fn architecture(&mut self, text: Option<&str>) -> Architecture {
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
    pub(super) fn log_level(&mut self, text: Option<&str>) -> String {
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

    pub(super) fn tables(&mut self, raw: &RawTables) -> Tables {
        let RawTables { tokens, analytics } = raw;
        self.table_names(&tokens.name, &analytics.name);
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

    /// `tables.*.name`: DynamoDB table names, and two different ones.
    fn table_names(&mut self, tokens: &str, analytics: &str) {
        for (field, name) in [
            ("tables.tokens.name", tokens),
            ("tables.analytics.name", analytics),
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
            tokens != analytics,
            "tables.analytics.name",
            format!(
                "`{analytics}` is also the tokens table; give the analytics table its own name"
            ),
        );
    }

    /// An adopted table holds an app's items in the app's own format: converting them by default
    /// would lock the app out of its tokens, keeping them would surprise a stage that meant to
    /// encrypt. The stage must say which.
    pub(super) fn token_format(&mut self, tokens: &RawTokensTable) -> TokenFormat {
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

    pub(super) fn alarms(&mut self, a: &RawAlarms) -> Alarms {
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
}
