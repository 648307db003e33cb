//! A tenant's subdomain: a DNS label, unique across the installation.

use std::fmt;

/// Names that would collide with the console's own hosts or confuse users.
pub const RESERVED: &[&str] = &[
    "www",
    "api",
    "admin",
    "administrator",
    "login",
    "logout",
    "static",
    "assets",
    "cdn",
    "mail",
    "smtp",
    "imap",
    "pop",
    "ftp",
    "ns",
    "ns1",
    "ns2",
    "dns",
    "app",
    "console",
    "help",
    "support",
    "status",
    "docs",
    "auth",
    "sso",
    "oauth",
    "health",
    "healthz",
    "readyz",
    "localhost",
    "tenantry",
    "root-admin",
    "system",
    "internal",
    "dashboard",
    "billing",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subdomain(String);

impl Subdomain {
    /// Parses a DNS label: lower-case letters, digits and hyphens, 1–63 characters,
    /// no leading or trailing hyphen, not reserved.
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter a subdomain.".into());
        }
        if s.len() > 63 {
            return Err("A subdomain has at most 63 characters.".into());
        }
        if s.chars().any(|c| c.is_ascii_uppercase()) {
            return Err("Use lower-case letters only.".into());
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err("Use only lower-case letters, digits and hyphens.".into());
        }
        if s.starts_with('-') || s.ends_with('-') {
            return Err("A subdomain cannot start or end with a hyphen.".into());
        }
        if s.len() >= 4 && &s[2..4] == "--" {
            // "xn--" and friends are punycode prefixes: refuse to avoid look-alike hosts.
            return Err("A subdomain cannot have hyphens in the third and fourth position.".into());
        }
        if RESERVED.contains(&s) {
            return Err(format!(
                "\u{201c}{s}\u{201d} is reserved; choose another subdomain."
            ));
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

impl fmt::Display for Subdomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Subdomain;

    #[test]
    fn accepts_dns_labels() {
        for ok in ["a", "acme", "acme-corp", "x1", "0day", &"a".repeat(63)] {
            assert_eq!(Subdomain::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(Subdomain::parse("  acme ").unwrap().as_str(), "acme");
    }

    #[test]
    fn refuses_invalid_labels() {
        for bad in [
            "",
            " ",
            "-acme",
            "acme-",
            "Acme",
            "ac_me",
            "ac.me",
            "ac me",
            "été",
            "xn--abc",
            &"a".repeat(64),
        ] {
            assert!(Subdomain::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn refuses_reserved_names() {
        for bad in ["www", "api", "admin", "login", "static"] {
            let err = Subdomain::parse(bad).unwrap_err();
            assert!(err.contains("reserved"), "{bad}: {err}");
        }
    }
}
