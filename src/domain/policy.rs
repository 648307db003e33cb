//! Policies (issue #15, DESIGN §6): their kinds, how they reach descendants, and
//! their kind-specific settings, valid by construction ([`PolicySettings::parse`]).

use super::domain_name::parse_host_name;
use super::text_enum::text_enum;

text_enum! {
    /// What a policy decides.
    #[derive(PartialOrd, Ord, Hash, serde::Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum PolicyKind {
        BlockingThreshold = "blocking_threshold",
        ContentFilter = "content_filter",
        Regulatory = "regulatory",
        AllowList = "allow_list",
        DenyList = "deny_list",
    }
}

impl PolicyKind {
    pub fn label(self) -> &'static str {
        match self {
            PolicyKind::BlockingThreshold => "Blocking threshold",
            PolicyKind::ContentFilter => "Content filter",
            PolicyKind::Regulatory => "Regulatory lists",
            PolicyKind::AllowList => "Allow list",
            PolicyKind::DenyList => "Deny list",
        }
    }

    /// The fixed choices of its entries (`None`: host names, one per line).
    pub fn choices(self) -> Option<&'static [&'static str]> {
        match self {
            PolicyKind::ContentFilter => Some(CATEGORIES),
            PolicyKind::Regulatory => Some(REGULATORY_LISTS),
            _ => None,
        }
    }
}

text_enum! {
    /// Whether descendants must use an inheritable policy or may override it.
    #[derive(serde::Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Enforcement {
        /// Descendants' resolvers and subnets cannot pick another policy of its kind.
        Locked = "locked",
        /// Offered as the default; descendants may override it.
        Default = "default",
    }
}

/// The content filter's categories.
pub const CATEGORIES: &[&str] = &[
    "adult",
    "gambling",
    "malware",
    "phishing",
    "social_media",
    "streaming",
    "violence",
    "weapons",
];

/// The named regulatory lists a `regulatory` policy picks from.
pub const REGULATORY_LISTS: &[&str] = &[
    "cz_gambling",
    "de_bpjm",
    "fr_arjel",
    "iwf_csam",
    "ru_rkn",
    "uk_ofcom",
];

/// How many host names an allow or deny list holds at most.
pub const MAX_DOMAINS: usize = 1000;

/// A policy's kind-specific settings: exactly what its kind needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicySettings {
    /// Block at or above this score, 0–100.
    Threshold(i32),
    /// Categories, regulatory list names or host names: sorted, without repeats.
    Entries(PolicyKind, Vec<String>),
}

impl PolicySettings {
    /// The settings of `kind`: `threshold` for a blocking threshold, `entries` for the
    /// others (categories and regulatory lists from their fixed lists, host names
    /// validated one by one, each entry one domain: [`PolicySettings::lines`] splits a
    /// form's text). The error is the message for the kind's field.
    pub fn parse(
        kind: PolicyKind,
        threshold: Option<i64>,
        entries: &[String],
    ) -> Result<Self, String> {
        match kind {
            PolicyKind::BlockingThreshold => match threshold {
                Some(t @ 0..=100) => Ok(PolicySettings::Threshold(t as i32)),
                Some(_) => Err("The threshold is a whole number from 0 to 100.".into()),
                None => Err("Enter a threshold from 0 to 100.".into()),
            },
            PolicyKind::ContentFilter | PolicyKind::Regulatory => {
                let allowed = kind.choices().unwrap_or_default();
                if let Some(e) = entries.iter().find(|e| !allowed.contains(&e.as_str())) {
                    return Err(format!(
                        "Unknown choice {e:?}: pick from {}.",
                        allowed.join(", ")
                    ));
                }
                if entries.is_empty() {
                    return Err(format!("Pick at least one of {}.", allowed.join(", ")));
                }
                Ok(PolicySettings::Entries(kind, sorted(entries.to_vec())))
            }
            PolicyKind::AllowList | PolicyKind::DenyList => {
                if entries.is_empty() {
                    return Err("Enter at least one domain, one per line.".into());
                }
                if entries.len() > MAX_DOMAINS {
                    return Err(format!("A list holds at most {MAX_DOMAINS} domains."));
                }
                let mut hosts = Vec::new();
                for (n, entry) in entries.iter().enumerate() {
                    match parse_host_name(entry) {
                        Ok(Some(host)) => hosts.push(host),
                        Ok(None) => return Err(format!("Domain {}: enter a domain.", n + 1)),
                        Err(e) => return Err(format!("Domain {} ({}): {e}", n + 1, entry.trim())),
                    }
                }
                Ok(PolicySettings::Entries(kind, sorted(hosts)))
            }
        }
    }

    /// The domains of a form's text: one per line, blank lines skipped.
    pub fn lines(text: &str) -> Vec<String> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    }

    /// The stored form: `(threshold, entries)`.
    pub fn stored(&self) -> (Option<i32>, Vec<String>) {
        match self {
            PolicySettings::Threshold(t) => (Some(*t), Vec::new()),
            PolicySettings::Entries(_, e) => (None, e.clone()),
        }
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// One setting that differs between an override and the policy it overrides:
/// what, the inherited value, the override's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingDiff {
    pub setting: &'static str,
    pub inherited: String,
    pub own: String,
}

/// The settings of two policies of one kind, side by side, only where they differ:
/// the threshold and the entries (compared as sets), what decides what is blocked.
/// The name and whether it reaches further down are the override's own business.
pub fn differences(
    inherited: (Option<i32>, &[String]),
    own: (Option<i32>, &[String]),
) -> Vec<SettingDiff> {
    use std::collections::BTreeSet;
    let mut out = Vec::new();
    if inherited.0 != own.0 {
        let show = |t: Option<i32>| t.map_or_else(|| "—".to_string(), |t| t.to_string());
        out.push(SettingDiff {
            setting: "threshold",
            inherited: show(inherited.0),
            own: show(own.0),
        });
    }
    let a: BTreeSet<&String> = inherited.1.iter().collect();
    let b: BTreeSet<&String> = own.1.iter().collect();
    if a != b {
        let only = |x: &BTreeSet<&String>, y: &BTreeSet<&String>, side: &str| {
            let items: Vec<&str> = x.difference(y).map(|s| s.as_str()).collect();
            if items.is_empty() {
                "—".to_string()
            } else {
                format!("only in the {side}: {}", items.join(", "))
            }
        };
        out.push(SettingDiff {
            setting: "entries",
            inherited: only(&a, &b, "inherited policy"),
            own: only(&b, &a, "override"),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_take_what_their_kind_needs() {
        assert_eq!(
            PolicySettings::parse(PolicyKind::BlockingThreshold, Some(40), &[]),
            Ok(PolicySettings::Threshold(40))
        );
        assert!(PolicySettings::parse(PolicyKind::BlockingThreshold, Some(101), &[]).is_err());
        assert!(PolicySettings::parse(PolicyKind::BlockingThreshold, None, &[]).is_err());
        let cats = vec!["malware".to_string(), "adult".into(), "malware".into()];
        assert_eq!(
            PolicySettings::parse(PolicyKind::ContentFilter, None, &cats),
            Ok(PolicySettings::Entries(
                PolicyKind::ContentFilter,
                vec!["adult".into(), "malware".into()]
            ))
        );
        assert!(PolicySettings::parse(PolicyKind::ContentFilter, None, &["nope".into()]).is_err());
        assert!(PolicySettings::parse(PolicyKind::Regulatory, None, &[]).is_err());
        let hosts = PolicySettings::lines("Example.com\n\nads.example.net.\n");
        assert_eq!(
            PolicySettings::parse(PolicyKind::DenyList, None, &hosts),
            Ok(PolicySettings::Entries(
                PolicyKind::DenyList,
                vec!["ads.example.net".into(), "example.com".into()]
            ))
        );
        let e = PolicySettings::parse(
            PolicyKind::AllowList,
            None,
            &PolicySettings::lines("a.com\nbad_host"),
        )
        .unwrap_err();
        assert!(e.starts_with("Domain 2 (bad_host):"), "{e}");
        assert!(PolicySettings::parse(PolicyKind::AllowList, None, &[" ".into()]).is_err());
    }

    #[test]
    fn only_real_differences_are_shown() {
        let a = vec!["a.com".to_string(), "b.com".into()];
        let b = vec!["b.com".to_string(), "a.com".into()];
        assert!(differences((None, &a), (None, &b)).is_empty());
        let c = vec!["a.com".to_string(), "c.com".into()];
        let d = differences((None, &a), (None, &c));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].inherited, "only in the inherited policy: b.com");
        assert_eq!(d[0].own, "only in the override: c.com");
        let t = differences((Some(40), &[]), (Some(60), &[]));
        assert_eq!(t[0].setting, "threshold");
    }
}
