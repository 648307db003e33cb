//! Plans (issue #16): what the tenants on a plan get — limits (each empty for
//! unlimited) and options. A tenant's own limits may only be lower than (or equal
//! to) its plan's; its effective limit is the lower of the two (its own where set). A
//! tenant without a plan has every option and only its own limits.

use crate::domain::resources::LimitOrigin;
use crate::domain::TenantName;
use crate::error::FieldErrors;

/// What a plan may include beyond its limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlanOption {
    /// Branding of its own (`/tenants/{id}/branding`).
    CustomBranding,
    /// A custom domain (the tenant's `custom_domain` claim, its check and approval).
    CustomDomain,
    /// Sub-tenants: the tenant's "may have sub-tenants" switch and creating under it.
    SubTenants,
    /// The API: tokens for the users homed in the tenant, and their calls.
    ApiAccess,
}

impl PlanOption {
    pub const ALL: [PlanOption; 4] = [
        PlanOption::CustomBranding,
        PlanOption::CustomDomain,
        PlanOption::SubTenants,
        PlanOption::ApiAccess,
    ];

    /// Its form field and JSON attribute.
    pub fn field(self) -> &'static str {
        match self {
            PlanOption::CustomBranding => "custom_branding",
            PlanOption::CustomDomain => "custom_domain",
            PlanOption::SubTenants => "sub_tenants",
            PlanOption::ApiAccess => "api_access",
        }
    }

    /// Its label on the plan form.
    pub fn label(self) -> &'static str {
        match self {
            PlanOption::CustomBranding => "Custom branding",
            PlanOption::CustomDomain => "Custom domain",
            PlanOption::SubTenants => "Sub-tenants",
            PlanOption::ApiAccess => "API access",
        }
    }
}

/// The options a plan includes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PlanOptions {
    pub custom_branding: bool,
    pub custom_domain: bool,
    pub sub_tenants: bool,
    pub api_access: bool,
}

impl PlanOptions {
    pub fn includes(&self, option: PlanOption) -> bool {
        match option {
            PlanOption::CustomBranding => self.custom_branding,
            PlanOption::CustomDomain => self.custom_domain,
            PlanOption::SubTenants => self.sub_tenants,
            PlanOption::ApiAccess => self.api_access,
        }
    }

    pub fn set(&mut self, option: PlanOption, on: bool) {
        match option {
            PlanOption::CustomBranding => self.custom_branding = on,
            PlanOption::CustomDomain => self.custom_domain = on,
            PlanOption::SubTenants => self.sub_tenants = on,
            PlanOption::ApiAccess => self.api_access = on,
        }
    }
}

/// Limits, each `None` for unlimited: a plan's, or a tenant's own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PlanLimits {
    pub monthly_query_quota: Option<i64>,
    pub max_users: Option<i32>,
    pub max_instances: Option<i64>,
    pub storage_limit_gb: Option<i64>,
    pub memory_limit_gb: Option<i64>,
}

impl PlanLimits {
    /// The limit fields, in the forms' order.
    pub const FIELDS: [&'static str; 5] = [
        "monthly_query_quota",
        "max_users",
        "max_instances",
        "storage_limit_gb",
        "memory_limit_gb",
    ];

    /// Each limit with its field and unit, in `FIELDS`' order.
    pub fn each(&self) -> [(&'static str, Option<i64>, &'static str); 5] {
        [
            (
                "monthly_query_quota",
                self.monthly_query_quota,
                "queries a month",
            ),
            ("max_users", self.max_users.map(i64::from), "users"),
            ("max_instances", self.max_instances, "instances"),
            ("storage_limit_gb", self.storage_limit_gb, "GB"),
            ("memory_limit_gb", self.memory_limit_gb, "GB"),
        ]
    }

    /// The limits in effect for a tenant with these own limits on `plan`: the lower
    /// of its own and the plan's, either where the other is unset (as
    /// `db::models::plan::effective_limit!` reads them).
    pub fn effective(&self, plan: Option<&PlanLimits>) -> PlanLimits {
        let Some(plan) = plan else { return *self };
        fn lower<T: Ord>(own: Option<T>, plan: Option<T>) -> Option<T> {
            match (own, plan) {
                (Some(o), Some(p)) => Some(o.min(p)),
                (o, p) => o.or(p),
            }
        }
        PlanLimits {
            monthly_query_quota: lower(self.monthly_query_quota, plan.monthly_query_quota),
            max_users: lower(self.max_users, plan.max_users),
            max_instances: lower(self.max_instances, plan.max_instances),
            storage_limit_gb: lower(self.storage_limit_gb, plan.storage_limit_gb),
            memory_limit_gb: lower(self.memory_limit_gb, plan.memory_limit_gb),
        }
    }

    /// Each limit in effect for a tenant with these own limits under the plan
    /// `plan` (its name and limits), in `FIELDS`' order, with where it comes from:
    /// its own, the plan's, or none (`LimitOrigin::of`, as the usage bars say it).
    pub fn sourced(&self, plan: Option<(&str, &PlanLimits)>) -> [SourcedLimit; 5] {
        let effective = self.effective(plan.map(|(_, l)| l)).each();
        let own = self.each();
        std::array::from_fn(|i| {
            let (field, value, _) = effective[i];
            SourcedLimit {
                field,
                value,
                origin: LimitOrigin::of(own[i].1, value, plan.map(|(name, _)| name)),
            }
        })
    }

    /// The field errors of a tenant's own limits (`self`) above those of the plan
    /// `plan_name`: "At most 500 GB on plan Basic." per field.
    pub fn above(&self, plan: &PlanLimits, plan_name: &str) -> FieldErrors {
        let mut errors = FieldErrors::new();
        for ((field, own, unit), (_, most, _)) in self.each().into_iter().zip(plan.each()) {
            if let (Some(own), Some(most)) = (own, most) {
                if own > most {
                    errors.insert(field, at_most(most, unit, plan_name));
                }
            }
        }
        errors
    }
}

/// A tenant's limit in effect on one field ([`PlanLimits::sourced`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcedLimit {
    /// One of [`PlanLimits::FIELDS`].
    pub field: &'static str,
    /// `None`: unlimited.
    pub value: Option<i64>,
    /// Where `value` comes from; `None` without a limit.
    pub origin: Option<LimitOrigin>,
}

impl SourcedLimit {
    /// "own", "plan Basic", or `None` without a limit.
    pub fn source(&self) -> Option<String> {
        self.origin.as_ref().map(LimitOrigin::describe)
    }
}

/// "At most 500 GB on plan Basic.", "At most 1 user on plan Tiny."
pub fn at_most(most: i64, unit: &str, plan_name: &str) -> String {
    format!("At most {} on plan {plan_name}.", counted(most, unit))
}

/// `n` with `unit` (as [`PlanLimits::each`] names it, plural) in the number it
/// takes: "1 user", "2 users", "1 query a month", "1 GB".
pub fn counted(n: i64, unit: &str) -> String {
    let unit = match (n, unit) {
        (1, "users") => "user",
        (1, "instances") => "instance",
        (1, "queries a month") => "query a month",
        _ => unit,
    };
    format!("{} {unit}", crate::domain::number::grouped(n))
}

/// Why an option is not to be had: "Not in plan Basic."
pub fn not_in_plan(plan_name: &str) -> String {
    format!("Not in plan {plan_name}.")
}

/// A plan's fields, valid by construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanInput {
    pub name: TenantName,
    pub limits: PlanLimits,
    pub options: PlanOptions,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(storage: Option<i64>, users: Option<i32>) -> PlanLimits {
        PlanLimits {
            storage_limit_gb: storage,
            max_users: users,
            ..PlanLimits::default()
        }
    }

    #[test]
    fn own_limits_above_the_plans_are_named_per_field() {
        let plan = limits(Some(500), Some(10));
        let errors = limits(Some(501), Some(10)).above(&plan, "Basic");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors["storage_limit_gb"], "At most 500 GB on plan Basic.");
        assert!(limits(Some(500), Some(3)).above(&plan, "Basic").is_empty());
        // Unset own limits take the plan's; an unlimited plan allows any.
        assert!(limits(None, None).above(&plan, "Basic").is_empty());
        assert!(limits(Some(9999), Some(99))
            .above(&PlanLimits::default(), "Free")
            .is_empty());
        assert_eq!(
            limits(None, Some(11)).above(&plan, "Basic")["max_users"],
            "At most 10 users on plan Basic."
        );
        assert_eq!(
            limits(None, Some(2)).above(&limits(None, Some(1)), "Tiny")["max_users"],
            "At most 1 user on plan Tiny."
        );
        assert_eq!(counted(1, "queries a month"), "1 query a month");
        assert_eq!(counted(1, "instances"), "1 instance");
        assert_eq!(counted(0, "users"), "0 users");
        assert_eq!(
            at_most(500_000, "queries a month", "Basic"),
            "At most 500,000 queries a month on plan Basic."
        );
    }

    #[test]
    fn the_effective_limit_is_the_lower_of_the_own_one_and_the_plans() {
        let plan = limits(Some(500), Some(10));
        let own = limits(Some(100), None);
        assert_eq!(own.effective(Some(&plan)), limits(Some(100), Some(10)));
        assert_eq!(own.effective(None), own);
        // An own limit above the plan's (set before the plan, say) does not lift it.
        let above = limits(Some(900), Some(20));
        assert_eq!(above.effective(Some(&plan)), plan);
    }

    #[test]
    fn each_limit_in_effect_says_whether_it_is_the_tenants_own_or_the_plans() {
        let plan = PlanLimits {
            monthly_query_quota: Some(500_000),
            ..limits(Some(500), Some(10))
        };
        let own = limits(Some(100), Some(20));
        let [quota, users, instances, storage, _] = own.sourced(Some(("Basic", &plan)));
        assert_eq!(quota.field, "monthly_query_quota");
        assert_eq!(
            (quota.value, quota.source().as_deref()),
            (Some(500_000), Some("plan Basic"))
        );
        // Its own above the plan's: the plan's binds, and says so.
        assert_eq!(
            (users.value, users.source().as_deref()),
            (Some(10), Some("plan Basic"))
        );
        assert_eq!(
            (storage.value, storage.source().as_deref()),
            (Some(100), Some("own"))
        );
        assert_eq!((instances.value, instances.origin), (None, None));
        // No plan: only its own.
        let [_, users, _, storage, _] = own.sourced(None);
        assert_eq!(users.source().as_deref(), Some("own"));
        assert_eq!(storage.value, Some(100));
    }

    #[test]
    fn options_round_trip_through_their_fields() {
        let mut o = PlanOptions::default();
        for option in PlanOption::ALL {
            assert!(!o.includes(option));
            o.set(option, true);
            assert!(o.includes(option), "{}", option.field());
        }
    }
}
