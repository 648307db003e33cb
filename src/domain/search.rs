//! What a search box takes: one rule for every list and picker (tenants, people,
//! a tenant's users, the activity's actor, the switcher, the move destination), the
//! pages and the API alike.

/// Search text: at most [`SearchText::MAX`] characters, no control characters,
/// trimmed. Empty searches for everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchText(String);

/// Why a search text is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchError {
    TooLong,
    ControlCharacters,
}

impl SearchError {
    /// What the text must be, to follow "The search text" or "The query parameter
    /// “q”" (`web::form::bad_param`).
    pub fn expects(self) -> String {
        match self {
            SearchError::TooLong => {
                format!("must be at most {} characters long", SearchText::MAX)
            }
            SearchError::ControlCharacters => "must not contain control characters".into(),
        }
    }

    /// The message next to a search box.
    pub fn message(self) -> String {
        format!("The search text {}.", self.expects())
    }
}

impl SearchText {
    /// The longest search taken; every search input's `maxlength`.
    pub const MAX: usize = 100;

    /// The text a box sent, or why it cannot be searched for. Never cut short: a
    /// search for part of what was typed would answer another question.
    /// Blanks around the text count towards the length, as in the input's
    /// `maxlength` and the API's `maxLength`, and are then dropped.
    pub fn parse(raw: &str) -> Result<Self, SearchError> {
        if raw.chars().count() > Self::MAX {
            return Err(SearchError::TooLong);
        }
        let text = raw.trim();
        if text.chars().any(char::is_control) {
            return Err(SearchError::ControlCharacters);
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    /// What a page shows again in the box after refusing `raw`: as typed, without
    /// the control characters a page cannot show.
    pub fn shown(raw: &str) -> String {
        raw.trim().chars().filter(|c| !c.is_control()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_is_trimmed_and_may_be_empty() {
        assert_eq!(SearchText::parse("  acme ").unwrap().as_str(), "acme");
        assert!(SearchText::parse("   ").unwrap().is_empty());
        assert_eq!(
            SearchText::parse("acme\\alice").unwrap().as_str(),
            "acme\\alice"
        );
    }

    #[test]
    fn a_search_of_up_to_max_characters_is_taken_whole() {
        let longest = "é".repeat(SearchText::MAX);
        assert_eq!(SearchText::parse(&longest).unwrap().as_str(), longest);
        // Blanks around it count, as in the input's `maxlength`.
        assert_eq!(
            SearchText::parse(&format!(" {longest}")),
            Err(SearchError::TooLong)
        );
    }

    #[test]
    fn a_longer_search_is_refused_not_cut() {
        let long = "a".repeat(SearchText::MAX + 1);
        assert_eq!(SearchText::parse(&long), Err(SearchError::TooLong));
        assert_eq!(
            SearchError::TooLong.message(),
            "The search text must be at most 100 characters long."
        );
    }

    #[test]
    fn control_characters_are_refused() {
        for bad in ["a\0b", "\u{7}", "a\nb", "a\tb", "\u{9f}"] {
            assert_eq!(
                SearchText::parse(bad),
                Err(SearchError::ControlCharacters),
                "{bad:?}"
            );
        }
        assert_eq!(
            SearchError::ControlCharacters.message(),
            "The search text must not contain control characters."
        );
        assert_eq!(SearchText::shown(" a\0b "), "ab");
    }
}
