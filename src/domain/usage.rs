//! Usage statistics: the events a batch reports (each checked on its own, so one bad
//! event does not stop the rest), the UTC day and month they count in, and a tenant's
//! monthly query quota.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;

/// Most events one batch may hold.
pub const MAX_EVENTS: usize = 10_000;

/// Most queries (or blocked queries) one event may report: far above what a tenant
/// does in a day, and low enough that no month's sum can overflow a BIGINT.
pub const MAX_COUNT: i64 = 1_000_000_000_000;

/// How far ahead of the server's clock an event may lie (clocks drift a little).
pub const MAX_AHEAD: Duration = Duration::days(1);

/// The earliest time an event may report: usage from before it is a client's
/// wrong clock or a default value (year 1), not DNS traffic to bill.
pub const EARLIEST: &str = "2000-01-01T00:00:00Z";

/// Longest `batch_id`.
pub const BATCH_ID_MAX: usize = 255;

/// Whom an event is about: a tenant id or a subdomain.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TenantRef {
    Id(i64),
    Subdomain(String),
}

/// One valid event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageEvent {
    pub tenant: TenantRef,
    pub at: DateTime<Utc>,
    pub queries: i64,
    pub blocked: i64,
}

impl UsageEvent {
    /// The UTC day the event counts in.
    pub fn day(&self) -> NaiveDate {
        self.at.date_naive()
    }

    /// The UTC month the event counts in (its first day).
    pub fn month(&self) -> NaiveDate {
        month_of(self.day())
    }
}

/// The first day of `day`'s month.
pub fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

const FIELDS: [&str; 4] = ["tenant", "at", "queries", "blocked"];

/// One event as sent: its JSON value, and the first field an object named twice.
/// A plain `serde_json::Value` keeps the last of two equal keys silently; this
/// notes the repeat while reading the object (no second pass, no copy), so
/// [`parse_event`] refuses that event alone and the rest of the batch still counts.
#[derive(Clone, Debug, PartialEq)]
pub struct SentEvent {
    value: Value,
    repeated: Option<String>,
}

impl From<Value> for SentEvent {
    fn from(value: Value) -> Self {
        SentEvent {
            value,
            repeated: None,
        }
    }
}

impl<'de> Deserialize<'de> for SentEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SentEventVisitor)
    }
}

struct SentEventVisitor;

impl SentEventVisitor {
    fn plain<E>(value: Value) -> Result<SentEvent, E> {
        Ok(SentEvent::from(value))
    }
}

/// Objects are read key by key; any other JSON value is kept as it is (and refused
/// by [`parse_event`]: an event is an object).
impl<'de> Visitor<'de> for SentEventVisitor {
    type Value = SentEvent;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a usage event (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SentEvent, A::Error> {
        let mut object = Map::new();
        let mut repeated = None;
        while let Some(key) = map.next_key::<String>()? {
            let value: Value = map.next_value()?;
            match object.entry(key) {
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                serde_json::map::Entry::Occupied(slot) => {
                    repeated.get_or_insert_with(|| slot.key().clone());
                }
            }
        }
        Ok(SentEvent {
            value: Value::Object(object),
            repeated,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SentEvent, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Self::plain(Value::Array(items))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<SentEvent, E> {
        Self::plain(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<SentEvent, E> {
        Self::plain(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<SentEvent, E> {
        Self::plain(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<SentEvent, E> {
        Self::plain(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<SentEvent, E> {
        Self::plain(Value::from(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<SentEvent, E> {
        Self::plain(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<SentEvent, E> {
        Self::plain(Value::Null)
    }
}

/// The event as read, for the hash that tells a retry from another batch: the
/// value itself, or, with a repeated field, `[value, field]` (so two bodies that
/// differ only there are not taken for the same batch).
impl Serialize for SentEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.repeated {
            None => self.value.serialize(s),
            Some(field) => (&self.value, field).serialize(s),
        }
    }
}

/// Checks one event as sent: an object, every field present once and valid,
/// nothing else, `at` from [`EARLIEST`] to at most [`MAX_AHEAD`] after `now`, no
/// more blocked queries than queries (blocked ones are among the queries). The
/// error says what is wrong, for the answer's `rejected` list (stored as JSON by
/// PostgreSQL, so a name echoed from the input has its control characters escaped).
pub fn parse_event(sent: &SentEvent, now: DateTime<Utc>) -> Result<UsageEvent, String> {
    let Some(event) = sent.value.as_object() else {
        return Err("An event must be a JSON object.".into());
    };
    if let Some(field) = &sent.repeated {
        return Err(format!(
            "The field `{}` is given twice in this event: send each field once.",
            field.escape_debug()
        ));
    }
    if let Some(unknown) = event.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "Unknown field `{}`: an event has tenant, at, queries and blocked.",
            unknown.escape_debug()
        ));
    }
    let missing: Vec<&str> = FIELDS
        .iter()
        .copied()
        .filter(|f| event.get(*f).is_none_or(Value::is_null))
        .collect();
    if !missing.is_empty() {
        return Err(format!("Missing {}.", missing.join(", ")));
    }
    let tenant = match &event["tenant"] {
        // A control character (NUL above all, which PostgreSQL cannot even compare)
        // is in no subdomain: this event's error, not the batch's.
        Value::String(s) if s.chars().any(char::is_control) => {
            return Err(
                "`tenant` must be a tenant id or a subdomain: a subdomain has no control \
                 characters (such as NUL)."
                    .into(),
            )
        }
        // A subdomain exactly as sent (DNS names match in any case): spaces around
        // it are a sender's mistake this event is refused for, not trimmed away.
        Value::String(s) if s.trim() != s => {
            return Err(format!(
                "`tenant` \"{}\" has spaces around it: send the subdomain alone, without \
                 spaces.",
                s.escape_debug()
            ))
        }
        Value::String(s) if !s.is_empty() && s.len() <= 63 => {
            TenantRef::Subdomain(s.to_ascii_lowercase())
        }
        v => match whole_number(v) {
            Some(Whole::Int(id)) if id > 0 => TenantRef::Id(id),
            _ => {
                return Err(
                    "`tenant` must be a tenant id (a positive integer) or a subdomain.".into(),
                )
            }
        },
    };
    let at = event["at"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or("`at` must be a time in RFC 3339, e.g. 2026-01-31T23:59:59Z.")?;
    if at > now + MAX_AHEAD {
        return Err("`at` lies more than a day in the future.".into());
    }
    if at < earliest() {
        return Err("`at` lies before 2000-01-01.".into());
    }
    let count = |field: &str| match whole_number(&event[field]) {
        Some(Whole::Int(n)) if (0..=MAX_COUNT).contains(&n) => Ok(n),
        Some(Whole::Int(n)) if n < 0 => Err(format!("`{field}` must not be negative.")),
        Some(Whole::Negative) => Err(format!("`{field}` must not be negative.")),
        Some(Whole::Int(_) | Whole::TooLarge) => {
            Err(format!("`{field}` must be at most {MAX_COUNT}."))
        }
        None => Err(format!("`{field}` must be a whole number.")),
    };
    let (queries, blocked) = (count("queries")?, count("blocked")?);
    if blocked > queries {
        return Err("`blocked` cannot exceed `queries`.".into());
    }
    Ok(UsageEvent {
        tenant,
        at,
        queries,
        blocked,
    })
}

fn earliest() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(EARLIEST)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A JSON whole number as [`whole_number`] reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Whole {
    Int(i64),
    /// Whole but past what an `i64` (or a double, exactly) holds: 1e19, 2^63.
    TooLarge,
    /// Whole and as far below zero.
    Negative,
}

/// A JSON integer, also written `42.0` or `1e3` (an integral number, as JSON Schema
/// counts integers, and as the rest of the API takes them: `integral_opt_i64`), or
/// `None` for anything else (a fraction, a string). Doubles from 2^53 on are whole
/// but no longer exact: too large (or too far below zero) rather than "not whole".
fn whole_number(v: &Value) -> Option<Whole> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    let Value::Number(n) = v else {
        return None;
    };
    if let Some(i) = n.as_i64() {
        return Some(Whole::Int(i));
    }
    if n.as_u64().is_some() {
        return Some(Whole::TooLarge);
    }
    let f = n.as_f64().filter(|f| f.is_finite() && f.fract() == 0.0)?;
    Some(if f >= EXACT {
        Whole::TooLarge
    } else if f <= -EXACT {
        Whole::Negative
    } else {
        Whole::Int(f as i64)
    })
}

/// The body with every number past a double's range (`1e400`, or 400 digits)
/// written `1e300` (`-1e300` below zero), or `None` where it has none. serde_json
/// refuses a whole body for such a number, where it is only its event's error:
/// `1e300` is as whole and as far past any count or id ([`parse_event`] words the
/// same error), and as no time or subdomain. Strings are passed over; a body that
/// is no JSON stays none.
pub fn clamp_out_of_range(body: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    // `body[..copied]` is in `out`.
    let mut copied = 0;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'"' => {
                i += 1;
                while i < body.len() && body[i] != b'"' {
                    i += if body[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                i += 1;
                while i < body.len()
                    && matches!(body[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    i += 1;
                }
                let token = &body[start..i];
                // Only an exponent or some 309 digits leave a double's range.
                let huge = (token.len() > 300 || token.iter().any(|b| matches!(b, b'e' | b'E')))
                    && std::str::from_utf8(token)
                        .ok()
                        .and_then(|t| t.parse::<f64>().ok())
                        .is_some_and(f64::is_infinite);
                if huge {
                    let out = out.get_or_insert_with(|| Vec::with_capacity(body.len()));
                    out.extend_from_slice(&body[copied..start]);
                    out.extend_from_slice(if token[0] == b'-' {
                        b"-1e300"
                    } else {
                        b"1e300"
                    });
                    copied = i;
                }
            }
            _ => i += 1,
        }
    }
    out.map(|mut out| {
        out.extend_from_slice(&body[copied.min(body.len())..]);
        out
    })
}

/// Checks a `batch_id`: 1–255 visible ASCII characters.
pub fn parse_batch_id(raw: &str) -> Result<&str, String> {
    if raw.is_empty() || raw.len() > BATCH_ID_MAX || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "`batch_id` must be 1 to {BATCH_ID_MAX} visible ASCII characters (no spaces)."
        ));
    }
    Ok(raw)
}

/// A monthly query quota as a form sends it: empty for none, else a whole number of
/// queries, 0 or more.
pub fn parse_quota(raw: &str) -> Result<Option<i64>, String> {
    let raw = raw.trim().replace(['_', ','], "");
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<i64>() {
        Ok(n) => check_quota(n).map(Some),
        Err(_) if raw.starts_with('-') && raw[1..].bytes().all(|b| b.is_ascii_digit()) => {
            Err(QUOTA_NEGATIVE.into())
        }
        // Digits too many for any number: over the most, not "no number".
        Err(_) if raw.bytes().all(|b| b.is_ascii_digit()) => Err(format!(
            "A quota is at most {} queries a month.",
            crate::domain::number::grouped(i64::MAX)
        )),
        Err(_) => Err(QUOTA_MESSAGE.into()),
    }
}

/// A quota sent as a number (the API): 0 or more.
pub fn check_quota(n: i64) -> Result<i64, String> {
    if n < 0 {
        Err(QUOTA_NEGATIVE.into())
    } else {
        Ok(n)
    }
}

const QUOTA_MESSAGE: &str =
    "Enter a whole number of queries per month (0 or more), or leave it empty for no quota.";
const QUOTA_NEGATIVE: &str = "The quota cannot be negative: enter 0 or more, or leave it empty.";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_past_a_doubles_range_are_clamped_and_nothing_else() {
        let clamp =
            |body: &str| clamp_out_of_range(body.as_bytes()).map(|b| String::from_utf8(b).unwrap());
        let digits = "9".repeat(400);
        assert_eq!(
            clamp(&format!(
                r#"{{"a": 1e400, "b": [-1.5E+400, {digits}], "c": "1e400 \" 1e400", "d": 1e5}}"#
            ))
            .as_deref(),
            Some(r#"{"a": 1e300, "b": [-1e300, 1e300], "c": "1e400 \" 1e400", "d": 1e5}"#)
        );
        for untouched in [
            r#"{"a": 1e308, "b": -1e-400, "c": "1e400"}"#,
            "",
            "{",
            r#""\"#,
            "1e",
        ] {
            assert_eq!(clamp(untouched), None, "{untouched}");
        }
        // What is left is read, and each such number is its field's error.
        let body = clamp(
            r#"[{"tenant": 1e400, "at": "2026-02-01T00:00:00Z", "queries": -1e999, "blocked": 0}]"#,
        )
        .unwrap();
        let events: Vec<SentEvent> = serde_json::from_str(&body).unwrap();
        assert_eq!(
            parse_event(&events[0], now()).unwrap_err(),
            "`tenant` must be a tenant id (a positive integer) or a subdomain."
        );
    }

    fn now() -> DateTime<Utc> {
        "2026-02-15T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn events_count_in_their_utc_day_and_month() {
        let e = |at: &str| {
            parse_event(
                &json!({"tenant": 7, "at": at, "queries": 1, "blocked": 0}).into(),
                now(),
            )
            .unwrap()
        };
        let last = e("2026-01-31T23:59:59Z");
        assert_eq!(last.month(), NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        let first = e("2026-02-01T00:00:00Z");
        assert_eq!(first.month(), NaiveDate::from_ymd_opt(2026, 2, 1).unwrap());
        // 23:30 at UTC-2 is 01:30 UTC the next day.
        let offset = e("2026-01-31T23:30:00-02:00");
        assert_eq!(offset.day(), NaiveDate::from_ymd_opt(2026, 2, 1).unwrap());
        assert_eq!(offset.month(), NaiveDate::from_ymd_opt(2026, 2, 1).unwrap());
    }

    #[test]
    fn each_bad_event_says_what_is_wrong() {
        let ok =
            json!({"tenant": "Acme", "at": "2026-02-01T00:00:00Z", "queries": 3.0, "blocked": 1});
        let parsed = parse_event(&ok.into(), now()).unwrap();
        assert_eq!(parsed.tenant, TenantRef::Subdomain("acme".into()));
        assert_eq!((parsed.queries, parsed.blocked), (3, 1));
        let cases = [
            (json!([1]), "JSON object"),
            (json!({"tenant": 1}), "Missing at, queries, blocked"),
            (
                json!({"tenant": 1, "at": "x", "queries": 1, "blocked": 0}),
                "RFC 3339",
            ),
            (
                json!({"tenant": 1, "at": "2026-02-01", "queries": 1, "blocked": 0}),
                "RFC 3339",
            ),
            (
                json!({"tenant": 0, "at": "2026-02-01T00:00:00Z", "queries": 1, "blocked": 0}),
                "tenant",
            ),
            (
                json!({"tenant": true, "at": "2026-02-01T00:00:00Z", "queries": 1, "blocked": 0}),
                "tenant",
            ),
            (
                json!({"tenant": 1, "at": "2026-02-01T00:00:00Z", "queries": -1, "blocked": 0}),
                "`queries` must not be negative",
            ),
            (
                json!({"tenant": 1, "at": "2026-02-01T00:00:00Z", "queries": 1, "blocked": 1.5}),
                "`blocked` must be a whole number",
            ),
            (
                json!({"tenant": 1, "at": "2026-02-01T00:00:00Z", "queries": 1_000_000_000_001_i64, "blocked": 0}),
                "at most",
            ),
            (
                json!({"tenant": 1, "at": "2026-03-01T00:00:00Z", "queries": 1, "blocked": 0}),
                "future",
            ),
            (
                json!({"tenant": 1, "at": "2026-02-01T00:00:00Z", "queries": 1, "blocked": 0, "x": 1}),
                "Unknown field `x`",
            ),
            (
                json!({"tenant": 1, "at": "2026-02-01T00:00:00Z", "queries": 1, "blocked": 2}),
                "`blocked` cannot exceed `queries`",
            ),
            (
                json!({"tenant": 1, "at": "0001-01-01T00:00:00Z", "queries": 1, "blocked": 0}),
                "before 2000-01-01",
            ),
            (
                json!({"tenant": 1, "at": "1999-12-31T23:59:59Z", "queries": 1, "blocked": 0}),
                "before 2000-01-01",
            ),
            (
                json!({"tenant": 1, "at": "9999-12-31T23:59:59Z", "queries": 1, "blocked": 0}),
                "future",
            ),
        ];
        // The window's edges are inside it; as many blocked as queries is fine.
        for at in ["2000-01-01T00:00:00Z", "2026-02-16T00:00:00Z"] {
            let e = json!({"tenant": 1, "at": at, "queries": 2, "blocked": 2});
            assert!(parse_event(&e.into(), now()).is_ok(), "{at}");
        }
        for (event, wanted) in cases {
            let error = parse_event(&event.clone().into(), now()).unwrap_err();
            assert!(error.contains(wanted), "{event}: {error}");
        }
    }

    #[test]
    fn integral_numbers_count_spaces_around_a_subdomain_do_not() {
        let event = |text: &str| {
            let sent: SentEvent = serde_json::from_str(text).unwrap();
            parse_event(&sent, now())
        };
        let at = r#""at": "2026-02-01T00:00:00Z""#;
        // Integral numbers in any JSON spelling, as elsewhere in the API.
        let ok = event(&format!(
            r#"{{"tenant": 3.0, {at}, "queries": 1e3, "blocked": 2.5e1}}"#
        ))
        .unwrap();
        assert_eq!(ok.tenant, TenantRef::Id(3));
        assert_eq!((ok.queries, ok.blocked), (1000, 25));
        // Subdomains match in any case, but exactly: no trimming.
        let upper = event(&format!(
            r#"{{"tenant": "Acme", {at}, "queries": 1, "blocked": 0}}"#
        ));
        assert_eq!(upper.unwrap().tenant, TenantRef::Subdomain("acme".into()));
        for spaced in [" acme ", "acme ", " acme", "\u{a0}acme"] {
            let error = event(&format!(
                r#"{{"tenant": "{spaced}", {at}, "queries": 1, "blocked": 0}}"#
            ))
            .unwrap_err();
            assert!(error.contains("spaces around it"), "{spaced:?}: {error}");
        }
        // Too large for a count, however it is written: "at most", not "whole"; as far
        // below zero: negative; a fraction or a string: not whole.
        let counts: [(&str, &[&str], &str); 3] = [
            (
                "queries",
                &[
                    "1000000000001",
                    "1e13",
                    "9223372036854775807",
                    "9223372036854775808",
                    "18446744073709551615",
                    "99999999999999999999",
                    "1e19",
                    "1.7e308",
                ],
                "`queries` must be at most 1000000000000.",
            ),
            (
                "blocked",
                &[
                    "-1",
                    "-1e3",
                    "-9223372036854775808",
                    "-99999999999999999999",
                    "-1e19",
                ],
                "`blocked` must not be negative.",
            ),
            (
                "queries",
                &["1.5", "1e-3", "\"7\"", "true"],
                "`queries` must be a whole number.",
            ),
        ];
        for (field, values, wanted) in counts {
            for value in values {
                let (queries, blocked) = if field == "queries" {
                    (*value, "0")
                } else {
                    ("5", *value)
                };
                let error = event(&format!(
                    r#"{{"tenant": 1, {at}, "queries": {queries}, "blocked": {blocked}}}"#
                ))
                .unwrap_err();
                assert_eq!(error, wanted, "{field} {value}");
            }
        }
        // A tenant id too large for any tenant: not an id.
        let error = event(&format!(
            r#"{{"tenant": 1e19, {at}, "queries": 1, "blocked": 0}}"#
        ))
        .unwrap_err();
        assert!(error.contains("positive integer"), "{error}");
    }

    #[test]
    fn a_field_given_twice_or_a_nul_in_the_tenant_is_that_events_error() {
        let read = |text: &str| serde_json::from_str::<Vec<SentEvent>>(text).unwrap();
        let events = read(
            r#"[{"tenant": 1, "tenant": 2, "at": "2026-02-01T00:00:00Z", "queries": 1, "blocked": 0},
                {"tenant": "a\u0000b", "at": "2026-02-01T00:00:00Z", "queries": 1, "blocked": 0},
                {"tenant": 1, "at": "2026-02-01T00:00:00Z", "queries": 1, "blocked": 0, "queries": 2},
                {"tenant": 1, "at": "2026-02-01T00:00:00Z", "queries": 1, "blocked": 0},
                {"\u0000": 1, "tenant": 1, "at": "2026-02-01T00:00:00Z", "queries": 1, "blocked": 0},
                [1], 7, null]"#,
        );
        let errors: Vec<String> = events
            .iter()
            .map(|e| parse_event(e, now()).err().unwrap_or_default())
            .collect();
        assert!(
            errors[0].contains("`tenant` is given twice"),
            "{}",
            errors[0]
        );
        assert!(errors[1].contains("control characters"), "{}", errors[1]);
        assert!(
            errors[2].contains("`queries` is given twice"),
            "{}",
            errors[2]
        );
        assert_eq!(errors[3], "");
        // A name echoed into the stored answer holds no NUL.
        assert!(errors[4].contains(r"Unknown field `\0`"), "{}", errors[4]);
        for e in &errors[5..] {
            assert!(e.contains("JSON object"), "{e}");
        }
        // The hash of the batch tells a repeated field from the value it kept.
        let kept =
            read(r#"[{"tenant": 2, "at": "2026-02-01T00:00:00Z", "queries": 1, "blocked": 0}]"#);
        assert_ne!(
            serde_json::to_vec(&events[..1]).unwrap(),
            serde_json::to_vec(&kept).unwrap()
        );
        // Without repeats an event hashes as its value did before.
        assert_eq!(
            serde_json::to_value(&events[3]).unwrap(),
            json!({"tenant": 1, "at": "2026-02-01T00:00:00Z", "queries": 1, "blocked": 0})
        );
    }

    #[test]
    fn quotas_are_whole_numbers_or_none() {
        assert_eq!(parse_quota(""), Ok(None));
        assert_eq!(parse_quota(" 1_000 "), Ok(Some(1000)));
        assert_eq!(parse_quota("0"), Ok(Some(0)));
        assert!(parse_quota("-5").unwrap_err().contains("negative"));
        assert!(parse_quota("lots").is_err());
        assert!(parse_quota("1.5").is_err());
        assert!(parse_quota("99999999999999999999")
            .unwrap_err()
            .starts_with("A quota is at most 9,223,372,036,854,775,807"));
        assert!(check_quota(-1).is_err());
    }

    #[test]
    fn batch_ids_are_visible_ascii() {
        assert!(parse_batch_id("resolver-1/2026-02-01T00:00").is_ok());
        for bad in ["", "a b", "é", &"x".repeat(256)] {
            assert!(parse_batch_id(bad).is_err(), "{bad:?}");
        }
    }
}
