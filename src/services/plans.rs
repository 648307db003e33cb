//! Plans (issue #16, point 3): the root's Owners and Administrators define them
//! (`authz::can_manage_plans`; everyone else is answered 404) and put tenants on
//! them. What a plan gives its tenants is decided here, for every path:
//!
//! - **Limits.** A tenant's effective limit is its own where set, else its plan's:
//!   every reader of a limit goes through `db::models::plan::effective_limit!`. A
//!   tenant's own limit may not be above its plan's ([`tenant_errors`], asked by
//!   `services::tenants::tree` on create and edit with the plan locked FOR SHARE);
//!   lowering a plan's limit below a tenant's own limit on it is refused, naming
//!   them ([`update`], with the plan locked FOR UPDATE): refused rather than
//!   clamped, since a clamp would silently change limits that someone chose for
//!   that tenant, and the refusal says exactly what to lower first.
//! - **Options.** What the plan lacks is refused when it would be taken up:
//!   `sub_tenants` — creating a tenant under one whose plan lacks it, or turning on
//!   its "may have sub-tenants" switch; `custom_domain` — setting or changing its
//!   custom domain, checking or approving one; `api_access` — creating an API token
//!   for a user homed in such a tenant, and every API call by such a user (their
//!   existing tokens stop working while the plan lacks it; the console is not
//!   affected); `custom_branding` — [`allows`] with `PlanOption::CustomBranding`, for
//!   the branding's write path. What a tenant already has stays when its plan
//!   changes (its sub-tenants, a serving domain): only taking up more is refused.
//!   A tenant without its own plan is under the plan of its nearest ancestor
//!   that has one, for its options and its limits alike (`Plan::governing`, the
//!   `governing_plan_id!` SQL fragment that `effective_limit!` reads too): only a
//!   tenant with no plan anywhere on its path has every option.

use super::Actor;
use crate::auth::{authz, Principal};
use crate::db::models::plan::{Plan, PlanRow, PlanTenant};
use crate::db::models::tenant::TenantFields;
use crate::db::models::Tenant;
use crate::domain::plan::{not_in_plan, PlanInput, PlanLimits, PlanOption};
use crate::error::{AppError, FieldErrors};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use std::collections::HashMap;

/// How many tenants a refusal names before "and N more".
const NAMED: i64 = 3;

/// A plan as the list shows it: how many tenants it governs (on it, or following
/// it through an ancestor), and their queries this month together.
#[derive(Clone, Debug)]
pub struct PlanSummary {
    pub plan: Plan,
    pub tenants: i64,
    pub queries: i64,
}

/// The first day of `now`'s month (UTC): the month quota use is counted in.
pub fn month_of(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive().with_day(1).unwrap_or(now.date_naive())
}

/// Every plan with its tenants' count and queries in `now`'s month, as `p` (404
/// unless `p` manages plans).
pub async fn list(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    now: DateTime<Utc>,
) -> Result<Vec<PlanSummary>, AppError> {
    authz::require_plans(p)?;
    let sums = Plan::tenants_and_queries(conn, month_of(now)).await?;
    Ok(Plan::all(conn)
        .await?
        .into_iter()
        .map(|plan| {
            let (tenants, queries) = sums.get(&plan.id).copied().unwrap_or((0, 0));
            PlanSummary {
                tenants,
                queries,
                plan,
            }
        })
        .collect())
}

/// The plan `id` as `p` may see it (404 unless `p` manages plans, or none).
pub async fn find(conn: &mut AsyncPgConnection, p: &Principal, id: i64) -> Result<Plan, AppError> {
    authz::require_plans(p)?;
    Ok(Plan::find(conn, id).await?)
}

/// One page (`offset`, `limit`) of the tenants the plan governs that `p` sees — on
/// it, or following it through an ancestor — with their queries in `now`'s month,
/// and how many there are.
pub async fn tenants(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    plan: &Plan,
    now: DateTime<Utc>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<PlanTenant>, i64), AppError> {
    authz::require_plans(p)?;
    Ok(Plan::tenants_page(
        conn,
        plan.id,
        &authz::visibility(p),
        month_of(now),
        offset,
        limit,
    )
    .await?)
}

/// Plans are the root's: their events are about it, so its activity log shows them
/// (`p` manages plans, so is homed in the root).
fn about_root(p: &Principal) -> Option<i64> {
    p.home.path.first().copied()
}

fn snapshot(plan: &Plan) -> serde_json::Value {
    serde_json::json!({
        "id": plan.id, "name": plan.name, "limits": plan.limits(), "options": plan.options(),
    })
}

fn name_taken(e: diesel::result::Error) -> AppError {
    use diesel::result::{DatabaseErrorKind, Error};
    match &e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            AppError::field("name", NAME_TAKEN)
        }
        _ => e.into(),
    }
}

const NAME_TAKEN: &str = "A plan with this name exists.";

/// Creates a plan as `p` (404 unless `p` manages plans), at `now`.
pub async fn create(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    input: Result<PlanInput, FieldErrors>,
    now: DateTime<Utc>,
) -> Result<Plan, AppError> {
    authz::require_plans(p)?;
    let input = input.map_err(AppError::Validation)?;
    conn.transaction(async |conn| {
        if Plan::name_taken(conn, input.name.as_str(), None).await? {
            return Err(AppError::field("name", NAME_TAKEN));
        }
        let row = PlanRow::new(input.name.as_str(), input.limits, input.options, now);
        let plan = Plan::insert(conn, &row, now).await.map_err(name_taken)?;
        let mut event = actor.event("plan.create", about_root(p));
        event.after = Some(snapshot(&plan));
        event.record(conn).await?;
        Ok(plan)
    })
    .await
}

/// Saves a plan as `p` (404 unless `p` manages plans). A limit lowered below the
/// own limit of a tenant on the plan is a field error naming them (they would be
/// above their plan): lower theirs first.
pub async fn update(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    id: i64,
    input: Result<PlanInput, FieldErrors>,
    now: DateTime<Utc>,
) -> Result<Plan, AppError> {
    authz::require_plans(p)?;
    let input = input.map_err(AppError::Validation)?;
    conn.transaction(async |conn| {
        crate::db::set_lock_timeout(conn).await?;
        let before = Plan::lock(conn, id, true).await?;
        let mut errors = FieldErrors::new();
        if Plan::name_taken(conn, input.name.as_str(), Some(id)).await? {
            errors.insert("name", NAME_TAKEN.into());
        }
        for (field, most, unit) in input.limits.each() {
            let Some(most) = most else { continue };
            let (names, count) = Plan::tenants_above(conn, id, field, most, NAMED).await?;
            if count > 0 {
                errors.insert(field, above_plan(&names, count, most, unit));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let row = PlanRow::new(input.name.as_str(), input.limits, input.options, now);
        let saved = Plan::update(conn, id, &row).await.map_err(name_taken)?;
        if saved != before {
            let mut event = actor.event("plan.update", about_root(p));
            event.before = Some(snapshot(&before));
            event.after = Some(snapshot(&saved));
            event.record(conn).await?;
        }
        Ok(saved)
    })
    .await
}

/// "Acme, Beta and 2 more have their own limit above 500 GB: lower theirs first."
fn above_plan(names: &[String], count: i64, most: i64, unit: &str) -> String {
    let more = count - names.len() as i64;
    let who = if more > 0 {
        format!("{} and {more} more", names.join(", "))
    } else {
        names.join(", ")
    };
    let verb = if count == 1 { "has its" } else { "have their" };
    let most = crate::domain::plan::counted(most, unit);
    format!("{who} {verb} own limit above {most}: lower theirs first.")
}

/// Deletes a plan as `p` (404 unless `p` manages plans): refused (409) while
/// tenants are on it, naming how many.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    id: i64,
) -> Result<Plan, AppError> {
    authz::require_plans(p)?;
    conn.transaction(async |conn| {
        crate::db::set_lock_timeout(conn).await?;
        let plan = Plan::lock(conn, id, true).await?;
        let on = Plan::tenant_count(conn, id).await?;
        if on > 0 {
            return Err(AppError::Conflict(format!(
                "{on} {} on plan {}: put {} on another plan (or none) first.",
                if on == 1 { "tenant is" } else { "tenants are" },
                plan.name,
                if on == 1 { "it" } else { "them" },
            )));
        }
        let mut event = actor.event("plan.delete", about_root(p));
        event.before = Some(snapshot(&plan));
        event.record(conn).await?;
        Plan::delete(conn, id).await?;
        Ok(plan)
    })
    .await
}

/// The plan governing `tenant`: its own, else that of its nearest ancestor with
/// one (`Plan::governing`, the one place that rule is read); `None` when no tenant
/// on its path is on a plan (then it has every option).
pub async fn plan_of(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
) -> Result<Option<Plan>, AppError> {
    Ok(Plan::governing(conn, &[tenant.id])
        .await?
        .remove(&tenant.id))
}

/// Why `destination` may not take sub-tenants by its governing `plan`, as a field
/// error on `parent_id` says it ("Acme may not have sub-tenants: Not in plan Tiny."),
/// for a create under it and every move (API, batch, bulk, form) and its pickers.
pub fn sub_tenants_refusal(destination: &Tenant, plan: Option<&Plan>) -> Option<String> {
    authz::plan_refusal(plan, PlanOption::SubTenants)
        .map(|reason| format!("{} may not have sub-tenants: {reason}", destination.name))
}

/// Does `tenant`'s plan give it `option`? (Every option without a plan.) The
/// branding's write path asks this with `PlanOption::CustomBranding`.
pub async fn allows(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    option: PlanOption,
) -> Result<bool, AppError> {
    Ok(authz::plan_allows(
        plan_of(conn, tenant).await?.as_ref(),
        option,
    ))
}

/// A field error on `field` ("Not in plan Basic.") unless `tenant`'s plan gives it
/// `option`.
pub async fn require_option(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    option: PlanOption,
    field: &'static str,
) -> Result<(), AppError> {
    match authz::plan_refusal(plan_of(conn, tenant).await?.as_ref(), option) {
        Some(reason) => Err(AppError::field(field, reason)),
        None => Ok(()),
    }
}

/// The plans of `ids` locked FOR SHARE (by id), for a tenant create or edit to
/// check its limits and options against: a plan's change waits until it commits.
/// An id that names no plan is left out.
pub async fn lock_shared(
    conn: &mut AsyncPgConnection,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, Plan>, AppError> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut plans = HashMap::new();
    for id in ids {
        match Plan::lock(conn, id, false).await {
            Ok(plan) => {
                plans.insert(id, plan);
            }
            Err(diesel::result::Error::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(plans)
}

/// Unknown plan, as the tenant form and API say it.
pub const UNKNOWN_PLAN: &str = "Choose a plan from the list.";

/// A tenant as a create or edit leaves it, as far as its plan is concerned.
#[derive(Clone, Copy, Debug)]
pub struct PlanCheck<'a> {
    /// The plan it will be on (`None`: none), and whether that is a change.
    pub plan_id: Option<i64>,
    /// Its own limits after the change.
    pub own: PlanLimits,
    /// Whether the change turns its "may have sub-tenants" switch on.
    pub takes_sub_tenants: bool,
    /// Whether the change sets a custom domain (another one, or one where none was).
    pub takes_custom_domain: bool,
    /// Whether it is the root (which is on no plan).
    pub is_root: bool,
    pub plans: &'a HashMap<i64, Plan>,
}

/// The field errors of a tenant's create or edit against its plan (loaded with
/// [`lock_shared`]): a plan that does not exist, own limits above the plan's, options
/// the plan lacks being taken up.
pub fn tenant_errors(c: &PlanCheck<'_>) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let Some(id) = c.plan_id else {
        return errors;
    };
    if c.is_root {
        errors.insert("plan_id", "The root tenant is on no plan.".into());
        return errors;
    }
    let Some(plan) = c.plans.get(&id) else {
        errors.insert("plan_id", UNKNOWN_PLAN.into());
        return errors;
    };
    errors.extend(c.own.above(&plan.limits(), &plan.name));
    if c.takes_sub_tenants && !plan.sub_tenants {
        errors.insert("can_have_subtenants", not_in_plan(&plan.name));
    }
    if c.takes_custom_domain && !plan.custom_domain {
        errors.insert("custom_domain", not_in_plan(&plan.name));
    }
    errors
}

/// The own limits a tenant has after `fields` are saved over `before` (none on
/// create); the user limit `max_users_before` is read apart from the row.
pub fn own_limits(
    fields: &TenantFields,
    before: Option<&Tenant>,
    max_users_before: Option<i32>,
) -> PlanLimits {
    let limits = before.map(|t| t.limits).unwrap_or_default();
    PlanLimits {
        monthly_query_quota: fields
            .monthly_query_quota
            .unwrap_or(before.and_then(|t| t.monthly_query_quota)),
        max_users: fields.max_users.unwrap_or(max_users_before),
        max_instances: fields.limits.max_instances.unwrap_or(limits.max_instances),
        storage_limit_gb: fields
            .limits
            .storage_limit_gb
            .unwrap_or(limits.storage_limit_gb),
        memory_limit_gb: fields
            .limits
            .memory_limit_gb
            .unwrap_or(limits.memory_limit_gb),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(sub_tenants: bool, custom_domain: bool) -> Plan {
        Plan {
            id: 7,
            name: "Basic".into(),
            monthly_query_quota: Some(1000),
            max_users: None,
            max_instances: None,
            storage_limit_gb: Some(500),
            memory_limit_gb: None,
            custom_branding: false,
            custom_domain,
            sub_tenants,
            api_access: false,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn check(plans: &HashMap<i64, Plan>, plan_id: Option<i64>, own: PlanLimits) -> PlanCheck<'_> {
        PlanCheck {
            plan_id,
            own,
            takes_sub_tenants: true,
            takes_custom_domain: true,
            is_root: false,
            plans,
        }
    }

    #[test]
    fn a_tenant_on_a_plan_is_held_to_its_limits_and_options() {
        let plans = HashMap::from([(7, plan(false, true))]);
        let own = PlanLimits {
            storage_limit_gb: Some(600),
            ..PlanLimits::default()
        };
        let errors = tenant_errors(&check(&plans, Some(7), own));
        assert_eq!(errors["storage_limit_gb"], "At most 500 GB on plan Basic.");
        assert_eq!(errors["can_have_subtenants"], "Not in plan Basic.");
        assert!(!errors.contains_key("custom_domain"));
        // No plan: nothing to hold it to; an unknown one is the field's error.
        assert!(tenant_errors(&check(&plans, None, own)).is_empty());
        assert_eq!(
            tenant_errors(&check(&plans, Some(8), own))["plan_id"],
            UNKNOWN_PLAN
        );
        let mut root = check(&plans, Some(7), PlanLimits::default());
        root.is_root = true;
        assert!(tenant_errors(&root).contains_key("plan_id"));
    }

    #[test]
    fn a_refusal_names_the_tenants_above_the_plan() {
        assert_eq!(
            above_plan(&["Acme".into()], 1, 500, "GB"),
            "Acme has its own limit above 500 GB: lower theirs first."
        );
        assert_eq!(
            above_plan(&["A".into(), "B".into(), "C".into()], 5, 10, "users"),
            "A, B, C and 2 more have their own limit above 10 users: lower theirs first."
        );
    }
}
