//! Tenant resources (issue #14): clouds, where they are shared, instances and the
//! limits an instance is checked against. Pure: the values and the limit rule.

use super::number::grouped;
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
    match raw.parse::<i64>() {
        Ok(n) => limit(Some(n)),
        // Digits too many for any number: over the most, not "no number".
        Err(_) if raw.bytes().all(|b| b.is_ascii_digit()) => Err(format!("At most {MAX_LIMIT}.")),
        Err(_) => Err("Enter a whole number, or leave it empty for no limit.".to_string()),
    }
}

/// The highest limit of any kind (a tenant's, a user's; storage and memory in GB,
/// instances and users as counts): [`MAX_SIZE_GB`] × 1,000.
pub const MAX_LIMIT: i64 = MAX_SIZE_GB * 1000;

/// A limit as a number: none, or 0 to [`MAX_LIMIT`].
pub fn limit(n: Option<i64>) -> Result<Option<i64>, String> {
    match n {
        Some(n) if n < 0 => Err("A limit cannot be negative.".into()),
        Some(n) if n > MAX_LIMIT => Err(format!("At most {MAX_LIMIT}.")),
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

/// What a limit counts: an instance is checked against the first three, a new user
/// against the last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    Storage,
    Memory,
    Instances,
    Users,
}

impl Measure {
    /// Every measure, in the order the usage bars show them.
    pub const ALL: [Measure; 4] = [
        Measure::Storage,
        Measure::Memory,
        Measure::Instances,
        Measure::Users,
    ];

    /// The field of the instance form a refusal belongs to; the counts' are no
    /// field's: [`FORM_LEVEL`], the form's general error.
    pub fn field(self) -> &'static str {
        match self {
            Measure::Storage => "storage_gb",
            Measure::Memory => "memory_gb",
            Measure::Instances | Measure::Users => FORM_LEVEL,
        }
    }

    /// What its usage bar is called.
    pub fn label(self) -> &'static str {
        match self {
            Measure::Storage => "Storage",
            Measure::Memory => "Memory",
            Measure::Instances => "Instances",
            Measure::Users => "Users",
        }
    }

    /// "GB", or empty for a count.
    pub fn unit(self) -> &'static str {
        match self {
            Measure::Storage | Measure::Memory => "GB",
            Measure::Instances | Measure::Users => "",
        }
    }
}

/// What a tenant's subtree (or a user) uses and may use, on one measure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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

/// "; limit: plan Basic" where the limit that refuses is a plan's (`origin`), else
/// nothing: the refusals' last clause.
pub fn plan_clause(origin: Option<&LimitOrigin>) -> String {
    match origin {
        Some(LimitOrigin::Plan(name)) => format!("; limit: plan {name}"),
        _ => String::new(),
    }
}

/// The refusal's message: "Storage 480 of 500 GB used; this instance needs 40 GB"
/// ("… needs 10 GB more" for an instance that grows, `resize`), with whose limit it
/// is when not the tenant's own, and the plan when it is a plan's (`origin`: "…;
/// limit: plan Basic.").
pub fn refusal(
    measure: Measure,
    budget: Budget,
    more: i64,
    holder: &LimitHolder,
    resize: bool,
    origin: Option<&LimitOrigin>,
) -> String {
    let (limit, used) = (grouped(budget.limit.unwrap_or(0)), grouped(budget.used));
    let used = match measure {
        Measure::Storage => format!("Storage {used} of {limit} GB used"),
        Measure::Memory => format!("Memory {used} of {limit} GB used"),
        Measure::Instances => format!("Instances: {used} of {limit} used"),
        Measure::Users => format!("Users: {used} of {limit} used"),
    };
    let whose = match holder {
        LimitHolder::Tenant => String::new(),
        LimitHolder::Ancestor(Some(name)) => format!(" (the limit of {name}, above this tenant)"),
        LimitHolder::Ancestor(None) => " (a limit above this tenant)".to_string(),
        LimitHolder::Owner(name) => format!(" by {name} (the owner's limit)"),
    };
    let more = grouped(more);
    let need = match measure {
        Measure::Storage | Measure::Memory if resize => {
            format!("this instance needs {more} GB more")
        }
        Measure::Storage | Measure::Memory => format!("this instance needs {more} GB"),
        Measure::Instances => "no more instances fit".to_string(),
        Measure::Users => "no more users fit".to_string(),
    };
    format!("{used}{whose}; {need}{}.", plan_clause(origin))
}

/// An amount of `measure` as a sentence says it: "500 GB", "12 instances".
fn amount_of(measure: Measure, n: i64) -> String {
    let s = if n == 1 { "" } else { "s" };
    let g = grouped(n);
    match measure {
        Measure::Storage | Measure::Memory => format!("{g} GB"),
        Measure::Instances => format!("{g} instance{s}"),
        Measure::Users => format!("{g} user{s}"),
    }
}

/// What a limit set below use is told (saved all the same; only growth is
/// refused): "Storage 500 GB in use is above the new limit of 100 GB: growth is
/// refused until it is below."
pub fn below_use_warning(measure: Measure, used: i64, limit: i64) -> String {
    format!(
        "{} {} in use is above the new limit of {}: growth is refused until it is below.",
        measure.label(),
        amount_of(measure, used),
        amount_of(measure, limit)
    )
}

/// What a limit set above one that covers it (an ancestor's, by `holder`) is
/// told: "Storage limit 5000 GB is above the 3000 GB of Acme: the limit of Acme
/// still applies." (No possessive of a tenant's name.)
pub fn above_parent_note(measure: Measure, limit: i64, above: i64, holder: &LimitHolder) -> String {
    let (whose, still) = match holder {
        LimitHolder::Ancestor(Some(name)) => {
            (format!(" of {name}"), format!("the limit of {name}"))
        }
        _ => (
            " set for a tenant above it".to_string(),
            "that limit".to_string(),
        ),
    };
    format!(
        "{} limit {} is above the {}{whose}: {still} still applies.",
        measure.label(),
        amount_of(measure, limit),
        amount_of(measure, above)
    )
}

/// What a move is told of one limit it would exceed: "Storage 1000 of 1220 GB used
/// in Acme; the move brings 420 GB more (1420 GB, over the limit)." `unit` is " GB"
/// or empty for a count; `place` names where the limit is set; `origin`, where the
/// limit is a plan's, adds "; limit: plan Basic".
pub fn move_refusal(
    what: &str,
    unit: &str,
    (used, limit): (i64, i64),
    brings: i64,
    place: &str,
    origin: Option<&LimitOrigin>,
) -> String {
    let total = grouped(used.saturating_add(brings));
    let (used, limit, brings) = (grouped(used), grouped(limit), grouped(brings));
    format!(
        "{what} {used} of {limit}{unit} used in {place}; the move brings {brings}{unit} more \
         ({total}{unit}, over the limit){}.",
        plan_clause(origin)
    )
}

/// Where a tenant's effective limit on one measure comes from: its own, or the plan
/// it is on or follows (the lower of the two binds: `db::models::plan::effective_limit!`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitOrigin {
    Own,
    /// The plan's name.
    Plan(String),
}

impl LimitOrigin {
    /// The effective limit's origin, given the tenant's own limit and its plan's
    /// name: its own where that is the effective one (the lower, or the only one).
    pub fn of(own: Option<i64>, effective: Option<i64>, plan: Option<&str>) -> Option<Self> {
        match (own, effective) {
            (_, None) => None,
            (Some(o), Some(e)) if o == e => Some(LimitOrigin::Own),
            (_, Some(_)) => Some(LimitOrigin::Plan(plan.unwrap_or_default().to_string())),
        }
    }

    /// "own", or "plan Basic".
    pub fn describe(&self) -> String {
        match self {
            LimitOrigin::Own => "own".to_string(),
            LimitOrigin::Plan(name) => format!("plan {name}"),
        }
    }
}

/// One bar of a tenant's use against its limit (the tenant page, the dashboard).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageBar {
    pub measure: Measure,
    pub label: &'static str,
    pub used: i64,
    /// The tenant's effective limit (the lower of its own and its plan's).
    pub limit: Option<i64>,
    /// Where that limit comes from.
    pub origin: Option<LimitOrigin>,
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
    /// The tenant's id, where the viewer may see it.
    pub tenant_id: Option<i64>,
    pub used: i64,
    pub limit: i64,
    /// Where that tenant's limit comes from.
    pub origin: Option<LimitOrigin>,
}

impl LimitAbove {
    /// "Acme", or "a limit above this tenant" for one the viewer may not see.
    pub fn place(&self) -> &str {
        self.name.as_deref().unwrap_or("a limit above this tenant")
    }
}

/// One tenant on a path (the tenant itself, or one above it) as the limit check
/// reads it: per measure ([`Measure::ALL`]' order) its subtree's use, its effective
/// limit and where that comes from. [`usage_bars`] takes these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathLimits {
    /// The tenant's name; `None` where the viewer may not see it.
    pub name: Option<String>,
    /// The tenant's id, where the viewer may see it.
    pub tenant_id: Option<i64>,
    pub budgets: [Budget; 4],
    pub origins: [Option<LimitOrigin>; 4],
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

    /// Where the binding limit comes from: "own", "plan Basic", "Acme subtree"
    /// ("Acme subtree, plan Reseller" where Acme's is its plan's), "a tenant above"
    /// (one the viewer may not see); `None` without a limit.
    pub fn source(&self) -> Option<String> {
        match &self.above {
            Some(LimitAbove {
                name: Some(name),
                origin,
                ..
            }) => Some(match origin {
                Some(LimitOrigin::Plan(plan)) => format!("{name} subtree, plan {plan}"),
                _ => format!("{name} subtree"),
            }),
            Some(LimitAbove { name: None, .. }) => Some("a tenant above".to_string()),
            None => self.origin.as_ref().map(LimitOrigin::describe),
        }
    }
}

/// Room left under a limit (none: unbounded).
fn room(b: Budget) -> Option<i64> {
    b.limit.map(|l| l.saturating_sub(b.used))
}

/// The bars of a tenant's subtree (`own`) against its limits and those of the
/// tenants above it (`above`, top-down), one per measure: the tenant's effective
/// limit, and the limit above that leaves less room, if one does (growth by more
/// than the least room is refused by that limit: the same budgets the check reads).
pub fn usage_bars(own: &PathLimits, above: &[PathLimits]) -> Vec<UsageBar> {
    Measure::ALL
        .iter()
        .enumerate()
        .map(|(m, &measure)| {
            let budget = own.budgets[m];
            // The tightest limit above, if it leaves less room than the tenant's own.
            let mut best = room(budget);
            let mut binding = None;
            for a in above {
                let b = a.budgets[m];
                if let Some(r) = room(b) {
                    if best.is_none_or(|least| r < least) {
                        best = Some(r);
                        binding = Some(LimitAbove {
                            name: a.name.clone(),
                            tenant_id: a.tenant_id,
                            used: b.used,
                            limit: b.limit.unwrap_or(0),
                            origin: a.origins[m].clone(),
                        });
                    }
                }
            }
            UsageBar {
                measure,
                label: measure.label(),
                used: budget.used,
                limit: budget.limit,
                origin: own.origins[m].clone(),
                unit: measure.unit(),
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
        assert_eq!(
            parse_limit("99999999999999999999"),
            Err(format!("At most {MAX_LIMIT}."))
        );
    }

    #[test]
    fn a_move_refusal_names_the_limit_the_use_and_what_the_move_brings() {
        assert_eq!(
            move_refusal("Storage", " GB", (1000, 1220), 420, "Acme", None),
            "Storage 1,000 of 1,220 GB used in Acme; the move brings 420 GB more (1,420 GB, \
             over the limit)."
        );
        assert_eq!(
            move_refusal(
                "Instances",
                "",
                (170, 172),
                6,
                "Acme",
                Some(&LimitOrigin::Plan("Basic".into()))
            ),
            "Instances 170 of 172 used in Acme; the move brings 6 more (176, over the limit); \
             limit: plan Basic."
        );
        // An instance refusal names the plan whose limit it is, not its own.
        let budget = Budget {
            used: 480,
            limit: Some(500),
        };
        assert_eq!(
            refusal(
                Measure::Storage,
                budget,
                40,
                &LimitHolder::Tenant,
                false,
                Some(&LimitOrigin::Plan("Basic".into()))
            ),
            "Storage 480 of 500 GB used; this instance needs 40 GB; limit: plan Basic."
        );
        assert_eq!(
            refusal(
                Measure::Instances,
                budget,
                1,
                &LimitHolder::Tenant,
                false,
                Some(&LimitOrigin::Own)
            ),
            "Instances: 480 of 500 used; no more instances fit."
        );
    }

    /// A path row with these uses and limits (storage, memory, instances; no user
    /// limit), each limit its own.
    fn row(name: Option<&str>, used: [i64; 3], limits: [Option<i64>; 3]) -> PathLimits {
        let budget = |m: usize| match m {
            3 => Budget {
                used: 0,
                limit: None,
            },
            m => Budget {
                used: used[m],
                limit: limits[m],
            },
        };
        PathLimits {
            name: name.map(Into::into),
            tenant_id: None,
            budgets: [budget(0), budget(1), budget(2), budget(3)],
            origins: [0, 1, 2, 3].map(|m| budget(m).limit.map(|_| LimitOrigin::Own)),
        }
    }

    #[test]
    fn a_bar_shows_the_limit_above_that_binds_first() {
        let acme = row(Some("Acme"), [900, 0, 176], [Some(1000), None, Some(172)]);
        let hidden = row(None, [10, 50, 0], [None, Some(60), None]);
        let own = row(None, [40, 5, 4], [Some(500), None, None]);
        let bars = usage_bars(&own, &[hidden, acme]);
        // Storage: 460 left here, 100 left in Acme: Acme binds.
        let storage = bars[0].above.as_ref().expect("Acme binds storage");
        assert_eq!(
            (storage.place(), storage.used, storage.limit),
            ("Acme", 900, 1000)
        );
        assert_eq!(bars[0].percent(), 90);
        assert_eq!(bars[0].source().as_deref(), Some("Acme subtree"));
        // Memory: no limit here, the hidden one above binds, unnamed.
        let memory = bars[1].above.as_ref().expect("a limit above binds memory");
        assert_eq!(memory.place(), "a limit above this tenant");
        assert_eq!(bars[1].source().as_deref(), Some("a tenant above"));
        // Instances: no limit here; Acme is above its limit.
        assert!(bars[2].over());
        assert_eq!(bars[2].above.as_ref().map(|a| a.used), Some(176));
        // Users: no limit anywhere.
        assert_eq!((bars[3].label, bars[3].source()), ("Users", None));
        // The tenant's own limit, tighter than any above, binds itself.
        let bars = usage_bars(
            &row(None, [990, 0, 0], [Some(1000), None, None]),
            &[row(Some("Acme"), [900, 0, 0], [Some(1000), None, None])],
        );
        assert_eq!(bars[0].above, None);
        assert_eq!(bars[0].source().as_deref(), Some("own"));
    }

    #[test]
    fn a_bar_says_where_its_limit_comes_from() {
        // The effective limit is the lower one: own where that is it, else the plan's.
        assert_eq!(
            LimitOrigin::of(Some(100), Some(100), Some("Basic")),
            Some(LimitOrigin::Own)
        );
        assert_eq!(
            LimitOrigin::of(None, Some(500), Some("Basic")),
            Some(LimitOrigin::Plan("Basic".into()))
        );
        assert_eq!(
            LimitOrigin::of(Some(900), Some(500), Some("Basic")),
            Some(LimitOrigin::Plan("Basic".into()))
        );
        assert_eq!(LimitOrigin::of(None, None, Some("Basic")), None);
        // A limit of the tenant's plan alone: "N of M", from the plan.
        let mut own = row(None, [40, 0, 0], [None, None, None]);
        own.budgets[0].limit = Some(500);
        own.origins[0] = Some(LimitOrigin::Plan("Basic".into()));
        let bars = usage_bars(&own, &[]);
        assert_eq!((bars[0].used, bars[0].limit), (40, Some(500)));
        assert_eq!(bars[0].source().as_deref(), Some("plan Basic"));
        assert_eq!(bars[0].percent(), 8);
        // One above from its plan names both.
        let mut acme = row(Some("Acme"), [450, 0, 0], [None, None, None]);
        acme.budgets[0].limit = Some(460);
        acme.origins[0] = Some(LimitOrigin::Plan("Reseller".into()));
        let bars = usage_bars(&own, &[acme]);
        assert_eq!(
            bars[0].source().as_deref(),
            Some("Acme subtree, plan Reseller")
        );
    }

    #[test]
    fn bars_fill_up_to_the_limit() {
        let bars = usage_bars(&row(None, [480, 10, 3], [Some(500), None, Some(2)]), &[]);
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
            refusal(Measure::Storage, b, 40, &LimitHolder::Tenant, false, None),
            "Storage 480 of 500 GB used; this instance needs 40 GB."
        );
        assert_eq!(
            refusal(Measure::Storage, b, 10, &LimitHolder::Tenant, true, None),
            "Storage 480 of 500 GB used; this instance needs 10 GB more."
        );
        assert_eq!(
            refusal(
                Measure::Memory,
                b,
                40,
                &LimitHolder::Ancestor(None),
                false,
                None
            ),
            "Memory 480 of 500 GB used (a limit above this tenant); this instance needs 40 GB."
        );
        assert!(refusal(
            Measure::Storage,
            b,
            40,
            &LimitHolder::Ancestor(Some("Acme".into())),
            false,
            None
        )
        .contains("the limit of Acme"));
    }
}
