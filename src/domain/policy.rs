//! Policies (issue #15, DESIGN §6): their kinds, how they reach descendants, and
//! their kind-specific settings, valid by construction ([`PolicySettings::parse`]).

use super::domain_name::parse_dns_name;
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
    /// The name of its setting as the forms, the API and the audit trail give it:
    /// `threshold`, `categories`, `regulatory` or `domains`.
    pub fn setting(self) -> &'static str {
        match self {
            PolicyKind::BlockingThreshold => "threshold",
            PolicyKind::ContentFilter => "categories",
            PolicyKind::Regulatory => "regulatory",
            PolicyKind::AllowList | PolicyKind::DenyList => "domains",
        }
    }

    /// Its setting in words, for the side-by-side of an override: "threshold",
    /// "categories", "regulatory lists", "domains".
    pub fn setting_label(self) -> &'static str {
        match self {
            PolicyKind::Regulatory => "regulatory lists",
            kind => kind.setting(),
        }
    }

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

/// What a person reads for a stored choice of a content filter or a regulatory
/// policy (`social_media` is "Social media", `de_bpjm` "BPjM index (Germany)");
/// anything else (a host name) as it is.
pub fn entry_label(entry: &str) -> &str {
    match entry {
        "adult" => "Adult",
        "gambling" => "Gambling",
        "malware" => "Malware",
        "phishing" => "Phishing",
        "social_media" => "Social media",
        "streaming" => "Streaming",
        "violence" => "Violence",
        "weapons" => "Weapons",
        "cz_gambling" => "Unlicensed gambling list (Czechia)",
        "de_bpjm" => "BPjM index (Germany)",
        "fr_arjel" => "ANJ gambling list (France)",
        "iwf_csam" => "IWF child abuse list",
        "ru_rkn" => "Roskomnadzor registry (Russia)",
        "uk_ofcom" => "Ofcom blocking list (United Kingdom)",
        other => other,
    }
}

/// [`entry_label`] of each entry, joined as a person reads a list ("none" for
/// none).
pub fn entries_text(entries: &[String]) -> String {
    if entries.is_empty() {
        return "none".into();
    }
    entries
        .iter()
        .map(|e| entry_label(e))
        .collect::<Vec<_>>()
        .join(", ")
}

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
                // Each entry is a line (counted from 1; blank ones skipped): every bad
                // line is named, not only the first.
                let mut hosts = Vec::new();
                let mut bad = Vec::new();
                for (n, entry) in entries.iter().enumerate() {
                    match parse_list_domain(entry) {
                        Ok(Some(host)) => hosts.push(host),
                        Ok(None) => {}
                        Err(e) => bad.push((n + 1, entry.trim(), e)),
                    }
                }
                if !bad.is_empty() {
                    return Err(bad_lines(&bad));
                }
                if hosts.is_empty() {
                    return Err("Enter at least one domain, one per line.".into());
                }
                if hosts.len() > MAX_DOMAINS {
                    return Err(format!("A list holds at most {MAX_DOMAINS} domains."));
                }
                Ok(PolicySettings::Entries(kind, sorted(hosts)))
            }
        }
    }

    /// The lines of a form's text, trimmed, blank ones kept so that an error names
    /// the line as the user counts it ([`PolicySettings::parse`] skips them).
    pub fn lines(text: &str) -> Vec<String> {
        text.lines().map(|l| l.trim().to_string()).collect()
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

/// One line of an allow or deny list: a name as DNS queries carry it
/// ([`parse_dns_name`]: a host name whose labels may hold underscores), or an
/// internationalised one, stored as its ASCII (punycode) form, which is what DNS
/// queries carry (`bücher.example` is `xn--bcher-kva.example`); a label already in
/// punycode (`xn--…`) must decode to a valid internationalised label. `Ok(None)`:
/// blank.
pub fn parse_list_domain(line: &str) -> Result<Option<String>, String> {
    const NOT_IDN: &str = "Not a valid internationalised domain name.";
    let line = line.trim();
    if !line.is_ascii() {
        // UTS 46 as a resolver applies it (STD3 rules: letters, digits, hyphens).
        let ascii = idna::domain_to_ascii_strict(line.trim_end_matches(['.', '。']))
            .map_err(|_| NOT_IDN.to_string())?;
        return parse_dns_name(&ascii);
    }
    let name = parse_dns_name(line)?;
    if let Some(name) = &name {
        // UTS 46 decodes and checks each punycode label: `xn--zz` is none.
        let bad_punycode = name.split('.').any(|label| {
            label.starts_with("xn--")
                && idna::domain_to_ascii_strict(label).ok().as_deref() != Some(label)
        });
        if bad_punycode {
            return Err(NOT_IDN.into());
        }
    }
    Ok(name)
}

/// How many bad lines the field error explains one by one (it numbers them all,
/// up to [`NAMED_LINES`]).
const EXPLAINED_LINES: usize = 10;
/// How many bad lines' numbers the field error lists.
const NAMED_LINES: usize = 100;

/// The field error of a list's bad lines (number, text, why): every line number
/// first, then why for each of the first ones.
fn bad_lines(bad: &[(usize, &str, String)]) -> String {
    let numbers: Vec<String> = bad
        .iter()
        .take(NAMED_LINES)
        .map(|(n, _, _)| n.to_string())
        .collect();
    let mut head = match numbers.as_slice() {
        [one] => format!("Line {one} is not a domain."),
        [first @ .., last] if bad.len() <= NAMED_LINES => {
            format!("Lines {} and {last} are not domains.", first.join(", "))
        }
        _ => format!(
            "Lines {} and {} more are not domains.",
            numbers.join(", "),
            bad.len() - NAMED_LINES
        ),
    };
    for (n, text, why) in bad.iter().take(EXPLAINED_LINES) {
        let shown: String = if text.chars().count() > 60 {
            text.chars().take(59).chain(['…']).collect()
        } else {
            text.to_string()
        };
        head.push_str(&format!(" Line {n} ({shown}): {why}"));
    }
    head
}

/// What an override is compared on with the policy it overrides: its kind's
/// setting, whether it reaches the tenants below, and how. (The name is its own:
/// the pages show both.)
#[derive(Clone, Copy, Debug)]
pub struct Compared<'a> {
    pub threshold: Option<i32>,
    pub entries: &'a [String],
    pub inheritable: bool,
    pub enforcement: Enforcement,
}

/// One field of an override beside the inherited policy's: what (the kind's
/// setting in words, [`PolicyKind::setting_label`], `inheritable`, `enforcement`),
/// both values as a person reads them (categories and regulatory lists by their
/// labels), and whether they differ. For entries that differ, `only_inherited`
/// and `only_own` say what each side alone has (compared as sets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingDiff {
    pub setting: &'static str,
    /// A list of entries (categories, regulatory lists, domains).
    pub listed: bool,
    pub inherited: String,
    pub own: String,
    pub differs: bool,
    pub only_inherited: Vec<String>,
    pub only_own: Vec<String>,
}

impl SettingDiff {
    /// The difference in a line (the overrides report): `threshold: 40 → 70`; for
    /// entries, what only each side has.
    pub fn summary(&self) -> String {
        if !self.listed {
            return format!("{}: {} → {}", self.setting, self.inherited, self.own);
        }
        let mut parts = Vec::new();
        if !self.only_inherited.is_empty() {
            parts.push(format!(
                "only in the inherited policy: {}",
                self.only_inherited.join(", ")
            ));
        }
        if !self.only_own.is_empty() {
            parts.push(format!(
                "only in the override: {}",
                self.only_own.join(", ")
            ));
        }
        format!("{}: {}", self.setting, parts.join(" → "))
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// Every compared field of two policies of `kind`, side by side: the kind's
/// setting (`threshold`, or `entries` compared as sets), `inheritable`,
/// `enforcement`.
pub fn comparison(
    kind: PolicyKind,
    inherited: Compared<'_>,
    own: Compared<'_>,
) -> Vec<SettingDiff> {
    use std::collections::BTreeSet;
    let row = |setting, inherited: String, own: String| SettingDiff {
        setting,
        listed: false,
        differs: inherited != own,
        inherited,
        own,
        only_inherited: Vec::new(),
        only_own: Vec::new(),
    };
    let mut out = Vec::new();
    if kind == PolicyKind::BlockingThreshold {
        let show = |t: Option<i32>| t.map_or_else(|| "none".to_string(), |t| t.to_string());
        out.push(row(
            "threshold",
            show(inherited.threshold),
            show(own.threshold),
        ));
    } else {
        let a: BTreeSet<&String> = inherited.entries.iter().collect();
        let b: BTreeSet<&String> = own.entries.iter().collect();
        let show = |x: &BTreeSet<&String>| {
            entries_text(&x.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        let only = |x: &BTreeSet<&String>, y: &BTreeSet<&String>| {
            x.difference(y)
                .map(|s| entry_label(s).to_string())
                .collect::<Vec<_>>()
        };
        out.push(SettingDiff {
            setting: kind.setting_label(),
            listed: true,
            inherited: show(&a),
            own: show(&b),
            differs: a != b,
            only_inherited: only(&a, &b),
            only_own: only(&b, &a),
        });
    }
    out.push(row(
        "inheritable",
        yes_no(inherited.inheritable),
        yes_no(own.inheritable),
    ));
    out.push(row(
        "enforcement",
        inherited.enforcement.as_str().to_string(),
        own.enforcement.as_str().to_string(),
    ));
    out
}

/// The fields of [`comparison`] that differ: what an override really changes.
pub fn differences(
    kind: PolicyKind,
    inherited: Compared<'_>,
    own: Compared<'_>,
) -> Vec<SettingDiff> {
    comparison(kind, inherited, own)
        .into_iter()
        .filter(|d| d.differs)
        .collect()
}

/// How many of one tenant's resolvers, subnets and overrides a change of policies
/// clears: the resolvers and subnets lose their choice of a policy (they follow
/// their tenant's effective policy), the overrides become plain policies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ClearedCounts {
    pub resolvers: i64,
    pub subnets: i64,
    pub overrides: i64,
}

impl ClearedCounts {
    pub fn total(&self) -> i64 {
        self.resolvers + self.subnets + self.overrides
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    pub fn add(&mut self, other: ClearedCounts) {
        self.resolvers += other.resolvers;
        self.subnets += other.subnets;
        self.overrides += other.overrides;
    }

    /// "2 resolvers, 1 subnet and 1 override" (only what is not zero; "nothing").
    pub fn phrase(&self) -> String {
        let parts: Vec<String> = [
            (self.resolvers, "resolver"),
            (self.subnets, "subnet"),
            (self.overrides, "override"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}{}", if n == 1 { "" } else { "s" }))
        .collect();
        match parts.as_slice() {
            [] => "nothing".into(),
            [one] => one.clone(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        }
    }
}

/// What a change of policies clears, per tenant (by id).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cleared(pub std::collections::BTreeMap<i64, ClearedCounts>);

impl Cleared {
    pub fn totals(&self) -> ClearedCounts {
        let mut all = ClearedCounts::default();
        for c in self.0.values() {
            all.add(*c);
        }
        all
    }

    pub fn is_empty(&self) -> bool {
        self.totals().is_empty()
    }

    /// Counts `n` more of `tenant_id`'s resolvers (`Cleared::RESOLVERS`), subnets
    /// or overrides.
    pub fn add(&mut self, tenant_id: i64, what: usize, n: i64) {
        let c = self.0.entry(tenant_id).or_default();
        match what {
            Cleared::RESOLVERS => c.resolvers += n,
            Cleared::SUBNETS => c.subnets += n,
            _ => c.overrides += n,
        }
    }

    pub const RESOLVERS: usize = 0;
    pub const SUBNETS: usize = 1;
    pub const OVERRIDES: usize = 2;

    /// A short digest of what is cleared where (every tenant's counts): a
    /// confirmation page sends it back, so that a change clearing something else
    /// by the time it is confirmed is asked about again rather than applied.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for (tenant, c) in &self.0 {
            if !c.is_empty() {
                hash.update(format!(
                    "{tenant}:{},{},{};",
                    c.resolvers, c.subnets, c.overrides
                ));
            }
        }
        hex::encode(&hash.finalize()[..12])
    }
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
        assert!(
            e.starts_with("Line 2 is not a domain. Line 2 (bad_host): "),
            "{e}"
        );
        assert!(PolicySettings::parse(PolicyKind::AllowList, None, &[" ".into()]).is_err());
    }

    fn compared(threshold: Option<i32>, entries: &[String]) -> Compared<'_> {
        Compared {
            threshold,
            entries,
            inheritable: true,
            enforcement: Enforcement::Default,
        }
    }

    #[test]
    fn every_field_is_compared_and_only_real_differences_count() {
        let kind = PolicyKind::AllowList;
        let a = vec!["a.com".to_string(), "b.com".into()];
        let b = vec!["b.com".to_string(), "a.com".into()];
        assert!(differences(kind, compared(None, &a), compared(None, &b)).is_empty());
        let all = comparison(kind, compared(None, &a), compared(None, &b));
        let settings: Vec<_> = all.iter().map(|d| d.setting).collect();
        assert_eq!(settings, ["domains", "inheritable", "enforcement"]);
        let c = vec!["a.com".to_string(), "b.com".into(), "c.com".into()];
        let d = differences(kind, compared(None, &a), compared(None, &c));
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].inherited.as_str(), d[0].own.as_str()),
            ("a.com, b.com", "a.com, b.com, c.com")
        );
        assert_eq!(d[0].summary(), "domains: only in the override: c.com");
        // Categories and regulatory lists read by their labels.
        let (a, b) = (vec!["adult".to_string()], vec!["social_media".to_string()]);
        let d = differences(
            PolicyKind::ContentFilter,
            compared(None, &a),
            compared(None, &b),
        );
        assert_eq!(
            d[0].summary(),
            "categories: only in the inherited policy: Adult → only in the override: Social media"
        );
        let r = vec!["de_bpjm".to_string()];
        let all = comparison(
            PolicyKind::Regulatory,
            compared(None, &r),
            compared(None, &r),
        );
        assert_eq!(
            (all[0].setting, all[0].own.as_str()),
            ("regulatory lists", "BPjM index (Germany)")
        );
        let t = differences(
            PolicyKind::BlockingThreshold,
            compared(Some(40), &[]),
            compared(Some(60), &[]),
        );
        assert_eq!(t[0].summary(), "threshold: 40 → 60");
        // Reach and enforcement are differences too.
        let mut own = compared(Some(40), &[]);
        own.inheritable = false;
        own.enforcement = Enforcement::Locked;
        let d = differences(PolicyKind::BlockingThreshold, compared(Some(40), &[]), own);
        let lines: Vec<String> = d.iter().map(SettingDiff::summary).collect();
        assert_eq!(
            lines,
            ["inheritable: yes → no", "enforcement: default → locked"]
        );
    }

    #[test]
    fn list_errors_name_every_bad_line_and_idns_are_stored_as_punycode() {
        let lines = PolicySettings::lines("Bücher.Example\n\nbad_host\nok.example.com\n-x.example");
        let e = PolicySettings::parse(PolicyKind::DenyList, None, &lines).unwrap_err();
        assert!(
            e.starts_with("Lines 3 and 5 are not domains. Line 3 (bad_host): "),
            "{e}"
        );
        assert!(e.contains(" Line 5 (-x.example): "), "{e}");
        let lines = PolicySettings::lines("Bücher.example.\nмосква.рф\nok.example.com");
        assert_eq!(
            PolicySettings::parse(PolicyKind::AllowList, None, &lines),
            Ok(PolicySettings::Entries(
                PolicyKind::AllowList,
                vec![
                    "ok.example.com".into(),
                    "xn--80adxhks.xn--p1ai".into(),
                    "xn--bcher-kva.example".into(),
                ]
            ))
        );
        let e = PolicySettings::parse(PolicyKind::AllowList, None, &["a b.exämple".into()]);
        assert!(e.is_err(), "{e:?}");
    }

    #[test]
    fn list_domains_take_underscores_and_refuse_bad_punycode() {
        for (line, stored) in [
            ("_dmarc.Example.com", "_dmarc.example.com"),
            ("a_b.example", "a_b.example"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
            (
                "_sip._tcp.xn--bcher-kva.example.",
                "_sip._tcp.xn--bcher-kva.example",
            ),
        ] {
            assert_eq!(parse_list_domain(line), Ok(Some(stored.into())), "{line}");
        }
        for line in ["xn--zz.example", "xn--a.example", "www.xn--zz.example"] {
            assert_eq!(
                parse_list_domain(line),
                Err("Not a valid internationalised domain name.".into()),
                "{line}"
            );
        }
        assert!(parse_list_domain("-a.example").is_err());
        assert!(parse_list_domain("a b.example").is_err());
        // Tenant subdomains and custom domains keep refusing them.
        assert!(crate::domain::domain_name::parse_host_name("_dmarc.example.com").is_err());
    }

    #[test]
    fn every_fixed_choice_reads_as_a_label() {
        for choice in CATEGORIES.iter().chain(REGULATORY_LISTS) {
            let label = entry_label(choice);
            assert!(
                label != *choice && !label.contains('_'),
                "{choice}: {label}"
            );
        }
        assert_eq!(entry_label("ads.example.com"), "ads.example.com");
        assert_eq!(
            entries_text(&["adult".into(), "social_media".into()]),
            "Adult, Social media"
        );
        assert_eq!(entries_text(&[]), "none");
    }

    #[test]
    fn cleared_counts_read_as_words() {
        let mut c = Cleared::default();
        assert_eq!(c.totals().phrase(), "nothing");
        c.add(7, Cleared::RESOLVERS, 2);
        c.add(8, Cleared::SUBNETS, 1);
        assert_eq!(c.totals().phrase(), "2 resolvers and 1 subnet");
        c.add(8, Cleared::OVERRIDES, 1);
        assert_eq!(c.totals().phrase(), "2 resolvers, 1 subnet and 1 override");
        assert_eq!(c.0[&8].total(), 2);
        // The same counts in the same tenants read the same; any other do not.
        let mut same = Cleared::default();
        same.add(8, Cleared::OVERRIDES, 1);
        same.add(8, Cleared::SUBNETS, 1);
        same.add(7, Cleared::RESOLVERS, 2);
        same.add(9, Cleared::RESOLVERS, 0);
        assert_eq!(same.fingerprint(), c.fingerprint());
        same.add(9, Cleared::RESOLVERS, 1);
        assert_ne!(same.fingerprint(), c.fingerprint());
        assert_eq!(c.fingerprint().len(), 24);
    }
}
