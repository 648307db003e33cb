//! Clouds (issue #14): a tenant's own, and those shared with it from above.
//! Resources read to see them, Resources full to change a tenant's own; a shared
//! cloud is read-only to the tenants it is shared with (`authz::require_own_cloud`:
//! 403 naming its owner), and a cloud the tenant does not see is not there (404).
//! Only the root and tenants that may have sub-tenants share (`authz::may_share`),
//! and only with tenants below them that the user sees; a tenant whose plan lacks
//! sub-tenants starts sharing nothing new (`check_plan`).
//!
//! A create or change takes the tree protocol's "create under" locks on the paths
//! of the owner and of the tenants it assigns the cloud to (`tenants::tree::
//! lock_paths`), then checks who shares with whom on those rows: an owner whose
//! sub-tenants are being switched off (that edit holds its row FOR UPDATE, and is
//! refused while it shares) or a receiver being moved away waits, and is judged as
//! it is after that change.

use super::draft::{field_errors, refused, Draft};
use super::tenants::tree::lock_paths;
use super::Actor;
use crate::auth::authz::{self, CloudAccess, CloudShare};
use crate::auth::Principal;
use crate::db::models::cloud::{Cloud, CloudFields, CloudFilter, SeenCloud};
use crate::db::models::Tenant;
use crate::db::set_lock_timeout;
use crate::db::transaction::in_transaction;
use crate::domain::activity::Action;
use crate::domain::resources::{CloudProvider, CloudVisibility};
use crate::domain::sorting::{After, CloudSort, Order};
use crate::domain::{Feature, Level, TenantName};
use crate::error::{AppError, FieldErrors};
use diesel_async::AsyncPgConnection;

/// A cloud as a create or edit sets it.
#[derive(Clone, Debug)]
pub struct CloudInput {
    pub name: TenantName,
    pub provider: CloudProvider,
    pub visibility: CloudVisibility,
    /// The tenants an `assigned` cloud is shared with (empty for the others).
    pub assigned_tenant_ids: Vec<i64>,
}

/// A cloud as the tenant whose page shows it stands to it.
#[derive(Clone, Debug)]
pub struct CloudView {
    pub seen: SeenCloud,
    pub access: CloudAccess,
    /// The tenants it is assigned to that the user sees (id, name), for its owner.
    pub assigned: Vec<(i64, String)>,
    /// How many tenants (below its owner) it is assigned to that the user does not
    /// see, for its owner ([`Assignees`]).
    pub assigned_hidden: i64,
}

impl CloudView {
    pub fn read_only(&self) -> bool {
        self.access != CloudAccess::Own
    }
}

const NOT_SHARER: &str =
    "Only the root and tenants that may have sub-tenants share clouds: keep it private.";
const NOT_ASSIGNED: &str = "Only an assigned cloud lists tenants.";
const NO_ASSIGNEE: &str =
    "Choose at least one tenant to assign the cloud to, or make it private or public.";

/// An `assigned` cloud assigned to nobody (`assigned`: every tenant it would be
/// assigned to) is refused on `assigned_tenant_ids`, unless that field is refused
/// already: it would share with no one while saying it does.
fn some_assignee(visibility: CloudVisibility, assigned: &[i64], errors: &mut FieldErrors) {
    if visibility == CloudVisibility::Assigned && assigned.is_empty() {
        errors
            .entry("assigned_tenant_ids")
            .or_insert_with(|| NO_ASSIGNEE.into());
    }
}

/// Up to this many tenants below a cloud's owner, the cloud form lists them all as
/// checkboxes; past it, it offers a search.
pub const PICKER_ALL: i64 = 200;

/// How many matches a picker search shows.
pub const PICKER_MATCHES: i64 = 50;

/// The tenants a cloud of `owner` may be assigned to, as the cloud form offers them:
/// those below it that `p` sees — all of them when there are at most
/// [`PICKER_ALL`], else (`searched`) those matching `q`, up to [`PICKER_MATCHES`] —
/// and the `chosen` ones among them (kept ticked whatever the search).
#[derive(Clone, Debug, Default)]
pub struct Assignable {
    /// (id, name), nearest first then by name.
    pub offered: Vec<(i64, String)>,
    /// More than [`PICKER_ALL`]: the form searches instead of listing.
    pub searched: bool,
}

pub async fn assignable(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    owner: &Tenant,
    q: Option<&str>,
    chosen: &[i64],
) -> Result<Assignable, AppError> {
    let visibility = authz::visibility(p);
    let all = Tenant::visible_below(conn, &visibility, owner.id, None, PICKER_ALL + 1).await?;
    let pair = |t: Tenant| (t.id, t.name);
    if (all.len() as i64) <= PICKER_ALL {
        return Ok(Assignable {
            offered: all.into_iter().map(pair).collect(),
            searched: false,
        });
    }
    // The chosen first (still below the owner and seen), then the matches.
    let mut offered: Vec<(i64, String)> = Tenant::find_many(conn, chosen)
        .await?
        .into_iter()
        .filter(|t| below(owner.id, &t.path) && authz::can_see(p, t))
        .map(pair)
        .collect();
    if let Some(q) = q.filter(|q| !q.trim().is_empty()) {
        for t in Tenant::visible_below(conn, &visibility, owner.id, Some(q), PICKER_MATCHES).await?
        {
            if !offered.iter().any(|(id, _)| *id == t.id) {
                offered.push(pair(t));
            }
        }
    }
    Ok(Assignable {
        offered,
        searched: true,
    })
}

/// How `viewer` stands to `seen` (the sharing rule on the loaded row).
fn access(seen: &SeenCloud, viewer: &Tenant, sees_root_public: bool) -> CloudAccess {
    authz::cloud_access(
        &viewer.path,
        sees_root_public,
        &CloudShare {
            owner_id: seen.cloud.tenant_id,
            owner_shares: seen.owner_shares,
            visibility: seen.cloud.visibility,
            assigned_to_viewer: seen.assigned_to_viewer,
        },
    )
}

/// The cloud `id` as `tenant` sees it: 404 unless it sees it.
pub async fn find(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    id: i64,
) -> Result<(SeenCloud, CloudAccess), AppError> {
    let (seen, root_public) = Cloud::on_path(conn, tenant, id)
        .await?
        .ok_or(AppError::NotFound)?;
    match access(&seen, tenant, root_public) {
        CloudAccess::Hidden => Err(AppError::NotFound),
        a => Ok((seen, a)),
    }
}

/// One page of the clouds `tenant` sees, in `order` right after `after` (Resources
/// read).
pub async fn list(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    order: Order<CloudSort>,
    after: Option<&After>,
    limit: i64,
) -> Result<Vec<SeenCloud>, AppError> {
    authz::require(p, tenant, Feature::Resources, Level::Read)?;
    Ok(Cloud::visible_sorted(conn, tenant, order, after, limit).await?)
}

/// One page of the clouds `tenant` sees matching `filter` in `order` (Resources
/// read), and how many match: the Clouds page.
pub async fn page(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    filter: &CloudFilter,
    order: Order<CloudSort>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<SeenCloud>, i64), AppError> {
    authz::require(p, tenant, Feature::Resources, Level::Read)?;
    Ok(Cloud::visible_page(conn, tenant, filter, order, offset, limit).await?)
}

/// Where one of a tenant's own assigned clouds is shared, as `p` may be told: the
/// tenants below it that `p` sees (id, name; by id), and how many others (below it,
/// unseen by `p`) — so that a cloud assigned only to tenants `p` cannot see never
/// reads as assigned to nobody.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assignees {
    pub seen: Vec<(i64, String)>,
    pub hidden: i64,
}

impl Assignees {
    /// The assignments `(id, name, path)` of a cloud of `owner`, as `p` is told them.
    fn of(
        p: &Principal,
        owner: i64,
        rows: impl IntoIterator<Item = (i64, String, Vec<i64>)>,
    ) -> Self {
        let mut out = Assignees::default();
        for (id, name, path) in rows {
            if !below(owner, &path) {
                continue;
            }
            if authz::can_see_path(p, &path) {
                out.seen.push((id, name));
            } else {
                out.hidden += 1;
            }
        }
        out
    }
}

/// The [`Assignees`] of each of `tenant`'s own assigned clouds among `clouds` (a
/// listed page), by cloud id, in one statement: what the owner's view of one cloud
/// says ([`read`]); a shared cloud's are never told.
pub async fn assigned_of(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    clouds: &[SeenCloud],
) -> Result<std::collections::HashMap<i64, Assignees>, AppError> {
    let own: Vec<i64> = clouds
        .iter()
        .filter(|c| {
            c.cloud.tenant_id == tenant.id && c.cloud.visibility == CloudVisibility::Assigned
        })
        .map(|c| c.cloud.id)
        .collect();
    let mut rows: std::collections::HashMap<i64, Vec<(i64, String, Vec<i64>)>> =
        std::collections::HashMap::new();
    if own.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    for (cloud, id, name, path) in Cloud::assignments_of(conn, &own).await? {
        rows.entry(cloud).or_default().push((id, name, path));
    }
    Ok(rows
        .into_iter()
        .map(|(cloud, rows)| (cloud, Assignees::of(p, tenant.id, rows)))
        .collect())
}

/// One cloud with how the tenant stands to it (Resources read; 404 unless seen).
pub async fn read(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    id: i64,
) -> Result<CloudView, AppError> {
    authz::require(p, tenant, Feature::Resources, Level::Read)?;
    let (seen, access) = find(conn, tenant, id).await?;
    // Only the owner is told where it is shared: the tenants still below it.
    let assignees = if access == CloudAccess::Own {
        Assignees::of(p, tenant.id, Cloud::assignments(conn, id).await?)
    } else {
        Assignees::default()
    };
    Ok(CloudView {
        seen,
        access,
        assigned: assignees.seen,
        assigned_hidden: assignees.hidden,
    })
}

/// The cloud `id` for a change from `tenant`: 403 without Resources full (whatever
/// the id: nothing is told about clouds to those who may not change any), 404
/// unless seen, 403 naming its owner when it is shared with `tenant`.
pub async fn require_changeable(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    id: i64,
) -> Result<SeenCloud, AppError> {
    authz::require(p, tenant, Feature::Resources, Level::Full)?;
    let (seen, access) = find(conn, tenant, id).await?;
    authz::require_own_cloud(access, &seen.owner_name)?;
    Ok(seen)
}

/// Is the tenant with `path` strictly below `owner`?
fn below(owner: i64, path: &[i64]) -> bool {
    path.last() != Some(&owner) && path.contains(&owner)
}

/// Checks what only the server can, who shares and with whom, on the rows locked
/// here (see the module comment): the owner as it is now, and the tenants assigned.
/// A missing tenant, one not below the owner and one the user does not see get
/// one answer.
async fn check_sharing(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    owner: &Tenant,
    input: &CloudInput,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let assigns = input.visibility == CloudVisibility::Assigned;
    if input.visibility != CloudVisibility::Assigned && !input.assigned_tenant_ids.is_empty() {
        errors.insert("assigned_tenant_ids", NOT_ASSIGNED.into());
    }
    let found: Vec<i64> = if assigns {
        Tenant::find_many(conn, &input.assigned_tenant_ids)
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect()
    } else {
        Vec::new()
    };
    let ids: Vec<i64> = std::iter::once(owner.id).chain(found).collect();
    let mut locked = lock_paths(conn, &ids, None).await?;
    let owner = locked.remove(&owner.id).ok_or(AppError::NotFound)?;
    if input.visibility.shares() && !authz::may_share(&owner) {
        errors.insert("visibility", NOT_SHARER.into());
    }
    if assigns {
        if let Some(bad) = input.assigned_tenant_ids.iter().find(|id| {
            !locked
                .get(id)
                .is_some_and(|t| below(owner.id, &t.path) && authz::can_see(p, t))
        }) {
            errors.insert(
                "assigned_tenant_ids",
                format!("No tenant below this one that you can see has the id {bad}."),
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// A tenant whose plan lacks sub-tenants starts sharing nothing (sharing goes with
/// sub-tenants: module comment); what it shares already stays shared, as its
/// sub-tenants stay. `was`: the cloud's visibility before (`None`: a new cloud).
async fn check_plan(
    conn: &mut AsyncPgConnection,
    owner: &Tenant,
    visibility: CloudVisibility,
    was: Option<CloudVisibility>,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    // Kept, or narrowed (public to assigned): nothing new is shared.
    let narrowed = was == Some(CloudVisibility::Public) && visibility == CloudVisibility::Assigned;
    if !visibility.shares()
        || was == Some(visibility)
        || narrowed
        || errors.contains_key("visibility")
    {
        return Ok(());
    }
    let plan = super::plans::plan_of(conn, owner).await?;
    if let Some(plan) = plan.filter(|p| {
        authz::plan_refusal(Some(p), crate::domain::plan::PlanOption::SubTenants).is_some()
    }) {
        errors.insert(
            "visibility",
            format!(
                "Sharing clouds goes with sub-tenants, which are not in plan {}: keep it private.",
                plan.name
            ),
        );
    }
    Ok(())
}

fn fields(input: &CloudInput) -> CloudFields<'_> {
    CloudFields {
        name: input.name.as_str(),
        provider: input.provider,
        visibility: input.visibility,
    }
}

/// [`snapshot`] of the cloud `c` as `input` would set it.
fn snapshot_of(c: &Cloud, input: &CloudInput, assigned: &[i64]) -> serde_json::Value {
    serde_json::json!({
        "id": c.id, "name": input.name.as_str(), "provider": input.provider,
        "visibility": input.visibility, "assigned_tenant_ids": assigned,
    })
}

fn snapshot(c: &Cloud, assigned: &[i64]) -> serde_json::Value {
    serde_json::json!({
        "id": c.id, "name": c.name, "provider": c.provider, "visibility": c.visibility,
        "assigned_tenant_ids": assigned,
    })
}

/// The name's check into `errors`: taken by another cloud of `tenant` (`except`:
/// the one edited).
async fn name_free(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    input: &CloudInput,
    except: Option<i64>,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    if Cloud::name_taken(conn, tenant.id, input.name.as_str(), except).await? {
        let name = input.name.as_str();
        errors.insert(
            "name",
            format!("This tenant already has a cloud named {name}."),
        );
    }
    Ok(())
}

/// Creates a cloud of `tenant` (Resources full).
pub async fn create(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    input: impl Into<Draft<CloudInput>>,
) -> Result<Cloud, AppError> {
    authz::require(p, tenant, Feature::Resources, Level::Full)?;
    let (mut input, unread) = input.into().open()?;
    input.assigned_tenant_ids.sort_unstable();
    input.assigned_tenant_ids.dedup();
    in_transaction(conn, async |conn| {
        set_lock_timeout(conn).await?;
        let mut errors = field_errors(check_sharing(conn, p, tenant, &input).await)?;
        check_plan(conn, tenant, input.visibility, None, &mut errors).await?;
        name_free(conn, tenant, &input, None, &mut errors).await?;
        some_assignee(input.visibility, &input.assigned_tenant_ids, &mut errors);
        unread.merged(refused(errors))?;
        let cloud = Cloud::insert(conn, tenant.id, &fields(&input)).await?;
        Cloud::set_assignments(conn, cloud.id, &input.assigned_tenant_ids).await?;
        let mut event = actor.event(Action::CloudCreate, Some(tenant.id));
        event.after = Some(snapshot(&cloud, &input.assigned_tenant_ids));
        event.record(conn).await?;
        Ok(cloud)
    })
    .await
}

/// Changes a cloud of `tenant` (404 unless seen, 403 without Resources full or
/// when shared with it).
pub async fn update(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    id: i64,
    input: impl Into<Draft<CloudInput>>,
) -> Result<Cloud, AppError> {
    require_changeable(conn, p, tenant, id).await?;
    let (mut input, unread) = input.into().open()?;
    input.assigned_tenant_ids.sort_unstable();
    input.assigned_tenant_ids.dedup();
    in_transaction(conn, async |conn| {
        set_lock_timeout(conn).await?;
        let mut errors = field_errors(check_sharing(conn, p, tenant, &input).await)?;
        let before = Cloud::lock_own(conn, tenant.id, id).await?;
        check_plan(
            conn,
            tenant,
            input.visibility,
            Some(before.visibility),
            &mut errors,
        )
        .await?;
        name_free(conn, tenant, &input, Some(id), &mut errors).await?;
        let old: Vec<(i64, String, Vec<i64>)> = Cloud::assignments(conn, id).await?;
        // Tenants the cloud is assigned to that this user cannot see stay assigned:
        // the form could not show them, so it cannot mean to remove them. (Unless
        // they are no longer below the owner: those share nothing any more.)
        let mut assigned = input.assigned_tenant_ids.clone();
        if input.visibility == CloudVisibility::Assigned {
            assigned.extend(
                old.iter()
                    .filter(|(_, _, path)| below(tenant.id, path) && !authz::can_see_path(p, path))
                    .map(|(id, _, _)| *id),
            );
            assigned.sort_unstable();
            assigned.dedup();
        }
        some_assignee(input.visibility, &assigned, &mut errors);
        unread.merged(refused(errors))?;
        let old_ids: Vec<i64> = old.iter().map(|o| o.0).collect();
        // Nothing changes (an empty PATCH): nothing written, `updated_at` kept.
        if snapshot(&before, &old_ids) == snapshot_of(&before, &input, &assigned) {
            return Ok(before);
        }
        let cloud = Cloud::update(conn, id, &fields(&input)).await?;
        Cloud::set_assignments(conn, id, &assigned).await?;
        let mut event = actor.event(Action::CloudUpdate, Some(tenant.id));
        event.before = Some(snapshot(&before, &old_ids));
        event.after = Some(snapshot(&cloud, &assigned));
        event.record(conn).await?;
        Ok(cloud)
    })
    .await
}

/// Deletes a cloud of `tenant` no instance runs on (else 409).
pub async fn delete(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    id: i64,
) -> Result<Cloud, AppError> {
    require_changeable(conn, p, tenant, id).await?;
    in_transaction(conn, async |conn| {
        // Locked first: an instance created on it meanwhile waits, then fails.
        let cloud = Cloud::lock_own(conn, tenant.id, id).await?;
        let running = Cloud::instance_tenants(conn, id).await?;
        let used: i64 = running.iter().map(|r| r.3).sum();
        if used > 0 {
            // Named where the user sees them: where to go; the others are for
            // someone above to move.
            let seen: Vec<&(i64, String, Vec<i64>, i64)> = running
                .iter()
                .filter(|r| authz::can_see_path(p, &r.2))
                .collect();
            let shown: i64 = seen.iter().map(|r| r.3).sum();
            let names: Vec<String> = seen.iter().take(5).map(|r| r.1.clone()).collect();
            return Err(AppError::Conflict(format!(
                "{used} instance{} run{} on this cloud: {}",
                if used == 1 { "" } else { "s" },
                if used == 1 { "s" } else { "" },
                super::tenants::tree::foreign_remedy(used, shown, &names),
            )));
        }
        Cloud::delete(conn, id).await?;
        let mut event = actor.event(Action::CloudDelete, Some(tenant.id));
        event.before = Some(snapshot(&cloud, &[]));
        event.record(conn).await?;
        Ok(cloud)
    })
    .await
}
