//! The providers' client credentials, read from the credentials secret (never from the environment).
//!
//! `deployer secrets set` writes the secret as one JSON object:
//! `{"tiktok": {"client_id": "...", "client_secret": "..."}, ...}`. TikTok calls its id `client_key`
//! at its API; the secret still stores it as `client_id` and the TikTok adapter renames it on the wire.
//! Problems are reported without ever quoting a value: a parser's message could echo a secret, so
//! only positions and field names appear.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Config, ConfigError};
use crate::secret::SecretString;

/// One app's OAuth client credentials. `Debug` shows the id but never the secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientCredentials {
    /// `client_id` (TikTok's `client_key`).
    pub client_id: String,
    pub client_secret: SecretString,
}

/// Credentials per configured provider, and the providers that cannot run for want of them.
///
/// A provider without usable credentials (a new provider whose secret entry was not set yet, an
/// entry missing a field) fails alone: the others refresh, and the run reports it by name
/// (`provider_unusable`, its own metric and alarm).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    found: BTreeMap<String, ClientCredentials>,
    unusable: BTreeMap<String, String>,
}

/// The credentials secret as stored: one JSON object of provider name -> `{"client_id",
/// "client_secret"}`. The one definition of that format: the refresher reads it, `deployer
/// secrets set` writes it, `secrets list`, `verify` and `tokens connect` read it. Entries of
/// providers a stage does not configure are kept as they are.
#[derive(Clone, Default)]
pub struct CredentialsSecret(Map<String, Value>);

/// What the secret holds for one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Set(ClientCredentials),
    /// No entry for the provider.
    Missing,
    /// An entry that is not usable; what is wrong, without any value.
    Invalid(&'static str),
}

impl CredentialsSecret {
    /// Parses the secret's text; the error gives the position only (a parser's message could echo
    /// a secret).
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map(Self).map_err(|err| {
            format!(
                "is not a JSON object of provider -> {{\"client_id\", \"client_secret\"}} (line {}, column {})",
                err.line(),
                err.column()
            )
        })
    }

    /// The provider's entry.
    pub fn entry(&self, provider: &str) -> Entry {
        match self.0.get(provider) {
            None => Entry::Missing,
            Some(entry) => entry_credentials(entry).map_or_else(Entry::Invalid, Entry::Set),
        }
    }

    /// Sets the provider's entry; the others stay as they are.
    pub fn set(&mut self, provider: &str, credentials: &ClientCredentials) {
        let entry = serde_json::json!({
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret.expose(),
        });
        self.0.insert(provider.to_owned(), entry);
    }

    /// The secret's text, to store.
    pub fn to_secret(&self) -> SecretString {
        SecretString::new(Value::Object(self.0.clone()).to_string())
    }
}

impl std::fmt::Debug for CredentialsSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let providers: Vec<&String> = self.0.keys().collect();
        f.debug_tuple("CredentialsSecret")
            .field(&providers)
            .finish()
    }
}

impl Credentials {
    /// Parses the secret's JSON and checks that every configured provider that needs credentials has
    /// them; one that has not is [`Self::unusable`], with the problem and its fix. Providers that
    /// need none (Instagram) get empty credentials when the secret has no entry; entries for
    /// providers this stage does not configure are ignored. Only a secret that is not a JSON object
    /// is an error: nothing of it can be trusted then.
    pub fn parse(secret_json: &str, config: &Config) -> Result<Self, ConfigError> {
        let secret_id = &config.credentials_secret_id;
        let secret = CredentialsSecret::parse(secret_json).map_err(|what| ConfigError {
            problems: vec![format!("the credentials secret `{secret_id}` {what}")],
        })?;
        let mut found = BTreeMap::new();
        let mut unusable = BTreeMap::new();
        for (name, provider) in &config.providers {
            let fix = format!(
                "run `deployer secrets set --stage {} --provider {name}`",
                config.stage
            );
            match secret.entry(name) {
                Entry::Missing if !provider.kind.needs_credentials() => {
                    found.insert(name.clone(), ClientCredentials::default());
                }
                Entry::Missing => {
                    let problem = format!(
                        "provider `{name}` has no credentials in the secret `{secret_id}`: {fix}"
                    );
                    unusable.insert(name.clone(), problem);
                }
                Entry::Set(creds) => {
                    found.insert(name.clone(), creds);
                }
                Entry::Invalid(what) => {
                    let problem =
                        format!("provider `{name}` in the secret `{secret_id}` {what}: {fix}");
                    unusable.insert(name.clone(), problem);
                }
            }
        }
        Ok(Self { found, unusable })
    }

    /// The credentials of one provider.
    pub fn get(&self, provider: &str) -> Option<&ClientCredentials> {
        self.found.get(provider)
    }

    /// Providers that cannot run, each with its problem and fix (never a value).
    pub fn unusable(&self) -> &BTreeMap<String, String> {
        &self.unusable
    }
}

/// Reads one entry; the error says what is wrong without quoting any value.
fn entry_credentials(entry: &Value) -> Result<ClientCredentials, &'static str> {
    let Some(entry) = entry.as_object() else {
        return Err("is not an object with client_id and client_secret");
    };
    let field = |name: &str| {
        entry
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    match (field("client_id"), field("client_secret")) {
        (Some(id), Some(secret)) => Ok(ClientCredentials {
            client_id: id.to_owned(),
            client_secret: SecretString::new(secret),
        }),
        (None, Some(_)) => Err("has no client_id string (TikTok's client_key goes there too)"),
        (Some(_), None) => Err("has no client_secret string"),
        (None, None) => Err("has neither a client_id nor a client_secret string"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config;

    const SECRET: &str = r#"{
        "tiktok": {"client_id": "tt-key", "client_secret": "tt-secret-value"},
        "reddit": {"client_id": "rd-id", "client_secret": "rd-secret-value"},
        "schwab": {"client_id": "sw-id", "client_secret": "sw-secret-value"},
        "unused": {"client_id": "x", "client_secret": "y"}
    }"#;

    #[test]
    fn parses_every_configured_provider() {
        let creds = Credentials::parse(SECRET, &config()).unwrap();
        let tiktok = creds.get("tiktok").unwrap();
        assert_eq!(tiktok.client_id, "tt-key");
        assert_eq!(tiktok.client_secret.expose(), "tt-secret-value");
        assert_eq!(creds.get("instagram"), Some(&ClientCredentials::default()));
        assert_eq!(creds.get("unused"), None);
    }

    #[test]
    fn debug_hides_secrets() {
        let creds = Credentials::parse(SECRET, &config()).unwrap();
        let shown = format!("{creds:?}");
        assert!(!shown.contains("secret-value"), "{shown}");
        assert!(shown.contains("client_secret: ***"), "{shown}");
    }

    #[test]
    fn missing_provider_names_the_fix() {
        let json = r#"{"tiktok": {"client_id": "a", "client_secret": "b"}, "reddit": {"client_id": "a", "client_secret": "b"}}"#;
        let creds = Credentials::parse(json, &config()).unwrap();
        assert!(creds.get("tiktok").is_some(), "the others still run");
        let problems: Vec<&String> = creds.unusable().values().collect();
        assert_eq!(
            problems,
            [
                "provider `schwab` has no credentials in the secret `OAuthRefreshStack-prod/provider-credentials`: \
              run `deployer secrets set --stage prod --provider schwab`"
            ]
        );
    }

    #[test]
    fn bad_entries_never_quote_values() {
        let json = r#"{"tiktok": {"client_key": "k", "client_secret": "leak-me"},
                       "reddit": {"client_id": "a", "client_secret": 42},
                       "schwab": "leak-me-too"}"#;
        let creds = Credentials::parse(json, &config()).unwrap();
        assert_eq!(creds.unusable().len(), 3, "{creds:?}");
        let text = format!("{:?}", creds.unusable());
        assert!(!text.contains("leak-me"), "{text}");
        assert!(text.contains(
            "`tiktok` in the secret `OAuthRefreshStack-prod/provider-credentials` has no client_id"
        ));
        assert!(
            text.contains("`reddit` in the secret") && text.contains("has no client_secret string")
        );
        assert!(text.contains("`schwab` in the secret") && text.contains("is not an object"));
    }

    #[test]
    fn invalid_json_gives_position_only() {
        let err = Credentials::parse(r#"{"tiktok": "secret-value"#, &config()).unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert!(!err.problems[0].contains("secret-value"));
        assert!(err.problems[0].contains("line 1, column"), "{err}");
    }
}
