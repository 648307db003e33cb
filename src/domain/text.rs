//! Bounded, trimmed text values: tenant names, descriptions, usernames.

/// A tenant's display name: trimmed, 1–100 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantName(String);

impl TenantName {
    pub const MAX: usize = 100;

    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter a name.".into());
        }
        if s.chars().count() > Self::MAX {
            return Err(format!("A name has at most {} characters.", Self::MAX));
        }
        if s.chars().any(char::is_control) {
            return Err("A name cannot contain control characters.".into());
        }
        if s.chars().any(is_invisible) {
            return Err(
                "A name cannot contain invisible characters or direction overrides.".into(),
            );
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    /// What stands for a name that could not be read while the rest of the input is
    /// checked (`services::draft`): never stored, the draft's error refuses the write.
    pub fn stand_in() -> Self {
        Self(String::new())
    }
}

/// Characters that change how a name reads without being seen: direction marks,
/// embeddings, overrides and isolates, zero-width spaces, word joiners and the byte
/// order mark. A name with one could pass for another in a list or the switcher.
/// (The zero-width joiner and non-joiner stay: scripts and emoji need them.)
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// Free text describing a tenant: trimmed, at most 1000 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub const MAX: usize = 1000;

    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.chars().count() > Self::MAX {
            return Err(format!(
                "A description has at most {} characters.",
                Self::MAX
            ));
        }
        if s.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err("The description cannot contain control characters.".into());
        }
        Ok(Self(s.to_string()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A username, unique within its tenant: 1–64 characters of letters, digits, `.`, `_`, `-`, `@`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const MAX: usize = 64;

    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Enter a username.".into());
        }
        if s.chars().count() > Self::MAX {
            return Err(format!("A username has at most {} characters.", Self::MAX));
        }
        if !s
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        {
            return Err("Use letters, digits, dots, hyphens, underscores and @ only.".into());
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

/// A name's possessive as the console writes it: "Acme's", "Acme Managed
/// Services'" (a name ending in s takes the apostrophe alone).
pub fn possessive(name: &str) -> String {
    if name.ends_with(['s', 'S']) {
        format!("{name}'")
    } else {
        format!("{name}'s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_ending_in_s_takes_the_apostrophe_alone() {
        assert_eq!(possessive("Acme"), "Acme's");
        assert_eq!(
            possessive("Acme Managed Services"),
            "Acme Managed Services'"
        );
        assert_eq!(possessive("PLUS"), "PLUS'");
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(TenantName::parse("  Acme  ").unwrap().into_inner(), "Acme");
        assert!(TenantName::parse("   ").is_err());
        assert!(TenantName::parse(&"x".repeat(101)).is_err());
        assert!(TenantName::parse(&"é".repeat(100)).is_ok());
        assert!(TenantName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn descriptions_are_bounded() {
        assert!(Description::parse("").is_ok());
        assert!(Description::parse("line\nline").is_ok());
        assert!(Description::parse(&"x".repeat(1001)).is_err());
    }

    #[test]
    fn names_cannot_hide_characters_or_turn_around() {
        for bad in [
            "Acme\u{202E}moc.evil",
            "Ac\u{200B}me",
            "\u{2066}Acme\u{2069}",
            "Acme\u{FEFF}",
            "\u{200F}Acme",
        ] {
            assert!(TenantName::parse(bad).is_err(), "{bad:?}");
            assert!(RoleName::parse(bad).is_err(), "{bad:?}");
        }
        // Scripts that need joiners, and emoji sequences, keep working.
        for good in [
            "می\u{200C}خواهم",
            "Team 👩\u{200D}💻",
            "שלום Acme",
            "Ünïcødé",
        ] {
            assert!(TenantName::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn usernames() {
        assert!(Username::parse("alice.smith@corp").is_ok());
        assert!(Username::parse("ali ce").is_err());
        assert!(Username::parse("a\\b").is_err());
        assert!(Username::parse("").is_err());
    }
}

/// A role's name: trimmed, 1–100 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleName(String);

impl RoleName {
    pub fn parse(input: &str) -> Result<Self, String> {
        TenantName::parse(input).map(|n| Self(n.into_inner()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
