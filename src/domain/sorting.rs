//! How a tenant's resource lists are ordered (issue #14): by one of the list's
//! columns (`sort`) in a direction (`dir`), rows with the same value by id in the
//! same direction, so that every order is total: a page's last row says exactly
//! where the next page starts ([`After`]), and paging neither skips nor repeats a
//! row while the rows stay as they are.

use chrono::{DateTime, Utc};
use ipnet::IpNet;

/// What a sort key orders by, and so how a cursor writes its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// Text compared without case (names, identifiers).
    Name,
    /// Text as stored (a status, a provider).
    Word,
    /// A whole number (sizes in GB).
    Number,
    /// A point in time, in microseconds since 1970 (as the database keeps it).
    Time,
    /// An IP address or network, ordered as PostgreSQL orders `inet`.
    Network,
}

/// The columns one list may be sorted by.
pub trait SortKey: Copy + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// Every key, in the order the list's columns show them.
    const KEYS: &'static [Self];

    /// The key as `sort=` names it.
    fn name(self) -> &'static str;

    /// The column's header.
    fn label(self) -> &'static str;

    fn kind(self) -> ValueKind;

    /// The key `sort=` names, if the list has it.
    fn parse(raw: &str) -> Option<Self> {
        Self::KEYS.iter().copied().find(|k| k.name() == raw)
    }

    /// "“name”, “created”" for a message.
    fn listed() -> String {
        Self::KEYS
            .iter()
            .map(|k| format!("“{}”", k.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Declares a list's sort keys: `Variant = ("sort value", "Header", kind)`.
macro_rules! sort_keys {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = ($text:literal, $label:literal, $kind:ident),)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl SortKey for $name {
            const KEYS: &'static [Self] = &[$($name::$variant,)*];

            fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)*
                }
            }

            fn kind(self) -> ValueKind {
                match self {
                    $($name::$variant => ValueKind::$kind,)*
                }
            }
        }
    };
}

sort_keys! {
    /// The instances list's columns.
    pub enum InstanceSort {
        Name = ("name", "Name", Name),
        Storage = ("storage", "Storage", Number),
        Memory = ("memory", "Memory", Number),
        Status = ("status", "Status", Word),
        Created = ("created", "Created", Time),
    }
}

sort_keys! {
    /// The clouds list's columns.
    pub enum CloudSort {
        Name = ("name", "Name", Name),
        Provider = ("provider", "Provider", Word),
        Created = ("created", "Created", Time),
    }
}

sort_keys! {
    /// The resolvers list's columns.
    pub enum ResolverSort {
        Name = ("name", "Name", Name),
        Address = ("address", "Address", Network),
        Created = ("created", "Created", Time),
    }
}

sort_keys! {
    /// The devices list's columns.
    pub enum DeviceSort {
        Name = ("name", "Name", Name),
        Identifier = ("identifier", "Identifier", Name),
        Created = ("created", "Created", Time),
    }
}

sort_keys! {
    /// The subnets list's columns (a subnet has no name: its network is its name).
    pub enum SubnetSort {
        Cidr = ("cidr", "Network", Network),
        Created = ("created", "Created", Time),
    }
}

sort_keys! {
    /// A plan's tenants (`/plans/{id}`): by name, or by their quota use this month
    /// (queries against the quota in effect; tenants without a quota last).
    pub enum PlanTenantSort {
        Name = ("name", "Tenant", Name),
        QuotaUse = ("quota_use", "Quota use", Number),
    }
}

/// The direction of an order, as `dir=` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortDir {
    Asc,
    Desc,
}

impl SortDir {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "asc" => Some(SortDir::Asc),
            "desc" => Some(SortDir::Desc),
            _ => None,
        }
    }
}

/// The word `dir=` takes.
pub fn dir_name(descending: bool) -> &'static str {
    if descending {
        "desc"
    } else {
        "asc"
    }
}

/// A list's order: by `key` (`None`: by id, the API's order when none is asked
/// for), rows that tie by id, all ascending or all descending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order<K> {
    pub key: Option<K>,
    pub descending: bool,
}

impl<K: SortKey> Order<K> {
    /// By id, ascending.
    pub fn by_id() -> Self {
        Order {
            key: None,
            descending: false,
        }
    }

    /// By `key`, ascending.
    pub fn by(key: K) -> Self {
        Order {
            key: Some(key),
            descending: false,
        }
    }

    /// The key as a cursor names it (`id` for the order by id).
    pub fn key_name(&self) -> &'static str {
        self.key.map_or("id", SortKey::name)
    }

    pub fn dir(&self) -> &'static str {
        dir_name(self.descending)
    }

    /// "name desc", "id asc".
    pub fn describe(&self) -> String {
        format!("{} {}", self.key_name(), self.dir())
    }

    /// The order a cursor names (`key` its key's name or `id`, `dir` its
    /// direction), if this list has it.
    pub fn parse(key: &str, dir: &str) -> Option<Self> {
        let descending = SortDir::parse(dir)? == SortDir::Desc;
        let key = match key {
            "id" => None,
            k => Some(K::parse(k)?),
        };
        Some(Order { key, descending })
    }

    /// Whether `value` (a cursor's) is a value of this order's key.
    pub fn fits(&self, value: &str) -> bool {
        match self.key {
            None => value.is_empty(),
            Some(k) => fits(k.kind(), value),
        }
    }
}

/// Whether `text` is a value of `kind` as [`After`] carries it.
pub fn fits(kind: ValueKind, text: &str) -> bool {
    match kind {
        // A name never holds a control character (`TenantName`), nor could the
        // database compare one with a NUL.
        ValueKind::Name => !text.chars().any(char::is_control),
        ValueKind::Word => {
            !text.is_empty() && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        }
        ValueKind::Number => text.parse::<i32>().is_ok(),
        ValueKind::Time => text
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
            .is_some(),
        ValueKind::Network => text.parse::<IpNet>().is_ok(),
    }
}

/// Where a page starts: right after the row with `id` whose value of the order's
/// key is `value` (as [`ValueKind`] writes it; empty for the order by id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct After {
    pub id: i64,
    pub value: String,
}

impl After {
    /// After a row ordered by id.
    pub fn id(id: i64) -> Self {
        After {
            id,
            value: String::new(),
        }
    }

    /// After a row whose value of the key is `value`.
    pub fn at(id: i64, value: impl ToString) -> Self {
        After {
            id,
            value: value.to_string(),
        }
    }

    /// After a row created at `at`.
    pub fn created(id: i64, at: DateTime<Utc>) -> Self {
        Self::at(id, at.timestamp_micros())
    }

    /// The value as a number (a checked cursor's always is one where the key is).
    pub fn number(&self) -> i32 {
        self.value.parse().unwrap_or_default()
    }

    /// The value as a time.
    pub fn time(&self) -> DateTime<Utc> {
        self.value
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
            .unwrap_or_default()
    }

    /// The value as a network.
    pub fn network(&self) -> IpNet {
        self.value
            .parse()
            .unwrap_or_else(|_| IpNet::from(std::net::IpAddr::from([0, 0, 0, 0])))
    }

    /// The value as PostgreSQL reads it for `kind` (text it casts).
    pub fn sql_text(&self, kind: ValueKind) -> String {
        match kind {
            ValueKind::Time => self
                .time()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            _ => self.value.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_as_their_names_and_refuse_others() {
        for k in InstanceSort::KEYS {
            assert_eq!(InstanceSort::parse(k.name()), Some(*k));
            let json = serde_json::to_string(k.name()).unwrap();
            assert_eq!(serde_json::from_str::<InstanceSort>(&json).ok(), Some(*k));
        }
        assert_eq!(InstanceSort::parse("Name"), None);
        assert_eq!(SubnetSort::parse("name"), None);
        assert_eq!(CloudSort::listed(), "“name”, “provider”, “created”");
    }

    #[test]
    fn a_cursor_order_and_value_are_checked_against_the_list() {
        let o = Order::<InstanceSort>::parse("storage", "desc").unwrap();
        assert_eq!(o.describe(), "storage desc");
        assert!(o.fits("42") && !o.fits("4.2") && !o.fits("99999999999"));
        assert_eq!(
            Order::<InstanceSort>::parse("id", "asc"),
            Some(Order::by_id())
        );
        assert!(
            Order::<InstanceSort>::by_id().fits("") && !Order::<InstanceSort>::by_id().fits("1")
        );
        assert_eq!(Order::<InstanceSort>::parse("provider", "asc"), None);
        assert_eq!(Order::<InstanceSort>::parse("name", "up"), None);
        assert!(fits(ValueKind::Network, "10.0.0.0/24") && !fits(ValueKind::Network, "10.0.0"));
        assert!(fits(ValueKind::Time, "1767225600000000") && !fits(ValueKind::Time, "x"));
        assert!(fits(ValueKind::Name, "Ünï code") && !fits(ValueKind::Name, "a\u{0}b"));
        assert!(fits(ValueKind::Word, "running") && !fits(ValueKind::Word, "Run ning"));
    }

    #[test]
    fn times_keep_their_microseconds() {
        let at = DateTime::from_timestamp_micros(1_767_225_600_123_456).unwrap();
        let after = After::created(7, at);
        assert_eq!(after.time(), at);
        assert_eq!(
            after.sql_text(ValueKind::Time),
            "2026-01-01T00:00:00.123456Z"
        );
    }
}
