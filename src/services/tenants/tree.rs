//! The locked tree changes behind the tenant operations: creating, editing,
//! enabling/disabling, moving and deleting tenants, each in one transaction, with
//! the caller's authorization run again on the locked rows.
//!
//! # Tree changes under concurrency
//!
//! Every tenant stores its path from the root, so a change of the tree (a child
//! created, a subtree moved or deleted) must never run against a path that another
//! transaction is rewriting. Each of them takes row locks on every tenant on the
//! paths involved, top-down (by depth, then id), before reading anything it relies on:
//!
//! - create under P: every tenant on P's path FOR KEY SHARE;
//! - move M under D: M FOR UPDATE, every other tenant on M's and D's paths FOR KEY SHARE;
//! - delete M: M FOR UPDATE, its ancestors FOR KEY SHARE.
//!
//! FOR UPDATE conflicts with KEY SHARE, so while M is being moved or deleted no
//! create, move or delete that involves any tenant below M is in flight, and none
//! starts until M's transaction ends: the single `UPDATE … WHERE path @> [M]` sees
//! the whole subtree, and nothing can be added to it half-way. Locks are taken in
//! rounds (`lock_paths`): read the paths, lock what is not held yet, read again,
//! until every tenant on the freshly read paths is held — then those paths cannot
//! change until commit, and the cycle check (`D` is not M or below M) runs on them.
//! Two administrators moving a under b and b under a at once both lock a and b: one
//! waits, then sees the other's result and is refused as a cycle. Lock waits end
//! after `lock_timeout` with `AppError::Busy` ("try again").
//!
//! Row locks alone would let a stream of creates under M starve M's delete (a new
//! KEY SHARE does not queue behind a waiting FOR UPDATE): a delete first takes M's
//! delete guard exclusive, and `lock_paths` first tries the guards of every tenant
//! it locks shared, refusing the change ([`BEING_DELETED`], 409) while a delete
//! holds or waits for one (`Tenant::guard_change`).
//!
//! The caller's authorization runs again on the locked rows (`authorize`), so a
//! tenant moved elsewhere meanwhile is not changed on the strength of its old place.

use super::move_limits::{self, Seen};
use crate::auth::authz::{HomedChange, Subject, SubtreeReading};
use crate::db::models::network::{ResourceNaming, SubtreeResources};
use crate::db::models::plan::{Governed, Plan};
use crate::db::models::role::{TenantRole, UserRole};
use crate::db::models::tenant::{NewChild, SubtreeCounts, TenantFields, Visibility};
use crate::db::models::user_limit::limits_of;
use crate::db::models::{AuditEvent, Tenant};
use crate::db::set_lock_timeout;
use crate::domain::activity::{changed_only, Action};
use crate::domain::policy::ClearedCounts;
use crate::error::{AppError, Blocker, SHARED_CLOUDS};
use crate::services::draft::{refused, Unread};
use crate::services::plans;
use crate::services::Actor;
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Whether the actor may edit a tenant (with its parent, none for the root).
pub type EditCheck<'a> = &'a (dyn Fn(&Tenant, Option<&Tenant>) -> Result<(), AppError> + Sync);

/// Judges the users a tenant change reaches (loaded on the locked rows) for the
/// caller: `authz::require_dominates_homed` as the acting user.
pub type HomedCheck<'a> = &'a (dyn Fn(&[Subject], HomedChange) -> Result<(), AppError> + Sync);

/// Loads the users at home in `id` (with `subtree`, in its subtree) and runs `check`
/// on them: a change of those tenants is a change of each of them.
async fn check_homed(
    conn: &mut AsyncPgConnection,
    id: i64,
    subtree: bool,
    change: HomedChange,
    check: HomedCheck<'_>,
) -> Result<(), AppError> {
    let subjects = Subject::load_homed(conn, id, subtree).await?;
    check(&subjects, change)
}

/// A taken subdomain or domain is a field error, whichever request won the race.
fn subdomain_taken(e: diesel::result::Error) -> AppError {
    use diesel::result::{DatabaseErrorKind, Error};
    match &e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            match info.constraint_name() {
                Some("tenants_subdomain") => {
                    AppError::field("subdomain", "This subdomain is already taken.")
                }
                Some("tenants_custom_domain") => {
                    AppError::field("custom_domain", "Another tenant already uses this domain.")
                }
                _ => e.into(),
            }
        }
        _ => e.into(),
    }
}

pub(super) fn snapshot(t: &Tenant) -> serde_json::Value {
    serde_json::json!({
        "name": t.name, "subdomain": t.subdomain, "description": t.description, "custom_domain": t.custom_domain,
        "custom_domain_status": t.domain_claim.status,
        "enabled": t.enabled, "can_have_subtenants": t.can_have_subtenants, "parent_id": t.parent_id, "tenant_role_id": t.tenant_role_id, "plan_id": t.plan_id,
        "monthly_query_quota": t.monthly_query_quota,
        // Each limit a field of its own: a change reads `storage_limit_gb: 100 → 200`.
        "storage_limit_gb": t.limits.storage_limit_gb, "memory_limit_gb": t.limits.memory_limit_gb,
        "max_instances": t.limits.max_instances,
    })
}

/// A tenant's snapshot with its labels.
fn labelled(mut snapshot: serde_json::Value, labels: &[String]) -> serde_json::Value {
    snapshot["labels"] = serde_json::json!(labels);
    snapshot
}

/// One tenant to create: under `parent_id`, with these fields (`tenant_role_id`
/// `None` inherits the parent's tenant role).
#[derive(Clone, Debug)]
pub struct NewTenant {
    pub parent_id: i64,
    pub fields: TenantFields,
    /// Field errors found before the locked checks (fields that could not be read,
    /// a choice refused): reported with them, and the item is not created.
    pub unread: Unread,
}

/// Creates a sub-tenant of `parent`. `authorize(parent)` runs on the locked parent.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    parent: &Tenant,
    fields: TenantFields,
    authorize: &(dyn Fn(&Tenant) -> Result<(), AppError> + Sync),
) -> Result<Tenant, AppError> {
    let item = NewTenant {
        parent_id: parent.id,
        fields,
        unread: Unread::default(),
    };
    create_many(conn, actor, vec![item], authorize)
        .await?
        .pop()
        .unwrap_or(Err(AppError::NotFound))
}

/// Creates tenants in one transaction and answers for each, in order.
///
/// Every parent's path is locked once (the tree-change protocol above), then each
/// item is checked on the locked rows: `authorize(parent)`, the parent may have
/// sub-tenants, the subdomain and custom domain are free (in the database and among
/// earlier items). Those that pass are inserted with a handful of set-based
/// statements (tenants, paths, linked role copies, audit events), so a thousand
/// creates cost about as many round trips as one; one that fails does not stop the
/// others (a caller that wants all or nothing rolls back its transaction). A subdomain taken by a concurrent request between
/// the check and the insert fails the whole call (as a field error).
pub async fn create_many(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    items: Vec<NewTenant>,
    authorize: &(dyn Fn(&Tenant) -> Result<(), AppError> + Sync),
) -> Result<Vec<Result<Tenant, AppError>>, AppError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        let parent_ids: Vec<i64> = items
            .iter()
            .map(|i| i.parent_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let parents = lock_paths(conn, &parent_ids, None).await?;
        let subdomains: Vec<String> = items.iter().map(|i| i.fields.subdomain.clone()).collect();
        let domains: Vec<String> = items
            .iter()
            .filter_map(|i| i.fields.custom_domain.as_deref())
            .map(str::to_ascii_lowercase)
            .collect();
        let mut taken_subdomains = Tenant::taken_subdomains(conn, &subdomains).await?;
        let mut taken_domains = Tenant::taken_custom_domains(conn, &domains).await?;
        // Each new tenant's plan (chosen, else the one governing its parent) and the
        // parents' governing plans, held FOR SHARE while they are checked against.
        let governing: HashMap<i64, i64> = Plan::governing(conn, &parent_ids)
            .await?
            .into_iter()
            .map(|(tenant, plan)| (tenant, plan.id))
            .collect();
        let plan_of = |item: &NewTenant| {
            let parent = parents.get(&item.parent_id).and_then(|p| p.plan_id);
            item.fields
                .plan_id
                .unwrap_or(parent)
                .or_else(|| governing.get(&item.parent_id).copied())
        };
        let plans = plans::lock_shared(
            conn,
            items
                .iter()
                .filter_map(plan_of)
                .chain(governing.values().copied()),
        )
        .await?;
        let mut checks: Vec<Result<&Tenant, AppError>> = Vec::with_capacity(items.len());
        for item in &items {
            let parent = parents.get(&item.parent_id).ok_or(AppError::NotFound)?;
            checks.push(check_new(
                item,
                parent,
                authorize,
                &mut taken_subdomains,
                &mut taken_domains,
                governing.get(&item.parent_id).and_then(|id| plans.get(id)),
                &plans::PlanCheck {
                    plan_id: plan_of(item),
                    own: plans::own_limits(&item.fields, None, None),
                    takes_sub_tenants: item.fields.can_have_subtenants,
                    takes_custom_domain: item.fields.custom_domain.is_some(),
                    is_root: false,
                    plans: &plans,
                },
            ));
        }
        let children: Vec<NewChild> = items
            .iter()
            .zip(&checks)
            .filter_map(|(item, check)| {
                check.as_ref().ok().map(|parent| NewChild {
                    parent,
                    tenant_role_id: item.fields.tenant_role_id.unwrap_or(parent.tenant_role_id),
                    fields: &item.fields,
                })
            })
            .collect();
        let created = Tenant::insert_children(conn, &children)
            .await
            .map_err(subdomain_taken)?;
        if let Some(first) = children.first() {
            let ids: Vec<i64> = created.iter().map(|t| t.id).collect();
            // Every multi-tenant role of the root arrives as a linked copy.
            UserRole::copy_templates_into(conn, first.parent.path[0], &ids).await?;
        }
        // `created` follows the order of `children` (ids ascending).
        let events: Vec<_> = created
            .iter()
            .zip(&children)
            .map(|(t, c)| {
                let mut event = actor.event(Action::TenantCreate, Some(t.id));
                let labels = c.fields.labels.clone().unwrap_or_default();
                let mut after = labelled(snapshot(t), &labels);
                after["max_users"] = serde_json::json!(c.fields.max_users.flatten());
                event.after = Some(after);
                event
            })
            .collect();
        AuditEvent::record_many(conn, &events).await?;
        let mut created = created.into_iter();
        Ok(checks
            .into_iter()
            .map(|c| c.and_then(|_| created.next().ok_or(AppError::NotFound)))
            .collect())
    })
    .await
}

/// Whether `item` may be created under the locked `parent`; a free subdomain and
/// domain are claimed for it (so a later item with the same one is refused).
fn check_new<'p>(
    item: &NewTenant,
    parent: &'p Tenant,
    authorize: &(dyn Fn(&Tenant) -> Result<(), AppError> + Sync),
    taken_subdomains: &mut HashSet<String>,
    taken_domains: &mut HashSet<String>,
    parent_plan: Option<&Plan>,
    plan: &plans::PlanCheck<'_>,
) -> Result<&'p Tenant, AppError> {
    authorize(parent)?;
    let mut errors = plans::tenant_errors(plan);
    if !parent.can_have_subtenants {
        errors.insert(
            "parent_id",
            format!("{} may not have sub-tenants.", parent.name),
        );
    } else if let Some(message) = plans::sub_tenants_refusal(parent, parent_plan) {
        errors.insert("parent_id", message);
    }
    if taken_subdomains.contains(&item.fields.subdomain) {
        errors.insert("subdomain", "This subdomain is already taken.".into());
    }
    let domain = item
        .fields
        .custom_domain
        .as_deref()
        .map(str::to_ascii_lowercase);
    if domain.as_ref().is_some_and(|d| taken_domains.contains(d)) {
        errors.insert(
            "custom_domain",
            "Another tenant already uses this domain.".into(),
        );
    }
    // The errors found before the locks too: all at once, nothing created.
    item.unread.clone().merged(refused(errors))?;
    taken_subdomains.insert(item.fields.subdomain.clone());
    taken_domains.extend(domain);
    Ok(parent)
}

/// A tenant's edited fields, as read from a form or body.
pub struct TenantEdit {
    pub fields: TenantFields,
    /// Field errors found before the locked checks: reported with them, and nothing
    /// is written while any stands.
    pub unread: Unread,
}

/// Saves a tenant's fields. The root always stays enabled. A new cap (tenant role) lower than the current one on any
/// feature needs `may_lower_caps` (root Owners); both roles are locked and compared
/// here, so a cap is not lowered between the caller's check and the change.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i64,
    edit: TenantEdit,
    may_lower_caps: bool,
    homed: HomedCheck<'_>,
    now: DateTime<Utc>,
) -> Result<plans::Warned<Tenant>, AppError> {
    let TenantEdit { mut fields, unread } = edit;
    // The field errors found before (`unread`) are reported with every field error
    // of the checks here, whichever refuses; none of them, nothing is written.
    let saved = conn
        .transaction(async |conn| {
            set_lock_timeout(conn).await?;
            // Its path held too: the plan it is judged against (its own, else the one
            // governing its parent) cannot change above it by a move or switch meanwhile.
            let before = lock_paths(conn, &[id], Some(id))
                .await?
                .remove(&id)
                .ok_or(AppError::NotFound)?;
            // Under the lock no child can appear meanwhile (a create locks this row too).
            // The root always may have sub-tenants, whatever a form or body says.
            if before.is_root() {
                fields.can_have_subtenants = true;
            }
            if before.can_have_subtenants
                && !fields.can_have_subtenants
                && Tenant::has_children(conn, id).await?
            {
                return Err(AppError::field(
                    "can_have_subtenants",
                    "This tenant has sub-tenants: move or delete them before turning this off.",
                ));
            }
            // Only tenants that may have sub-tenants share clouds (`authz::may_share`):
            // its shares end first, by its own choice. A cloud's create or change holds
            // this row FOR KEY SHARE while it checks, so none starts sharing meanwhile.
            if before.can_have_subtenants && !fields.can_have_subtenants {
                let (names, count) =
                    crate::db::models::cloud::Cloud::shared_by(conn, id, 3).await?;
                if count > 0 {
                    let more = count - names.len() as i64;
                    return Err(AppError::field(
                        "can_have_subtenants",
                        format!(
                        "This tenant shares {} ({}{}): make {} private before turning this off.",
                        if count == 1 { "a cloud" } else { "clouds" },
                        names.join(", "),
                        if more > 0 {
                            format!(" and {more} more")
                        } else {
                            String::new()
                        },
                        if count == 1 { "it" } else { "them" },
                    ),
                    ));
                }
            }
            if let Some(new) = fields
                .tenant_role_id
                .filter(|r| *r != before.tenant_role_id)
            {
                if before.is_root() {
                    return Err(AppError::field(
                        "tenant_role_id",
                        crate::auth::authz::ROOT_NOT_CAPPED,
                    ));
                }
                // Lowest id first: two assignments never wait on each other in a cycle.
                let mut ids = [new, before.tenant_role_id];
                ids.sort_unstable();
                let mut locked = Vec::new();
                for rid in ids {
                    locked.push(
                        TenantRole::lock(conn, rid, false)
                            .await
                            .map_err(|e| match e {
                                diesel::result::Error::NotFound => AppError::field(
                                    "tenant_role_id",
                                    crate::auth::authz::UNKNOWN_TENANT_ROLE,
                                ),
                                e => e.into(),
                            })?,
                    );
                }
                let perms = |rid: i64| {
                    locked
                        .iter()
                        .find(|r| r.id == rid)
                        .map(|r| r.permissions.clone())
                        .unwrap_or_else(crate::domain::Permissions::none)
                };
                let taken = crate::auth::authz::lowered(&perms(before.tenant_role_id), &perms(new));
                if !taken.is_empty() && !may_lower_caps {
                    return Err(AppError::field(
                        "tenant_role_id",
                        crate::auth::authz::only_owners_lower(&taken),
                    ));
                }
            }
            if before.is_root() {
                fields.enabled = true;
            }
            if before.enabled && !fields.enabled {
                keeps_a_root_owner(conn, |home| home.last() == Some(&id), "Disabling it").await?;
                check_homed(conn, id, false, HomedChange::Disable, homed).await?;
            }
            if fields.subdomain != before.subdomain {
                check_homed(conn, id, false, HomedChange::Rename, homed).await?;
            }
            let labels_before = before.labels(conn).await?;
            let limit_before = limits_of(conn, &[id]).await?.remove(&id);
            // Its plan (chosen, else its current one, else the one governing its parent),
            // held FOR SHARE while its limits and options are checked against it.
            let inherited = match before.parent_id {
                Some(parent) => Plan::governing(conn, &[parent])
                    .await?
                    .remove(&parent)
                    .map(|p| p.id),
                None => None,
            };
            let plan_id = fields.plan_id.unwrap_or(before.plan_id).or(inherited);
            let plans = plans::lock_shared(conn, plan_id).await?;
            let mut errors = plans::tenant_errors(&plans::PlanCheck {
                plan_id,
                own: plans::own_limits(&fields, Some(&before), limit_before),
                takes_sub_tenants: fields.can_have_subtenants && !before.can_have_subtenants,
                takes_custom_domain: fields.custom_domain.is_some()
                    && fields.custom_domain != before.custom_domain,
                is_root: before.is_root() && fields.plan_id.is_some(),
                plans: &plans,
            });
            // A plan that changes must fit the own limits of those inheriting it from
            // the tenant (its own are judged above, with the values saved); options it
            // lacks refuse nothing (they go dormant, said below).
            let switched = plan_id
                .filter(|chosen| Some(*chosen) != before.plan_id.or(inherited))
                .and_then(|chosen| plans.get(&chosen));
            if let (Some(plan), false) = (switched, errors.contains_key("plan_id")) {
                let governed = Governed::Switching {
                    id,
                    keeps_domain: true,
                };
                if let Some(words) = plans::misfits_of(conn, governed, plan).await? {
                    errors.insert(
                        "plan_id",
                        format!("Plan {} does not fit: {words}.", plan.name),
                    );
                }
            }
            unread.clone().merged(refused(errors))?;
            let mut after = Tenant::update_fields(conn, id, &fields)
                .await
                .map_err(subdomain_taken)?;
            let labels_after = match &fields.labels {
                Some(_) => after.labels(conn).await?,
                None => labels_before.clone(),
            };
            let limit_after = fields.max_users.unwrap_or(limit_before);
            let (mut was, mut is) = (
                labelled(snapshot(&before), &labels_before),
                labelled(snapshot(&after), &labels_after),
            );
            // The user limit is read apart from the tenant row (`db::models::user_limit`).
            was["max_users"] = serde_json::json!(limit_before);
            is["max_users"] = serde_json::json!(limit_after);
            // A save that changed nothing (a form sent again, `enabled: false` on a
            // disabled tenant) is not an event: the trail lists changes only, each
            // side with the fields changed.
            if let Some((was, is)) = changed_only(&was, &is, &[]) {
                let mut event = actor.event(Action::TenantUpdate, Some(id));
                event.before = Some(was);
                event.after = Some(is);
                event.record(conn).await?;
            } else {
                Tenant::keep_updated_at(conn, id, before.updated_at).await?;
                after.updated_at = before.updated_at;
            }
            // A new plan below what it (or a tenant inheriting from it) uses is kept, as
            // an own limit set below use is: said, not refused. Judged on the saved
            // rows, so an own limit set by this save is its own.
            // What the new plan lacks that they use is kept, dormant: said too.
            let warnings = match switched {
                Some(plan) => {
                    let governed = Governed::Switching {
                        id,
                        keeps_domain: true,
                    };
                    let mut warnings =
                        plans::over_use_warnings(conn, governed, &plan.name, &plan.limits())
                            .await?;
                    warnings.extend(
                        plans::dormant_warnings(conn, governed, &plan.name, &plan.options(), now)
                            .await?,
                    );
                    warnings
                }
                None => Vec::new(),
            };
            Ok(plans::Warned {
                value: after,
                warnings,
            })
        })
        .await;
    // A check that refused on its own (before the others ran) is reported with them.
    unread.merged(saved)
}

/// Refuses a change that would leave the root without an Owner over the whole tree
/// who can log in: disabling the home tenant (`removes` true for the tenant itself) or
/// deleting the subtree (true for every tenant below it) of the last ones.
async fn keeps_a_root_owner(
    conn: &mut AsyncPgConnection,
    removes: impl Fn(&[i64]) -> bool,
    what: &str,
) -> Result<(), AppError> {
    let owners = crate::db::models::User::root_owner_homes_locked(conn).await?;
    let before = owners.iter().filter(|o| o.can_log_in).count();
    let after = owners
        .iter()
        .filter(|o| o.can_log_in && !removes(&o.home_path))
        .count();
    if before > 0 && after == 0 {
        return Err(AppError::Conflict(format!(
            "{what} would leave the root tenant without an Owner who can log in: the last Owners of the root are at home here. Make a user of another tenant an Owner of the root first."
        )));
    }
    Ok(())
}

/// Enables or disables a tenant. Disabling ends its users' sessions on their next
/// request (only the tenant's own users: a sub-tenant's log in as before), and
/// `homed` judges them first.
pub async fn set_enabled(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i64,
    enabled: bool,
    homed: HomedCheck<'_>,
) -> Result<Tenant, AppError> {
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        let before = Tenant::lock(conn, id).await?;
        if before.is_root() && !enabled {
            return Err(AppError::BadRequest(
                "The root tenant cannot be disabled.".into(),
            ));
        }
        // Already as asked: nothing changes, so nothing is recorded.
        if before.enabled == enabled {
            return Ok(before);
        }
        if before.enabled && !enabled {
            keeps_a_root_owner(conn, |home| home.last() == Some(&id), "Disabling it").await?;
            check_homed(conn, id, false, HomedChange::Disable, homed).await?;
        }
        let after = Tenant::set_enabled(conn, id, enabled).await?;
        if before.enabled && !enabled {
            crate::db::models::User::end_sessions_in_tenant(conn, id).await?;
        }
        let mut event = actor.event(
            if enabled {
                Action::TenantEnable
            } else {
                Action::TenantDisable
            },
            Some(id),
        );
        event.before = Some(snapshot(&before));
        event.after = Some(snapshot(&after));
        event.record(conn).await?;
        Ok(after)
    })
    .await
}

/// Enables or disables the tenant `id` and every tenant below it, in one
/// transaction, each as [`set_enabled`] would one alone: `authorize(tenant, parent)`
/// on each (locked), the root-Owner rule and `homed` on every user at home in the
/// subtree, one audit event for each tenant whose state changes, and disabling ends
/// the sessions of every user at home in the subtree. Returns the subtree's top
/// tenant after the change and how many tenants changed.
pub async fn set_enabled_subtree(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i64,
    enabled: bool,
    authorize: EditCheck<'_>,
    homed: HomedCheck<'_>,
) -> Result<(Tenant, usize), AppError> {
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        let locked = Tenant::lock_subtree(conn, id).await?;
        let top = locked
            .iter()
            .find(|t| t.id == id)
            .cloned()
            .ok_or(AppError::NotFound)?;
        if top.is_root() && !enabled {
            return Err(AppError::BadRequest(
                "The root tenant cannot be disabled.".into(),
            ));
        }
        let above = match top.parent_id {
            Some(parent) => Some(Tenant::find(conn, parent).await?),
            None => None,
        };
        let by_id: std::collections::HashMap<i64, &Tenant> =
            locked.iter().map(|t| (t.id, t)).collect();
        for t in &locked {
            let parent = if t.id == id {
                above.as_ref()
            } else {
                t.parent_id.and_then(|p| by_id.get(&p).copied())
            };
            authorize(t, parent)?;
        }
        if !enabled {
            keeps_a_root_owner(conn, |home| home.contains(&id), "Disabling them").await?;
            check_homed(conn, id, true, HomedChange::Disable, homed).await?;
        }
        // Set-wise, whatever the subtree's size: the sessions, the events, then the
        // flags with their count in the totals — last, because the totals rows up to
        // the root are hot (every user created anywhere counts on them): held for the
        // commit only.
        let changing: Vec<&Tenant> = locked.iter().filter(|t| t.enabled != enabled).collect();
        let ids: Vec<i64> = changing.iter().map(|t| t.id).collect();
        if !enabled {
            crate::db::models::User::end_sessions_in_tenants(conn, &ids).await?;
        }
        let events: Vec<AuditEvent> = changing
            .iter()
            .map(|before| {
                let mut event = actor.event(
                    if enabled {
                        Action::TenantEnable
                    } else {
                        Action::TenantDisable
                    },
                    Some(before.id),
                );
                let mut after = (*before).clone();
                after.enabled = enabled;
                event.before = Some(snapshot(before));
                event.after = Some(snapshot(&after));
                event
            })
            .collect();
        AuditEvent::record_many(conn, &events).await?;
        Tenant::set_enabled_in(conn, id, &ids, enabled).await?;
        Ok((Tenant::find(conn, id).await?, ids.len()))
    })
    .await
}

/// What a safe delete looks at beyond sub-tenants and users, and how it names it.
#[derive(Clone, Debug)]
pub struct DeleteScope {
    /// Usage (queries) on this day or later blocks: the last 30 days by the app clock.
    pub since: chrono::NaiveDate,
    /// What the one deleting sees: only those tenants are named.
    pub visibility: Visibility,
    /// Whose resources (resolvers, devices, clouds) the one deleting may read: only
    /// those are named; the others are counted ("2 more in tenants you cannot see").
    pub resources: SubtreeReading,
}

/// Days of usage that block a safe delete, today included.
pub const RECENT_USAGE_DAYS: i64 = 30;

impl DeleteScope {
    /// The scope of a delete at `now` by someone seeing `visibility`, who may read the
    /// resources of every tenant they see.
    pub fn new(now: DateTime<Utc>, visibility: Visibility) -> Self {
        let resources = SubtreeReading {
            visibility: visibility.clone(),
            capped_roles: Vec::new(),
        };
        Self::reading(now, visibility, resources)
    }

    /// The scope of a delete at `now` by someone seeing `visibility`, who may read the
    /// resources of the tenants `resources` names (`authz::subtree_reading`).
    pub fn reading(now: DateTime<Utc>, visibility: Visibility, resources: SubtreeReading) -> Self {
        DeleteScope {
            since: now.date_naive() - chrono::Duration::days(RECENT_USAGE_DAYS - 1),
            visibility,
            resources,
        }
    }

    /// What [`SubtreeResources::load`] names resources by.
    fn naming(&self) -> ResourceNaming<'_> {
        ResourceNaming {
            seen: &self.resources.visibility,
            capped_roles: &self.resources.capped_roles,
        }
    }
}

/// The first names seen, and how many more there are: ": a, b and 2 more"; none
/// seen: " in tenants you cannot see".
fn with_more(shown: Vec<String>, count: i64) -> String {
    let seen = shown.len() as i64;
    listed(shown, count, seen.max(count))
}

/// The first names of what the reader may read (`shown`, of `readable`), how many
/// more of those, and how many of `count` they may not read: ": a, b, 2 more and 3
/// more in tenants you cannot see"; none readable: " in tenants you cannot see".
/// What the one deleting can do about `n` instances of other tenants on the
/// subtree's clouds, `seen` of them in the tenants `names` (the first few) they see.
pub(crate) fn foreign_remedy(n: i64, seen: i64, names: &[String]) -> String {
    let hidden = n - seen;
    let them = |k: i64| if k == 1 { "it" } else { "them" };
    let ask = |k: i64| {
        format!(
            "ask an administrator of a tenant above yours to move {} to another cloud",
            them(k)
        )
    };
    if seen <= 0 {
        return format!(
            "{} in tenants you cannot see: {}.",
            if n == 1 { "it runs" } else { "they run" },
            ask(n)
        );
    }
    let tenants = names.join(", ");
    let moved = format!(
        "move {} to another cloud or delete {} in {tenants} first",
        them(seen),
        them(seen)
    );
    if hidden > 0 {
        format!(
            "{moved}; {hidden} run{} in tenants you cannot see: {}.",
            if hidden == 1 { "s" } else { "" },
            ask(hidden)
        )
    } else {
        format!("{moved}.")
    }
}

fn listed(mut shown: Vec<String>, readable: i64, count: i64) -> String {
    const UNSEEN: &str = "in tenants you cannot see";
    if shown.is_empty() {
        return format!(" {UNSEEN}");
    }
    let more = readable - shown.len() as i64;
    if more > 0 {
        shown.push(format!("{more} more"));
    }
    let hidden = count - readable.max(0);
    if hidden > 0 {
        shown.push(format!("{hidden} more {UNSEEN}"));
    }
    let n = shown.len();
    let last = shown.remove(n - 1);
    if shown.is_empty() {
        format!(": {last}")
    } else {
        format!(": {} and {last}", shown.join(", "))
    }
}

/// How many resources of a kind a subtree holds, with the first names of those the
/// reader may read (`readable` of them), the others counted: "3 resolvers: dns-a
/// (Acme), dns-b (Acme) and 1 more in tenants you cannot see."
fn named(count: i64, one: &str, many: &str, names: &[(String, String)], readable: i64) -> String {
    let shown = names
        .iter()
        .map(|(name, tenant)| format!("{name} ({tenant})"))
        .collect();
    format!(
        "{count} {}{}.",
        if count == 1 { one } else { many },
        listed(shown, readable, count)
    )
}

/// What stops a safe delete of a subtree with these counts and resources.
pub fn blockers(counts: &SubtreeCounts, resources: &SubtreeResources) -> Vec<Blocker> {
    let mut out = Vec::new();
    let subtenants = counts.tenants - 1;
    if subtenants > 0 {
        out.push(Blocker {
            kind: "subtenants",
            count: subtenants,
            message: format!(
                "{subtenants} sub-tenant{} below it.",
                if subtenants == 1 { "" } else { "s" }
            ),
        });
    }
    if counts.users > 0 {
        out.push(Blocker {
            kind: "users",
            count: counts.users,
            message: format!(
                "{} user{} in it{}.",
                counts.users,
                if counts.users == 1 { "" } else { "s" },
                if subtenants > 0 {
                    " and its sub-tenants"
                } else {
                    ""
                }
            ),
        });
    }
    if resources.resolvers > 0 {
        out.push(Blocker {
            kind: "resolvers",
            count: resources.resolvers,
            message: named(
                resources.resolvers,
                "resolver",
                "resolvers",
                &resources.resolver_names,
                resources.resolvers_readable,
            ),
        });
    }
    if resources.devices > 0 {
        out.push(Blocker {
            kind: "devices",
            count: resources.devices,
            message: named(
                resources.devices,
                "device",
                "devices",
                &resources.device_names,
                resources.devices_readable,
            ),
        });
    }
    if resources.foreign_instances > 0 {
        let n = resources.foreign_instances;
        let shown = resources
            .shared_cloud_names
            .iter()
            .map(|(name, tenant)| format!("{name} ({tenant})"))
            .collect();
        out.push(Blocker {
            kind: SHARED_CLOUDS,
            count: n,
            message: format!(
                "{n} instance{} of other tenants run{} on {} cloud{} in it{}. Not even a force delete removes {}: {}",
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" },
                resources.shared_clouds,
                if resources.shared_clouds == 1 { "" } else { "s" },
                listed(
                    shown,
                    resources.shared_clouds_readable,
                    resources.shared_clouds
                ),
                if n == 1 { "it" } else { "them" },
                foreign_remedy(n, resources.foreign_seen, &resources.foreign_tenant_names),
            ),
        });
    }
    if resources.active_tenants > 0 {
        let n = resources.active_tenants;
        out.push(Blocker {
            kind: crate::error::USAGE,
            count: n,
            message: format!(
                "Traffic in the last {RECENT_USAGE_DAYS} days in {n} tenant{}{} (traffic cannot be deleted: wait until it is {RECENT_USAGE_DAYS} days old, or force the delete).",
                if n == 1 { "" } else { "s" },
                with_more(resources.active_names.clone(), n)
            ),
        });
    }
    out
}

/// What deleting a tenant would remove, and what blocks a safe delete.
#[derive(Clone, Debug)]
pub struct DeletePreview {
    pub counts: SubtreeCounts,
    pub resources: SubtreeResources,
    /// The subtree's own clouds (a force delete removes them).
    pub clouds: i64,
    pub blockers: Vec<Blocker>,
}

impl DeletePreview {
    /// Whether a force delete could go through (no blocker stops it).
    pub fn forceable(&self) -> bool {
        !self.blockers.iter().any(Blocker::stops_force)
    }

    /// Whether something blocking can be deleted or moved (not only recent traffic,
    /// which only time or a force delete clears).
    pub fn removable(&self) -> bool {
        self.blockers.iter().any(Blocker::removable)
    }

    /// How many days of traffic block a safe delete.
    pub fn recent_days(&self) -> i64 {
        RECENT_USAGE_DAYS
    }
}

/// How many resources of each kind a blocker names.
const NAMED: i64 = 5;

pub async fn delete_preview(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    scope: &DeleteScope,
) -> Result<DeletePreview, AppError> {
    let counts = Tenant::subtree_counts(conn, tenant.id).await?;
    let resources = SubtreeResources::load(
        conn,
        tenant.id,
        scope.since,
        &scope.visibility,
        scope.naming(),
        NAMED,
    )
    .await?;
    Ok(DeletePreview {
        clouds: crate::db::models::cloud::Cloud::in_subtree(conn, tenant.id).await?,
        blockers: blockers(&counts, &resources),
        counts,
        resources,
    })
}

/// Deletes a tenant. A safe delete (`force` false) is refused with the list of what
/// blocks it while the subtree still holds sub-tenants, users, resolvers or devices,
/// or had usage since `scope.since`; a force delete removes the whole subtree
/// (users, roles, grants, instances, resolvers, devices, subnets) in this
/// transaction. Usage history stays (migration `usage`: ancestors' totals keep it).
/// `authorize(tenant, parent)` runs on the locked rows, and `homed` on the users a
/// force delete removes. Returns how many tenants were deleted.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i64,
    force: bool,
    scope: &DeleteScope,
    authorize: &(dyn Fn(&Tenant, &Tenant) -> Result<(), AppError> + Sync),
    homed: HomedCheck<'_>,
) -> Result<usize, AppError> {
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        // First, before any row lock: changes under the tenant that start from now
        // on are refused, and the delete waits only for those in flight.
        Tenant::guard_delete(conn, id).await?;
        let tenant = lock_paths(conn, &[id], Some(id))
            .await?
            .remove(&id)
            .ok_or(AppError::NotFound)?;
        let Some(parent_id) = tenant.parent_id else {
            return Err(AppError::BadRequest(
                "The root tenant cannot be deleted.".into(),
            ));
        };
        // Locked with the tenant's path: it cannot change under us.
        let parent = Tenant::find(conn, parent_id).await?;
        authorize(&tenant, &parent)?;
        // A tenant under a rule lock keeps it until the migration ends (the lock
        // row's foreign key refuses the delete; this says why), even when forced.
        if let Some((name, migration)) =
            crate::db::models::rule_migration::RuleMigration::lock_in_subtree(conn, id).await?
        {
            let by = migration.map_or("a lock".to_string(), |m| format!("migration #{m}"));
            return Err(AppError::Conflict(format!(
                "{name} cannot be deleted: its rules are locked by {by}. Wait for it to finish, or roll it back, first."
            )));
        }
        let counts = Tenant::subtree_counts(conn, id).await?;
        let resources =
            SubtreeResources::load(
                conn,
                id,
                scope.since,
                &scope.visibility,
                scope.naming(),
                NAMED,
            )
            .await?;
        let blocking = blockers(&counts, &resources);
        // Other tenants' instances on the subtree's clouds are not the deleter's to
        // remove: they block a force delete too (only that blocker is named then).
        if force {
            let stopping: Vec<Blocker> = blocking
                .into_iter()
                .filter(Blocker::stops_force)
                .collect();
            if !stopping.is_empty() {
                return Err(AppError::DeleteBlocked(stopping));
            }
        } else if !blocking.is_empty() {
            return Err(AppError::DeleteBlocked(blocking));
        }
        keeps_a_root_owner(conn, |home| home.contains(&id), "Deleting it").await?;
        if counts.users > 0 {
            check_homed(conn, id, true, HomedChange::Delete, homed).await?;
        }
        let mut event = actor.event(Action::TenantDelete, Some(id));
        event.before = Some(snapshot(&tenant));
        event.after = Some(serde_json::json!({
            "force": force, "tenants": counts.tenants, "users": counts.users,
            "instances": counts.instances, "grants": counts.grants,
            "resolvers": resources.resolvers, "devices": resources.devices,
        }));
        event.record(conn).await?;
        Tenant::audit_subtree_delete(conn, &event, id).await?;
        let deleted = Tenant::delete_subtree(conn, &tenant).await?;
        Ok(deleted)
    })
    .await
}

/// What moving a tenant under another parent changes.
#[derive(Clone, Debug)]
pub struct MovePreview {
    pub counts: SubtreeCounts,
    /// Sub-tenant-scoped grants on the old ancestors that stop reaching the subtree.
    pub grants_lost: i64,
    /// Sub-tenant-scoped grants on the new ancestors that start reaching it.
    pub grants_gained: i64,
    /// Tenant roles (caps) of the current and the new parent.
    pub old_parent_role: String,
    pub new_parent_role: String,
    /// The limits on the destination's path the move would exceed (it is refused).
    pub over_limits: Option<String>,
    /// The instances of the subtree that run on clouds it would no longer see (the
    /// move is refused until they move to another cloud).
    pub clouds_lost: Option<String>,
    /// Inheritable policies of the old ancestors that stop reaching the subtree, and
    /// of the new ones that start to (a gained lock binds its kind below).
    pub policies_lost: Vec<MovedPolicy>,
    pub policies_gained: Vec<MovedPolicy>,
    /// Resolvers and subnets of the subtree whose choice of a policy the move
    /// clears (they follow their tenant's effective policy): their policy stops
    /// reaching them, or a gained lock binds its kind to another policy. The same
    /// conditions as the move's clearing (`Policy::clearing_after_move`).
    pub policy_uses_cleared: i64,
    /// Of those, the ones cleared only because a gained lock binds their kind.
    pub policy_uses_locked_out: i64,
    /// Overrides in the subtree that become plain policies.
    pub policy_overrides_cleared: i64,
    /// The plan the moved tenants without one of their own come under, when it
    /// changes, and why they do not fit it (the move is refused).
    pub plan: Option<plans::PlanMove>,
}

impl MovePreview {
    /// Why the move is refused (a limit, a cloud left behind, the plan), if it is.
    pub fn refused(&self) -> bool {
        self.over_limits.is_some()
            || self.clouds_lost.is_some()
            || self.plan.as_ref().is_some_and(|p| p.refusal.is_some())
    }
}

/// An inheritable policy a move's subtree gains or loses: "name (owner)", owners
/// the reader cannot see named as such, and whether it locks its kind below.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MovedPolicy {
    pub label: String,
    pub locks: bool,
}

impl std::fmt::Display for MovedPolicy {
    /// As a bulk move's note names it: "Acme deny (Acme) [locked]".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)?;
        if self.locks {
            f.write_str(" [locked]")?;
        }
        Ok(())
    }
}

/// The inheritable policies of `owners` (on `path`, which `seen` judges), as a
/// move preview names them.
async fn policy_names(
    conn: &mut AsyncPgConnection,
    owners: &[i64],
    path: &[i64],
    seen: Seen<'_>,
) -> Result<Vec<MovedPolicy>, AppError> {
    use crate::db::models::policy::Policy;
    let rows = Policy::inheritable_of(conn, owners).await?;
    Ok(rows
        .into_iter()
        .map(|(owner, name, owner_name, enforcement, kind)| {
            let shown = path
                .iter()
                .position(|id| *id == owner)
                .is_some_and(|at| seen(&path[..=at]));
            let label = if shown {
                format!("{name} ({owner_name})")
            } else {
                // Its kind at least: what protection the subtree gains or loses.
                format!(
                    "a {} policy of {}",
                    kind.label().to_lowercase(),
                    crate::domain::HIDDEN_TENANT
                )
            };
            MovedPolicy {
                label,
                locks: enforcement == crate::domain::policy::Enforcement::Locked,
            }
        })
        .collect())
}

/// The inheritable policies a move of `tenant` under `destination` takes away from
/// its subtree (the old ancestors') and brings to it (the new ones'), named as
/// [`MovePreview`] names them.
pub async fn policies_moved(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    destination: &Tenant,
    seen: Seen<'_>,
) -> Result<(Vec<MovedPolicy>, Vec<MovedPolicy>), AppError> {
    let old: BTreeSet<i64> = tenant.path[..tenant.path.len().saturating_sub(1)]
        .iter()
        .copied()
        .collect();
    let new: BTreeSet<i64> = destination.path.iter().copied().collect();
    let lost: Vec<i64> = old.difference(&new).copied().collect();
    let gained: Vec<i64> = new.difference(&old).copied().collect();
    Ok((
        policy_names(conn, &lost, &tenant.path, seen).await?,
        policy_names(conn, &gained, &destination.path, seen).await?,
    ))
}

/// What a bulk move's preview says of one tenant's policies: "loses policies A (X);
/// gains policies B (Y); clears the policy choices of 2 resolvers and 1 override",
/// as the single move's preview does, or `None` when the move changes none.
pub async fn policies_note(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    destination: &Tenant,
    seen: Seen<'_>,
) -> Result<Option<String>, AppError> {
    let (lost, gained) = policies_moved(conn, tenant, destination, seen).await?;
    let named = |all: &[MovedPolicy]| {
        all.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !lost.is_empty() {
        parts.push(format!("loses policies {}", named(&lost)));
    }
    if !gained.is_empty() {
        parts.push(format!("gains policies {}", named(&gained)));
    }
    let (cleared, _) = policy_clearing(conn, tenant, destination).await?;
    if cleared.total() > 0 {
        parts.push(format!("clears the policy choices of {}", cleared.phrase()));
    }
    Ok((!parts.is_empty()).then(|| parts.join("; ")))
}

/// What moving `tenant` under `destination` changes, as the rows are now (at
/// `now`); `seen` as in [`move_limits::refusal`].
pub async fn move_preview(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    old_parent: &Tenant,
    destination: &Tenant,
    seen: Seen<'_>,
    now: DateTime<Utc>,
) -> Result<MovePreview, AppError> {
    let counts = Tenant::subtree_counts(conn, tenant.id).await?;
    let old: BTreeSet<i64> = tenant.path[..tenant.path.len().saturating_sub(1)]
        .iter()
        .copied()
        .collect();
    let new: BTreeSet<i64> = destination.path.iter().copied().collect();
    let lost: Vec<i64> = old.difference(&new).copied().collect();
    let gained: Vec<i64> = new.difference(&old).copied().collect();
    let (policies_lost, policies_gained) = policies_moved(conn, tenant, destination, seen).await?;
    let (cleared, locked_out) = policy_clearing(conn, tenant, destination).await?;
    let to = plans::plan_of(conn, destination).await?;
    let plan = plans::plan_move(conn, tenant, destination, to.as_ref(), now).await?;
    Ok(MovePreview {
        plan,
        counts,
        grants_lost: Tenant::subtree_grants_on(conn, &lost).await?,
        grants_gained: Tenant::subtree_grants_on(conn, &gained).await?,
        old_parent_role: Tenant::role_name(conn, old_parent.tenant_role_id).await?,
        new_parent_role: Tenant::role_name(conn, destination.tenant_role_id).await?,
        over_limits: move_limits::refusal(conn, tenant, destination, false, seen).await?,
        clouds_lost: move_limits::clouds_refusal(conn, tenant, destination, seen).await?,
        policies_lost,
        policies_gained,
        policy_uses_cleared: cleared.resolvers + cleared.subnets,
        policy_uses_locked_out: locked_out,
        policy_overrides_cleared: cleared.overrides,
    })
}

/// What moving `tenant` under `destination` clears of its subtree's choices of
/// policies (as `move_tenant` clears them), and how many resolvers and subnets of
/// those only because a lock binds their kind.
async fn policy_clearing(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    destination: &Tenant,
) -> Result<(ClearedCounts, i64), AppError> {
    use crate::db::models::policy::Policy;
    let subtree = Policy::subtree_of(conn, tenant.id).await?;
    // The moved tenant's place on its path, 1-based: where the rewritten path
    // continues after the destination's.
    let from = i32::try_from(tenant.path.len()).unwrap_or(i32::MAX);
    Ok(Policy::clearing_after_move(conn, &subtree, &destination.path, from).await?)
}

/// Why a destination under the governing `plan` cannot take `tenant` (a field error
/// on `parent_id`), if so.
pub fn destination_error(
    tenant: &Tenant,
    destination: &Tenant,
    plan: Option<&Plan>,
) -> Option<String> {
    if destination.id == tenant.id || destination.is_within(tenant.id) {
        Some("A tenant cannot be moved under itself or one of its sub-tenants.".into())
    } else if !destination.can_have_subtenants {
        Some(format!("{} may not have sub-tenants.", destination.name))
    } else {
        plans::sub_tenants_refusal(destination, plan)
    }
}

/// Moves a tenant with its whole subtree under `parent_id`, rewriting every path in
/// one statement. `authorize(tenant, current parent, destination)` runs on the locked
/// rows, then `homed` on the users at home in the subtree (a move changes where
/// they stand), then the limits on the destination's path (`move_limits`: a move that
/// would exceed one is a conflict, named where `seen`). Moving under the current
/// parent changes nothing. `now` (the app's
/// clock) is for the quota alerts of the usage the move folds. Returns the moved
/// tenant, with what of its subtree goes dormant under the plan it comes under
/// (`plans::PlanMove::warnings`: moved all the same).
// The three checks are the caller's (rights, homed users, what it may name): kept
// apart so the tree tests can pass each alone.
#[expect(clippy::too_many_arguments)]
pub async fn move_tenant(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i64,
    parent_id: i64,
    authorize: &(dyn Fn(&Tenant, &Tenant, &Tenant) -> Result<(), AppError> + Sync),
    homed: HomedCheck<'_>,
    seen: Seen<'_>,
    now: DateTime<Utc>,
) -> Result<plans::Warned<Tenant>, AppError> {
    conn.transaction(async |conn| {
        set_lock_timeout(conn).await?;
        let mut rows = lock_paths(conn, &[id, parent_id], Some(id)).await?;
        let tenant = rows.remove(&id).ok_or(AppError::NotFound)?;
        let destination = match rows.remove(&parent_id) {
            Some(d) => d,
            None if parent_id == id => tenant.clone(),
            None => return Err(AppError::NotFound),
        };
        let Some(old_parent_id) = tenant.parent_id else {
            return Err(AppError::BadRequest(
                "The root tenant cannot be moved.".into(),
            ));
        };
        let old_parent = Tenant::find(conn, old_parent_id).await?;
        authorize(&tenant, &old_parent, &destination)?;
        // The destination's governing plan, held FOR SHARE until the move commits.
        let plan = match plans::plan_of(conn, &destination).await? {
            Some(plan) => plans::lock_shared(conn, [plan.id]).await?.remove(&plan.id),
            None => None,
        };
        if let Some(message) = destination_error(&tenant, &destination, plan.as_ref()) {
            return Err(AppError::field("parent_id", message));
        }
        if old_parent_id == destination.id {
            return Ok(plans::Warned {
                value: tenant,
                warnings: Vec::new(),
            });
        }
        check_homed(conn, id, true, HomedChange::Move, homed).await?;
        // The subtree's tenants that come under another plan must fit it.
        let plan_move = plans::plan_move(conn, &tenant, &destination, plan.as_ref(), now).await?;
        let (refusal, warnings) = plan_move.map_or((None, Vec::new()), |m| (m.refusal, m.warnings));
        if let Some(refusal) = refusal {
            return Err(AppError::Conflict(refusal));
        }
        // No instance of the subtree is left on a cloud it would no longer see.
        if let Some(refusal) =
            move_limits::clouds_refusal(conn, &tenant, &destination, seen).await?
        {
            return Err(AppError::Conflict(refusal));
        }
        // No usage batch counts along the paths while they change; the deltas
        // committed before are folded (and alerted) first, so the totals the move
        // shifts hold them.
        crate::db::models::usage::exclude_ingestion(conn).await?;
        crate::services::usage::fold_in(conn, now).await?;
        // Last before the shift, so the totals rows are held only until the commit.
        if let Some(refusal) = move_limits::refusal(conn, &tenant, &destination, true, seen).await?
        {
            return Err(AppError::Conflict(refusal));
        }
        let moved = Tenant::move_subtree(conn, &tenant, &destination).await?;
        // Clouds assigned to tenants of the subtree by an owner no longer above them
        // share nothing now; their assignments go, so a move back shares nothing
        // unasked.
        let unassigned = crate::db::models::cloud::Cloud::drop_stale_assignments(conn, id).await?;
        // Policies of the old ancestors no longer reach the subtree: what used them
        // follows its tenant's effective policy, overrides of them become plain
        // policies (services::policies, module comment).
        let subtree = crate::db::models::policy::Policy::subtree_of(conn, id).await?;
        let cleared =
            crate::db::models::policy::Policy::clear_unseen_listed(conn, &subtree, now).await?;
        crate::services::policies::record_cleared_by_move(
            conn,
            actor,
            &tenant,
            &destination,
            &cleared,
        )
        .await?;
        let cleared = crate::db::models::policy::ClearedChoice::counted(&cleared);
        let after = Tenant::find(conn, id).await?;
        let mut event = actor.event(Action::TenantMove, Some(id));
        event.before =
            Some(serde_json::json!({"parent_id": tenant.parent_id, "path": tenant.path}));
        let mut is = serde_json::json!({
            "parent_id": after.parent_id, "path": after.path, "tenants_moved": moved,
        });
        if unassigned > 0 {
            is["cloud_assignments_dropped"] = serde_json::json!(unassigned);
        }
        let cleared = cleared.totals();
        if !cleared.is_empty() {
            is["policies_cleared"] = serde_json::json!(cleared);
        }
        event.after = Some(is);
        event.record(conn).await?;
        Ok(plans::Warned {
            value: after,
            warnings,
        })
    })
    .await
}

/// The refusal of a change under a tenant that is being deleted.
pub const BEING_DELETED: &str =
    "This tenant, or one above it, is being deleted: nothing can be added to it or moved there.";

/// How many times `lock_paths` reads and locks before it gives up (the paths kept
/// changing under it): then the caller gets "try again".
const LOCK_ROUNDS: usize = 8;

/// Takes the tree-change locks for `nodes` (see the module comment): every tenant on
/// their paths FOR KEY SHARE, top-down, `exclusive` FOR UPDATE in its place. Returns
/// the current rows of `nodes`, whose paths cannot change until the transaction ends.
/// A missing node is `NotFound`.
pub(crate) async fn lock_paths(
    conn: &mut AsyncPgConnection,
    nodes: &[i64],
    exclusive: Option<i64>,
) -> Result<HashMap<i64, Tenant>, AppError> {
    let wanted: BTreeSet<i64> = nodes.iter().copied().collect();
    let mut held: BTreeSet<i64> = BTreeSet::new();
    for _ in 0..LOCK_ROUNDS {
        let rows = Tenant::find_many(conn, nodes).await?;
        if rows.len() != wanted.len() {
            return Err(AppError::NotFound);
        }
        // Depth of every tenant on these paths, as just read.
        let mut depth: HashMap<i64, usize> = HashMap::new();
        for t in &rows {
            for (i, id) in t.path.iter().enumerate() {
                depth.insert(*id, i);
            }
        }
        let mut todo: Vec<(usize, i64)> = depth
            .iter()
            .filter(|(id, _)| !held.contains(id))
            .map(|(id, d)| (*d, *id))
            .collect();
        if todo.is_empty() {
            return Ok(rows.into_iter().map(|t| (t.id, t)).collect());
        }
        todo.sort_unstable();
        // Nothing is added under, or moved into, a tenant being deleted: refused
        // before any row lock, so a stream of changes cannot starve the delete
        // (`Tenant::guard_change`).
        let guarded: Vec<i64> = todo
            .iter()
            .map(|k| k.1)
            .filter(|id| Some(*id) != exclusive)
            .collect();
        if !Tenant::guard_change(conn, &guarded).await? {
            return Err(AppError::Conflict(BEING_DELETED.into()));
        }
        match exclusive.and_then(|x| depth.get(&x).map(|d| (*d, x))) {
            Some(x) if !held.contains(&x.1) => {
                let before: Vec<i64> = todo.iter().filter(|k| **k < x).map(|k| k.1).collect();
                let after: Vec<i64> = todo.iter().filter(|k| **k > x).map(|k| k.1).collect();
                Tenant::lock_key_share(conn, &before).await?;
                Tenant::lock(conn, x.1).await?;
                Tenant::lock_key_share(conn, &after).await?;
            }
            _ => {
                let ids: Vec<i64> = todo.iter().map(|k| k.1).collect();
                Tenant::lock_key_share(conn, &ids).await?;
            }
        }
        held.extend(todo.into_iter().map(|k| k.1));
    }
    Err(AppError::Busy)
}
