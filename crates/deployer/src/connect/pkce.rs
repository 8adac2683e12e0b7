//! Random values of the code flow: `state` (binds the redirect to this run, RFC 6749 §10.12) and
//! the PKCE verifier with its S256 challenge (RFC 7636 §4.1-4.2).
//!
//! Both come from `rand`'s thread RNG, a CSPRNG seeded from the OS.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use refresher::secret::SecretString;
use sha2::{Digest, Sha256};

/// 32 random bytes, base64url without padding (43 characters, RFC 7636's recommended length).
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh `state` value.
pub fn state() -> String {
    random_token()
}

/// A PKCE verifier and the challenge sent with the authorization request.
#[derive(Debug)]
pub struct Pkce {
    pub verifier: SecretString,
    pub challenge: String,
}

impl Pkce {
    pub fn generate() -> Self {
        let verifier = SecretString::new(random_token());
        let challenge = challenge(verifier.expose());
        Self {
            verifier,
            challenge,
        }
    }
}

/// `BASE64URL(SHA256(verifier))` (RFC 7636 §4.2, method `S256`).
fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_is_unpadded_base64url_of_sha256() {
        // Computed independently: python3 -c "import hashlib, base64; print(base64.
        // urlsafe_b64encode(hashlib.sha256(b'dBjftJeZ4CVP-mB92K27uhbUJU1p1r7wW1gFWFOEjXk').digest()))"
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r7wW1gFWFOEjXk"),
            "bwWFMyPfdG9qreDhH2lmftFx_dFeLDalzcT1gb_j68g"
        );
    }

    #[test]
    fn values_are_fresh_and_in_the_unreserved_set() {
        let (a, b) = (state(), state());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        let pkce = Pkce::generate();
        assert!(
            pkce.verifier
                .expose()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
        );
        assert_eq!(pkce.challenge, challenge(pkce.verifier.expose()));
    }
}
