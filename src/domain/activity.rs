//! Reading the audit trail: what each recorded action is called, the filters of the
//! activity page (parsed from text), the readable before/after of an event, and
//! spreadsheet-safe cells for its CSV export.

use super::SearchText;
use crate::error::FieldErrors;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use std::borrow::Cow;

/// Every action the application records, with what the activity page calls it.
pub const ACTIONS: &[(&str, &str)] = &[
    ("tenant.create", "Created the tenant"),
    ("tenant.update", "Changed the tenant"),
    ("tenant.disable", "Disabled the tenant"),
    ("tenant.enable", "Enabled the tenant"),
    ("tenant.move", "Moved the tenant"),
    ("tenant.delete", "Deleted the tenant"),
    ("tenant.switch", "Switched into the tenant"),
    ("tenant.custom_domain.verify", "Verified the custom domain"),
    ("tenant.custom_domain.approve", "Approved the custom domain"),
    ("tenant.bootstrap", "Set up the installation"),
    ("tenant.seed_demo", "Added demo data"),
    ("user.create", "Created a user"),
    ("user.update", "Changed a user"),
    ("user.disable", "Disabled a user"),
    ("user.enable", "Enabled a user"),
    ("user.delete", "Deleted a user"),
    ("user.password_change", "Changed their password"),
    ("user.password_reset", "Reset a user's password"),
    ("user.logout_everywhere", "Logged a user out everywhere"),
    ("grant.give", "Gave access"),
    ("grant.revoke", "Revoked access"),
    ("role.create", "Created a role"),
    ("role.update", "Changed a role"),
    ("role.delete", "Deleted a role"),
    ("role.template.create", "Created a role template"),
    ("role.template.update", "Changed a role template"),
    ("role.template.delete", "Deleted a role template"),
    ("invitation.create", "Invited someone"),
    ("invitation.resend", "Sent an invitation again"),
    ("invitation.revoke", "Revoked an invitation"),
    ("invitation.accept", "Accepted an invitation"),
    ("invitation.fail", "An invitation could not be sent"),
    ("api_token.create", "Created an API token"),
    ("api_token.revoke", "Revoked an API token"),
    ("api_token.revoke_all", "Revoked all API tokens of a user"),
    ("login.success", "Logged in"),
    ("login.failure", "Failed to log in"),
    ("resolver.create", "Created a resolver"),
    ("resolver.update", "Changed a resolver"),
    ("resolver.delete", "Deleted a resolver"),
    ("device.create", "Created a device"),
    ("device.update", "Changed a device"),
    ("device.delete", "Deleted a device"),
    ("subnet.create", "Created a subnet"),
    ("subnet.update", "Changed a subnet"),
    ("subnet.delete", "Deleted a subnet"),
    ("branding.update", "Changed the branding"),
    ("branding.reset", "Reset a branding field to inherited"),
    ("branding.logo", "Uploaded a logo"),
    ("policy.create", "Created a policy"),
    ("policy.update", "Changed a policy"),
    ("policy.delete", "Deleted a policy"),
    ("policy.override", "Overrode an inherited policy"),
    ("policy.reset", "Reset an override to the inherited policy"),
    (
        "policy.clear",
        "Cleared policy choices that no longer apply",
    ),
];

/// What the page calls `action` (an action it does not know: its own name).
pub fn action_label(action: &str) -> &str {
    ACTIONS
        .iter()
        .find(|(a, _)| *a == action)
        .map_or(action, |(_, label)| label)
}

/// The recorded action named `action`, if the application records one by that name.
pub fn known_action(action: &str) -> Option<&'static str> {
    ACTIONS.iter().find(|(a, _)| *a == action).map(|(a, _)| *a)
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
    pub action: Option<&'static str>,
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

/// The fields that differ between an event's before and after, in field order. A
/// side that is not an object (or absent) counts as having no fields; a value that is
/// not an object on both sides is shown as one field named `value`.
pub fn changes(before: Option<&Value>, after: Option<&Value>) -> Vec<Change> {
    let empty = serde_json::Map::new();
    fn as_map<'a>(
        v: Option<&'a Value>,
        empty: &'a serde_json::Map<String, Value>,
    ) -> Option<&'a serde_json::Map<String, Value>> {
        match v {
            Some(Value::Object(m)) => Some(m),
            None | Some(Value::Null) => Some(empty),
            Some(_) => None,
        }
    }
    let (Some(b), Some(a)) = (as_map(before, &empty), as_map(after, &empty)) else {
        return vec![Change {
            field: "value".into(),
            before: before.map(text),
            after: after.map(text),
        }];
    };
    let mut fields: Vec<&String> = b.keys().chain(a.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        // An absent field and a null one both read "none": no `x: none → none`.
        .filter(|f| {
            let (was, is) = (b.get(*f), a.get(*f));
            was.filter(|v| !v.is_null()) != is.filter(|v| !v.is_null())
        })
        .map(|f| Change {
            field: f.clone(),
            before: b.get(f).map(text),
            after: a.get(f).map(text),
        })
        .collect()
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
        assert_eq!(f.action, Some("tenant.disable"));
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
        let e = parse("", "tenant.explode", "", "2026-13-01").unwrap_err();
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
        assert_eq!(action_label("tenant.disable"), "Disabled the tenant");
        assert_eq!(action_label("something.new"), "something.new");
        assert_eq!(known_action("tenant.switch"), Some("tenant.switch"));
        assert_eq!(known_action("tenant"), None);
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
    fn formula_cells_get_an_apostrophe() {
        for cell in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(spreadsheet_safe(cell), format!("'{cell}"));
        }
        for cell in ["", "plain", "a=b", "'quoted"] {
            assert_eq!(spreadsheet_safe(cell), cell);
        }
    }
}
