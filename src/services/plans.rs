//! Plans (issue #16, point 3): the root's Owners and Administrators define them
//! (`authz::can_manage_plans`; everyone else is answered 404) and put tenants on
//! them. What a plan gives its tenants is decided here, for every path:
//!
//! - **Limits.** A tenant's effective limit is its own where set, else its plan's:
//!   every reader of a limit goes through `db::models::plan::effective_limit!`. A
//!   tenant's own limit may not be above its plan's ([`tenant_errors`], asked by
//!   `services::tenants::tree` on create and edit with the plan locked FOR SHARE).
//! - **What a plan governs must fit its limits.** The tenants a plan governs — on
//!   it, or inheriting it — may not hold an own limit above it (`Plan::misfits`).
//!   Whatever would break that is refused naming them, never clamped (the refusal
//!   says what to change first): a plan's save that lowers a limit ([`update`],
//!   plan FOR UPDATE), a tenant's plan switch (`tree::update`, for it and those
//!   inheriting from it), a move that brings a subtree under another plan
//!   ([`plan_move`], for every move path and its previews).
//! - **A downgrade is allowed.** An option taken away (a plan's save, a switch, a
//!   move) that governed tenants use refuses nothing: what they have is kept and
//!   goes dormant while the plan lacks it, and the save says so
//!   ([`dormant_warnings`], `Plan::dormant`): branding values are kept, not shown;
//!   a custom domain is kept, neither served nor verified; users' API tokens are
//!   refused at request time; sub-tenants stay, no new ones. Writes that take up
//!   an option hold the tenant's path and plan ([`lock_for_option`]), so a switch
//!   or move committed meanwhile is judged against it.
//! - **Options.** What the plan lacks is refused when it would be taken up:
//!   `sub_tenants` — creating a tenant under one whose plan lacks it, or turning on
//!   its "may have sub-tenants" switch; `custom_domain` — setting or changing its
//!   custom domain, checking or approving one; `api_access` — creating an API token
//!   for a user homed in such a tenant, and every API call by such a user (their
//!   existing tokens stop working while the plan lacks it; the console is not
//!   affected); `custom_branding` — setting a branding value or a logo (a reset
//!   stays allowed). Sub-tenants a tenant has stay when its plan lacks
//!   them: only new ones are refused.
//!   A tenant without its own plan is under the plan of its nearest ancestor
//!   that has one, for its options and its limits alike (`Plan::governing`, the
//!   `governing_plan_id!` SQL fragment that `effective_limit!` reads too): only a
//!   tenant with no plan anywhere on its path has every option.

use super::Actor;
use crate::auth::{authz, Principal};
use crate::db::models::plan::{Governed, Plan, PlanRow, PlanTenant, PlanTenantQuery};
use crate::db::models::tenant::TenantFields;
use crate::db::models::Tenant;
use crate::domain::activity::{changed_only, Action};
use crate::domain::number::grouped;
use crate::domain::plan::{not_in_plan, PlanInput, PlanLimits, PlanOption, PlanOptions};
use crate::domain::text::possessive;
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

/// One page (`q`: its order, filter, offset and size) of the tenants the plan
/// governs that `p` sees — on it, or following it through an ancestor — with their
/// queries in `now`'s month, and how many there are.
pub async fn tenants(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    plan: &Plan,
    now: DateTime<Utc>,
    q: &PlanTenantQuery,
) -> Result<(Vec<PlanTenant>, i64), AppError> {
    authz::require_plans(p)?;
    Ok(Plan::tenants_page(conn, plan, &authz::visibility(p), month_of(now), q).await?)
}

/// Plans are the root's: their events are about it, so its activity log shows them
/// (`p` manages plans, so is homed in the root).
fn about_root(p: &Principal) -> Option<i64> {
    p.home.path.first().copied()
}

/// A plan as its events record it: which plan, and each limit and option a field of
/// its own (a change reads `storage_limit_gb: 100 → 200`).
fn snapshot(plan: &Plan) -> serde_json::Value {
    let mut fields = serde_json::json!({ "plan_id": plan.id, "name": plan.name });
    for part in [
        serde_json::to_value(plan.limits()),
        serde_json::to_value(plan.options()),
    ] {
        if let (Some(fields), Ok(serde_json::Value::Object(part))) = (fields.as_object_mut(), part)
        {
            fields.extend(part);
        }
    }
    fields
}

/// What a plan's change records of it besides what changed.
const KEEP: [&str; 2] = ["plan_id", "name"];

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
        let mut event = actor.event(Action::PlanCreate, about_root(p));
        event.after = Some(snapshot(&plan));
        event.record(conn).await?;
        Ok(plan)
    })
    .await
}

/// Saves a plan as `p` (404 unless `p` manages plans): `input` reads the plan as
/// it is, locked, and says what to save — the whole plan (the form, `PUT`), or the
/// plan with the fields a `PATCH` sent changed (so two changes of different fields
/// both hold). A limit lowered below the
/// own limit of a tenant on the plan is a field error naming them (they would be
/// above their plan): lower theirs first. A limit lowered below what tenants it
/// governs use is saved, with a warning naming them ([`over_use_warnings`]); so is
/// an option dropped that they use: what they have goes dormant
/// ([`dormant_warnings`]).
pub async fn update(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    id: i64,
    input: impl FnOnce(&Plan) -> Result<PlanInput, FieldErrors> + Send,
    now: DateTime<Utc>,
) -> Result<Warned<Plan>, AppError> {
    authz::require_plans(p)?;
    conn.transaction(async |conn| {
        crate::db::set_lock_timeout(conn).await?;
        let before = Plan::lock(conn, id, true).await?;
        let input = input(&before).map_err(AppError::Validation)?;
        let mut errors = FieldErrors::new();
        if Plan::name_taken(conn, input.name.as_str(), Some(id)).await? {
            errors.insert("name", NAME_TAKEN.into());
        }
        // Only what the change takes away is judged (a stricter limit, an option
        // dropped), over every tenant the plan governs, those inheriting it too: a
        // plan saved as it was (renamed) is never refused for what it already allowed.
        let (limits, options) = taken_away(&before, &input.limits, &input.options);
        let misfits = Plan::misfits(conn, Governed::By(id), &limits, NAMED).await?;
        for (field, names, count) in &misfits {
            if let Some(field) = plan_field(field) {
                let words = misfit_words(field, names, *count, &limits, false);
                errors.insert(field, format!("{words}: lower theirs first."));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let row = PlanRow::new(input.name.as_str(), input.limits, input.options, now);
        let saved = Plan::update(conn, id, &row).await.map_err(name_taken)?;
        // What changed, and which plan (its id and name, both sides).
        if let Some((was, is)) = changed_only(&snapshot(&before), &snapshot(&saved), &KEEP) {
            let mut event = actor.event(Action::PlanUpdate, about_root(p));
            event.before = Some(was);
            event.after = Some(is);
            event.record(conn).await?;
        }
        // Only the limits this save made stricter and the options it dropped: what
        // it left alone is no news.
        let mut warnings = over_use_warnings(conn, Governed::By(id), &saved.name, &limits).await?;
        warnings
            .extend(dormant_warnings(conn, Governed::By(id), &saved.name, &options, now).await?);
        Ok(Warned {
            value: saved,
            warnings,
        })
    })
    .await
}

/// What saving `limits` and `options` over `before` takes away: the limits made
/// stricter (set where there was none, or lowered; the others `None`) and the
/// options dropped (only those `false`).
fn taken_away(
    before: &Plan,
    limits: &PlanLimits,
    options: &PlanOptions,
) -> (PlanLimits, PlanOptions) {
    let stricter = |new: Option<i64>, old: Option<i64>| match (new, old) {
        (Some(n), Some(o)) if n < o => Some(n),
        (Some(n), None) => Some(n),
        _ => None,
    };
    let old = before.limits();
    let judged = PlanLimits {
        monthly_query_quota: stricter(limits.monthly_query_quota, old.monthly_query_quota),
        max_users: stricter(
            limits.max_users.map(i64::from),
            old.max_users.map(i64::from),
        )
        .and(limits.max_users),
        max_instances: stricter(limits.max_instances, old.max_instances),
        storage_limit_gb: stricter(limits.storage_limit_gb, old.storage_limit_gb),
        memory_limit_gb: stricter(limits.memory_limit_gb, old.memory_limit_gb),
    };
    let mut kept = PlanOptions::default();
    for option in PlanOption::ALL {
        kept.set(
            option,
            options.includes(option) || !before.options().includes(option),
        );
    }
    (judged, kept)
}

/// The plan's field (a limit's or an option's) that [`Plan::misfits`] names.
fn plan_field(field: &str) -> Option<&'static str> {
    PlanLimits::FIELDS
        .into_iter()
        .chain(PlanOption::ALL.map(PlanOption::field))
        .find(|f| *f == field)
}

/// Who: "Acme", "Acme and Beta", "Acme, Beta and 2 more".
fn who(names: &[String], count: i64) -> String {
    let more = count - names.len() as i64;
    match names {
        _ if more > 0 => format!("{} and {more} more", names.join(", ")),
        [rest @ .., last] if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(", "),
    }
}

/// What the tenants that do not fit a plan's limit `field` have: "Acme has its own
/// limit above 500 GB" (with `label`: "its own storage limit").
fn misfit_words(
    field: &str,
    names: &[String],
    count: i64,
    limits: &PlanLimits,
    label: bool,
) -> String {
    let who = who(names, count);
    let one = count == 1;
    if let Some((_, most, unit)) = limits.each().into_iter().find(|(f, ..)| *f == field) {
        let verb = if one { "has its" } else { "have their" };
        let what = if label { limit_label(field) } else { "" };
        let most = most.map_or_else(String::new, |m| crate::domain::plan::counted(m, unit));
        return format!("{who} {verb} own {what}limit above {most}");
    }
    format!("{who} {} {field}", if one { "has" } else { "have" })
}

/// A limit's name in a sentence, with the space after it.
fn limit_label(field: &str) -> &'static str {
    match field {
        "monthly_query_quota" => "query ",
        "max_users" => "user ",
        "max_instances" => "instance ",
        "storage_limit_gb" => "storage ",
        "memory_limit_gb" => "memory ",
        _ => "",
    }
}

/// Why the tenants of `governed` do not fit `plan` (its limits: "Acme has its own
/// storage limit above 500 GB; Beta has its own user limit above 10 users"), or
/// `None` when they all fit. The options it lacks refuse nothing: what uses them
/// goes dormant ([`dormant_warnings`]).
pub async fn misfits_of(
    conn: &mut AsyncPgConnection,
    governed: Governed<'_>,
    plan: &Plan,
) -> Result<Option<String>, AppError> {
    let limits = plan.limits();
    let misfits = Plan::misfits(conn, governed, &limits, NAMED).await?;
    let words: Vec<String> = misfits
        .iter()
        .map(|(field, names, count)| misfit_words(field, names, *count, &limits, true))
        .collect();
    Ok((!words.is_empty()).then(|| words.join("; ")))
}

/// A save's answer and what it warns of: saved all the same, but something the
/// user should know (a plan whose limits are below what its tenants use).
#[derive(Clone, Debug)]
pub struct Warned<T> {
    pub value: T,
    pub warnings: Vec<String>,
}

/// What the tenants of `governed` use above `limits` of plan `plan_name`, where
/// the limit is theirs (no own one of the kind): one sentence per limit, "Acme
/// uses 400 GB of storage, above plan Basic's 100 GB: growth is refused until use
/// falls below it." Not refused: like an own limit set below use, such a limit is
/// kept and refuses growth only (the usage bars show it above).
pub async fn over_use_warnings(
    conn: &mut AsyncPgConnection,
    governed: Governed<'_>,
    plan_name: &str,
    limits: &PlanLimits,
) -> Result<Vec<String>, AppError> {
    let over = Plan::over_use(conn, governed, limits, NAMED).await?;
    Ok(over
        .iter()
        .filter_map(|(field, named, count)| {
            let (_, limit, _) = limits.each().into_iter().find(|(f, ..)| f == field)?;
            Some(over_use_words(field, named, *count, limit?, plan_name))
        })
        .collect())
}

/// One limit's warning (see [`over_use_warnings`]): the tenants named with their
/// use, how many there are, the plan's limit.
fn over_use_words(
    field: &str,
    named: &[(String, i64)],
    count: i64,
    limit: i64,
    plan_name: &str,
) -> String {
    // What is counted: its noun, and an amount as a whole sentence and a list say it.
    let (noun, counts) = match field {
        "max_users" => ("users", true),
        "max_instances" => ("instances", true),
        "storage_limit_gb" => ("storage", false),
        _ => ("memory", false),
    };
    let amount = |n: i64| {
        if counts {
            crate::domain::plan::counted(n, noun)
        } else {
            format!("{} GB", grouped(n))
        }
    };
    let most = amount(limit);
    if let ([(name, used)], 1) = (named, count) {
        let (verb, of) = if counts {
            ("has", String::new())
        } else {
            ("uses", format!(" of {noun}"))
        };
        return format!(
            "{name} {verb} {}{of}, above plan {} {most}: growth is refused until use falls below it.",
            amount(*used),
            possessive(plan_name)
        );
    }
    let names: Vec<String> = named
        .iter()
        .map(|(name, used)| format!("{name} ({})", amount(*used)))
        .collect();
    let verb = if counts { "have" } else { "use" };
    format!(
        "{} {verb} more {noun} than plan {} {most}: growth is refused until their use falls below it.",
        who(&names, count),
        possessive(plan_name)
    )
}

/// What the tenants of `governed` use that `options` (of plan `plan_name`) lack, at
/// `now`: kept, dormant while they are on it, one sentence per option ("Brand T's
/// own branding is kept but not shown while on Basic.", "3 API tokens of Child C
/// stop working while on Basic.", "Acme has 3 sub-tenants: they stay, no new ones
/// while on Basic.", "Domain Y's custom domain is kept but neither served nor
/// verified while on Basic."). A downgrade is allowed: the save says what sleeps.
pub async fn dormant_warnings(
    conn: &mut AsyncPgConnection,
    governed: Governed<'_>,
    plan_name: &str,
    options: &PlanOptions,
    now: DateTime<Utc>,
) -> Result<Vec<String>, AppError> {
    let dormant = Plan::dormant(conn, governed, options, now, NAMED).await?;
    Ok(dormant
        .iter()
        .map(|(field, named, count)| dormant_words(field, named, *count, plan_name))
        .collect())
}

/// One option's warning (see [`dormant_warnings`]).
fn dormant_words(field: &str, named: &[(String, i64)], count: i64, plan_name: &str) -> String {
    let names: Vec<String> = named.iter().map(|(n, _)| n.clone()).collect();
    let on = format!("while on {plan_name}");
    let one = match (named, count) {
        ([(name, amount)], 1) => Some((name, *amount)),
        _ => None,
    };
    let counted = |amount: i64, unit: &str| {
        let s = if amount == 1 { "" } else { "s" };
        format!("{} {unit}{s}", grouped(amount))
    };
    match (field, one) {
        ("custom_branding", Some((name, _))) => {
            format!(
                "{} own branding is kept but not shown {on}.",
                possessive(name)
            )
        }
        ("custom_branding", None) => format!(
            "The own branding of {} is kept but not shown {on}.",
            who(&names, count)
        ),
        ("custom_domain", Some((name, _))) => {
            format!(
                "{} custom domain is kept but neither served nor verified {on}.",
                possessive(name)
            )
        }
        ("custom_domain", None) => format!(
            "The custom domains of {} are kept but neither served nor verified {on}.",
            who(&names, count)
        ),
        ("api_access", Some((name, amount))) => format!(
            "{} of {name} stop{} working {on}.",
            counted(amount, "API token"),
            if amount == 1 { "s" } else { "" }
        ),
        ("api_access", None) => {
            let names: Vec<String> = named.iter().map(|(n, a)| format!("{n} ({a})")).collect();
            format!(
                "The API tokens of {} stop working {on}.",
                who(&names, count)
            )
        }
        ("sub_tenants", Some((name, amount))) => format!(
            "{name} has {}: {} stay{}, no new ones {on}.",
            counted(amount, "sub-tenant"),
            if amount == 1 { "it" } else { "they" },
            if amount == 1 { "s" } else { "" },
        ),
        ("sub_tenants", None) => {
            let names: Vec<String> = named.iter().map(|(n, a)| format!("{n} ({a})")).collect();
            format!(
                "{} have sub-tenants: they stay, no new ones {on}.",
                who(&names, count)
            )
        }
        (other, _) => format!("{} use {other}, kept but dormant {on}.", who(&names, count)),
    }
}

/// The plan a move brings to the tenants of a moved subtree without a plan of their
/// own (the moved tenant's own plan goes with it: then nothing changes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanMove {
    /// The plan they are under now and the one they come under (`None`: none).
    pub from: Option<String>,
    pub to: Option<String>,
    /// Why they do not fit the new one (the move is refused), naming them.
    pub refusal: Option<String>,
    /// What of theirs goes dormant under the new one ([`dormant_warnings`]).
    pub warnings: Vec<String>,
}

/// What moving `tenant` under `destination` (governed by `to`, as the caller read
/// or locked it) does to its subtree's plan at `now`; `None` when its plan stays.
/// An own limit above the new plan's is refused (like a plan lowered below a
/// tenant's own limit) rather than clamped: the refusal names what to change first.
/// Options the new plan lacks that they use go dormant, said in `warnings`.
pub async fn plan_move(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    destination: &Tenant,
    to: Option<&Plan>,
    now: DateTime<Utc>,
) -> Result<Option<PlanMove>, AppError> {
    if tenant.plan_id.is_some() {
        return Ok(None);
    }
    let from = match tenant.parent_id {
        Some(parent) => Plan::governing(conn, &[parent]).await?.remove(&parent),
        None => None,
    };
    if from.as_ref().map(|p| p.id) == to.map(|p| p.id) {
        return Ok(None);
    }
    let (refusal, warnings) = match to {
        Some(plan) => {
            let governed = Governed::Tops(&[tenant.id]);
            let refusal = misfits_of(conn, governed, plan).await?.map(|words| {
                format!(
                    "{} cannot move under {} (plan {}): {words}.",
                    tenant.name, destination.name, plan.name
                )
            });
            let warnings =
                dormant_warnings(conn, governed, &plan.name, &plan.options(), now).await?;
            (refusal, warnings)
        }
        None => (None, Vec::new()),
    };
    Ok(Some(PlanMove {
        from: from.map(|p| p.name),
        to: to.map(|p| p.name.clone()),
        refusal,
        warnings,
    }))
}

/// Why `plan` cannot be deleted now ("1 tenant is on plan Basic: put it on another
/// plan (or none) first."), as `p` (404 unless `p` manages plans); `None`: it can.
/// The console asks before its confirmation; [`delete`] decides under its lock.
pub async fn delete_refusal(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    plan: &Plan,
) -> Result<Option<String>, AppError> {
    authz::require_plans(p)?;
    let on = Plan::tenant_count(conn, plan.id).await?;
    Ok((on > 0).then(|| {
        format!(
            "{on} {} on plan {}: put {} on another plan (or none) first.",
            if on == 1 { "tenant is" } else { "tenants are" },
            plan.name,
            if on == 1 { "it" } else { "them" },
        )
    }))
}

/// Deletes a plan as `p` (404 unless `p` manages plans): refused (409) while
/// tenants are on it, naming how many ([`delete_refusal`]).
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
        if let Some(refusal) = delete_refusal(conn, p, &plan).await? {
            return Err(AppError::Conflict(refusal));
        }
        let mut event = actor.event(Action::PlanDelete, about_root(p));
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

/// `plan`, the plan governing `tenant` as the caller read it ([`plan_of`]), and,
/// when the tenant has none of its own, the ancestor (id, name) it follows that
/// plan through; `None` under no plan.
pub async fn governing_of(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    plan: Option<Plan>,
) -> Result<Option<(Plan, Option<(i64, String)>)>, AppError> {
    let Some(plan) = plan else {
        return Ok(None);
    };
    let via = match tenant.plan_id {
        Some(_) => None,
        None => Plan::holder(conn, tenant.id).await?,
    };
    Ok(Some((plan, via)))
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

/// The tenant `id` locked for a write that takes up `option`, inside the write's
/// transaction, and the reason ("Not in plan Basic.") when its plan lacks it. Its
/// path is held as the tree protocol takes it (`tenants::tree::lock_paths`: the
/// ancestors FOR KEY SHARE, the tenant itself FOR UPDATE when `exclusive`, else FOR
/// KEY SHARE too), so a move of it or of a tenant above, or a plan switch above,
/// waits for this write and then judges what it took up ([`plan_move`],
/// [`misfits_of`]); its governing plan FOR SHARE, so a change of the plan waits
/// likewise.
pub async fn lock_for_option(
    conn: &mut AsyncPgConnection,
    id: i64,
    option: PlanOption,
    exclusive: bool,
) -> Result<(Tenant, Option<String>), AppError> {
    let tenant = crate::services::tenants::tree::lock_paths(conn, &[id], exclusive.then_some(id))
        .await?
        .remove(&id)
        .ok_or(AppError::NotFound)?;
    let plan = match plan_of(conn, &tenant).await? {
        Some(plan) => lock_shared(conn, [plan.id]).await?.remove(&plan.id),
        None => None,
    };
    let refusal = authz::plan_refusal(plan.as_ref(), option);
    Ok((tenant, refusal))
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
    fn a_refusal_names_the_tenants_that_do_not_fit() {
        let limits = PlanLimits {
            storage_limit_gb: Some(500),
            max_users: Some(10),
            ..PlanLimits::default()
        };
        assert_eq!(
            misfit_words("storage_limit_gb", &["Acme".into()], 1, &limits, false),
            "Acme has its own limit above 500 GB"
        );
        assert_eq!(
            misfit_words(
                "max_users",
                &["A".into(), "B".into(), "C".into()],
                5,
                &limits,
                true
            ),
            "A, B, C and 2 more have their own user limit above 10 users"
        );
    }

    #[test]
    fn what_a_plan_lacks_goes_dormant_and_is_said() {
        let one = |n: i64| [("Child C".to_string(), n)];
        assert_eq!(
            dormant_words("custom_branding", &[("Brand T".into(), 0)], 1, "Basic"),
            "Brand T's own branding is kept but not shown while on Basic."
        );
        assert_eq!(
            dormant_words("api_access", &one(3), 1, "Basic"),
            "3 API tokens of Child C stop working while on Basic."
        );
        assert_eq!(
            dormant_words("api_access", &one(1), 1, "Basic"),
            "1 API token of Child C stops working while on Basic."
        );
        assert_eq!(
            dormant_words("sub_tenants", &[("Acme".into(), 3)], 1, "Basic"),
            "Acme has 3 sub-tenants: they stay, no new ones while on Basic."
        );
        assert_eq!(
            dormant_words("sub_tenants", &[("Test".into(), 1)], 1, "Basic"),
            "Test has 1 sub-tenant: it stays, no new ones while on Basic."
        );
        assert_eq!(
            dormant_words(
                "custom_domain",
                &[("A".into(), 0), ("B".into(), 0)],
                4,
                "Basic"
            ),
            "The custom domains of A, B and 2 more are kept but neither served nor verified while on Basic."
        );
    }

    #[test]
    fn use_above_a_plan_is_said_per_limit() {
        let one = [("Acme".to_string(), 12)];
        assert_eq!(
            over_use_words("max_users", &one, 1, 10, "Basic"),
            "Acme has 12 users, above plan Basic's 10 users: growth is refused until use falls below it."
        );
        assert_eq!(
            over_use_words("memory_limit_gb", &[("Acme".into(), 64)], 1, 1, "Basic"),
            "Acme uses 64 GB of memory, above plan Basic's 1 GB: growth is refused until use falls below it."
        );
        let named = [("A".to_string(), 3), ("B".to_string(), 2)];
        assert_eq!(
            over_use_words("max_instances", &named, 5, 1, "Tiny"),
            "A (3 instances), B (2 instances) and 3 more have more instances than plan Tiny's 1 instance: growth is refused until their use falls below it."
        );
    }

    #[test]
    fn only_what_a_plan_change_takes_away_is_judged() {
        let before = plan(true, true);
        let limits = PlanLimits {
            monthly_query_quota: Some(1000),
            storage_limit_gb: Some(400),
            max_users: Some(3),
            ..PlanLimits::default()
        };
        let options = PlanOptions {
            sub_tenants: true,
            ..PlanOptions::default()
        };
        let (judged, kept) = taken_away(&before, &limits, &options);
        assert_eq!(
            judged,
            PlanLimits {
                storage_limit_gb: Some(400),
                max_users: Some(3),
                ..PlanLimits::default()
            }
        );
        assert!(!kept.custom_domain);
        assert!(kept.custom_branding && kept.api_access && kept.sub_tenants);
    }
}
