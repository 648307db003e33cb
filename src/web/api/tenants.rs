//! `/api/v1/tenants`: list, read, create, update, delete and move tenants.
//! Each handler authorizes with the console's `authz` functions first: an id the
//! caller may not see answers 404, a visible one they may not change 403.

use super::idempotency::{self, Answer};
use super::resources::LimitSource;
use super::{json, parse_json};
use crate::auth::{authz, ApiUser, Principal};
use crate::db::models::plan::Plan;
use crate::db::models::user_limit::limits_of;
use crate::db::models::Tenant;
use crate::db::DbConn;
use crate::domain::domain_name::{challenge_name, challenge_value, ConsoleHosts, DomainStatus};
use crate::domain::plan::PlanOption;
use crate::domain::resources::limit;
use crate::domain::usage::check_quota;
use crate::domain::user_limit;
use crate::domain::SearchText;
use crate::domain::{label, Feature, Level};
use crate::error::{AppError, FieldErrors};
use crate::services::plans::Warned;
use crate::services::tenants::{
    self as service, FilterText, RoleChoice, TenantChange, TenantInput, TenantText,
};
use crate::services::Actor;
use crate::web::extract::{with_path_tenant, Query};
use crate::web::form::parse_id;
use crate::web::form::{bad_param, bad_params};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/api/v1/tenants" => list),
        route!(POST "/api/v1/tenants" => create),
        route!(GET "/api/v1/tenants/{id}" => show),
        route!(PATCH "/api/v1/tenants/{id}" => update),
        route!(DELETE "/api/v1/tenants/{id}" => delete),
        route!(POST "/api/v1/tenants/{id}/move" => move_tenant),
        route!(POST "/api/v1/tenants/{id}/custom-domain/verify" => verify_domain),
        route!(POST "/api/v1/tenants/{id}/custom-domain/approve" => approve_domain),
    ]
}

// ---------------------------------------------------------------- DTOs

/// A tenant, with the attribute names of the console's forms.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = Tenant)]
pub struct TenantJson {
    pub id: i64,
    /// `null` for the root tenant.
    pub parent_id: Option<i64>,
    /// Ids from the root down to and including this tenant.
    pub path: Vec<i64>,
    pub name: String,
    /// DNS label, unique across the installation; users log in as `subdomain\username`.
    pub subdomain: String,
    pub description: String,
    /// A host name of the tenant's own; it serves (login page, bare usernames) only
    /// once `custom_domain_status` is `verified` or `approved`.
    pub custom_domain: Option<String>,
    /// `null` without a custom domain. `pending` until its DNS TXT record is checked
    /// (`POST …/custom-domain/verify`) or a root Owner approves it; changing the domain
    /// starts over.
    pub custom_domain_status: Option<DomainStatus>,
    /// The TXT record that proves the custom domain: its name
    /// (`_tenantry-challenge.<custom_domain>`) …
    pub custom_domain_txt_name: Option<String>,
    /// … and its value (`tenantry-verify=<token>`, a token of this tenant and domain).
    pub custom_domain_txt_value: Option<String>,
    /// Since when the custom domain serves (verified or approved).
    pub custom_domain_verified_at: Option<DateTime<Utc>>,
    /// Its own setting: a plan without `sub_tenants` keeps it from taking effect
    /// (`effective_can_have_subtenants`).
    pub can_have_subtenants: bool,
    /// Whether sub-tenants may be created under it, or moved there, now:
    /// `can_have_subtenants`, and its plan (`plan`) includes `sub_tenants`.
    pub effective_can_have_subtenants: bool,
    pub enabled: bool,
    /// The tenant role that caps everything inside this tenant.
    pub tenant_role_id: i64,
    /// Labels (`tier:gold`, `region:eu`, `vip`), sorted.
    pub labels: Vec<String>,
    /// Queries per calendar month (UTC) the tenant's own usage is measured
    /// against; `null`: no quota.
    pub monthly_query_quota: Option<i64>,
    /// Limits on the instances of this tenant and everything below it; `null`: none.
    pub storage_limit_gb: Option<i64>,
    pub memory_limit_gb: Option<i64>,
    pub max_instances: Option<i64>,
    /// The most users the tenant and all its sub-tenants may have together; `null`:
    /// no limit.
    pub max_users: Option<i32>,
    /// The limits in effect, each with where it comes from: its own (the fields
    /// above, where set and not above its plan's), else the plan governing it
    /// (`plan`), else none. Limits of tenants above it, which cover their whole
    /// subtrees, are in `GET /api/v1/tenants/{id}/usage`.
    pub effective_limits: EffectiveLimitsJson,
    /// The plan it is on itself (`GET /api/v1/plans/{id}`, for those who manage
    /// plans); `null`: none of its own (it follows `plan`, if any).
    pub plan_id: Option<i64>,
    /// The plan governing it — its own, else that of its nearest ancestor with one
    /// — with what it may do on it; `null`: no plan anywhere on its path (every
    /// option, only its own limits).
    pub plan: Option<TenantPlanJson>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A tenant's limits in effect, one per limit field.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = EffectiveLimits)]
pub struct EffectiveLimitsJson {
    pub monthly_query_quota: EffectiveLimitJson,
    pub max_users: EffectiveLimitJson,
    pub max_instances: EffectiveLimitJson,
    pub storage_limit_gb: EffectiveLimitJson,
    pub memory_limit_gb: EffectiveLimitJson,
}

/// One limit in effect for a tenant.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = EffectiveLimit)]
pub struct EffectiveLimitJson {
    /// The limit; `null`: none.
    pub value: Option<i64>,
    /// `own` (the tenant's own) or `plan` (its plan's: the tenant sets none, or a
    /// higher one); `null` without a limit.
    pub source: Option<LimitSource>,
    /// The plan's name where `source` is `plan`; `null` otherwise.
    pub plan: Option<String>,
}

impl EffectiveLimitsJson {
    fn of(own: &crate::domain::plan::PlanLimits, plan: Option<&Plan>) -> Self {
        use crate::domain::resources::LimitOrigin;
        let [monthly_query_quota, max_users, max_instances, storage_limit_gb, memory_limit_gb] =
            Plan::sourced(own, plan).map(|l| EffectiveLimitJson {
                value: l.value,
                source: l.origin.as_ref().map(|o| match o {
                    LimitOrigin::Own => LimitSource::Own,
                    LimitOrigin::Plan(_) => LimitSource::Plan,
                }),
                plan: match l.origin {
                    Some(LimitOrigin::Plan(name)) => Some(name),
                    _ => None,
                },
            });
        EffectiveLimitsJson {
            monthly_query_quota,
            max_users,
            max_instances,
            storage_limit_gb,
            memory_limit_gb,
        }
    }
}

/// The plan governing a tenant, as whoever may read the tenant sees it: its name
/// and the options the tenant has on it (not its limits, nor its other tenants).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = TenantPlan)]
pub struct TenantPlanJson {
    pub id: i64,
    pub name: String,
    /// The tenant has no plan of its own and follows this one from a tenant above.
    pub inherited: bool,
    /// Its own branding (`/api/v1/tenants/{id}/branding`) takes effect.
    pub custom_branding: bool,
    /// A custom domain may be set, verified and served.
    pub custom_domain: bool,
    /// Sub-tenants may be created under it (with `can_have_subtenants`).
    pub sub_tenants: bool,
    /// API tokens for, and API calls by, users homed in it.
    pub api_access: bool,
}

impl TenantPlanJson {
    fn of(tenant: &Tenant, plan: &Plan) -> Self {
        let o = plan.options();
        TenantPlanJson {
            id: plan.id,
            name: plan.name.clone(),
            inherited: tenant.plan_id != Some(plan.id),
            custom_branding: o.custom_branding,
            custom_domain: o.custom_domain,
            sub_tenants: o.sub_tenants,
            api_access: o.api_access,
        }
    }
}

/// A tenant as a change (`PATCH`) or a move left it, and what the change warns of
/// (done all the same): a new plan whose limits are below what it, or a tenant
/// inheriting the plan from it, uses ("Tenant a1 uses 400 GB of storage, above plan
/// Basic's 100 GB: growth is refused until use falls below it."), or what of theirs
/// goes dormant under a plan that lacks it. Empty when there is nothing to say.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = SavedTenant)]
pub struct SavedTenantJson {
    #[serde(flatten)]
    pub tenant: TenantJson,
    pub warnings: Vec<String>,
}

impl TenantJson {
    /// `t` with its labels, user limit and governing plan.
    pub fn new(
        t: &Tenant,
        labels: Vec<String>,
        max_users: Option<i32>,
        plan: Option<&Plan>,
    ) -> Self {
        TenantJson {
            id: t.id,
            parent_id: t.parent_id,
            path: t.path.clone(),
            name: t.name.clone(),
            subdomain: t.subdomain.clone(),
            description: t.description.clone(),
            custom_domain: t.custom_domain.clone(),
            custom_domain_status: t.custom_domain.as_ref().and(t.domain_claim.status()),
            custom_domain_txt_name: t.custom_domain.as_deref().map(challenge_name),
            custom_domain_txt_value: t
                .custom_domain
                .as_ref()
                .and(t.domain_claim.token.as_deref())
                .map(challenge_value),
            custom_domain_verified_at: t.domain_claim.verified_at,
            can_have_subtenants: t.can_have_subtenants,
            effective_can_have_subtenants: t.can_have_subtenants
                && authz::plan_allows(plan, PlanOption::SubTenants),
            enabled: t.enabled,
            tenant_role_id: t.tenant_role_id,
            labels,
            monthly_query_quota: t.monthly_query_quota,
            storage_limit_gb: t.limits.storage_limit_gb,
            memory_limit_gb: t.limits.memory_limit_gb,
            max_instances: t.limits.max_instances,
            max_users,
            effective_limits: EffectiveLimitsJson::of(&t.own_limits(max_users), plan),
            plan_id: t.plan_id,
            plan: plan.map(|p| TenantPlanJson::of(t, p)),
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

fn yes() -> bool {
    true
}

/// JSON integers as JSON Schema counts them: `42` and also `42.0` (an integral
/// number), so every request valid by the OpenAPI schema is accepted.
mod integral {
    use serde::de::{Deserializer, Error, Visitor};
    use std::fmt;

    /// A whole number past any field's most (each field's own check names its
    /// most for the numbers it reads).
    const TOO_LARGE: &str = "This number is too large: it is at most 9223372036854775807.";

    struct I64;

    impl Visitor<'_> for I64 {
        type Value = i64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a whole number")
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom(TOO_LARGE))
        }
        fn visit_f64<E: Error>(self, v: f64) -> Result<i64, E> {
            // Exactly representable integral values only (|v| < 2^53).
            if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
                Ok(v as i64)
            } else if v.fract() == 0.0 {
                // Integral, but past what a number here can be (serde_json reads
                // integers beyond 64 bits as floats).
                Err(E::custom(TOO_LARGE))
            } else {
                Err(E::custom(format!(
                    "invalid type: number {v}, expected a whole number"
                )))
            }
        }
    }

    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        d.deserialize_any(I64)
    }

    pub fn opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        struct Opt;
        impl<'de> Visitor<'de> for Opt {
            type Value = Option<i64>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number or null")
            }
            fn visit_none<E: Error>(self) -> Result<Option<i64>, E> {
                Ok(None)
            }
            fn visit_unit<E: Error>(self) -> Result<Option<i64>, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<i64>, D::Error> {
                int(d).map(Some)
            }
        }
        d.deserialize_option(Opt)
    }

    /// One integral number of a list.
    #[derive(serde::Deserialize)]
    struct Int(#[serde(deserialize_with = "int")] i64);

    /// A list of integers, integral numbers among them.
    pub fn vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
        let items: Vec<Int> = serde::Deserialize::deserialize(d)?;
        Ok(items.into_iter().map(|i| i.0).collect())
    }

    /// [`vec`] or `null`.
    pub fn opt_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<i64>>, D::Error> {
        let items: Option<Vec<Int>> = serde::Deserialize::deserialize(d)?;
        Ok(items.map(|v| v.into_iter().map(|i| i.0).collect()))
    }
}
pub(crate) use integral::{
    int as integral_i64, opt as integral_opt_i64, opt_vec as integral_opt_vec, vec as integral_vec,
};

/// A new sub-tenant of `parent_id`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    #[serde(deserialize_with = "integral_i64")]
    pub parent_id: i64,
    pub name: String,
    pub subdomain: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub custom_domain: Option<String>,
    #[serde(default)]
    pub can_have_subtenants: bool,
    /// Defaults to `true`.
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub enabled: bool,
    /// Only root administrators may choose a tenant role; the parent's otherwise.
    #[serde(default, deserialize_with = "integral_opt_i64")]
    pub tenant_role_id: Option<i64>,
    /// The new tenant's labels (none by default): each lowercase letters, digits, `.`,
    /// `_`, `-`, with at most one `:` between a key and a value (`tier:gold`), at most
    /// 64 characters; at most 20 (duplicates collapse); one value per key (`tier:gold`
    /// and `tier:silver` together are refused).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Queries per calendar month (UTC), 0 or more; none by default.
    #[serde(default, deserialize_with = "integral_opt_i64")]
    pub monthly_query_quota: Option<i64>,
    /// Limits on the instances of the new tenant and everything below it (GB, GB,
    /// instances), 0 or more; none by default. Creating or growing an instance past
    /// one is refused.
    #[serde(default, deserialize_with = "integral_opt_i64")]
    pub storage_limit_gb: Option<i64>,
    #[serde(default, deserialize_with = "integral_opt_i64")]
    pub memory_limit_gb: Option<i64>,
    #[serde(default, deserialize_with = "integral_opt_i64")]
    pub max_instances: Option<i64>,
    /// The most users it and all its sub-tenants may have together, 0 or more; no
    /// limit by default. Creating a user over it (or over a limit above) is refused.
    #[serde(default, deserialize_with = "integral_opt_i64")]
    pub max_users: Option<i64>,
    /// Its own plan. Left out or `null`: none of its own, so it follows its parent's
    /// (the plan governing the parent). Only root Owners and Administrators put a
    /// tenant on a plan of its own; from anyone else the parent's plan (its own, or
    /// the one it follows) means the same as `null`, and any other plan is refused
    /// (403). Its own limits may not be above the plan's, nor may it take up options
    /// the plan lacks (422).
    #[serde(default, deserialize_with = "nullable_integral")]
    #[schema(value_type = Option<i64>)]
    pub plan_id: Option<Option<i64>>,
}

/// `Some(None)` for an explicit `null`, `None` for an absent field.
pub(super) fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Like [`nullable`] for an integer: `Some(None)` for an explicit `null`.
pub(super) fn nullable_integral<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<i64>>, D::Error> {
    integral_opt_i64(d).map(Some)
}

/// Changes to a tenant: only the fields present change. The parent changes with
/// `POST /api/v1/tenants/{id}/move`. Only `custom_domain` may be `null`: any other
/// field sent as `null` is a field error (leave it out to keep its value).
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub subdomain: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub description: Option<Option<String>>,
    /// `null` removes the custom domain.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub custom_domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = bool)]
    pub can_have_subtenants: Option<Option<bool>>,
    /// The root tenant stays enabled.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = bool)]
    pub enabled: Option<Option<bool>>,
    #[serde(default, deserialize_with = "nullable_integral")]
    #[schema(value_type = i64)]
    pub tenant_role_id: Option<Option<i64>>,
    /// Replaces the tenant's labels (`[]` removes them all); as on create.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Vec<String>)]
    pub labels: Option<Option<Vec<String>>>,
    /// Queries per calendar month (UTC), 0 or more; `null` removes the quota.
    #[serde(default, deserialize_with = "nullable_integral")]
    #[schema(value_type = Option<i64>)]
    pub monthly_query_quota: Option<Option<i64>>,
    /// Limits on the instances of the tenant and everything below it, 0 or more;
    /// `null` removes one. A limit below what is used already is kept (growth is
    /// refused until use falls below it).
    #[serde(default, deserialize_with = "nullable_integral")]
    #[schema(value_type = Option<i64>)]
    pub storage_limit_gb: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable_integral")]
    #[schema(value_type = Option<i64>)]
    pub memory_limit_gb: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable_integral")]
    #[schema(value_type = Option<i64>)]
    pub max_instances: Option<Option<i64>>,
    /// The most users it and all its sub-tenants may have together, 0 or more;
    /// `null` removes the limit.
    #[serde(default, deserialize_with = "nullable_integral")]
    #[schema(value_type = Option<i64>)]
    pub max_users: Option<Option<i64>>,
    /// Its plan, `null` for none: only root Owners and Administrators may change it
    /// (403 otherwise; sending the current one changes nothing).
    #[serde(default, deserialize_with = "nullable_integral")]
    #[schema(value_type = Option<i64>)]
    pub plan_id: Option<Option<i64>>,
}

/// The custom domain a root Owner approves: the one they were shown, so that a domain
/// changed in the meantime is not approved unseen.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveDomain {
    pub custom_domain: String,
}

/// The new parent of a tenant.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveTenant {
    #[serde(deserialize_with = "integral_i64")]
    pub parent_id: i64,
}

/// One page of tenants.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TenantPage {
    pub items: Vec<TenantJson>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

pub const LIMIT_DEFAULT: i64 = 50;
pub const LIMIT_MAX: i64 = 500;

/// A list's `limit` as the query string gives it: ASCII digits only, so `+5` or
/// ` 5` (which Rust's integer parsing would take) are refused like `abc`, naming
/// `limit` (`form::read_query` words the refusal).
pub(crate) fn query_limit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let raw = std::borrow::Cow::<str>::deserialize(d)?;
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(serde::de::Error::custom("invalid digit found in string"));
    }
    raw.parse().map(Some).map_err(serde::de::Error::custom)
}

/// A list's `limit` (default `LIMIT_DEFAULT`), or 400 outside 1–`LIMIT_MAX`.
pub(super) fn page_limit(limit: Option<i64>) -> Result<i64, AppError> {
    let limit = limit.unwrap_or(LIMIT_DEFAULT);
    if (1..=LIMIT_MAX).contains(&limit) {
        Ok(limit)
    } else {
        Err(bad_param(
            "limit",
            &format!("must be a whole number from 1 to {LIMIT_MAX}"),
        ))
    }
}

/// Filters and paging of `GET /api/v1/tenants`.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only tenants whose name or subdomain contains this (case-insensitive); the
    /// same as `name`. Search text: no control characters.
    #[param(max_length = 100, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub q: Option<String>,
    /// Only enabled or only disabled tenants.
    pub status: Option<StatusParam>,
    /// Only resellers (tenants that may have sub-tenants) or only customers.
    pub kind: Option<KindParam>,
    /// Only direct children of this tenant.
    pub parent: Option<i64>,
    /// Only the tenants below this one (its whole subtree, not itself).
    pub within: Option<i64>,
    /// Only this tenant and the tenants below it.
    pub subtree: Option<i64>,
    /// Only tenants with this label (one label, e.g. `tier:gold`).
    #[param(max_length = 64)]
    pub label: Option<String>,
    /// Only tenants whose name or subdomain contains this (case-insensitive).
    #[param(max_length = 100, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub name: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 100)]
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50, when left out). An empty `limit=` is no number:
    /// 400, as on every list of the API.
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, deserialize_with = "query_limit")]
    pub limit: Option<i64>,
}

/// `status=` of `GET /api/v1/tenants`.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusParam {
    Enabled,
    Disabled,
}

/// `kind=` of `GET /api/v1/tenants`.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KindParam {
    Reseller,
    Customer,
}

/// `?force=true` deletes the whole subtree, whatever it holds.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    #[serde(default)]
    pub force: bool,
}

// ---------------------------------------------------------------- shared rules

pub(super) fn encode_cursor(id: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("after:{id}"))
}

/// The lists inside one tenant, each by the last segment of its path
/// (`/api/v1/tenants/{id}/instances`): a cursor names the list it was read in by
/// its place here (1-based, three digits), so that it continues no other list.
/// Append only: a place, once given, stays its list's.
pub(super) const TENANT_LISTS: [&str; 9] = [
    "applications",
    "domains",
    "rules",
    "clouds",
    "instances",
    "resolvers",
    "devices",
    "subnets",
    "policies",
];

/// Which list a cursor continues: one list (its place in [`TENANT_LISTS`], 0 for
/// none of them) inside one tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ListOf {
    pub list: u16,
    pub tenant: i64,
}

impl ListOf {
    /// The list of a route's path pattern, inside `tenant`.
    pub fn at(pattern: &str, tenant: i64) -> Self {
        let last = pattern.rsplit('/').next().unwrap_or_default();
        let list = TENANT_LISTS
            .iter()
            .position(|l| *l == last)
            .map_or(0, |i| i as u16 + 1);
        ListOf { list, tenant }
    }

    /// The list the request's route serves, inside `tenant`.
    pub fn of(req: &HttpRequest, tenant: i64) -> Self {
        Self::at(req.match_pattern().as_deref().unwrap_or_default(), tenant)
    }
}

/// One page of `rows` of `list`, read with one row more than `limit`: the first
/// `limit`, and the cursor after the last of them (bound to the list and its
/// tenant) when more follow.
pub(super) fn paged_in<T>(
    list: ListOf,
    mut rows: Vec<T>,
    limit: i64,
    id: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<String>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = more
        .then(|| rows.last().map(|r| encode_tenant_cursor(list, id(r))))
        .flatten();
    (rows, next)
}

/// The cursor of a list inside one tenant (`/tenants/{id}/rules`, `…/domains`, the
/// resources): `after:`, the list's place in three digits, the tenant's id in 18
/// digits, then the row's id. Bound to its list and tenant: another list refuses it
/// (ids of one list mean nothing in another), and so does another tenant's list,
/// as the stats' cursors are, rather than page on from a row that is not its own.
pub(super) fn encode_tenant_cursor(list: ListOf, id: i64) -> String {
    use base64::Engine;
    let ListOf { list, tenant } = list;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("after:{list:03}{tenant:018}{id}"))
}

/// What a cursor read in another tenant's list is told (without naming that
/// tenant: it may be one the caller cannot see).
pub(super) const ANOTHER_TENANTS_CURSOR: &str = "This cursor continues the rows of another tenant: use it with the tenant it was read for, or ask without a cursor for the first page.";

/// What a cursor read in another kind of list is told.
pub(super) const ANOTHER_LISTS_CURSOR: &str = "This cursor continues the rows of another list: use a next_cursor of this list, or ask without a cursor for the first page.";

/// The row id of a cursor [`encode_tenant_cursor`] wrote for `list`; else 422 on
/// `cursor` ([`refused_cursor`]) saying whether it is none, or was read in another
/// kind of list or in another tenant's.
pub(super) fn decode_tenant_cursor(raw: &str, list: ListOf) -> Result<i64, AppError> {
    use base64::Engine;
    let bad = invalid_cursor;
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let digits = text.strip_prefix("after:").ok_or_else(bad)?;
    if !(22..=39).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (kind, digits) = digits.split_at(3);
    let (of, id) = digits.split_at(18);
    let (kind, of, id) = (
        kind.parse::<u16>().map_err(|_| bad())?,
        of.parse::<i64>().map_err(|_| bad())?,
        id.parse::<i64>().map_err(|_| bad())?,
    );
    if kind != list.list {
        return Err(refused_cursor(ANOTHER_LISTS_CURSOR));
    }
    if of != list.tenant {
        return Err(refused_cursor(ANOTHER_TENANTS_CURSOR));
    }
    Ok(id)
}

/// The row id of a cursor [`encode_cursor`] wrote (at most 100 characters), else
/// [`invalid_cursor`].
pub(super) fn decode_cursor(raw: &str) -> Result<i64, AppError> {
    use base64::Engine;
    Some(raw)
        .filter(|c| c.chars().count() <= 100)
        .and_then(|c| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("after:").and_then(|n| n.parse().ok()))
        .ok_or_else(invalid_cursor)
}

/// What a `cursor` that is no cursor of the list is told.
pub(super) const INVALID_CURSOR: &str = "The cursor is not valid: pass the next_cursor of an earlier page of this list, or ask without a cursor for the first page.";

/// Every list's refusal of its `cursor` (one that is none, or that continues
/// other rows than asked for): 422 with `errors.cursor` saying why. A cursor is
/// opaque data of the server's, not a value a client composes, so a bad one is
/// refused as values are, on every list alike (the OpenAPI document says so).
pub(super) fn refused_cursor(why: &str) -> AppError {
    AppError::field("cursor", why)
}

/// [`refused_cursor`] for a cursor that is none of the list's.
pub(super) fn invalid_cursor() -> AppError {
    refused_cursor(INVALID_CURSOR)
}

impl CreateTenant {
    /// The service's input for this create under `parent` (read by the caller).
    pub fn to_input(&self, parent: &Tenant, hosts: &ConsoleHosts) -> TenantChange {
        let sent_limit = |sent: Option<i64>| sent.map(|n| limit(Some(n)));
        TenantChange {
            fields: TenantInput::with_max_users(
                TenantInput::with_limits(
                    TenantInput::with_quota(
                        TenantInput::with_labels(
                            TenantInput::draft(
                                TenantText::new(
                                    &self.name,
                                    &self.subdomain,
                                    &self.description,
                                    self.custom_domain.as_deref(),
                                ),
                                self.can_have_subtenants,
                                self.enabled,
                                hosts,
                                None,
                            ),
                            Some(label::parse_exact(&self.labels)),
                        ),
                        self.monthly_query_quota.map(|q| check_quota(q).map(Some)),
                    ),
                    [
                        sent_limit(self.storage_limit_gb),
                        sent_limit(self.memory_limit_gb),
                        sent_limit(self.max_instances),
                    ],
                ),
                self.max_users.map(|m| user_limit::check(m).map(Some)),
            ),
            // Naming the parent's own tenant role asks for nothing: it is the default.
            tenant_role: self
                .tenant_role_id
                .filter(|id| *id != parent.tenant_role_id)
                .map(RoleChoice::Id),
            plan: self.plan_id,
        }
    }
}

impl UpdateTenant {
    /// The service's input for this PATCH of `tenant`: the fields sent over the
    /// stored ones.
    pub fn to_input(&self, tenant: &Tenant, hosts: &ConsoleHosts) -> TenantChange {
        let mut nulls = Vec::new();
        let mut sent = |field: &'static str, value: &Option<Option<String>>| match value {
            Some(None) => {
                nulls.push(field);
                None
            }
            Some(Some(v)) => Some(v.clone()),
            None => None,
        };
        let name = sent("name", &self.name);
        let subdomain = sent("subdomain", &self.subdomain);
        let description = sent("description", &self.description);
        let flag = |field: &'static str, value: Option<Option<bool>>, nulls: &mut Vec<_>| {
            if value == Some(None) {
                nulls.push(field);
            }
            value.flatten()
        };
        let can_have_subtenants = flag("can_have_subtenants", self.can_have_subtenants, &mut nulls);
        for (field, null) in [
            ("labels", self.labels == Some(None)),
            ("tenant_role_id", self.tenant_role_id == Some(None)),
        ] {
            if null {
                nulls.push(field);
            }
        }
        let labels = self
            .labels
            .as_ref()
            .and_then(Option::as_ref)
            .map(|l| label::parse_exact(l));
        let enabled = flag("enabled", self.enabled, &mut nulls);
        let custom_domain = match &self.custom_domain {
            Some(sent) => sent.as_deref(),
            None => tenant.custom_domain.as_deref(),
        };
        let mut fields = TenantInput::draft(
            TenantText::new(
                name.as_deref().unwrap_or(&tenant.name),
                subdomain.as_deref().unwrap_or(&tenant.subdomain),
                description.as_deref().unwrap_or(&tenant.description),
                custom_domain,
            ),
            can_have_subtenants.unwrap_or(tenant.can_have_subtenants),
            enabled.unwrap_or(tenant.enabled),
            hosts,
            Some(tenant),
        );
        fields = TenantInput::with_labels(fields, labels);
        let quota = self
            .monthly_query_quota
            .map(|sent| sent.map(check_quota).transpose());
        fields = TenantInput::with_quota(fields, quota);
        fields = TenantInput::with_limits(
            fields,
            [
                self.storage_limit_gb,
                self.memory_limit_gb,
                self.max_instances,
            ]
            .map(|sent| sent.map(limit)),
        );
        let max_users = self
            .max_users
            .map(|sent| sent.map(user_limit::check).transpose());
        fields = TenantInput::with_max_users(fields, max_users);
        let mut errors = FieldErrors::new();
        if tenant.is_root() && enabled == Some(false) {
            errors.insert("enabled", "The root tenant cannot be disabled.".into());
        }
        for field in nulls {
            errors.insert(field, NOT_NULL.into());
        }
        if !errors.is_empty() {
            fields = fields.refusing(errors);
        }
        TenantChange {
            fields,
            tenant_role: self.tenant_role_id.flatten().map(RoleChoice::Id),
            plan: self.plan_id,
        }
    }
}

/// The field error for a `null` where only a value or leaving the field out means
/// something.
pub(super) const NOT_NULL: &str =
    "May not be null: send a value, or leave the field out to keep it.";

// ---------------------------------------------------------------- requests to operations

/// The API's side of each tenant operation, shared by its handler and batches: the
/// 404 contract (`authz::visible_tenant` on every id the request names) and the
/// body's conversion; the service decides everything else.
pub(super) async fn apply_create(
    p: &Principal,
    actor: &Actor,
    conn: &mut AsyncPgConnection,
    hosts: &ConsoleHosts,
    data: &CreateTenant,
) -> Result<Tenant, AppError> {
    let parent = authz::visible_tenant(p, data.parent_id, conn).await?;
    service::create(conn, p, actor, Some(&parent), data.to_input(&parent, hosts)).await
}

pub(super) async fn apply_update(
    p: &Principal,
    actor: &Actor,
    conn: &mut AsyncPgConnection,
    hosts: &ConsoleHosts,
    id: i64,
    data: &UpdateTenant,
    now: DateTime<Utc>,
) -> Result<Warned<Tenant>, AppError> {
    let tenant = authz::visible_tenant(p, id, conn).await?;
    let input = data.to_input(&tenant, hosts);
    service::update(conn, p, actor, &tenant, input, now).await
}

pub(super) async fn apply_move(
    p: &Principal,
    actor: &Actor,
    conn: &mut AsyncPgConnection,
    id: i64,
    parent_id: i64,
    now: DateTime<Utc>,
) -> Result<Warned<Tenant>, AppError> {
    let tenant = authz::visible_tenant(p, id, conn).await?;
    let destination = authz::visible_tenant(p, parent_id, conn).await?;
    service::move_tenant(conn, p, actor, &tenant, &destination, now).await
}

pub(super) async fn apply_delete(
    p: &Principal,
    actor: &Actor,
    conn: &mut AsyncPgConnection,
    id: i64,
    force: bool,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let tenant = authz::visible_tenant(p, id, conn).await?;
    service::delete(conn, p, actor, &tenant, force, now).await
}

/// A connection, and the tenant an `{id}` path segment names if `user` may see it
/// (`extract::with_path_tenant`, as the console's pages read it): every
/// `/tenants/{id}` handler's first step. An id that is no number names no tenant, and
/// here `super::miss` answers it (404, or 405 where the path is another resource,
/// `/api/v1/tenants/batch`).
pub(super) async fn path_tenant(
    req: &HttpRequest,
    user: &ApiUser,
    state: &AppState,
    raw: &str,
) -> Result<(DbConn, Tenant), actix_web::Error> {
    if parse_id(raw).is_err() {
        return Err(InternalError::from_response("no such resource", super::miss(req)).into());
    }
    Ok(with_path_tenant(user, state, raw).await?)
}

/// The prologue of a tenant's paged list (its activity, its usage statistics): the
/// tenant the path names (404 unless visible), a connection, and the page size
/// (`page_limit`).
pub(super) async fn paged_tenant(
    req: &HttpRequest,
    user: &ApiUser,
    state: &AppState,
    raw: &str,
    limit: Option<i64>,
) -> Result<(DbConn, Tenant, i64), actix_web::Error> {
    let (conn, tenant) = path_tenant(req, user, state, raw).await?;
    Ok((conn, tenant, page_limit(limit)?))
}

/// `t` as the API shows it, with its labels and governing plan.
async fn tenant_json(conn: &mut AsyncPgConnection, t: &Tenant) -> Result<TenantJson, AppError> {
    let max_users = limits_of(conn, &[t.id]).await?.remove(&t.id);
    let plan = Plan::governing(conn, &[t.id]).await?.remove(&t.id);
    Ok(TenantJson::new(
        t,
        t.labels(conn).await?,
        max_users,
        plan.as_ref(),
    ))
}

// ---------------------------------------------------------------- handlers

/// List the tenants the token's user may see.
#[utoipa::path(
    get,
    path = "/api/v1/tenants",
    tag = "tenants",
    params(ListParams),
    responses(
        (status = 200, description = "One page of tenants, by id", body = TenantPage),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    user: ApiUser,
    state: web::Data<AppState>,
    params: Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let limit = page_limit(params.limit)?;
    for (name, value) in [("q", &params.q), ("name", &params.name)] {
        if let Some(Err(e)) = value.as_deref().map(SearchText::parse) {
            return Err(bad_param(name, &e.expects()));
        }
    }
    let after = params.cursor.as_deref().map(decode_cursor).transpose()?;
    // The page's filter parameters, parsed by the same function as the Tenants page's.
    let (parent, within) = (
        params.parent.map(|p| p.to_string()).unwrap_or_default(),
        params.within.map(|w| w.to_string()).unwrap_or_default(),
    );
    // The label exactly as the document's pattern says (an empty one included).
    if let Some(label) = &params.label {
        crate::domain::label::parse_exact(std::slice::from_ref(label))
            .map_err(|e| bad_param("label", &format!("is not valid: {e}")))?;
    }
    let spec = service::parse_filter(FilterText {
        q: params.q.as_deref().or(params.name.as_deref()).unwrap_or(""),
        status: match params.status {
            Some(StatusParam::Enabled) => "enabled",
            Some(StatusParam::Disabled) => "disabled",
            None => "",
        },
        kind: match params.kind {
            Some(KindParam::Reseller) => "reseller",
            Some(KindParam::Customer) => "customer",
            None => "",
        },
        parent: &parent,
        within: &within,
        label: params.label.as_deref().unwrap_or(""),
    })
    // A malformed query parameter is a 400, like a malformed cursor or limit.
    .map_err(bad_params)?;
    let mut conn = state.pool.get().await?;
    // A tenant the caller may not see is one that does not exist: 404.
    for id in [spec.filter.parent, spec.within, params.subtree]
        .into_iter()
        .flatten()
    {
        let t = authz::visible_tenant(&user, id, &mut conn).await?;
        authz::require(&user, &t, Feature::Tenants, Level::Read)?;
    }
    let rows = Tenant::api_page(
        &mut conn,
        &crate::db::models::tenant::ApiListQuery {
            visibility: authz::visibility(&user),
            filter: spec.filter,
            subtree: params.subtree,
            within: spec.within,
            after,
            limit: limit + 1,
        },
    )
    .await?;
    let more = rows.len() as i64 > limit;
    let page: Vec<Tenant> = rows.into_iter().take(limit as usize).collect();
    let next_cursor = if more {
        page.last().map(|t| encode_cursor(t.id))
    } else {
        None
    };
    // Visible is not readable everywhere (a home tenant whose role reads no tenants).
    let readable: Vec<&Tenant> = page
        .iter()
        .filter(|t| authz::effective_level(&user, t, Feature::Tenants) >= Level::Read)
        .collect();
    let ids: Vec<i64> = readable.iter().map(|t| t.id).collect();
    let mut labels = Tenant::labels_of(&mut conn, &ids).await?;
    let limits = limits_of(&mut conn, &ids).await?;
    let plans = Plan::governing(&mut conn, &ids).await?;
    let items = readable
        .into_iter()
        .map(|t| {
            TenantJson::new(
                t,
                labels.remove(&t.id).unwrap_or_default(),
                limits.get(&t.id).copied(),
                plans.get(&t.id),
            )
        })
        .collect();
    Ok(json(StatusCode::OK, &TenantPage { items, next_cursor }))
}

/// Read one tenant.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}",
    tag = "tenants",
    params(("id" = i64, Path, description = "Tenant id")),
    responses((status = 200, description = "The tenant", body = TenantJson)),
    security(("bearer" = []))
)]
pub async fn show(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, actix_web::Error> {
    let (mut conn, tenant) = path_tenant(&req, &user, &state, &path).await?;
    authz::require(&user, &tenant, Feature::Tenants, Level::Read)?;
    Ok(json(
        StatusCode::OK,
        &tenant_json(&mut conn, &tenant).await?,
    ))
}

/// Create a sub-tenant (manage sub-tenants on the parent). Accepts `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/api/v1/tenants",
    tag = "tenants",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, 1–255 visible ASCII characters")),
    request_body(content = CreateTenant, content_type = "application/json"),
    responses((status = 201, description = "Created", body = TenantJson,
        headers(("Location" = String, description = "The new tenant's URL")))),
    security(("bearer" = []))
)]
pub async fn create(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let data: CreateTenant = parse_json(&req, &body)?;
    let actor = user.actor(&req);
    let hosts = state.settings.console_hosts();
    idempotency::run(&state, &req, &user, &body, async |conn| {
        let t = apply_create(&user, &actor, conn, &hosts, &data).await?;
        let mut answer = Answer::json(StatusCode::CREATED, &tenant_json(conn, &t).await?)?;
        answer.location = Some(format!("/api/v1/tenants/{}", t.id));
        Ok(answer)
    })
    .await
}

/// Change a tenant's fields (whoever manages its parent; the root by its Owners and
/// Administrators).
#[utoipa::path(
    patch,
    path = "/api/v1/tenants/{id}",
    tag = "tenants",
    params(("id" = i64, Path, description = "Tenant id")),
    request_body(content = UpdateTenant, content_type = "application/json"),
    responses((status = 200, description = "The changed tenant, with `warnings` (a new plan below what it uses)", body = SavedTenantJson)),
    security(("bearer" = []))
)]
pub async fn update(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    // Authorize before reading the body: an invisible id is 404 whatever was sent.
    let (mut conn, tenant) = path_tenant(&req, &user, &state, &path).await?;
    let data: UpdateTenant = parse_json(&req, &body)?;
    let hosts = state.settings.console_hosts();
    let input = data.to_input(&tenant, &hosts);
    let actor = user.actor(&req);
    let saved =
        service::update(&mut conn, &user, &actor, &tenant, input, state.clock.now()).await?;
    let answer = SavedTenantJson {
        tenant: tenant_json(&mut conn, &saved.value).await?,
        warnings: saved.warnings,
    };
    Ok(json(StatusCode::OK, &answer))
}

/// Delete a tenant (Owner over its parent). Refused (409, `delete-blocked`) while
/// its subtree holds sub-tenants, users, resolvers or devices, or had usage in the
/// last 30 days, unless `force=true`.
#[utoipa::path(
    delete,
    path = "/api/v1/tenants/{id}",
    tag = "tenants",
    params(("id" = i64, Path, description = "Tenant id"), DeleteParams),
    responses((status = 204, description = "Deleted (with its subtree when forced)")),
    security(("bearer" = []))
)]
pub async fn delete(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<DeleteParams>,
) -> Result<HttpResponse, actix_web::Error> {
    let (mut conn, tenant) = path_tenant(&req, &user, &state, &path).await?;
    service::delete(
        &mut conn,
        &user,
        &user.actor(&req),
        &tenant,
        params.force,
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Move a tenant with its subtree under another parent (Owner over the current
/// parent, manage sub-tenants on the new one). Accepts `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{id}/move",
    tag = "tenants",
    params(("id" = i64, Path, description = "Tenant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, 1–255 visible ASCII characters")),
    request_body(content = MoveTenant, content_type = "application/json"),
    responses((status = 200, description = "The moved tenant, with `warnings` (what its subtree uses that the plan it comes under lacks: kept, dormant)", body = SavedTenantJson)),
    security(("bearer" = []))
)]
pub async fn move_tenant(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    // The connection goes back to the pool: `idempotency::run` takes its own.
    let (_, tenant) = path_tenant(&req, &user, &state, &path).await?;
    let id = tenant.id;
    let data: MoveTenant = parse_json(&req, &body)?;
    let actor = user.actor(&req);
    Ok(idempotency::run(&state, &req, &user, &body, async |conn| {
        let moved = apply_move(&user, &actor, conn, id, data.parent_id, state.clock.now()).await?;
        let answer = SavedTenantJson {
            tenant: tenant_json(conn, &moved.value).await?,
            warnings: moved.warnings,
        };
        Answer::json(StatusCode::OK, &answer)
    })
    .await?)
}

/// Check the DNS proof of the tenant's pending custom domain (whoever may edit the
/// tenant): the TXT record `custom_domain_txt_name` must hold `custom_domain_txt_value`.
/// Found: the domain is `verified` and serves. Missing or different: 422 with
/// `errors.custom_domain` saying what to add. The DNS resolver failing or not answering
/// within a few seconds: 503 `service-unavailable`, nothing changed. A domain that
/// serves already answers 200 unchanged.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{id}/custom-domain/verify",
    tag = "tenants",
    params(("id" = i64, Path, description = "Tenant id")),
    responses((status = 200, description = "The tenant; its custom domain serves", body = TenantJson)),
    security(("bearer" = []))
)]
pub async fn verify_domain(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, actix_web::Error> {
    // No connection is held while the DNS answers.
    let (_, tenant) = path_tenant(&req, &user, &state, &path).await?;
    let change = service::verify_custom_domain(
        &state.pool,
        &crate::dns::TxtResolver::from_settings(&state.settings),
        &state.settings.console_hosts(),
        &user,
        &user.actor(&req),
        &tenant,
    )
    .await?;
    let mut conn = state.pool.get().await.map_err(AppError::from)?;
    Ok(json(
        StatusCode::OK,
        &tenant_json(&mut conn, change.tenant()).await?,
    ))
}

/// Approve the tenant's pending custom domain without its DNS proof (Owners of the
/// root with sub-tenant scope only). The body names the domain being approved; if the
/// tenant's domain is another by now: 409, nothing approved.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{id}/custom-domain/approve",
    tag = "tenants",
    params(("id" = i64, Path, description = "Tenant id")),
    request_body(content = ApproveDomain, content_type = "application/json"),
    responses((status = 200, description = "The tenant; its custom domain serves", body = TenantJson)),
    security(("bearer" = []))
)]
pub async fn approve_domain(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    let (mut conn, tenant) = path_tenant(&req, &user, &state, &path).await?;
    // The right first: a body is read only from whoever may approve.
    if !authz::can_approve_custom_domain(&user) {
        return Err(AppError::Forbidden.into());
    }
    let data: ApproveDomain = parse_json(&req, &body)?;
    let change = service::approve_custom_domain(
        &mut conn,
        &state.settings.console_hosts(),
        &user,
        &user.actor(&req),
        &tenant,
        &data.custom_domain,
    )
    .await?;
    let mut conn = state.pool.get().await.map_err(AppError::from)?;
    Ok(json(
        StatusCode::OK,
        &tenant_json(&mut conn, change.tenant()).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::models::tenant::DomainClaim;

    fn hosts() -> ConsoleHosts {
        ConsoleHosts::example()
    }

    fn tenant(id: i64, parent_id: Option<i64>) -> Tenant {
        Tenant {
            id,
            parent_id,
            path: parent_id.into_iter().chain([id]).collect(),
            name: "Acme".into(),
            description: "Old".into(),
            subdomain: "acme".into(),
            custom_domain: Some("console.acme.com".into()),
            enabled: true,
            can_have_subtenants: false,
            tenant_role_id: 3,
            user_count: 0,
            instance_count: 0,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            domain_claim: DomainClaim::default(),
            monthly_query_quota: None,
            limits: Default::default(),
            plan_id: None,
        }
    }

    #[test]
    fn a_patch_changes_only_what_it_sends() {
        let t = tenant(2, Some(1));
        let patch = UpdateTenant {
            description: Some(Some("New".into())),
            custom_domain: Some(None),
            ..UpdateTenant::default()
        };
        let fields = patch.to_input(&t, &hosts()).fields.into_result().unwrap();
        assert_eq!(
            fields.name,
            crate::domain::TenantName::parse("Acme").unwrap()
        );
        assert_eq!(
            fields.description,
            crate::domain::Description::parse("New").unwrap()
        );
        assert!(fields.custom_domain.is_none() && fields.enabled && !fields.can_have_subtenants);
        let kept = UpdateTenant::default()
            .to_input(&t, &hosts())
            .fields
            .into_result()
            .unwrap();
        assert!(kept.custom_domain.is_some());
    }

    #[test]
    fn a_patch_reports_every_field_error() {
        let root = tenant(1, None);
        let patch = UpdateTenant {
            name: Some(Some(String::new())),
            enabled: Some(Some(false)),
            ..UpdateTenant::default()
        };
        let errors = patch
            .to_input(&root, &hosts())
            .fields
            .into_result()
            .unwrap_err();
        assert_eq!(errors["enabled"], "The root tenant cannot be disabled.");
        assert_eq!(errors["name"], "Enter a name.");
    }

    #[test]
    fn null_is_a_field_error_but_for_the_custom_domain() {
        let t = tenant(2, Some(1));
        let patch: UpdateTenant = serde_json::from_value(serde_json::json!({
            "name": null, "subdomain": null, "description": null,
            "can_have_subtenants": null, "enabled": null, "custom_domain": null,
        }))
        .unwrap();
        let errors = patch
            .to_input(&t, &hosts())
            .fields
            .into_result()
            .unwrap_err();
        assert_eq!(
            errors.keys().copied().collect::<Vec<_>>(),
            [
                "can_have_subtenants",
                "description",
                "enabled",
                "name",
                "subdomain"
            ]
        );
        assert_eq!(errors["name"], NOT_NULL);
        // A null name on the root next to `enabled: false`: both errors.
        let patch: UpdateTenant =
            serde_json::from_value(serde_json::json!({"name": null, "enabled": false})).unwrap();
        let errors = patch
            .to_input(&tenant(1, None), &hosts())
            .fields
            .into_result()
            .unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn naming_the_parents_tenant_role_asks_for_none() {
        let parent = tenant(2, Some(1));
        let create = |role| CreateTenant {
            parent_id: 2,
            name: "New".into(),
            subdomain: "new".into(),
            description: String::new(),
            custom_domain: None,
            can_have_subtenants: false,
            enabled: true,
            tenant_role_id: role,
            labels: Vec::new(),
            monthly_query_quota: None,
            storage_limit_gb: None,
            memory_limit_gb: None,
            max_instances: None,
            max_users: None,
            plan_id: None,
        };
        assert_eq!(
            create(Some(3)).to_input(&parent, &hosts()).tenant_role,
            None
        );
        assert_eq!(
            create(Some(4)).to_input(&parent, &hosts()).tenant_role,
            Some(RoleChoice::Id(4))
        );
    }
}
