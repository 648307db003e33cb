//! Reading the audit trail: what each recorded action is called, the filters of the
//! activity page (parsed from text), the readable before/after of an event, and
//! spreadsheet-safe cells for its CSV export.

use super::text_enum::text_enum;
use super::SearchText;
use crate::error::FieldErrors;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// How the activity reads one recorded action: what it is called, and whether the
/// page's "What" list and the API's `action` filter offer it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The action as a sentence ("Created an instance"); the filter list's label.
    pub label: &'static str,
    /// For an item known by its name (a plan, a tenant role): the sentence that
    /// names it, followed by its name ("Changed plan" → "Changed plan Basic").
    pub named: Option<&'static str>,
    /// Offered as a filter: false for an action never recorded about a tenant (no
    /// tenant's activity lists it).
    pub filterable: bool,
}

/// An action listed under its sentence.
const fn listed(label: &'static str) -> Entry {
    Entry {
        label,
        named: None,
        filterable: true,
    }
}

/// An action about an item known by its name: `label` in the filter list,
/// "`named` <name>" on an event that records the name.
const fn named(label: &'static str, named: &'static str) -> Entry {
    Entry {
        named: Some(named),
        ..listed(label)
    }
}

/// An action never recorded about a tenant: labelled, not offered as a filter.
const fn unlisted(label: &'static str) -> Entry {
    Entry {
        filterable: false,
        ..listed(label)
    }
}

/// Declares [`Action`] and its catalogue [`Action::entry`] in one list, so that an
/// action exists only with its label.
macro_rules! actions {
    ($( $variant:ident = $text:literal => $entry:expr, )*) => {
        text_enum! {
            /// Every action the audit trail records: the one catalogue. An event is
            /// written only with one of these (`services::Actor::event`), so every
            /// recorded action has a label and, unless unlisted, is a filter of the
            /// activity page and the API (`tests/app/audit_catalogue.rs` holds the
            /// source to it).
            pub enum Action {
                $( $variant = $text, )*
            }
        }

        impl Action {
            /// Its label and whether it is a filter.
            pub const fn entry(self) -> Entry {
                match self {
                    $( Action::$variant => $entry, )*
                }
            }
        }
    };
}

actions! {
    TenantCreate = "tenant.create" => listed("Created the tenant"),
    TenantUpdate = "tenant.update" => listed("Changed the tenant"),
    TenantDisable = "tenant.disable" => listed("Disabled the tenant"),
    TenantEnable = "tenant.enable" => listed("Enabled the tenant"),
    TenantMove = "tenant.move" => listed("Moved the tenant"),
    TenantDelete = "tenant.delete" => listed("Deleted the tenant"),
    TenantSwitch = "tenant.switch" => listed("Switched into the tenant"),
    CustomDomainVerify = "tenant.custom_domain.verify" => listed("Verified the custom domain"),
    CustomDomainApprove = "tenant.custom_domain.approve" => listed("Approved the custom domain"),
    TenantBootstrap = "tenant.bootstrap" => listed("Set up the installation"),
    TenantSeedDemo = "tenant.seed_demo" => listed("Added demo data"),
    UserCreate = "user.create" => listed("Created a user"),
    UserUpdate = "user.update" => listed("Changed a user"),
    UserDisable = "user.disable" => listed("Disabled a user"),
    UserEnable = "user.enable" => listed("Enabled a user"),
    UserDelete = "user.delete" => listed("Deleted a user"),
    UserPasswordChange = "user.password_change" => listed("Changed their password"),
    UserPasswordReset = "user.password_reset" => listed("Reset a user's password"),
    UserLogoutEverywhere = "user.logout_everywhere" => listed("Logged a user out everywhere"),
    ProfileQuotaAlerts = "profile.quota_alerts" =>
        listed("Changed whether they get the sub-tenants' quota alerts"),
    GrantGive = "grant.give" => listed("Gave access"),
    GrantRevoke = "grant.revoke" => listed("Revoked access"),
    RoleCreate = "role.create" => listed("Created a role"),
    RoleUpdate = "role.update" => listed("Changed a role"),
    RoleDelete = "role.delete" => listed("Deleted a role"),
    RoleTemplateCreate = "role.template.create" => listed("Created a role template"),
    RoleTemplateUpdate = "role.template.update" => listed("Changed a role template"),
    RoleTemplateDelete = "role.template.delete" => listed("Deleted a role template"),
    TenantRoleCreate = "tenant_role.create" =>
        named("Created a tenant role", "Created tenant role"),
    TenantRoleUpdate = "tenant_role.update" =>
        named("Changed a tenant role", "Changed tenant role"),
    TenantRoleDelete = "tenant_role.delete" =>
        named("Deleted a tenant role", "Deleted tenant role"),
    InvitationCreate = "invitation.create" => listed("Invited someone"),
    InvitationResend = "invitation.resend" => listed("Sent an invitation again"),
    InvitationRevoke = "invitation.revoke" => listed("Revoked an invitation"),
    InvitationAccept = "invitation.accept" => listed("Accepted an invitation"),
    InvitationFail = "invitation.fail" => listed("An invitation could not be sent"),
    ApiTokenCreate = "api_token.create" => listed("Created an API token"),
    ApiTokenRevoke = "api_token.revoke" => listed("Revoked an API token"),
    ApiTokenRevokeAll = "api_token.revoke_all" => listed("Revoked all API tokens of a user"),
    LoginSuccess = "login.success" => listed("Logged in"),
    // Recorded without a tenant: the login named may not exist.
    LoginFailure = "login.failure" => unlisted("Failed to log in"),
    PlanCreate = "plan.create" => named("Created a plan", "Created plan"),
    PlanUpdate = "plan.update" => named("Changed a plan", "Changed plan"),
    PlanDelete = "plan.delete" => named("Deleted a plan", "Deleted plan"),
    CloudCreate = "cloud.create" => listed("Created a cloud"),
    CloudUpdate = "cloud.update" => listed("Changed a cloud"),
    CloudDelete = "cloud.delete" => listed("Deleted a cloud"),
    InstanceCreate = "instance.create" => listed("Created an instance"),
    InstanceUpdate = "instance.update" => listed("Changed an instance"),
    InstanceDelete = "instance.delete" => listed("Deleted an instance"),
    ResolverCreate = "resolver.create" => listed("Created a resolver"),
    ResolverUpdate = "resolver.update" => listed("Changed a resolver"),
    ResolverDelete = "resolver.delete" => listed("Deleted a resolver"),
    DeviceCreate = "device.create" => listed("Created a device"),
    DeviceUpdate = "device.update" => listed("Changed a device"),
    DeviceDelete = "device.delete" => listed("Deleted a device"),
    SubnetCreate = "subnet.create" => listed("Created a subnet"),
    SubnetUpdate = "subnet.update" => listed("Changed a subnet"),
    SubnetDelete = "subnet.delete" => listed("Deleted a subnet"),
    PolicyCreate = "policy.create" => listed("Created a policy"),
    PolicyUpdate = "policy.update" => listed("Changed a policy"),
    PolicyDelete = "policy.delete" => listed("Deleted a policy"),
    PolicyOverride = "policy.override" => listed("Overrode an inherited policy"),
    PolicyReset = "policy.reset" => listed("Reset an override to the inherited policy"),
    PolicyClear = "policy.clear" => listed("Cleared policy choices that no longer apply"),
    ApplicationCreate = "application.create" => listed("Created an application"),
    ApplicationUpdate = "application.update" => listed("Changed an application"),
    ApplicationDelete = "application.delete" => listed("Deleted an application"),
    DomainCreate = "domain.create" => listed("Created a domain"),
    DomainUpdate = "domain.update" => listed("Changed a domain"),
    DomainDelete = "domain.delete" => listed("Deleted a domain"),
    RuleCreate = "rule.create" => listed("Created a rule"),
    RuleUpdate = "rule.update" => listed("Changed a rule"),
    RuleDelete = "rule.delete" => listed("Deleted a rule"),
    RuleBatch = "rule.batch" => listed("Created rules in a batch"),
    CredentialStuffingSave = "credential_stuffing.save" =>
        listed("Changed the credential stuffing settings"),
    RuleSetRestore = "rule_set.restore" => listed("Restored an earlier version of the rules"),
    RuleMigrationStart = "rule_migration.start" => listed("Started a rule migration"),
    RuleMigrationRollback = "rule_migration.rollback" => listed("Rolled back a rule migration"),
    RuleMigrationRetry = "rule_migration.retry" => listed("Retried a rule migration"),
    RuleMigrationFail = "rule_migration.fail" => listed("A rule migration failed"),
    RuleMigrationDone = "rule_migration.done" => listed("A rule migration finished"),
    BrandingUpdate = "branding.update" => listed("Changed the branding"),
    BrandingReset = "branding.reset" => listed("Reset a branding field to inherited"),
    BrandingLogo = "branding.logo" => listed("Uploaded a logo"),
    IngestionKeyCreate = "ingestion_key.create" => listed("Created a usage ingestion key"),
    IngestionKeyRevoke = "ingestion_key.revoke" => listed("Revoked a usage ingestion key"),
    ReportSubscribe = "report.subscribe" => listed("Subscribed to monthly usage reports"),
    ReportCancel = "report.cancel" => listed("Cancelled a monthly usage report"),
}

impl Action {
    /// The actions the activity page's "What" list and the API's `action` filter
    /// offer, in the catalogue's order.
    pub fn filterable() -> impl Iterator<Item = Action> {
        Action::ALL.iter().copied().filter(|a| a.entry().filterable)
    }

    /// The recorded action named `text`, if the catalogue has it.
    pub fn from_text(text: &str) -> Option<Action> {
        text.parse().ok()
    }
}

/// What the activity calls an event of `action` with this before and after: the
/// catalogue's sentence, naming the item where the catalogue says so and the event
/// records its name (`name` of after, else of before); an action the catalogue does
/// not know (an event recorded by an older version) reads as its name.
pub fn action_label(action: &str, before: Option<&Value>, after: Option<&Value>) -> String {
    let Some(entry) = Action::from_text(action).map(Action::entry) else {
        return action.to_string();
    };
    let name = [after, before]
        .into_iter()
        .flatten()
        .find_map(|v| v.get("name").and_then(Value::as_str));
    match (entry.named, name) {
        (Some(named), Some(name)) => format!("{named} {name}"),
        _ => entry.label.to_string(),
    }
}

/// The filterable action named `action`, if any.
pub fn known_action(action: &str) -> Option<Action> {
    Action::from_text(action).filter(|a| a.entry().filterable)
}

/// The filters of the activity page as typed (query parameters).
#[derive(Clone, Debug, Default)]
pub struct ActivityText<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub scope: &'a str,
}

/// Which events: about the tenant only, or about its whole subtree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ActivityScope {
    #[default]
    Tenant,
    Subtree,
}

/// The filters of the activity page, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActivityFilter {
    /// Part of the actor's login (`subdomain\username`), case-insensitive.
    pub actor: Option<String>,
    pub action: Option<Action>,
    /// From the start of this day (UTC) …
    pub from: Option<NaiveDate>,
    /// … to the end of this day (UTC), inclusive.
    pub to: Option<NaiveDate>,
    pub scope: ActivityScope,
}

/// The filters that take one of a fixed list of values (what the page's selects
/// offer): a value outside it is a malformed request (400), not a field error.
pub const CHOICES: [&str; 2] = ["action", "scope"];

/// The field error of an end date before the start date.
pub const RANGE_REVERSED: &str = "The end date is before the start date.";

impl ActivityFilter {
    /// Parses the typed filters; each bad one is a field error.
    pub fn parse(text: &ActivityText) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        // Search text, as every search box takes it.
        let actor = SearchText::parse(text.actor).unwrap_or_else(|e| {
            errors.insert("actor", e.message());
            SearchText::default()
        });
        let action = match text.action.trim() {
            "" => None,
            a => {
                let known = known_action(a);
                if known.is_none() {
                    errors.insert("action", "Choose an action from the list.".into());
                }
                known
            }
        };
        let mut date = |field: &'static str, raw: &str| match raw.trim() {
            "" => None,
            raw => match parse_date(raw) {
                Some(d) => Some(d),
                None => {
                    errors.insert(field, "Enter a date as YYYY-MM-DD.".into());
                    None
                }
            },
        };
        let from = date("from", text.from);
        let to = date("to", text.to);
        // An end before the start selects nothing: a slip, refused alike by the page,
        // the export and the API.
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                errors.insert("to", RANGE_REVERSED.into());
            }
        }
        let scope = match text.scope.trim() {
            "" | "tenant" => ActivityScope::Tenant,
            "subtree" => ActivityScope::Subtree,
            _ => {
                errors.insert("scope", "Choose this tenant or its whole subtree.".into());
                ActivityScope::Tenant
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ActivityFilter {
            actor: (!actor.is_empty()).then(|| actor.into_inner()),
            action,
            from,
            to,
            scope,
        })
    }

    /// The first instant included (start of `from`, UTC).
    pub fn since(&self) -> Option<DateTime<Utc>> {
        self.from
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
    }

    /// The first instant no longer included (the day after `to`, UTC).
    pub fn until(&self) -> Option<DateTime<Utc>> {
        self.to
            .and_then(|d| d.succ_opt())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
    }
}

/// `YYYY-MM-DD` (RFC 3339's full-date), a real day.
fn parse_date(raw: &str) -> Option<NaiveDate> {
    let well_formed = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !well_formed {
        return None;
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()
}

/// Where a page of events starts: events strictly older than this one, ordered
/// newest first by (time, id) — stable while new events arrive. As text
/// `<microseconds since 1970>_<id>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventCursor {
    pub at: DateTime<Utc>,
    pub id: i64,
}

impl EventCursor {
    pub fn to_text(self) -> String {
        format!("{}_{}", self.at.timestamp_micros(), self.id)
    }

    /// The text of `to_text`: `^[0-9]{1,16}_[0-9]{1,18}$` (the API documents it).
    pub fn parse(text: &str) -> Option<Self> {
        let (micros, id) = text.split_once('_')?;
        let digits = |s: &str, max: usize| {
            (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(micros, 16) || !digits(id, 18) {
            return None;
        }
        Some(EventCursor {
            at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: id.parse().ok()?,
        })
    }

    /// The cursor whose older events start with this one (events are ordered by
    /// (time, id), and ids are whole numbers).
    pub fn including_older(self) -> Self {
        EventCursor {
            id: self.id.saturating_add(1),
            ..self
        }
    }

    /// The cursor whose newer events start with this one.
    pub fn including_newer(self) -> Self {
        EventCursor {
            id: self.id.saturating_sub(1),
            ..self
        }
    }
}

/// Where a page of events starts, relative to an event: the older ones (the next
/// page), or the newer ones (the previous page, back towards the newest). Either way
/// a page shows its events newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageStart {
    /// Events strictly older than this one.
    Before(EventCursor),
    /// The events strictly newer than this one that are nearest to it.
    After(EventCursor),
}

impl PageStart {
    /// The API's `cursor`: `<microseconds>_<id>` for the older events (the text of
    /// [`EventCursor`], as ever), `newer_<microseconds>_<id>` for the newer ones.
    pub fn to_text(self) -> String {
        match self {
            PageStart::Before(c) => c.to_text(),
            PageStart::After(c) => format!("{NEWER}{}", c.to_text()),
        }
    }

    /// The text of `to_text`: `^(newer_)?[0-9]{1,16}_[0-9]{1,18}$`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.strip_prefix(NEWER) {
            Some(rest) => EventCursor::parse(rest).map(PageStart::After),
            None => EventCursor::parse(text).map(PageStart::Before),
        }
    }
}

/// The prefix of a cursor to newer events.
const NEWER: &str = "newer_";

/// One changed field of an event: its old and new value as text (`None`: absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The fields that differ between an event's before and after, in field order; an
/// object nested in one (a role's `permissions`) is compared field by field, each
/// named `outer.inner`. A side that is not an object (or absent) counts as having no
/// fields; a value that is not an object on both sides is shown as one field named
/// `value`.
pub fn changes(before: Option<&Value>, after: Option<&Value>) -> Vec<Change> {
    let empty = Map::new();
    let (Some(b), Some(a)) = (fields_of(before, &empty), fields_of(after, &empty)) else {
        return vec![Change {
            field: "value".into(),
            before: before.map(text),
            after: after.map(text),
        }];
    };
    let mut out = Vec::new();
    differing("", b, a, &mut out);
    out
}

/// The fields of a side of an event: an object's, none for an absent or null one,
/// `None` for any other value.
fn fields_of<'a>(
    v: Option<&'a Value>,
    empty: &'a Map<String, Value>,
) -> Option<&'a Map<String, Value>> {
    match v {
        Some(Value::Object(m)) => Some(m),
        None | Some(Value::Null) => Some(empty),
        Some(_) => None,
    }
}

/// The fields of `b` and `a` that differ, named after `prefix`, into `out`.
fn differing(prefix: &str, b: &Map<String, Value>, a: &Map<String, Value>, out: &mut Vec<Change>) {
    let empty = Map::new();
    let mut fields: Vec<&String> = b.keys().chain(a.keys()).collect();
    fields.sort();
    fields.dedup();
    for f in fields {
        // An absent field and a null one both read "none": no `x: none → none`.
        let (was, is) = (
            b.get(f).filter(|v| !v.is_null()),
            a.get(f).filter(|v| !v.is_null()),
        );
        if was == is {
            continue;
        }
        let field = if prefix.is_empty() {
            f.clone()
        } else {
            format!("{prefix}.{f}")
        };
        let nested = |v: Option<&Value>| matches!(v, None | Some(Value::Object(_)));
        if nested(was) && nested(is) {
            let (was, is) = (fields_of(was, &empty), fields_of(is, &empty));
            if let (Some(was), Some(is)) = (was, is) {
                differing(&field, was, is, out);
                continue;
            }
        }
        out.push(Change {
            field,
            before: b.get(f).map(text),
            after: a.get(f).map(text),
        });
    }
}

/// What an event records of a change from `before` to `after` (two snapshots of one
/// item, objects): only the fields that differ — of a nested object, only its
/// fields that differ — each side with its value, plus the fields `keep` names
/// (what the item is: its id, its name) on both sides as they are. `None` when
/// nothing differs: a save that changed nothing is not an event.
pub fn changed_only(before: &Value, after: &Value, keep: &[&str]) -> Option<(Value, Value)> {
    let empty = Map::new();
    let (b, a) = (
        before.as_object().unwrap_or(&empty),
        after.as_object().unwrap_or(&empty),
    );
    let (was, is) = changed_fields(b, a);
    if was.is_empty() && is.is_empty() {
        return None;
    }
    let (mut was, mut is) = (was, is);
    for field in keep {
        if let Some(v) = b.get(*field) {
            was.insert((*field).to_string(), v.clone());
        }
        if let Some(v) = a.get(*field) {
            is.insert((*field).to_string(), v.clone());
        }
    }
    Some((Value::Object(was), Value::Object(is)))
}

/// The differing fields of two objects, each side's ([`changed_only`]).
fn changed_fields(
    b: &Map<String, Value>,
    a: &Map<String, Value>,
) -> (Map<String, Value>, Map<String, Value>) {
    let (mut was, mut is) = (Map::new(), Map::new());
    for f in b.keys().chain(a.keys()) {
        let (old, new) = (b.get(f), a.get(f));
        if old == new || was.contains_key(f) || is.contains_key(f) {
            continue;
        }
        if let (Some(Value::Object(old)), Some(Value::Object(new))) = (old, new) {
            let (o, n) = changed_fields(old, new);
            was.insert(f.clone(), Value::Object(o));
            is.insert(f.clone(), Value::Object(n));
            continue;
        }
        if let Some(old) = old {
            was.insert(f.clone(), old.clone());
        }
        if let Some(new) = new {
            is.insert(f.clone(), new.clone());
        }
    }
    (was, is)
}

/// A JSON value as a person reads it: strings without quotes, `null` as "none".
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "none".into(),
        other => other.to_string(),
    }
}

/// A CSV cell a spreadsheet will not run as a formula: cells starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return get a leading apostrophe (OWASP's advice).
pub fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(
        actor: &str,
        action: &str,
        from: &str,
        to: &str,
    ) -> Result<ActivityFilter, FieldErrors> {
        ActivityFilter::parse(&ActivityText {
            actor,
            action,
            from,
            to,
            scope: "",
        })
    }

    #[test]
    fn filters_parse_or_name_the_bad_field() {
        let f = parse(
            " root\\alice ",
            "tenant.disable",
            "2026-01-31",
            "2026-02-01",
        )
        .unwrap();
        assert_eq!(f.actor.as_deref(), Some("root\\alice"));
        assert_eq!(f.action, Some(Action::TenantDisable));
        assert_eq!(f.since().unwrap().to_rfc3339(), "2026-01-31T00:00:00+00:00");
        assert_eq!(f.until().unwrap().to_rfc3339(), "2026-02-02T00:00:00+00:00");
        assert_eq!(parse("", "", "", "").unwrap(), ActivityFilter::default());

        for bad in [
            "2026-02-30",
            "2026-2-1",
            "yesterday",
            "20260101",
            "+2026-01-01",
            "2026-01-01x",
        ] {
            let e = parse("", "", bad, "").unwrap_err();
            assert!(e.contains_key("from"), "{bad}");
        }
        let e = parse("", "rocket.explode", "", "2026-13-01").unwrap_err();
        assert!(e.contains_key("action") && e.contains_key("to"));
        let reversed = parse("", "", "2026-02-02", "2026-02-01").unwrap_err();
        assert_eq!(reversed["to"], RANGE_REVERSED);
        assert!(parse("", "", "2026-02-01", "2026-02-01").is_ok());
        // The ends of RFC 3339's years.
        let wide = parse("", "", "0000-01-01", "9999-12-31").unwrap();
        assert!(wide.since().is_some() && wide.until().is_some());
        assert!(parse(&"x".repeat(101), "", "", "")
            .unwrap_err()
            .contains_key("actor"));
        assert!(parse("a\0", "", "", "").unwrap_err().contains_key("actor"));
        let scoped = ActivityFilter::parse(&ActivityText {
            scope: "subtree",
            ..Default::default()
        });
        assert_eq!(scoped.unwrap().scope, ActivityScope::Subtree);
        let bad = ActivityFilter::parse(&ActivityText {
            scope: "everything",
            ..Default::default()
        });
        assert!(bad.unwrap_err().contains_key("scope"));
    }

    #[test]
    fn cursors_round_trip_to_the_microsecond() {
        let at = DateTime::parse_from_rfc3339("2026-12-05T07:10:23.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = EventCursor { at, id: 42 };
        assert_eq!(c.to_text(), "1796454623123456_42");
        assert_eq!(EventCursor::parse(&c.to_text()), Some(c));
        assert!(EventCursor::parse("9999999999999999_999999999999999999").is_some());
        for bad in [
            "",
            "42",
            "x_1",
            "1_x",
            "1_2_3",
            "99999999999999999_1",
            "+1_2",
            "1_-2",
            " 1_2",
        ] {
            assert_eq!(EventCursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn page_starts_say_which_way_they_read() {
        let c = EventCursor {
            at: DateTime::from_timestamp_micros(1_796_454_623_123_456).unwrap(),
            id: 42,
        };
        assert_eq!(PageStart::Before(c).to_text(), "1796454623123456_42");
        assert_eq!(PageStart::After(c).to_text(), "newer_1796454623123456_42");
        for start in [PageStart::Before(c), PageStart::After(c)] {
            assert_eq!(PageStart::parse(&start.to_text()), Some(start));
        }
        for bad in [
            "newer_",
            "newer_x_1",
            "older_1_2",
            "newer1_2",
            "_newer_1_2",
            "newer_newer_1_2",
        ] {
            assert_eq!(PageStart::parse(bad), None, "{bad}");
        }
        assert_eq!(c.including_older().id, 43);
        assert_eq!(c.including_newer().id, 41);
    }

    #[test]
    fn labels_cover_every_known_action() {
        assert_eq!(
            action_label("tenant.disable", None, None),
            "Disabled the tenant"
        );
        assert_eq!(action_label("something.new", None, None), "something.new");
        assert_eq!(known_action("tenant.switch"), Some(Action::TenantSwitch));
        assert_eq!(known_action("tenant"), None);
        // Recorded, labelled, but never about a tenant: no filter.
        assert_eq!(known_action("login.failure"), None);
        assert_eq!(
            action_label("login.failure", None, None),
            "Failed to log in"
        );
        // Every action has a sentence of its own, never its raw name.
        for a in Action::ALL {
            let label = a.entry().label;
            assert!(!label.contains('.') && label != a.as_str(), "{a}");
            assert_eq!(Action::from_text(a.as_str()), Some(*a));
        }
        // An item known by its name is named, from after (a create, a change) or
        // before (a delete); without a recorded name, the plain sentence.
        let basic = json!({"plan_id": 3, "name": "Basic"});
        assert_eq!(
            action_label("plan.update", Some(&json!({"name": "Old"})), Some(&basic)),
            "Changed plan Basic"
        );
        assert_eq!(
            action_label("plan.delete", Some(&basic), None),
            "Deleted plan Basic"
        );
        assert_eq!(action_label("plan.create", None, None), "Created a plan");
        assert_eq!(
            action_label("instance.create", None, Some(&basic)),
            "Created an instance"
        );
    }

    #[test]
    fn changes_list_only_what_differs() {
        let before = json!({"name": "Acme", "enabled": true, "subdomain": "acme"});
        let after = json!({"name": "Acme", "enabled": false, "subdomain": "acme2", "new": 1});
        let c = changes(Some(&before), Some(&after));
        let fields: Vec<_> = c.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["enabled", "new", "subdomain"]);
        assert_eq!(c[0].before.as_deref(), Some("true"));
        assert_eq!(c[0].after.as_deref(), Some("false"));
        assert_eq!(c[1].before, None);
        assert_eq!(c[2].after.as_deref(), Some("acme2"));
        // A create: every field new.
        let c = changes(None, Some(&json!({"name": "X"})));
        assert_eq!(c.len(), 1);
        assert_eq!(
            (c[0].before.clone(), c[0].after.clone()),
            (None, Some("X".into()))
        );
        // Not objects: one value.
        let c = changes(Some(&json!(1)), Some(&json!([2])));
        assert_eq!(c[0].field, "value");
        assert!(changes(None, None).is_empty());
        // Null and absent read alike ("none"): no `x: none → none`.
        let c = changes(
            Some(&json!({"custom_domain": null, "gone": null, "name": "A"})),
            Some(&json!({"custom_domain": null, "name": "B", "new": null})),
        );
        let fields: Vec<_> = c.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["name"]);
        let c = changes(None, Some(&json!({"custom_domain": null, "name": "X"})));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn nested_objects_change_field_by_field() {
        let before = json!({"permissions": {"users": "full", "audit": "read"}, "name": "R"});
        let after = json!({"permissions": {"users": "read", "audit": "read"}, "name": "R"});
        let c = changes(Some(&before), Some(&after));
        assert_eq!(
            c,
            [Change {
                field: "permissions.users".into(),
                before: Some("full".into()),
                after: Some("read".into()),
            }]
        );
        // A nested object created or removed: each of its fields.
        let c = changes(None, Some(&json!({"change": {"created": 2, "kept": null}})));
        let fields: Vec<_> = c.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["change.created"]);
        let c = changes(Some(&json!({"limits": {"max_instances": 3}})), None);
        assert_eq!(
            (c[0].field.as_str(), c[0].after.clone()),
            ("limits.max_instances", None)
        );
        // An object against another kind of value: one field, as before.
        let c = changes(Some(&json!({"x": {"a": 1}})), Some(&json!({"x": [1]})));
        assert_eq!((c.len(), c[0].field.as_str()), (1, "x"));
    }

    #[test]
    fn a_change_records_only_what_differs_and_what_the_item_is() {
        let before = json!({"resolver_id": 7, "name": "dns", "address": "192.0.2.1",
                            "caps": {"users": "full", "audit": "read"}, "gone": 1});
        let after = json!({"resolver_id": 7, "name": "dns", "address": "192.0.2.2",
                           "caps": {"users": "read", "audit": "read"}, "new": 2});
        let (was, is) = changed_only(&before, &after, &["resolver_id"]).unwrap();
        assert_eq!(
            was,
            json!({"resolver_id": 7, "address": "192.0.2.1", "caps": {"users": "full"}, "gone": 1})
        );
        assert_eq!(
            is,
            json!({"resolver_id": 7, "address": "192.0.2.2", "caps": {"users": "read"}, "new": 2})
        );
        assert_eq!(changed_only(&before, &before, &["resolver_id"]), None);
    }

    #[test]
    fn formula_cells_get_an_apostrophe() {
        for cell in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(spreadsheet_safe(cell), format!("'{cell}"));
        }
        for cell in ["", "plain", "a=b", "'quoted"] {
            assert_eq!(spreadsheet_safe(cell), cell);
        }
    }
}
