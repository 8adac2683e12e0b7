//! `SecretString`: the one wrapper for every token, client secret and credential value.
//!
//! Token values must never reach a log line, an error message or a `Debug` dump (DESIGN §5.7). Rather
//! than relying on each call site to remember that, secrets live in a type whose `Debug` prints `***`,
//! which has no `Display` at all, and which wipes its bytes from memory when dropped. Reading the
//! value takes an explicit [`SecretString::expose`], so every place that handles a raw token is
//! greppable.

use std::fmt;

use zeroize::Zeroize;

/// A string that must not be shown: `Debug` prints `***`, there is no `Display`, and the bytes are
/// zeroed on drop.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for the few places that must send or encrypt it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string (a configuration error wherever a value is needed).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = SecretString::new("act.very-secret");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(***)");
        assert_eq!(secret.expose(), "act.very-secret");
    }

    #[test]
    fn empty_is_detected() {
        assert!(SecretString::default().is_empty());
        assert!(!SecretString::from("x").is_empty());
    }
}
