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
}
