//! Tenant labels (`tier:gold`, `region:eu`, `vip`): how administrators mark groups
//! of customers to find and target them together.
//!
//! A label is lowercase ASCII letters, digits and `.`, `_`, `-`, at most one `:`
//! between a key and a value (both non-empty, each starting with a letter or digit,
//! so that `.` or `-a` is no label), 1–64 characters; a tenant has at most
//! 20. Input is trimmed and lowercased; a list is comma- or newline-separated, and
//! its duplicates collapse (kept in the order first given).
//!
//! **One value per key**: a `key:value` label says what the tenant's `key` is, as
//! providers use them (`tier:gold`, `region:eu`), so a tenant never has two values
//! of one key. A list that gives two (`tier:gold, tier:silver`) is refused, and
//! adding `tier:silver` to a tenant (the bulk action) replaces its `tier:gold`. A
//! plain word (`vip`) has no key.

/// One valid label.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label(String);

/// The longest label.
pub const MAX_LEN: usize = 64;
/// The most labels one tenant has.
pub const MAX_PER_TENANT: usize = 20;
/// The label format as a regular expression (the OpenAPI document states it).
pub const PATTERN: &str = "^[a-z0-9][a-z0-9._-]*(:[a-z0-9][a-z0-9._-]*)?$";

impl Label {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim().to_lowercase();
        if s.is_empty() {
            return Err("Enter a label.".into());
        }
        if s.chars().count() > MAX_LEN {
            return Err(format!("A label has at most {MAX_LEN} characters."));
        }
        let word = |w: &str| {
            w.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        };
        let valid = match s.split_once(':') {
            Some((key, value)) => word(key) && word(value),
            None => word(&s),
        };
        if !valid {
            return Err(format!(
                "“{s}” is not a label: use lowercase letters, digits, “.”, “_” and “-”, starting with a letter or digit, as a word (vip) or key:value (tier:gold)."
            ));
        }
        Ok(Label(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key of a `key:value` label (`tier` of `tier:gold`); a word has none.
    pub fn key(&self) -> Option<&str> {
        key_of(&self.0)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A tenant's labels from a list of items, or the first error.
pub fn parse_list<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Vec<String>, String> {
    let items: Vec<&str> = items.into_iter().collect();
    if items.len() > MAX_PER_TENANT {
        return Err(format!("A tenant has at most {MAX_PER_TENANT} labels."));
    }
    let mut labels: Vec<String> = Vec::new();
    for item in items {
        let label = Label::parse(item)?.into_inner();
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    if labels.len() > MAX_PER_TENANT {
        return Err(format!("A tenant has at most {MAX_PER_TENANT} labels."));
    }
    for (i, label) in labels.iter().enumerate() {
        let Some(key) = key_of(label) else { continue };
        if let Some(other) = labels[..i].iter().find(|l| key_of(l) == Some(key)) {
            return Err(format!(
                "“{other}” and “{label}” give “{key}” two values: a tenant has one value per key."
            ));
        }
    }
    Ok(labels)
}

/// The key of a stored label, if it has one.
fn key_of(label: &str) -> Option<&str> {
    label.split_once(':').map(|(key, _)| key)
}

/// `labels` with `label` added: a label with the same key is replaced (one value per
/// key). Also the labels it replaces.
pub fn with_added(labels: &[String], label: &Label) -> (Vec<String>, Vec<String>) {
    let (replaced, mut kept): (Vec<String>, Vec<String>) = labels
        .iter()
        .cloned()
        .partition(|l| l != label.as_str() && label.key().is_some() && key_of(l) == label.key());
    if !kept.iter().any(|l| l == label.as_str()) {
        kept.push(label.as_str().to_string());
    }
    (kept, replaced)
}

/// A tenant's labels as the API sends them: each exactly in its valid form (no
/// blanks around it, lowercase), so that the OpenAPI pattern says what is accepted.
pub fn parse_exact(items: &[String]) -> Result<Vec<String>, String> {
    if let Some(bad) = items
        .iter()
        .find(|i| Label::parse(i).map_or(true, |l| l.as_str() != i.as_str()))
    {
        return Err(Label::parse(bad).err().unwrap_or_else(|| {
            format!("“{bad}” is not a label: send it lowercase, without blanks around it.")
        }));
    }
    parse_list(items.iter().map(String::as_str))
}

/// A tenant's labels from text (a form field): comma- or newline-separated, blanks ignored.
pub fn parse_text(text: &str) -> Result<Vec<String>, String> {
    parse_list(
        text.split([',', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_key_values_are_labels() {
        assert_eq!(Label::parse(" Tier:Gold ").unwrap().as_str(), "tier:gold");
        assert_eq!(Label::parse("vip").unwrap().as_str(), "vip");
        assert_eq!(
            Label::parse("region:eu-west.1").unwrap().as_str(),
            "region:eu-west.1"
        );
        for bad in [
            "",
            "a b",
            "a:b:c",
            ":x",
            "x:",
            "é",
            "a/b",
            ".",
            "-a",
            "_",
            "tier:-gold",
            "a:.",
            &"x".repeat(65),
        ] {
            assert!(Label::parse(bad).is_err(), "{bad:?}");
        }
        for good in ["a-", "1.5", "a_b:c-d", "0:0"] {
            assert!(Label::parse(good).is_ok(), "{good:?}");
        }
        // The pattern the OpenAPI document states agrees with the parser.
        let pattern = regex::Regex::new(PATTERN).unwrap();
        for text in ["tier:gold", "-a", ".", "a:-b", "a-", "0:0", "a::b", "x_"] {
            assert_eq!(pattern.is_match(text), Label::parse(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn a_key_has_one_value() {
        let e = parse_text("tier:gold, region:eu, Tier:Silver").unwrap_err();
        assert_eq!(
            e,
            "“tier:gold” and “tier:silver” give “tier” two values: a tenant has one value per key."
        );
        assert!(parse_text("tier:gold, tier:gold, tier, gold, vip").is_ok());
        assert_eq!(Label::parse("tier:gold").unwrap().key(), Some("tier"));
        assert_eq!(Label::parse("vip").unwrap().key(), None);

        let has = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let silver = Label::parse("tier:silver").unwrap();
        assert_eq!(
            with_added(&has(&["region:eu", "tier:gold"]), &silver),
            (has(&["region:eu", "tier:silver"]), has(&["tier:gold"]))
        );
        assert_eq!(
            with_added(&has(&["tier:silver"]), &silver),
            (has(&["tier:silver"]), vec![])
        );
        // A word is no key: `tier` stays beside `tier:silver`.
        assert_eq!(
            with_added(&has(&["tier"]), &silver),
            (has(&["tier", "tier:silver"]), vec![])
        );
        let vip = Label::parse("vip").unwrap();
        assert_eq!(
            with_added(&has(&["tier:gold"]), &vip),
            (has(&["tier:gold", "vip"]), vec![])
        );
    }

    #[test]
    fn lists_split_dedupe_and_are_bounded() {
        assert_eq!(
            parse_text("tier:gold, region:eu\nTIER:GOLD,, \n").unwrap(),
            ["tier:gold", "region:eu"]
        );
        assert_eq!(parse_text("  ").unwrap(), Vec::<String>::new());
        let many: Vec<String> = (0..21).map(|i| format!("l{i}")).collect();
        assert!(parse_list(many.iter().map(String::as_str)).is_err());
        assert!(parse_list(many[..20].iter().map(String::as_str)).is_ok());
        assert!(parse_text("ok, not ok").is_err());
        assert_eq!(parse_exact(&["a:b".into(), "a:b".into()]).unwrap(), ["a:b"]);
        assert!(parse_exact(&["A:b".into()]).is_err());
        assert!(parse_exact(&[" a".into()]).is_err());
    }
}
