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

/// The key of a refusal that belongs to no field (a limit reached): forms show it
/// in their general error area, above the fields.
pub const FORM_LEVEL: &str = "limit";

/// Which limit an instance is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    Storage,
    Memory,
    Instances,
}

impl Measure {
    /// The field of the instance form a refusal belongs to; the count's is no
    /// field's: [`FORM_LEVEL`], the form's general error.
    pub fn field(self) -> &'static str {
        match self {
            Measure::Storage => "storage_gb",
            Measure::Memory => "memory_gb",
            Measure::Instances => FORM_LEVEL,
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

/// What a move is told of one limit it would exceed: "Storage 1000 of 1220 GB used
/// in Acme; the move brings 420 GB more (1420 GB, over the limit)." `unit` is " GB"
/// or empty for a count; `place` names where the limit is set.
pub fn move_refusal(
    what: &str,
    unit: &str,
    used: i64,
    limit: i64,
    brings: i64,
    place: &str,
) -> String {
    let total = used.saturating_add(brings);
    format!(
        "{what} {used} of {limit}{unit} used in {place}; the move brings {brings}{unit} more \
         ({total}{unit}, over the limit)."
    )
}

/// One bar of a tenant's use against its limit (the tenant page, the dashboard).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageBar {
    pub label: &'static str,
    pub used: i64,
    pub limit: Option<i64>,
    /// "GB", or empty for a count.
    pub unit: &'static str,
    /// A limit set above the tenant that leaves less room than its own (or that
    /// binds where it has none): that one refuses growth first.
    pub above: Option<LimitAbove>,
}

/// A limit on a tenant above, with its whole subtree's use on one measure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitAbove {
    /// The tenant's name; `None` where the viewer may not see it.
    pub name: Option<String>,
    pub used: i64,
    pub limit: i64,
}

impl LimitAbove {
    /// "Acme", or "a limit above this tenant" for one the viewer may not see.
    pub fn place(&self) -> &str {
        self.name.as_deref().unwrap_or("a limit above this tenant")
    }
}

/// The limits of one tenant above (top-down), and its subtree's use, as
/// [`usage_bars`] takes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathLimits {
    pub name: Option<String>,
    pub used: (i64, i64, i64),
    pub limits: (Option<i64>, Option<i64>, Option<i64>),
}

impl UsageBar {
    /// The use and limit that bind: the one above when it leaves less room.
    fn binding(&self) -> (i64, Option<i64>) {
        match &self.above {
            Some(a) => (a.used, Some(a.limit)),
            None => (self.used, self.limit),
        }
    }

    /// The bar's fill, 0–100, against the binding limit (a full bar at or over it;
    /// none without one).
    pub fn percent(&self) -> i64 {
        match self.binding() {
            (used, Some(l)) if l > 0 => (used.saturating_mul(100) / l).clamp(0, 100),
            (_, Some(_)) => 100,
            (_, None) => 0,
        }
    }

    /// Above the binding limit (a limit lowered below the use: growth is refused).
    pub fn over(&self) -> bool {
        let (used, limit) = self.binding();
        limit.is_some_and(|l| used > l)
    }
}

/// Room left under a limit (none: unbounded).
fn room(used: i64, limit: Option<i64>) -> Option<i64> {
    limit.map(|l| l.saturating_sub(used))
}

/// The bars of a subtree's use (storage GB, memory GB, instances) against limits.
pub fn usage_bars(
    used: (i64, i64, i64),
    limits: (Option<i64>, Option<i64>, Option<i64>),
    above: &[PathLimits],
) -> Vec<UsageBar> {
    let pick = |t: (i64, i64, i64), m: usize| [t.0, t.1, t.2][m];
    let pick_limit = |t: (Option<i64>, Option<i64>, Option<i64>), m: usize| [t.0, t.1, t.2][m];
    let measures = [("Storage", "GB"), ("Memory", "GB"), ("Instances", "")];
    measures
        .iter()
        .enumerate()
        .map(|(m, (label, unit))| {
            let (own_used, own_limit) = (pick(used, m), pick_limit(limits, m));
            // The tightest limit above, if it leaves less room than the tenant's own.
            let mut best = room(own_used, own_limit);
            let mut binding = None;
            for a in above {
                let (u, l) = (pick(a.used, m), pick_limit(a.limits, m));
                if let Some(r) = room(u, l) {
                    if best.is_none_or(|b| r < b) {
                        best = Some(r);
                        binding = Some(LimitAbove {
                            name: a.name.clone(),
                            used: u,
                            limit: l.unwrap_or(0),
                        });
                    }
                }
            }
            UsageBar {
                label,
                used: own_used,
                limit: own_limit,
                unit,
                above: binding,
            }
        })
        .collect()
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
    fn a_move_refusal_names_the_limit_the_use_and_what_the_move_brings() {
        assert_eq!(
            move_refusal("Storage", " GB", 1000, 1220, 420, "Acme"),
            "Storage 1000 of 1220 GB used in Acme; the move brings 420 GB more (1420 GB, over \
             the limit)."
        );
        assert_eq!(
            move_refusal("Instances", "", 170, 172, 6, "Acme"),
            "Instances 170 of 172 used in Acme; the move brings 6 more (176, over the limit)."
        );
    }

    #[test]
    fn a_bar_shows_the_limit_above_that_binds_first() {
        let acme = PathLimits {
            name: Some("Acme".into()),
            used: (900, 0, 176),
            limits: (Some(1000), None, Some(172)),
        };
        let hidden = PathLimits {
            name: None,
            used: (10, 50, 0),
            limits: (None, Some(60), None),
        };
        let bars = usage_bars((40, 5, 4), (Some(500), None, None), &[hidden, acme]);
        // Storage: 460 left here, 100 left in Acme: Acme binds.
        let storage = bars[0].above.as_ref().expect("Acme binds storage");
        assert_eq!(
            (storage.place(), storage.used, storage.limit),
            ("Acme", 900, 1000)
        );
        assert_eq!(bars[0].percent(), 90);
        // Memory: no limit here, the hidden one above binds, unnamed.
        let memory = bars[1].above.as_ref().expect("a limit above binds memory");
        assert_eq!(memory.place(), "a limit above this tenant");
        // Instances: no limit here; Acme is above its limit.
        assert!(bars[2].over());
        assert_eq!(bars[2].above.as_ref().map(|a| a.used), Some(176));
        // The tenant's own limit, tighter than any above, binds itself.
        let bars = usage_bars(
            (990, 0, 0),
            (Some(1000), None, None),
            &[PathLimits {
                name: Some("Acme".into()),
                used: (900, 0, 0),
                limits: (Some(1000), None, None),
            }],
        );
        assert_eq!(bars[0].above, None);
    }

    #[test]
    fn bars_fill_up_to_the_limit() {
        let bars = usage_bars((480, 10, 3), (Some(500), None, Some(2)), &[]);
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
