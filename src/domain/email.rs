//! An email address as the console accepts it: `local@domain.tld`, trimmed.

use std::fmt;

/// A plausible email address: trimmed, at most 254 characters, exactly one `@`,
/// a non-empty local part without spaces or control characters, and a domain of
/// at least two valid DNS labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// RFC 5321's limit on a forward path.
    pub const MAX: usize = 254;
    /// RFC 5321's limit on the local part.
    pub const MAX_LOCAL: usize = 64;

    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter an email address.".into());
        }
        if s.chars().count() > Self::MAX {
            return Err(format!(
                "An email address has at most {} characters.",
                Self::MAX
            ));
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err("Enter an email address like name@example.com.".into());
        };
        if domain.contains('@') {
            return Err("An email address has exactly one @.".into());
        }
        if local.is_empty() {
            return Err("Enter the part before the @.".into());
        }
        if local.chars().count() > Self::MAX_LOCAL {
            return Err(format!(
                "The part before the @ has at most {} characters.",
                Self::MAX_LOCAL
            ));
        }
        if local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ','))
        {
            return Err("The part before the @ cannot contain spaces or <>\",.".into());
        }
        if !valid_domain(domain) {
            return Err("Enter a domain after the @, like example.com.".into());
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

/// The form in which two addresses are compared: trimmed and lower-case. Mail
/// providers treat the local part case-insensitively in practice, so an invitation
/// sent to `Bob@Example.com` belongs to the account with `bob@example.com`.
pub fn normalized(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// Whether two stored addresses are the same mailbox ([`normalized`]); an empty
/// address matches nothing.
pub fn same_address(a: &str, b: &str) -> bool {
    let a = normalized(a);
    !a.is_empty() && a == normalized(b)
}

/// An address shown to someone who may not be its owner: enough for the owner to
/// recognise it, not enough to learn it (`bob@example.com` → `b***@e***.com`).
pub fn mask(raw: &str) -> String {
    fn first(s: &str) -> String {
        s.chars().next().map_or(String::new(), |c| c.to_string())
    }
    let raw = raw.trim();
    let Some((local, domain)) = raw.rsplit_once('@') else {
        return "***".into();
    };
    let masked_domain = match domain.rsplit_once('.') {
        Some((name, tld)) if !name.is_empty() => format!("{}***.{tld}", first(name)),
        _ => format!("{}***", first(domain)),
    };
    format!("{}***@{masked_domain}", first(local))
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Two or more labels of 1–63 letters, digits or hyphens, no hyphen at either end.
fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.chars().count() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_addresses_trimmed() {
        assert_eq!(
            Email::parse("  alice@example.com ").unwrap().as_str(),
            "alice@example.com"
        );
        assert!(Email::parse("a.b+tag@mail.example.co.uk").is_ok());
        assert!(Email::parse("x@b-c.de").is_ok());
        assert!(Email::parse("jörg@bücher.example").is_ok());
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in [
            "",
            "   ",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "alice@@example.com",
            "a@b@example.com",
            "al ice@example.com",
            "alice@exa mple.com",
            "alice@.example.com",
            "alice@example..com",
            "alice@example.com.",
            "alice@-example.com",
            "alice@example-.com",
            "alice@exam_ple.com",
            "a\u{0}b@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn compares_trimmed_and_case_insensitively() {
        assert!(same_address(" Bob@Example.COM", "bob@example.com "));
        assert!(same_address("jÖrg@BÜcher.example", "jörg@bücher.example"));
        assert!(!same_address("bob@example.com", "bob@example.org"));
        assert!(!same_address("bob@example.com", "rob@example.com"));
        assert!(
            !same_address("", ""),
            "an account without an address matches nothing"
        );
        assert!(!same_address(" ", "  "));
    }

    #[test]
    fn masks_both_parts() {
        assert_eq!(mask("bob@example.com"), "b***@e***.com");
        assert_eq!(mask(" Alice.Smith@mail.example.co.uk "), "A***@m***.uk");
        assert_eq!(mask("jörg@bücher.example"), "j***@b***.example");
        for secret in ["bob@example.com", "alice.smith@mail.example.co.uk"] {
            let m = mask(secret);
            assert!(
                !m.contains("bob") && !m.contains("alice") && !m.contains("example.co"),
                "{m}"
            );
        }
        assert_eq!(mask("nonsense"), "***");
        assert_eq!(mask("@"), "***@***");
        assert_eq!(mask("x@localhost"), "x***@l***");
    }

    #[test]
    fn bounds_lengths() {
        let local = "a".repeat(64);
        assert!(Email::parse(&format!("{local}@example.com")).is_ok());
        assert!(Email::parse(&format!("a{local}@example.com")).is_err());
        let label = "b".repeat(63);
        let long = format!("a@{label}.{label}.{label}.{}.com", "c".repeat(60));
        assert!(long.len() > 254);
        assert!(Email::parse(&long).is_err());
        assert!(Email::parse(&format!("a@{}.com", "b".repeat(64))).is_err());
    }
}
