//! The usage statistics pages' choices: the period (whole UTC months, `YYYY-MM`),
//! the sort, a row's position for keyset reading, and use of a quota in percent.

use crate::domain::text_enum::text_enum;
use crate::error::FieldErrors;
use base64::Engine;
use chrono::{Datelike, Months, NaiveDate};

/// Longest period one request may cover, in months.
pub const MAX_MONTHS: u32 = 36;

/// Months shown when the request names none: the last twelve, this one included.
pub const DEFAULT_MONTHS: u32 = 12;

/// A month, stored as its first day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month(NaiveDate);

impl Month {
    /// The month `day` lies in.
    pub fn of(day: NaiveDate) -> Self {
        Month(day.with_day(1).unwrap_or(day))
    }

    /// `YYYY-MM`, nothing else.
    pub fn parse(raw: &str) -> Option<Self> {
        let (y, m) = raw.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1).map(Month)
    }

    pub fn first_day(self) -> NaiveDate {
        self.0
    }

    /// `YYYY-MM`.
    pub fn text(self) -> String {
        self.0.format("%Y-%m").to_string()
    }

    /// Months from `self` to `later`, both counted (0 when `later` is earlier).
    pub fn span_to(self, later: Month) -> u32 {
        let months = |m: Month| i64::from(m.0.year()) * 12 + i64::from(m.0.month0());
        u32::try_from(months(later) - months(self) + 1).unwrap_or(0)
    }

    /// The month before this one.
    pub fn previous(self) -> Month {
        self.back(1)
    }

    fn back(self, n: u32) -> Month {
        Month(self.0.checked_sub_months(Months::new(n)).unwrap_or(self.0))
    }

    fn forward(self, n: u32) -> Month {
        Month(self.0.checked_add_months(Months::new(n)).unwrap_or(self.0))
    }
}

/// The months a request covers, `from` to `to`, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: Month,
    pub to: Month,
}

impl Period {
    /// The last [`DEFAULT_MONTHS`] months, ending with `today`'s.
    pub fn default_for(today: NaiveDate) -> Self {
        let to = Month::of(today);
        Period {
            from: to.back(DEFAULT_MONTHS - 1),
            to,
        }
    }

    /// The period as typed (empty fields take the default's ends: an empty `from`
    /// is twelve months before `to`), or the field errors: a month that is not
    /// `YYYY-MM`, `to` before `from`, more than [`MAX_MONTHS`] months.
    pub fn parse(from: &str, to: &str, today: NaiveDate) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        // No usage is stored before 2000-01 (ingestion's floor): year 0000 and the
        // like are typing mistakes, not a period to report.
        let earliest = Month(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(NaiveDate::MIN));
        let mut month = |field: &'static str, raw: &str| match raw.trim() {
            "" => None,
            raw => Month::parse(raw).filter(|m| *m >= earliest).or_else(|| {
                errors.insert(
                    field,
                    "Enter a month as YYYY-MM from 2000-01 on, e.g. 2026-01.".into(),
                );
                None
            }),
        };
        let (from_m, to_m) = (month("from", from), month("to", to));
        // No usage is counted for a month that has not begun: such a period is a
        // typing mistake (9999-12), not an empty report.
        let current = Month::of(today);
        for (field, m) in [("from", from_m), ("to", to_m)] {
            if m.is_some_and(|m| m > current) {
                errors.insert(
                    field,
                    format!(
                        "A month cannot be after the current month ({}).",
                        current.text()
                    ),
                );
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let period = match (from_m, to_m) {
            (None, None) => Period::default_for(today),
            (Some(from), None) => Period {
                from,
                to: Month::of(today)
                    .min(from.forward(DEFAULT_MONTHS - 1))
                    .max(from),
            },
            (None, Some(to)) => Period {
                from: to.back(DEFAULT_MONTHS - 1),
                to,
            },
            (Some(from), Some(to)) => Period { from, to },
        };
        if period.to < period.from {
            errors.insert("to", "The last month cannot come before the first.".into());
        } else if period.months() > MAX_MONTHS {
            errors.insert(
                "to",
                format!(
                    "A report covers at most {MAX_MONTHS} months; this one covers {}.",
                    period.months()
                ),
            );
        }
        if errors.is_empty() {
            Ok(period)
        } else {
            Err(errors)
        }
    }

    /// How many months it covers.
    pub fn months(&self) -> u32 {
        self.from.span_to(self.to)
    }

    /// Every month of it, in order.
    pub fn each(&self) -> Vec<Month> {
        (0..self.months()).map(|i| self.from.forward(i)).collect()
    }

    /// "January 2026 – December 2026", or the one month.
    pub fn title(&self) -> String {
        let name = |m: Month| m.0.format("%B %Y").to_string();
        if self.from == self.to {
            name(self.from)
        } else {
            format!("{} – {}", name(self.from), name(self.to))
        }
    }
}

/// What the rows are ordered by; the tenant id and month (or name) follow, so every
/// order is total.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StatsSort {
    #[default]
    Name,
    Subdomain,
    Queries,
    SubtreeQueries,
    Month,
}

impl StatsSort {
    pub const ALL: [StatsSort; 5] = [
        StatsSort::Name,
        StatsSort::Subdomain,
        StatsSort::Month,
        StatsSort::Queries,
        StatsSort::SubtreeQueries,
    ];

    /// Anything unknown sorts by name (the pages); the API refuses it first.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw.trim() {
            "" | "name" => StatsSort::Name,
            "subdomain" => StatsSort::Subdomain,
            "queries" => StatsSort::Queries,
            "subtree_queries" => StatsSort::SubtreeQueries,
            "month" => StatsSort::Month,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StatsSort::Name => "name",
            StatsSort::Subdomain => "subdomain",
            StatsSort::Queries => "queries",
            StatsSort::SubtreeQueries => "subtree_queries",
            StatsSort::Month => "month",
        }
    }
}

/// Where a keyset read goes on from: every sortable value of the last row read, so
/// that whatever the sort, the next read starts right after it (values as they
/// were read: a count that grows meanwhile moves no row twice into one export).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowCursor {
    pub tenant_id: i64,
    pub month: NaiveDate,
    pub queries: i64,
    pub subtree_queries: i64,
    pub subdomain: String,
    /// `lower(name)` as the database computed it.
    pub sort_name: String,
}

impl RowCursor {
    /// Opaque text for the API's `next_cursor`, bound to `listing` (the sort,
    /// direction and period it was read in: under another it would start at an
    /// unrelated point, so [`RowCursor::parse`] hands the listing back for the
    /// caller to compare, and to take the period from).
    pub fn to_text(&self, listing: &Listing) -> String {
        let value = serde_json::json!([
            self.tenant_id,
            self.month.to_string(),
            self.queries,
            self.subtree_queries,
            self.subdomain,
            self.sort_name,
            listing.key()
        ]);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    }

    /// A cursor [`RowCursor::to_text`] wrote, with the listing it is bound to; else
    /// `None`.
    pub fn parse(raw: &str) -> Option<(Self, Listing)> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw.trim())
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        let a = v.as_array().filter(|a| a.len() == 7)?;
        let listing = Listing::from_key(a[6].as_str()?)?;
        Some((
            RowCursor {
                tenant_id: a[0].as_i64()?,
                month: a[1].as_str()?.parse().ok()?,
                queries: a[2].as_i64()?,
                subtree_queries: a[3].as_i64()?,
                subdomain: a[4].as_str()?.to_string(),
                sort_name: a[5].as_str()?.to_string(),
            },
            listing,
        ))
    }
}

/// What a page of rows was read in, and so what its cursor pages on in: the tenant,
/// the order and the period (the months themselves, not "the default": a default
/// period moves on at a month change, and its next page must not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Listing {
    /// The tenant whose subtree is listed: another tenant's cursor would start at
    /// a position of a listing this one is not.
    pub tenant: i64,
    pub sort: StatsSort,
    pub descending: bool,
    pub period: Period,
}

impl Listing {
    /// `17 name asc 2025-03 2026-02`.
    fn key(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.tenant,
            self.sort.as_str(),
            self.dir(),
            self.period.from.text(),
            self.period.to.text()
        )
    }

    fn from_key(key: &str) -> Option<Self> {
        let mut words = key.split(' ');
        // Digits only: one listing, one key.
        let tenant = Some(words.next()?)
            .filter(|t| t.bytes().all(|b| b.is_ascii_digit()))?
            .parse()
            .ok()?;
        let sort = StatsSort::parse(words.next()?)?;
        let descending = match words.next()? {
            "asc" => false,
            "desc" => true,
            _ => return None,
        };
        let from = Month::parse(words.next()?)?;
        let to = Month::parse(words.next()?)?;
        (words.next().is_none() && from <= to).then_some(Listing {
            tenant,
            sort,
            descending,
            period: Period { from, to },
        })
    }

    /// `asc` or `desc`.
    pub fn dir(&self) -> &'static str {
        if self.descending {
            "desc"
        } else {
            "asc"
        }
    }
}

/// The largest percentage [`quota_percent`] gives: beyond it a number says nothing
/// more (10¹⁷ queries on a quota of 1 would be 10¹⁹ %, past `i64`), so the pages
/// show "over 1,000,000 %" and the API caps `quota_percent` here.
pub const QUOTA_PERCENT_CAP: i64 = 1_000_000;

/// How much of its quota a tenant's own queries used, in whole percent (rounded
/// down, so 79.9 % does not read as 80 %; at most [`QUOTA_PERCENT_CAP`]); `None`
/// without a quota. Any query against a quota of 0 is infinitely over it: the cap,
/// so that a billing client comparing with 100 finds it over (the pages say "over
/// the quota of 0" in words: [`quota_percent_text`]).
pub fn quota_percent(queries: i64, quota: Option<i64>) -> Option<i64> {
    match quota? {
        0 if queries <= 0 => Some(0),
        0 => Some(QUOTA_PERCENT_CAP),
        // i128: queries × 100 overflows i64 for large counts.
        q => Some(
            i64::try_from(
                (i128::from(queries) * 100 / i128::from(q)).min(QUOTA_PERCENT_CAP.into()),
            )
            .unwrap_or(QUOTA_PERCENT_CAP),
        ),
    }
}

/// [`quota_percent`] in words: "85 %", "over 1,000,000 %" at the cap, and "over
/// 100 %" for a use just past the quota that rounds down to 100 (which would
/// read as not over); `None` for use of a quota of 0, which no percentage says
/// (the pages and the alert say "over the quota").
pub fn quota_percent_text(queries: i64, quota: i64) -> Option<String> {
    if quota == 0 && queries > 0 {
        return None;
    }
    let pct = quota_percent(queries, Some(quota))?;
    Some(if pct >= QUOTA_PERCENT_CAP {
        format!("over {} %", grouped(QUOTA_PERCENT_CAP))
    } else if pct == 100 && queries > quota {
        "over 100 %".to_string()
    } else {
        format!("{} %", grouped(pct))
    })
}

/// A count as the pages show it: the one formatter, `domain::number::grouped`.
pub use super::number::grouped;

text_enum! {
    /// What a monthly usage report covers.
    pub enum ReportScope {
        /// One report: the tenant and its whole subtree.
        Subtree = "subtree",
        /// One report per direct child (each with its subtree).
        Children = "children",
    }
}

text_enum! {
    /// Why usage mail (a quota alert, a monthly report) cannot go to a user now;
    /// stored as a suspended report subscription's reason.
    pub enum UsageMailRefusal {
        /// They may no longer read the tenant's statistics (or log in).
        NoAccess = "no-access",
        /// Their account has no email address.
        NoEmail = "no-email",
        /// A monthly report only: they may still read the statistics but are no
        /// longer an Owner over the tenant, which subscribing takes.
        NotOwner = "not-owner",
    }
}

/// The last day of the month a report may be sent on: every month has it.
pub const LAST_REPORT_DAY: i16 = 28;

/// A monthly report subscription as asked for: the day of the month (UTC) and
/// the scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportRequest {
    pub day_of_month: i16,
    pub scope: ReportScope,
}

impl ReportRequest {
    /// The form's `day` and `scope`, or their field errors.
    pub fn parse(day: &str, scope: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let day = match day.trim().parse::<i16>() {
            Ok(d) if (1..=LAST_REPORT_DAY).contains(&d) => Some(d),
            _ => {
                errors.insert(
                    "day",
                    format!("Choose a day from 1 to {LAST_REPORT_DAY} (every month has those)."),
                );
                None
            }
        };
        let scope = match scope.trim().parse::<ReportScope>() {
            Ok(s) => Some(s),
            Err(_) => {
                errors.insert(
                    "scope",
                    "Choose one report for the whole subtree or one per direct sub-tenant.".into(),
                );
                None
            }
        };
        match (day, scope) {
            (Some(day_of_month), Some(scope)) if errors.is_empty() => Ok(ReportRequest {
                day_of_month,
                scope,
            }),
            _ => Err(errors),
        }
    }
}

/// How near its quota a row is: from 80 % a warning; at 100 % (the quota reached
/// exactly) and past it, the 100 % level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaLevel {
    Normal,
    /// 80 % or more, below the quota.
    Near,
    /// Exactly the quota: 100 %.
    Reached,
    /// More queries than the quota.
    Over,
}

/// The level of a quota use (`quota_percent`), judged on the exact counts, so
/// 79.99 % is not near and 99.99 % has not reached the quota. No queries reach
/// nothing, not even a quota of 0.
pub fn quota_level(queries: i64, quota: Option<i64>) -> QuotaLevel {
    match quota {
        Some(q) if queries > q => QuotaLevel::Over,
        Some(q) if q > 0 && queries == q => QuotaLevel::Reached,
        Some(q) if q > 0 && i128::from(queries) * 100 >= i128::from(q) * 80 => QuotaLevel::Near,
        _ => QuotaLevel::Normal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn m(s: &str) -> Month {
        Month::parse(s).unwrap()
    }

    #[test]
    fn report_requests_take_days_1_to_28_and_a_known_scope() {
        let r = ReportRequest::parse(" 28 ", "children").unwrap();
        assert_eq!((r.day_of_month, r.scope), (28, ReportScope::Children));
        assert_eq!(
            ReportRequest::parse("1", "subtree").unwrap().day_of_month,
            1
        );
        for bad in ["0", "29", "31", "-1", "", "x", "1.5", "99999999"] {
            let e = ReportRequest::parse(bad, "subtree").unwrap_err();
            assert!(e.contains_key("day"), "{bad}");
        }
        let e = ReportRequest::parse("5", "everything").unwrap_err();
        assert!(e.contains_key("scope") && !e.contains_key("day"));
    }

    #[test]
    fn months_are_year_dash_month() {
        assert_eq!(m("2026-01").first_day(), day("2026-01-01"));
        assert_eq!(m(" 2026-12 ").text(), "2026-12");
        for bad in [
            "2026-13",
            "2026-1",
            "26-01",
            "2026-01-01",
            "x",
            "2026_01",
            "+026-01",
        ] {
            assert!(Month::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_default_period_is_the_last_twelve_months() {
        let p = Period::parse("", "", day("2026-03-15")).unwrap();
        assert_eq!((p.from, p.to), (m("2025-04"), m("2026-03")));
        assert_eq!(p.months(), 12);
        assert_eq!(p.each().len(), 12);
        assert_eq!(p.each()[0], m("2025-04"));
        let only_to = Period::parse("", "2025-06", day("2026-03-15")).unwrap();
        assert_eq!(only_to.from, m("2024-07"));
        let only_from = Period::parse("2026-02", "", day("2026-03-15")).unwrap();
        assert_eq!((only_from.from, only_from.to), (m("2026-02"), m("2026-03")));
    }

    #[test]
    fn bad_reversed_or_too_long_periods_are_field_errors() {
        let today = day("2026-03-15");
        let e = Period::parse("2026-1", "soon", today).unwrap_err();
        assert!(e.contains_key("from") && e.contains_key("to"));
        for early in ["0000-01", "1999-12"] {
            let e = Period::parse(early, "2026-01", today).unwrap_err();
            assert!(e.contains_key("from"), "{early}");
            let e = Period::parse("", early, today).unwrap_err();
            assert!(e.contains_key("to"), "{early}");
        }
        assert!(Period::parse("2000-01", "2000-12", today).is_ok());
        let e = Period::parse("2026-03", "2026-01", today).unwrap_err();
        assert!(e["to"].contains("before"));
        let e = Period::parse("2020-01", "2026-01", today).unwrap_err();
        assert!(e["to"].contains("at most 36"));
        assert_eq!(
            Period::parse("2023-02", "2026-01", today).unwrap().months(),
            36
        );
        assert_eq!(
            Period::parse("2026-01", "2026-01", today).unwrap().months(),
            1
        );
    }

    #[test]
    fn quota_use_is_highlighted_from_80_and_past_100_percent() {
        assert_eq!(quota_percent(50, None), None);
        assert_eq!(quota_percent(799, Some(1000)), Some(79));
        assert_eq!(quota_level(799, Some(1000)), QuotaLevel::Normal);
        assert_eq!(quota_level(800, Some(1000)), QuotaLevel::Near);
        assert_eq!(quota_level(999, Some(1000)), QuotaLevel::Near);
        // Exactly the quota is the 100 % level, as the alert's threshold.
        assert_eq!(quota_level(1000, Some(1000)), QuotaLevel::Reached);
        // Just below on a quota where 80 % is not a whole number of queries.
        assert_eq!(quota_level(7, Some(9)), QuotaLevel::Normal);
        assert_eq!(quota_level(8, Some(9)), QuotaLevel::Near);
        assert_eq!(quota_level(9, Some(9)), QuotaLevel::Reached);
        assert_eq!(quota_level(1001, Some(1000)), QuotaLevel::Over);
        assert_eq!(quota_percent(1001, Some(1000)), Some(100));
        // A quota of 0: unused is 0 %, any use as far over as the cap says.
        assert_eq!(quota_percent(0, Some(0)), Some(0));
        assert_eq!(quota_percent(1, Some(0)), Some(QUOTA_PERCENT_CAP));
        assert_eq!(quota_percent(i64::MAX, Some(0)), Some(QUOTA_PERCENT_CAP));
        assert_eq!(quota_percent_text(0, 0).as_deref(), Some("0 %"));
        assert_eq!(quota_level(0, Some(0)), QuotaLevel::Normal);
        assert_eq!(quota_level(1, Some(0)), QuotaLevel::Over);
        assert_eq!(quota_level(5, None), QuotaLevel::Normal);
    }

    #[test]
    fn quota_percent_caps_instead_of_overflowing() {
        assert_eq!(quota_percent(i64::MAX, Some(1)), Some(QUOTA_PERCENT_CAP));
        assert_eq!(
            quota_percent(100_000_000_000_000_000, Some(1)),
            Some(QUOTA_PERCENT_CAP)
        );
        assert_eq!(quota_percent(9_999, Some(1)), Some(999_900));
        assert_eq!(
            quota_percent_text(100_000_000_000_000_000, 1).unwrap(),
            "over 1,000,000 %"
        );
        assert_eq!(quota_percent_text(1001, 1000).unwrap(), "over 100 %");
        assert_eq!(quota_percent_text(1000, 1000).unwrap(), "100 %");
        assert_eq!(quota_percent_text(2500, 1000).unwrap(), "250 %");
        assert_eq!(quota_percent_text(5, 0), None);
    }

    #[test]
    fn a_cursor_reads_back_as_written() {
        let c = RowCursor {
            tenant_id: 42,
            month: day("2026-01-01"),
            queries: 7,
            subtree_queries: 9,
            subdomain: "acme".into(),
            sort_name: "=hyperlink(\"x\") _ é".into(),
        };
        let listing = Listing {
            tenant: 17,
            sort: StatsSort::SubtreeQueries,
            descending: true,
            period: Period::parse("2025-03", "2026-02", day("2026-03-01")).unwrap(),
        };
        assert_eq!(
            RowCursor::parse(&c.to_text(&listing)),
            Some((c.clone(), listing))
        );
        assert_eq!(RowCursor::parse("nope"), None);
        // The listing's key reads back as written, and nothing else does.
        assert_eq!(
            Listing::from_key(&listing.key()),
            Some(listing),
            "{}",
            listing.key()
        );
        for bad in [
            "",
            "17 name asc 2025-03",
            "name asc 2025-03 2026-02",
            "+17 name asc 2025-03 2026-02",
            "17 name up 2025-03 2026-02",
            "17 bogus asc 2025-03 2026-02",
            "17 name asc 2026-02 2025-03",
            "17 name asc 2025-03 2026-02 x",
        ] {
            assert_eq!(Listing::from_key(bad), None, "{bad}");
        }
        assert_eq!(
            StatsSort::parse("subtree_queries"),
            Some(StatsSort::SubtreeQueries)
        );
        assert_eq!(StatsSort::parse("bogus"), None);
    }
}
