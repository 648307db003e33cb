//! A tenant's protection rules and credential-stuffing settings as values valid by
//! construction: what each field takes, and which action goes with which kind. The
//! pages and the API convert their input with [`RuleInput::parse`] and
//! [`CredentialStuffing::parse`]; the services check the ids against the tenant.

use super::text_enum::text_enum;
use crate::error::FieldErrors;
use chrono::{DateTime, Utc};

text_enum! {
    /// What a rule does; its `value` is the kind's parameter.
    #[derive(serde::Deserialize, utoipa::ToSchema, PartialOrd, Ord, Hash)]
    #[serde(rename_all = "snake_case")]
    pub enum RuleKind {
        /// Blocks (or monitors) an IP address or network.
        BlockIp = "block_ip",
        /// Lets an IP address or network through.
        AllowIp = "allow_ip",
        /// A limit of requests per minute.
        RateLimit = "rate_limit",
        /// A pattern matched against requests.
        VirtualPatch = "virtual_patch",
        /// The filtering mode: `monitoring` or `blocking`.
        Mode = "mode",
    }
}

text_enum! {
    /// What happens to a request a rule matches.
    #[derive(serde::Deserialize, utoipa::ToSchema, PartialOrd, Ord, Hash)]
    #[serde(rename_all = "lowercase")]
    pub enum RuleAction {
        Block = "block",
        Monitor = "monitor",
        Allow = "allow",
    }
}

text_enum! {
    /// How a version of a rule set came to be.
    pub enum VersionKind {
        /// One change: a rule, an application, a domain, the settings.
        Edit = "edit",
        /// A batch of rules created through the API.
        Batch = "batch",
        /// An earlier version restored.
        Restore = "restore",
        /// A migration's copy (part B).
        Migration = "migration",
        /// A failed migration's target rolled back (part B).
        Rollback = "rollback",
    }
}

impl RuleKind {
    /// What the form and the list call it.
    pub fn label(self) -> &'static str {
        match self {
            RuleKind::BlockIp => "Block IP",
            RuleKind::AllowIp => "Allow IP",
            RuleKind::RateLimit => "Rate limit",
            RuleKind::VirtualPatch => "Virtual patch",
            RuleKind::Mode => "Mode",
        }
    }

    /// What `value` holds for this kind, for hints and messages.
    pub fn value_hint(self) -> &'static str {
        match self {
            RuleKind::BlockIp | RuleKind::AllowIp => {
                "an IPv4 or IPv6 address, or a network in CIDR notation (10.0.0.0/8)"
            }
            RuleKind::RateLimit => "requests per minute, a whole number from 1 to 1,000,000",
            RuleKind::VirtualPatch => "a pattern of 1 to 500 characters, no control characters",
            RuleKind::Mode => "monitoring or blocking",
        }
    }

    /// The actions this kind takes. `allow` belongs to `allow_ip` alone and
    /// `allow_ip` takes nothing else; a mode rule's action follows its value
    /// (checked in [`check_action`]).
    pub fn actions(self) -> &'static [RuleAction] {
        match self {
            RuleKind::AllowIp => &[RuleAction::Allow],
            _ => &[RuleAction::Block, RuleAction::Monitor],
        }
    }
}

/// The most requests per minute a rate limit takes.
pub const MAX_RATE: u32 = 1_000_000;
/// The longest virtual-patch pattern.
pub const MAX_PATTERN: usize = 500;
/// The longest path prefix.
pub const MAX_PATH: usize = 1000;

/// A rule's `value` for its `kind`, in its stored form: an address or network as
/// `std::net`/`ipnet` print it (IPv6 compressed, lower case), a limit without
/// leading zeros, a pattern as typed, a mode in lower case. A network with host bits
/// set (`10.0.0.5/8`) is refused, naming the network it may have meant: silently
/// widening or narrowing what a rule matches is worse than asking.
pub fn parse_value(kind: RuleKind, raw: &str) -> Result<String, String> {
    match kind {
        RuleKind::BlockIp | RuleKind::AllowIp => parse_ip(raw.trim()),
        RuleKind::RateLimit => {
            let t = raw.trim();
            match t.parse::<u32>() {
                Ok(n) if (1..=MAX_RATE).contains(&n) && t.bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(n.to_string())
                }
                _ => {
                    Err("Enter the requests per minute, a whole number from 1 to 1,000,000.".into())
                }
            }
        }
        RuleKind::VirtualPatch => {
            if raw.trim().is_empty() {
                return Err("Enter a pattern.".into());
            }
            if raw.chars().count() > MAX_PATTERN {
                return Err(format!("A pattern has at most {MAX_PATTERN} characters."));
            }
            if raw.chars().any(char::is_control) {
                return Err("A pattern cannot contain control characters.".into());
            }
            Ok(raw.to_string())
        }
        RuleKind::Mode => match raw.trim().to_ascii_lowercase().as_str() {
            m @ ("monitoring" | "blocking") => Ok(m.to_string()),
            _ => Err("Enter monitoring or blocking.".into()),
        },
    }
}

fn parse_ip(t: &str) -> Result<String, String> {
    if let Ok(ip) = t.parse::<std::net::IpAddr>() {
        return Ok(ip.to_string());
    }
    match t.parse::<ipnet::IpNet>() {
        Ok(net) if net.trunc() == net => Ok(net.to_string()),
        Ok(net) => Err(format!(
            "{t} has host bits set: the network is {}. Enter the network, or the single address.",
            net.trunc()
        )),
        Err(_) => {
            Err("Enter an IPv4 or IPv6 address, or a network in CIDR notation (10.0.0.0/8).".into())
        }
    }
}

/// Whether `action` goes with `kind` and its (valid) `value`, or why not.
pub fn check_action(kind: RuleKind, value: &str, action: RuleAction) -> Result<(), String> {
    if kind == RuleKind::Mode {
        let wanted = if value == "blocking" {
            RuleAction::Block
        } else {
            RuleAction::Monitor
        };
        return if action == wanted {
            Ok(())
        } else {
            Err(format!(
                "A mode rule's action follows its value: {value} takes {wanted}."
            ))
        };
    }
    if kind.actions().contains(&action) {
        Ok(())
    } else if kind == RuleKind::AllowIp {
        Err("An allow_ip rule takes the action allow.".into())
    } else {
        Err(format!("A {kind} rule takes the action block or monitor."))
    }
}

/// An optional URL path prefix: empty for none; else starting with `/`, at most
/// 1,000 characters, no white space or control characters.
pub fn parse_path(raw: &str) -> Result<Option<String>, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if !t.starts_with('/') {
        return Err("A path starts with /.".into());
    }
    if t.chars().count() > MAX_PATH {
        return Err(format!("A path has at most {MAX_PATH} characters."));
    }
    if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("A path cannot contain spaces or control characters.".into());
    }
    Ok(Some(t.to_string()))
}

/// A rule's fields as sent (a form's text or the API's JSON), before conversion.
#[derive(Clone, Debug, Default)]
pub struct RuleText<'a> {
    /// `None`: not given (a required-field error).
    pub kind: Option<&'a str>,
    pub application_id: Option<i64>,
    pub domain_id: Option<i64>,
    pub path: &'a str,
    pub value: &'a str,
    pub action: Option<&'a str>,
    pub enabled: bool,
}

/// A rule's content, valid by construction (the ids are checked against the
/// tenant by the service, which has the rows).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RuleInput {
    pub kind: RuleKind,
    pub application_id: Option<i64>,
    pub domain_id: Option<i64>,
    pub path: Option<String>,
    pub value: String,
    pub action: RuleAction,
    pub enabled: bool,
}

impl RuleInput {
    /// Converts `text`, or every field's error.
    pub fn parse(text: RuleText<'_>) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let kind = match text.kind.map(str::trim) {
            None | Some("") => {
                errors.insert("kind", "Choose a kind.".into());
                None
            }
            Some(k) => k.parse::<RuleKind>().ok().or_else(|| {
                errors.insert(
                    "kind",
                    "Choose block_ip, allow_ip, rate_limit, virtual_patch or mode.".into(),
                );
                None
            }),
        };
        let action = match text.action.map(str::trim) {
            None | Some("") => {
                errors.insert("action", "Choose an action.".into());
                None
            }
            Some(a) => a.parse::<RuleAction>().ok().or_else(|| {
                errors.insert("action", "Choose block, monitor or allow.".into());
                None
            }),
        };
        let value = kind.and_then(|k| {
            parse_value(k, text.value)
                .map_err(|e| errors.insert("value", e))
                .ok()
        });
        let path = parse_path(text.path)
            .map_err(|e| errors.insert("path", e))
            .ok();
        if let (Some(k), Some(v), Some(a)) = (kind, value.as_deref(), action) {
            if let Err(e) = check_action(k, v, a) {
                errors.insert("action", e);
            }
        }
        for (field, id) in [
            ("application_id", text.application_id),
            ("domain_id", text.domain_id),
        ] {
            if id.is_some_and(|id| id < 1) {
                errors.insert(field, NOT_OURS[usize::from(field == "domain_id")].into());
            }
        }
        match (kind, value, action, path) {
            (Some(kind), Some(value), Some(action), Some(path)) if errors.is_empty() => {
                Ok(RuleInput {
                    kind,
                    application_id: text.application_id,
                    domain_id: text.domain_id,
                    path,
                    value,
                    action,
                    enabled: text.enabled,
                })
            }
            _ => Err(errors),
        }
    }
}

/// The field errors of an application id and a domain id that are not the tenant's
/// (missing, or another tenant's: the same message).
pub const NOT_OURS: [&str; 2] = [
    "Choose one of this tenant's applications.",
    "Choose one of this tenant's domains.",
];

/// The field error of a rule whose domain is bound to another application.
pub const DOMAIN_ELSEWHERE: &str =
    "This domain belongs to another application: leave the application empty or choose the domain's.";

/// The most login paths credential-stuffing settings hold.
pub const MAX_LOGIN_PATHS: usize = 50;

/// A tenant's credential-stuffing settings.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CredentialStuffing {
    pub enabled: bool,
    /// Failed logins from one source within the window before it is blocked, 1–10,000.
    pub threshold: i32,
    /// 1–1,440 minutes.
    pub window_minutes: i32,
    /// Paths of login forms watched, each like a rule's path; at most 50.
    pub login_paths: Vec<String>,
}

impl Default for CredentialStuffing {
    /// What a tenant has until it saves its own: off.
    fn default() -> Self {
        CredentialStuffing {
            enabled: false,
            threshold: 10,
            window_minutes: 5,
            login_paths: Vec::new(),
        }
    }
}

impl CredentialStuffing {
    /// Converts the form's text (`login_paths` one per line, blank lines ignored),
    /// or every field's error.
    pub fn parse(
        enabled: bool,
        threshold: &str,
        window_minutes: &str,
        login_paths: &[&str],
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let number = |raw: &str, max: i32| {
            raw.trim()
                .parse::<i32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
        };
        let threshold = number(threshold, 10_000).or_else(|| {
            errors.insert("threshold", "Enter a whole number from 1 to 10,000.".into());
            None
        });
        let window = number(window_minutes, 1440).or_else(|| {
            errors.insert(
                "window_minutes",
                "Enter a whole number of minutes from 1 to 1,440.".into(),
            );
            None
        });
        let mut paths: Vec<String> = Vec::new();
        // Every bad line, by message in the order first met: fixing one line at a
        // time would take a round trip per line.
        let mut bad: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, raw) in login_paths.iter().enumerate() {
            match parse_path(raw) {
                Ok(Some(p)) => {
                    if !paths.contains(&p) {
                        paths.push(p);
                    }
                }
                Ok(None) => {}
                Err(e) => match bad.iter_mut().find(|(m, _)| *m == e) {
                    Some((_, lines)) => lines.push(i + 1),
                    None => bad.push((e, vec![i + 1])),
                },
            }
        }
        if !bad.is_empty() {
            let said: Vec<String> = bad
                .iter()
                .map(|(e, lines)| format!("{}: {e}", line_numbers(lines)))
                .collect();
            errors.insert("login_paths", said.join(" "));
        }
        if paths.len() > MAX_LOGIN_PATHS {
            let too_many = format!(
                "At most {MAX_LOGIN_PATHS} login paths; this has {}.",
                paths.len()
            );
            errors
                .entry("login_paths")
                .and_modify(|e| *e = format!("{e} {too_many}"))
                .or_insert(too_many);
        }
        match (threshold, window) {
            (Some(threshold), Some(window_minutes)) if errors.is_empty() => {
                Ok(CredentialStuffing {
                    enabled,
                    threshold,
                    window_minutes,
                    login_paths: paths,
                })
            }
            _ => Err(errors),
        }
    }

    /// As stored with each version.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// A version's stored settings (the defaults for anything unreadable).
    pub fn from_json(value: &serde_json::Value) -> Self {
        serde_json::from_value(value.clone()).unwrap_or_default()
    }
}

/// Who holds a tenant's rule configuration locked, for the 423 answers and the
/// locked-page view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockNotice {
    pub tenant_id: i64,
    /// The migration holding it, when one does (its page is `/migrations/{id}`).
    pub migration_id: Option<i64>,
    /// The login of who locked it (`None`: the user is gone).
    pub locked_by: Option<String>,
    pub since: DateTime<Utc>,
    /// What holds it, in words.
    pub description: String,
    /// The progress of the migration holding it, when one does (the locked page's bar).
    pub progress: Option<MigrationProgress>,
    /// The reader may open the migration's page (the locked page links it).
    pub linked: bool,
    /// The reader may roll the migration back (once it failed, the locked page
    /// sends them to its page; anyone else is told who may).
    pub may_resolve: bool,
    /// The migration's source was deleted since: only a rollback is left, and it
    /// needs rights over this tenant alone.
    pub source_deleted: bool,
}

/// "Line 3", "Lines 2 and 5", "Lines 1, 4 and 7".
fn line_numbers(lines: &[usize]) -> String {
    match lines {
        [one] => format!("Line {one}"),
        [first @ .., last] => {
            let first: Vec<String> = first.iter().map(usize::to_string).collect();
            format!("Lines {} and {last}", first.join(", "))
        }
        [] => String::new(),
    }
}

/// How far a rule-set migration is, as its page and the locked pages show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationProgress {
    pub id: i64,
    /// As stored: `queued`, `copying`, `swapping`, `done`, `failed`, `rolled_back`.
    pub state: String,
    pub copied: i64,
    /// The source's rules, counted when the job is queued (start, retry).
    pub total: i64,
}

impl MigrationProgress {
    /// Still moving: the pages poll (htmx) and refresh (without JavaScript).
    pub fn running(&self) -> bool {
        matches!(self.state.as_str(), "queued" | "copying" | "swapping")
    }

    /// The state in words.
    pub fn label(&self) -> &'static str {
        match self.state.as_str() {
            "queued" => "queued",
            "copying" => "copying",
            "swapping" => "replacing the target's rules",
            "done" => "done",
            "failed" => "failed",
            "rolled_back" => "rolled back",
            _ => "unknown",
        }
    }

    /// The `<progress>` element's `max` (never 0: an empty source is 1 of 1 once done).
    pub fn bar_max(&self) -> i64 {
        self.total.max(1)
    }

    /// The `<progress>` element's `value`.
    pub fn bar_value(&self) -> i64 {
        if self.state == "done" {
            self.bar_max()
        } else {
            self.copied.clamp(0, self.bar_max())
        }
    }

    /// Whole percent done, for the text beside the bar.
    pub fn percent(&self) -> i64 {
        self.bar_value() * 100 / self.bar_max()
    }
}

/// A version's summary as the versions list shows it. Migrations stored before
/// #13's review named the source tenant ("Migration #10 from Acme: 3 rules
/// copied, …"), which a reader of the target may not see: the name is dropped.
pub fn shown_summary(kind: VersionKind, summary: &str) -> String {
    if kind != VersionKind::Migration {
        return summary.to_string();
    }
    let Some(rest) = summary.strip_prefix("Migration #") else {
        return summary.to_string();
    };
    let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after_id = &rest[id.len()..];
    match after_id.strip_prefix(" from ") {
        // The counts never hold ": "; a tenant name may.
        Some(named) => match named.rfind(": ") {
            Some(at) => format!("Migration #{id}{}", &named[at..]),
            None => format!("Migration #{id}"),
        },
        None => summary.to_string(),
    }
}

impl LockNotice {
    /// One sentence for a problem document or a toast.
    pub fn message(&self) -> String {
        let since = self.since.format("%Y-%m-%d %H:%M UTC");
        let by = self.locked_by.as_deref().unwrap_or("a user since deleted");
        if self.failed() {
            return format!(
                "The rule configuration of this tenant is locked since {since} by {by}: {}, which failed. Nothing was changed; it stays locked until the migration is {}. {}",
                self.description,
                self.way_out(),
                self.who_resolves()
            );
        }
        format!(
            "The rule configuration of this tenant is locked since {since} by {by}: {}. Nothing was changed; try again once it is unlocked.",
            self.description
        )
    }

    /// The holding migration failed: the lock stays until someone acts.
    pub fn failed(&self) -> bool {
        self.progress.as_ref().is_some_and(|p| p.state == "failed")
    }

    /// What ends a failed migration's lock: "rolled back or retried" ("rolled
    /// back" once its source is deleted: a retry needs it).
    pub fn way_out(&self) -> &'static str {
        if self.source_deleted {
            "rolled back (its source was deleted, so it cannot be retried)"
        } else {
            "rolled back or retried"
        }
    }

    /// Who may end a failed migration's lock (`authz::can_roll_back_migration`, in
    /// words), for a reader who may not.
    pub fn who_resolves(&self) -> &'static str {
        if self.source_deleted {
            "Owners or Administrators with Rules full over this tenant can roll it back."
        } else {
            "Owners or Administrators with Rules full over both of its tenants can roll it back or retry it."
        }
    }
}

/// One field that differs between two versions: its name, and its value before
/// and after, as shown.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: String,
    pub after: String,
}

/// How one version's rule set differs from another's, by rule id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSetDiff {
    pub added: Vec<(i64, RuleInput)>,
    pub removed: Vec<(i64, RuleInput)>,
    /// Each rule in both whose content differs, with the fields that do.
    pub changed: Vec<(i64, Vec<FieldChange>)>,
    pub settings: Vec<FieldChange>,
}

fn shown<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "—".to_string(), ToString::to_string)
}

/// The fields in which two rules differ.
pub fn rule_changes(a: &RuleInput, b: &RuleInput) -> Vec<FieldChange> {
    let pairs = [
        ("kind", a.kind.to_string(), b.kind.to_string()),
        (
            "application_id",
            shown(&a.application_id),
            shown(&b.application_id),
        ),
        ("domain_id", shown(&a.domain_id), shown(&b.domain_id)),
        ("path", shown(&a.path), shown(&b.path)),
        ("value", a.value.clone(), b.value.clone()),
        ("action", a.action.to_string(), b.action.to_string()),
        ("enabled", a.enabled.to_string(), b.enabled.to_string()),
    ];
    pairs
        .into_iter()
        .filter(|(_, x, y)| x != y)
        .map(|(field, before, after)| FieldChange {
            field,
            before,
            after,
        })
        .collect()
}

/// The settings fields that differ.
pub fn settings_changes(a: &CredentialStuffing, b: &CredentialStuffing) -> Vec<FieldChange> {
    let pairs = [
        ("enabled", a.enabled.to_string(), b.enabled.to_string()),
        (
            "threshold",
            a.threshold.to_string(),
            b.threshold.to_string(),
        ),
        (
            "window_minutes",
            a.window_minutes.to_string(),
            b.window_minutes.to_string(),
        ),
        (
            "login_paths",
            a.login_paths.join(" "),
            b.login_paths.join(" "),
        ),
    ];
    pairs
        .into_iter()
        .filter(|(_, x, y)| x != y)
        .map(|(field, before, after)| FieldChange {
            field,
            before,
            after,
        })
        .collect()
}

/// What changed from `before` to `after` (each a rule set keyed by rule id, and
/// its settings).
pub fn diff(
    before: &std::collections::BTreeMap<i64, RuleInput>,
    after: &std::collections::BTreeMap<i64, RuleInput>,
    settings: (&CredentialStuffing, &CredentialStuffing),
) -> RuleSetDiff {
    let mut d = RuleSetDiff {
        settings: settings_changes(settings.0, settings.1),
        ..RuleSetDiff::default()
    };
    for (id, rule) in after {
        match before.get(id) {
            None => d.added.push((*id, rule.clone())),
            Some(old) if old != rule => d.changed.push((*id, rule_changes(old, rule))),
            Some(_) => {}
        }
    }
    for (id, rule) in before {
        if !after.contains_key(id) {
            d.removed.push((*id, rule.clone()));
        }
    }
    d
}

/// "1 rule", "3 rules".
pub fn rules_count(n: i64) -> String {
    if n == 1 {
        "1 rule".into()
    } else {
        format!("{} rules", crate::domain::number::grouped(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_counted_in_words() {
        assert_eq!(rules_count(1), "1 rule");
        assert_eq!(rules_count(0), "0 rules");
        assert_eq!(rules_count(3), "3 rules");
    }

    #[test]
    fn a_stored_migration_summary_loses_the_source_name() {
        let m = VersionKind::Migration;
        assert_eq!(
            shown_summary(m, "Migration #10 from Law: Partners (Acme): 3 rules copied, 2 replaced, settings replaced"),
            "Migration #10: 3 rules copied, 2 replaced, settings replaced"
        );
        let new = "Migration #10: 3 rules copied, 2 replaced, settings replaced";
        assert_eq!(shown_summary(m, new), new);
        // A name and nothing after it: the name goes all the same.
        assert_eq!(shown_summary(m, "Migration #7 from Acme"), "Migration #7");
        // Not a stored migration summary: as it is.
        assert_eq!(shown_summary(m, "Restored version 3"), "Restored version 3");
        assert_eq!(
            shown_summary(VersionKind::Edit, "Migration #1 from x: y"),
            "Migration #1 from x: y"
        );
    }

    fn text<'a>(kind: &'a str, value: &'a str, action: &'a str) -> RuleText<'a> {
        RuleText {
            kind: Some(kind),
            value,
            action: Some(action),
            enabled: true,
            ..RuleText::default()
        }
    }

    #[test]
    fn values_are_read_by_kind() {
        let ok = |k, v: &str, out: &str| assert_eq!(parse_value(k, v).as_deref(), Ok(out), "{v}");
        ok(RuleKind::BlockIp, " 10.0.0.1 ", "10.0.0.1");
        ok(RuleKind::BlockIp, "10.0.0.0/8", "10.0.0.0/8");
        ok(RuleKind::AllowIp, "2001:DB8:0:0::1", "2001:db8::1");
        ok(RuleKind::AllowIp, "2001:db8::/32", "2001:db8::/32");
        ok(RuleKind::RateLimit, "1", "1");
        ok(RuleKind::RateLimit, "1000000", "1000000");
        ok(RuleKind::VirtualPatch, "union select", "union select");
        ok(RuleKind::Mode, "Blocking", "blocking");
        let bad = |k, v: &str| assert!(parse_value(k, v).is_err(), "{k} {v:?}");
        bad(RuleKind::BlockIp, "10.0.0.5/8");
        bad(RuleKind::BlockIp, "10.0.0.256");
        bad(RuleKind::BlockIp, "10.0.0.0/33");
        bad(RuleKind::BlockIp, "");
        bad(RuleKind::RateLimit, "0");
        bad(RuleKind::RateLimit, "1000001");
        bad(RuleKind::RateLimit, "+5");
        bad(RuleKind::RateLimit, "1.5");
        bad(RuleKind::VirtualPatch, " ");
        bad(RuleKind::VirtualPatch, "a\u{7}b");
        bad(RuleKind::VirtualPatch, &"x".repeat(501));
        bad(RuleKind::Mode, "off");
        assert!(parse_value(RuleKind::BlockIp, "10.0.0.5/8")
            .unwrap_err()
            .contains("10.0.0.0/8"));
    }

    #[test]
    fn actions_go_with_their_kinds() {
        use RuleAction::*;
        use RuleKind::*;
        for (kind, value, action, ok) in [
            (AllowIp, "1.2.3.4", Allow, true),
            (AllowIp, "1.2.3.4", Block, false),
            (BlockIp, "1.2.3.4", Allow, false),
            (BlockIp, "1.2.3.4", Monitor, true),
            (RateLimit, "5", Block, true),
            (VirtualPatch, "x", Allow, false),
            (Mode, "blocking", Block, true),
            (Mode, "blocking", Monitor, false),
            (Mode, "monitoring", Monitor, true),
            (Mode, "monitoring", Allow, false),
        ] {
            assert_eq!(
                check_action(kind, value, action).is_ok(),
                ok,
                "{kind} {action}"
            );
        }
    }

    #[test]
    fn paths() {
        assert_eq!(parse_path(" "), Ok(None));
        assert_eq!(parse_path("/login"), Ok(Some("/login".into())));
        assert!(parse_path("login").is_err());
        assert!(parse_path("/a b").is_err());
        assert!(parse_path("/a\u{1}").is_err());
        assert!(parse_path(&format!("/{}", "a".repeat(1000))).is_err());
    }

    #[test]
    fn a_rule_reports_each_field() {
        let rule = RuleInput::parse(text("block_ip", "10.0.0.0/8", "block")).unwrap();
        assert_eq!(rule.value, "10.0.0.0/8");
        let errors = RuleInput::parse(RuleText {
            path: "nope",
            application_id: Some(0),
            ..text("allow_ip", "x", "block")
        })
        .unwrap_err();
        assert_eq!(
            errors.keys().copied().collect::<Vec<_>>(),
            ["application_id", "path", "value"]
        );
        let errors = RuleInput::parse(text("allow_ip", "1.2.3.4", "block")).unwrap_err();
        assert!(errors["action"].contains("allow"));
        let errors = RuleInput::parse(RuleText::default()).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(RuleInput::parse(text("nuke", "x", "block")).is_err());
    }

    #[test]
    fn a_diff_names_what_was_added_removed_and_changed() {
        let rule = |v: &str| RuleInput::parse(text("block_ip", v, "block")).unwrap();
        let before = std::collections::BTreeMap::from([(1, rule("1.1.1.1")), (2, rule("2.2.2.2"))]);
        let mut changed = rule("2.2.2.3");
        changed.enabled = false;
        let after = std::collections::BTreeMap::from([(2, changed), (3, rule("3.3.3.3"))]);
        let s = CredentialStuffing::default();
        let on = CredentialStuffing {
            enabled: true,
            ..s.clone()
        };
        let d = diff(&before, &after, (&s, &on));
        assert_eq!(d.added.iter().map(|a| a.0).collect::<Vec<_>>(), [3]);
        assert_eq!(d.removed.iter().map(|a| a.0).collect::<Vec<_>>(), [1]);
        assert_eq!(d.changed.len(), 1);
        let fields: Vec<_> = d.changed[0]
            .1
            .iter()
            .map(|c| (c.field, c.before.as_str(), c.after.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("value", "2.2.2.2", "2.2.2.3"),
                ("enabled", "true", "false")
            ]
        );
        assert_eq!(d.settings.len(), 1);
        assert_eq!(diff(&after, &after, (&s, &s)), RuleSetDiff::default());
    }

    #[test]
    fn credential_stuffing_settings() {
        let s =
            CredentialStuffing::parse(true, "20", "15", &["/login", "", "/login", "/sso"]).unwrap();
        assert_eq!(s.login_paths, ["/login", "/sso"]);
        assert_eq!(CredentialStuffing::from_json(&s.to_json()), s);
        let errors = CredentialStuffing::parse(true, "0", "1441", &["login"]).unwrap_err();
        assert_eq!(errors.len(), 3);
        assert!(errors["login_paths"].starts_with("Line 1"));
        // Every bad line is named, grouped by what is wrong with it.
        let errors = CredentialStuffing::parse(
            true,
            "1",
            "1",
            &["/ok", "login", "/a b", "", "sso", "/x y", "admin"],
        )
        .unwrap_err();
        assert_eq!(
            errors["login_paths"],
            "Lines 2, 5 and 7: A path starts with /. \
             Lines 3 and 6: A path cannot contain spaces or control characters."
        );
        let many: Vec<String> = (0..51).map(|i| format!("/p{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(CredentialStuffing::parse(true, "1", "1", &many).is_err());
        assert!(CredentialStuffing::parse(false, "10000", "1440", &[]).is_ok());
    }
}
