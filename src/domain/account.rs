//! The other fields of a user account: personal names, passwords and per-user limits.

use super::text_enum::text_enum;
use secrecy::{ExposeSecret, SecretString};

text_enum! {
    /// Where a user account comes from. Accounts of an identity source have their
    /// names, username, email and password managed there.
    pub enum UserSource {
        /// Created in the console (or by accepting an invitation).
        Local = "local",
        /// Provisioned through SCIM.
        Scim = "scim",
        /// Synchronised from an LDAP directory.
        Ldap = "ldap",
    }
}

/// The name a user logs in with: `subdomain\username` (the home tenant's
/// subdomain, a backslash, the username), as the console shows and audits it.
pub fn login_name(subdomain: &str, username: &str) -> String {
    format!("{subdomain}\\{username}")
}

/// How the audit trail (and the versions, migrations) record a user acting
/// through one of their API tokens.
pub fn token_login(login: &str, token_id: i64) -> String {
    format!("{login}{TOKEN_MARK}{token_id})")
}

const TOKEN_MARK: &str = " (API token ";

/// A recorded login without the API token it acted through (which only the user
/// themself is shown).
pub fn without_token(recorded: &str) -> &str {
    match recorded.rfind(TOKEN_MARK) {
        Some(at) if recorded.ends_with(')') => &recorded[..at],
        _ => recorded,
    }
}

/// A first or last name: trimmed, at most 100 characters, no control characters;
/// may be empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX: usize = 100;

    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.chars().count() > Self::MAX {
            return Err(format!("A name has at most {} characters.", Self::MAX));
        }
        if s.chars().any(char::is_control) {
            return Err("A name cannot contain control characters.".into());
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A new password: 10–1024 characters (kept exactly as typed) and not the username.
#[derive(Clone)]
pub struct Password(SecretString);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    pub const MIN: usize = 10;
    pub const MAX: usize = 1024;

    pub fn parse(input: &str, username: &str) -> Result<Self, String> {
        let length = input.chars().count();
        if length == 0 {
            return Err("Enter a password.".into());
        }
        if length < Self::MIN {
            return Err(format!("A password has at least {} characters.", Self::MIN));
        }
        if length > Self::MAX {
            return Err(format!("A password has at most {} characters.", Self::MAX));
        }
        let username = username.trim();
        if !username.is_empty() && input.trim().to_lowercase() == username.to_lowercase() {
            return Err("The password cannot be the username.".into());
        }
        Ok(Self(SecretString::from(input.to_string())))
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }

    /// Only for comparisons (e.g. new password equals its confirmation).
    pub fn matches(&self, other: &str) -> bool {
        self.0.expose_secret() == other
    }
}

/// A per-user storage or memory limit in GB, or none: what a tenant's limit takes
/// (`resources::parse_limit`: the same unit, the same cap, the same words), so that
/// one limit never reads differently from another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GbLimit(Option<i64>);

impl GbLimit {
    /// The highest limit (`resources::MAX_LIMIT`), as the form's `max`.
    pub const MAX: i64 = crate::domain::resources::MAX_LIMIT;

    /// Empty means "no limit".
    pub fn parse(input: &str) -> Result<Self, String> {
        crate::domain::resources::parse_limit(input).map(Self)
    }

    pub fn get(self) -> Option<i64> {
        self.0
    }

    /// A limit as stored (a change that leaves it as it is).
    pub fn stored(limit: Option<i64>) -> Self {
        Self(limit)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_login_round_trips() {
        let l = super::token_login("root\\admin", 7);
        assert_eq!(l, "root\\admin (API token 7)");
        assert_eq!(super::without_token(&l), "root\\admin");
        assert_eq!(super::without_token("root\\admin"), "root\\admin");
    }

    use super::*;

    #[test]
    fn login_names() {
        assert_eq!(login_name("acme", "alice"), "acme\\alice");
    }

    #[test]
    fn person_names_may_be_empty_but_bounded() {
        assert_eq!(PersonName::parse("  Ada ").unwrap().as_str(), "Ada");
        assert_eq!(PersonName::parse("").unwrap().as_str(), "");
        assert!(PersonName::parse(&"é".repeat(100)).is_ok());
        assert!(PersonName::parse(&"x".repeat(101)).is_err());
        assert!(PersonName::parse("a\tb").is_err());
        assert!(PersonName::parse("a\u{7f}b").is_err());
    }

    #[test]
    fn passwords_have_bounds_and_differ_from_the_username() {
        assert!(Password::parse("", "alice").is_err());
        assert!(Password::parse("123456789", "alice").is_err());
        assert!(Password::parse("1234567890", "alice").is_ok());
        assert!(Password::parse(&"x".repeat(1024), "alice").is_ok());
        assert!(Password::parse(&"x".repeat(1025), "alice").is_err());
        assert!(Password::parse("alice.smith", "alice.smith").is_err());
        assert!(Password::parse("Alice.Smith", "alice.smith").is_err());
        // Spaces are kept: a passphrase is a password too.
        let p = Password::parse("  spaced out  ", "alice").unwrap();
        assert!(p.matches("  spaced out  "));
        assert!(!format!("{p:?}").contains("spaced"));
    }

    #[test]
    fn limits() {
        assert_eq!(GbLimit::parse("").unwrap().get(), None);
        assert_eq!(GbLimit::parse(" 0 ").unwrap().get(), Some(0));
        assert_eq!(GbLimit::parse("1000000").unwrap().get(), Some(1_000_000));
        // A tenant's cap, and its words.
        assert_eq!(
            GbLimit::parse("1000000000000").unwrap().get(),
            Some(GbLimit::MAX)
        );
        assert_eq!(
            GbLimit::parse("1000000000001"),
            crate::domain::resources::parse_limit("1000000000001").map(GbLimit)
        );
        for bad in ["-1", "1000000000001", "1.5", "ten", "99999999999999999999"] {
            assert!(GbLimit::parse(bad).is_err(), "{bad}");
        }
    }
}
