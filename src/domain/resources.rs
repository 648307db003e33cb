//! Tenant resources (issue #14): clouds, where they are shared, instances and the
//! limits an instance is checked against. Pure: the values and the limit rule.

use super::text_enum::text_enum;

text_enum! {
    /// Who runs a cloud.
    #[derive(serde::Deserialize, utoipa::ToSchema, Hash)]
    #[serde(rename_all = "snake_case")]
    pub enum CloudProvider {
        Aws = "aws",
        Azure = "azure",
        Gcp = "gcp",
        Vmware = "vmware",
        Openstack = "openstack",
        Other = "other",
    }
}

impl CloudProvider {
    /// What the form and the list call it.
    pub fn label(self) -> &'static str {
        match self {
            CloudProvider::Aws => "AWS",
            CloudProvider::Azure => "Azure",
            CloudProvider::Gcp => "Google Cloud",
            CloudProvider::Vmware => "VMware",
            CloudProvider::Openstack => "OpenStack",
            CloudProvider::Other => "Other",
        }
    }
}

text_enum! {
    /// Who sees a cloud besides its tenant: nobody (`private`), every tenant below it
    /// (`public`), or the tenants below it that it lists (`assigned`).
    #[derive(serde::Deserialize, utoipa::ToSchema, Hash)]
    #[serde(rename_all = "snake_case")]
    pub enum CloudVisibility {
        Private = "private",
        Public = "public",
        Assigned = "assigned",
    }
}

impl CloudVisibility {
    pub fn label(self) -> &'static str {
        match self {
            CloudVisibility::Private => "Private (this tenant only)",
            CloudVisibility::Public => "Public (every tenant below)",
            CloudVisibility::Assigned => "Assigned (the tenants listed)",
        }
    }

    /// Does this visibility share the cloud with other tenants?
    pub fn shares(self) -> bool {
        self != CloudVisibility::Private
    }
}

text_enum! {
    /// Whether an instance runs.
    #[derive(serde::Deserialize, utoipa::ToSchema, Hash)]
    #[serde(rename_all = "snake_case")]
    pub enum InstanceStatus {
        Running = "running",
        Stopped = "stopped",
    }
}

/// The longest cloud or instance name.
pub const MAX_NAME: usize = 100;

/// The largest size (GB) one instance may ask for; larger values are refused as
/// input rather than overflowing a sum.
pub const MAX_SIZE_GB: i64 = 1_000_000_000;

/// A size in GB from a form or the API: a whole number from 0 to [`MAX_SIZE_GB`].
pub fn parse_size(raw: &str) -> Result<i32, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("Enter a size in GB (0 or more).".into());
    }
    match raw.parse::<i64>() {
        Ok(n) => size(n),
        Err(_) if raw.starts_with('-') && raw[1..].chars().all(|c| c.is_ascii_digit()) => {
            Err(NEGATIVE.into())
        }
        Err(_) => Err("Enter a whole number of GB.".into()),
    }
}

const NEGATIVE: &str = "A size cannot be negative.";

/// A size in GB as a number: 0 to [`MAX_SIZE_GB`], within an `i32` column.
pub fn size(n: i64) -> Result<i32, String> {
    if n < 0 {
        return Err(NEGATIVE.into());
    }
    i32::try_from(n)
        .ok()
        .filter(|n| i64::from(*n) <= MAX_SIZE_GB)
        .ok_or_else(|| format!("At most {MAX_SIZE_GB} GB."))
}

/// A tenant limit from a form or the API: empty is none, else a whole number ≥ 0.
pub fn parse_limit(raw: &str) -> Result<Option<i64>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<i64>()
        .map_err(|_| "Enter a whole number, or leave it empty for no limit.".to_string())
        .and_then(|n| limit(Some(n)))
}

/// A limit as a number: none, or 0 to [`MAX_SIZE_GB`] × 1,000.
pub fn limit(n: Option<i64>) -> Result<Option<i64>, String> {
    match n {
        Some(n) if n < 0 => Err("A limit cannot be negative.".into()),
        Some(n) if n > MAX_SIZE_GB * 1000 => Err(format!("At most {}.", MAX_SIZE_GB * 1000)),
        n => Ok(n),
    }
}

/// A change of a tenant's limits: each `None` keeps the current one, `Some(None)`
/// removes it, `Some(Some(n))` sets it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitChange {
    pub storage_limit_gb: Option<Option<i64>>,
    pub memory_limit_gb: Option<Option<i64>>,
    pub max_instances: Option<Option<i64>>,
}

impl LimitChange {
    /// The limit fields, in order.
    pub const FIELDS: [&'static str; 3] = ["storage_limit_gb", "memory_limit_gb", "max_instances"];

    /// Does it change anything?
    pub fn is_empty(&self) -> bool {
        self.storage_limit_gb.is_none()
            && self.memory_limit_gb.is_none()
            && self.max_instances.is_none()
    }

    /// Sets the limit named `field` (one of [`Self::FIELDS`]).
    pub fn set(&mut self, field: &str, value: Option<i64>) {
        match field {
            "storage_limit_gb" => self.storage_limit_gb = Some(value),
            "memory_limit_gb" => self.memory_limit_gb = Some(value),
            _ => self.max_instances = Some(value),
        }
    }
}

/// Which limit an instance is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    Storage,
    Memory,
    Instances,
}

impl Measure {
    /// The field of the instance form a refusal belongs to.
    pub fn field(self) -> &'static str {
        match self {
            Measure::Storage => "storage_gb",
            Measure::Memory => "memory_gb",
            Measure::Instances => "name",
        }
    }
}

/// What a tenant's subtree (or a user) uses and may use, on one measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub used: i64,
    pub limit: Option<i64>,
}

impl Budget {
    /// Does adding `more` stay within the limit? Equal to the limit is within.
    pub fn allows(self, more: i64) -> bool {
        more <= 0
            || self
                .limit
                .is_none_or(|l| self.used.saturating_add(more) <= l)
    }
}

/// Whose limit refused: the tenant's own, an ancestor's (named when the actor sees
/// it), or the owner's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitHolder {
    Tenant,
    Ancestor(Option<String>),
    Owner(String),
}

/// The refusal's message: "Storage 480 of 500 GB used; this instance needs 40 GB",
/// with whose limit it is when not the tenant's own.
pub fn refusal(measure: Measure, budget: Budget, more: i64, holder: &LimitHolder) -> String {
    let limit = budget.limit.unwrap_or(0);
    let used = match measure {
        Measure::Storage => format!("Storage {} of {limit} GB used", budget.used),
        Measure::Memory => format!("Memory {} of {limit} GB used", budget.used),
        Measure::Instances => format!("Instances: {} of {limit} used", budget.used),
    };
    let whose = match holder {
        LimitHolder::Tenant => String::new(),
        LimitHolder::Ancestor(Some(name)) => format!(" (the limit of {name}, above this tenant)"),
        LimitHolder::Ancestor(None) => " (a limit above this tenant)".to_string(),
        LimitHolder::Owner(name) => format!(" by {name} (the owner's limit)"),
    };
    let need = match measure {
        Measure::Storage | Measure::Memory => format!("this instance needs {more} GB"),
        Measure::Instances => "no more instances fit".to_string(),
    };
    format!("{used}{whose}; {need}.")
}

/// One bar of a tenant's use against its limit (the tenant page, the dashboard).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageBar {
    pub label: &'static str,
    pub used: i64,
    pub limit: Option<i64>,
    /// "GB", or empty for a count.
    pub unit: &'static str,
}

impl UsageBar {
    /// The bar's fill, 0–100 (a full bar at or over the limit; none without one).
    pub fn percent(&self) -> i64 {
        match self.limit {
            Some(l) if l > 0 => (self.used.saturating_mul(100) / l).clamp(0, 100),
            Some(_) => 100,
            None => 0,
        }
    }

    /// Above its limit (a limit lowered below the use: growth is refused).
    pub fn over(&self) -> bool {
        self.limit.is_some_and(|l| self.used > l)
    }
}

/// The bars of a subtree's use (storage GB, memory GB, instances) against limits.
pub fn usage_bars(
    used: (i64, i64, i64),
    limits: (Option<i64>, Option<i64>, Option<i64>),
) -> Vec<UsageBar> {
    vec![
        UsageBar {
            label: "Storage",
            used: used.0,
            limit: limits.0,
            unit: "GB",
        },
        UsageBar {
            label: "Memory",
            used: used.1,
            limit: limits.1,
            unit: "GB",
        },
        UsageBar {
            label: "Instances",
            used: used.2,
            limit: limits.2,
            unit: "",
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_itself_is_allowed_and_one_more_is_not() {
        let b = Budget {
            used: 460,
            limit: Some(500),
        };
        assert!(b.allows(40));
        assert!(!b.allows(41));
        assert!(b.allows(0));
        assert!(Budget {
            used: 10,
            limit: None
        }
        .allows(i64::MAX));
        // Shrinking is always allowed, even above the limit.
        assert!(Budget {
            used: 600,
            limit: Some(500)
        }
        .allows(-10));
    }

    #[test]
    fn sizes_and_limits_are_whole_non_negative_numbers() {
        assert_eq!(parse_size("40"), Ok(40));
        assert_eq!(parse_size(" 0 "), Ok(0));
        assert_eq!(parse_size("-1"), Err(NEGATIVE.to_string()));
        assert!(parse_size("1.5").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999").is_err());
        assert_eq!(parse_limit(""), Ok(None));
        assert_eq!(parse_limit("500"), Ok(Some(500)));
        assert!(parse_limit("-5").is_err());
        assert!(parse_limit("x").is_err());
    }

    #[test]
    fn bars_fill_up_to_the_limit() {
        let bars = usage_bars((480, 10, 3), (Some(500), None, Some(2)));
        assert_eq!(bars[0].percent(), 96);
        assert!(!bars[0].over());
        assert_eq!(bars[1].percent(), 0);
        assert_eq!(bars[2].percent(), 100);
        assert!(bars[2].over());
    }

    #[test]
    fn a_refusal_names_the_limit_and_the_use() {
        let b = Budget {
            used: 480,
            limit: Some(500),
        };
        assert_eq!(
            refusal(Measure::Storage, b, 40, &LimitHolder::Tenant),
            "Storage 480 of 500 GB used; this instance needs 40 GB."
        );
        assert_eq!(
            refusal(Measure::Memory, b, 40, &LimitHolder::Ancestor(None)),
            "Memory 480 of 500 GB used (a limit above this tenant); this instance needs 40 GB."
        );
        assert!(refusal(
            Measure::Storage,
            b,
            40,
            &LimitHolder::Ancestor(Some("Acme".into()))
        )
        .contains("the limit of Acme"));
    }
}
