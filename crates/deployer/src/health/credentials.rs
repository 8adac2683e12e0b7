//! Which providers of a stage have credentials in its secret (never their values). Shared by
//! `secrets list` and `verify`; pure. The secret's format is the refresher's
//! ([`refresher::config::CredentialsSecret`]), read here as the function reads it.

use refresher::config::{CredentialsEntry, CredentialsSecret};
use serde::Serialize;

use crate::stage::{ProviderKind, Stage};

#[derive(Debug, Serialize)]
pub struct ProviderState {
    pub provider: String,
    /// `set`, `missing`, `invalid` (an entry without both strings) or `not_needed`.
    pub state: &'static str,
}

/// Each configured provider's state in the secret's JSON (`None`: no secret).
pub fn states(stage: &Stage, secret: Option<&str>) -> Result<Vec<ProviderState>, String> {
    let secret = match secret {
        None => CredentialsSecret::default(),
        Some(text) => {
            CredentialsSecret::parse(text).map_err(|what| format!("the secret {what}"))?
        }
    };
    Ok(stage
        .providers
        .values()
        .map(|p| ProviderState {
            provider: p.name.clone(),
            state: match secret.entry(&p.name) {
                CredentialsEntry::Set(_) => "set",
                CredentialsEntry::Invalid(_) => "invalid",
                CredentialsEntry::Missing if p.kind == ProviderKind::Instagram => "not_needed",
                CredentialsEntry::Missing => "missing",
            },
        })
        .collect())
}

/// What `deploy` says before it deploys providers that cannot run yet (each fails alone at run
/// time, `provider_unusable`): `None` when every provider has what it needs.
pub fn unusable_warning(
    stage: &Stage,
    secret_name: &str,
    states: &[ProviderState],
) -> Option<String> {
    let lacking: Vec<&str> = states
        .iter()
        .filter(|s| s.state == "missing" || s.state == "invalid")
        .map(|s| s.provider.as_str())
        .collect();
    let first = lacking.first()?;
    Some(format!(
        "warning: {} {} no usable credentials in the secret {secret_name}: {} will not refresh \
         (the other providers will) until `deployer secrets set --stage {} --provider {first}`{}",
        if lacking.len() == 1 {
            "provider"
        } else {
            "providers"
        },
        lacking.join(", ") + if lacking.len() == 1 { " has" } else { " have" },
        if lacking.len() == 1 { "it" } else { "they" },
        stage.name,
        if lacking.len() > 1 {
            " (and the same for each)"
        } else {
            ""
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage;

    #[test]
    fn states_per_configured_provider() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../stages/local.yaml");
        let stage = stage::load(&path).unwrap();
        let secret = r#"{"tiktok": {"client_id": "i", "client_secret": "s"},
                         "reddit": {"client_id": "i"}, "other": {}}"#;
        let shown: Vec<(String, &str)> = states(&stage, Some(secret))
            .unwrap()
            .into_iter()
            .map(|p| (p.provider, p.state))
            .collect();
        let expect = [
            ("instagram", "not_needed"),
            ("reddit", "invalid"),
            ("schwab", "missing"),
            ("tiktok", "set"),
        ];
        assert_eq!(shown, expect.map(|(p, s)| (p.to_owned(), s)));
        assert_eq!(states(&stage, None).unwrap().len(), 4);
        let err = states(&stage, Some("[\"SECRET\"]")).unwrap_err();
        assert!(err.starts_with("the secret is not a JSON object"), "{err}");
    }

    #[test]
    fn deploy_warns_of_providers_that_cannot_run() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../stages/local.yaml");
        let stage = stage::load(&path).unwrap();
        let secret = r#"{"tiktok": {"client_id": "i", "client_secret": "s"},
                         "reddit": {"client_id": "i", "client_secret": "s"}}"#;
        let one = states(&stage, Some(secret)).unwrap();
        assert_eq!(
            unusable_warning(&stage, "S", &one).unwrap(),
            "warning: provider schwab has no usable credentials in the secret S: it will not \
             refresh (the other providers will) until `deployer secrets set --stage local --provider schwab`"
        );
        let none = states(&stage, None).unwrap();
        let text = unusable_warning(&stage, "S", &none).unwrap();
        assert!(
            text.contains("providers reddit, schwab, tiktok have"),
            "{text}"
        );
        let all = r#"{"tiktok": {"client_id": "i", "client_secret": "s"},
                      "reddit": {"client_id": "i", "client_secret": "s"},
                      "schwab": {"client_id": "i", "client_secret": "s"}}"#;
        assert_eq!(
            unusable_warning(&stage, "S", &states(&stage, Some(all)).unwrap()),
            None
        );
    }
}
