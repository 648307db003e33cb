//! Instances (issue #14): a tenant's workloads, each on a cloud the tenant sees
//! and optionally owned by one of its users, checked against limits.
//!
//! # Limits under concurrency
//!
//! A create or resize must not end above the storage, memory or instance limit of
//! its tenant, of any tenant above it (a limit covers the whole subtree), or of its
//! owner — however many run at once. Each one, in its transaction:
//!
//! 1. takes the tree protocol's "create under" locks on the tenant's path
//!    (`Tenant::lock_guarded_path`: every tenant on it FOR KEY SHARE, top-down,
//!    after its delete guards), so no move or delete of an ancestor is in flight;
//! 2. checks the cloud and the owner, and locks the owner's user row FOR NO KEY
//!    UPDATE (two instances of one owner are checked one after the other);
//! 3. writes the instance (a create: with its audit event, in one statement). That
//!    statement's trigger (migration `instance_totals_setwise`) adds the change to
//!    the subtree-totals rows of every tenant on the path, locking them FOR NO KEY
//!    UPDATE top-down (by depth, then id: the order of every writer of these rows),
//!    and they stay locked to the commit;
//! 4. reads those rows — exact now, since every other change on them waits for this
//!    commit — and what the owner owns (a statement begun after the owner's lock was
//!    granted: every instance of theirs committed before is in it), and checks every
//!    limit on the path and the owner's ([`within_limits`]): over one, the error
//!    rolls the write back (the refusal says what was used before it); else the
//!    commit.
//!
//! Per create that is O(depth) rows. The path's totals rows are held from the write
//! to the commit only (the write's trigger, one read; then the commit's WAL flush),
//! not from a check at the start of the transaction: creates anywhere below one
//! tenant (the root, always: its row counts everything) pass through that window one
//! at a time, and do everything else side by side. An instance delete writes its
//! audit event first and deletes last, so its hold is its commit.
//!
//! A create runs in four round trips (docs/PERFORMANCE.md, session 17): `BEGIN`;
//! steps 1 and 2 pipelined (sent together on the connection, run by PostgreSQL in
//! the order sent); steps 3 and 4 pipelined; `COMMIT`. Each statement is a cached
//! prepared one.
//!
//! The same order holds for the other writers of these rows: a user create (the
//! tenants with a user limit FOR NO KEY UPDATE, then at its commit the totals),
//! a move (`tenants::move_limits`: tenants, then both paths' totals top-down), a
//! tenant delete (`Tenant::delete_subtree`). Tenants before totals, each top-down.
//!
//! # A cloud no longer available
//!
//! An instance stays on its cloud when the tenant stops seeing that cloud (the
//! tenant moved under another reseller, the cloud made private or unassigned, the
//! tenant role's `public_clouds` switched off): it is running there. Its tenant is
//! then told no more than the cloud's id it had: lists show "no longer available
//! to this tenant" instead of the cloud's name ([`list`]), the edit form offers it
//! under that label as the one cloud besides the visible ones ([`cloud_choices`]).
//! An edit may keep it (rename, stop or start, change the owner, shrink) but not
//! grow it there (storage or memory up: [`CLOUD_GONE`]); it may move to a cloud the
//! tenant sees. No instance is created on it, nor moved to it.

use super::draft::Draft;
use super::tenants::tree::{lock_paths, BEING_DELETED};
use super::Actor;
use crate::auth::authz::{self, CloudAccess, CloudShare};
use crate::auth::Principal;
use crate::db::models::cloud::Cloud;
use crate::db::models::instance::{
    Instance, InstanceFields, InstanceFilter, InstanceRow, LockedOwner, OwnerUsage, TenantUsage,
    UsageAfterWrite,
};
use crate::db::models::Tenant;
use crate::db::transaction::in_transaction;
use crate::domain::activity::Action;
use crate::domain::resources::{
    refusal, Budget, InstanceStatus, LimitHolder, LimitOrigin, Measure, PathLimits, UsageBar,
};
use crate::domain::{Feature, Level, TenantName};
use crate::error::{AppError, FieldErrors};
use diesel_async::AsyncPgConnection;

/// An instance as a create or edit sets it.
#[derive(Clone, Debug)]
pub struct InstanceInput {
    pub name: TenantName,
    pub cloud_id: i64,
    pub owner_id: Option<i64>,
    pub storage_gb: i32,
    pub memory_gb: i32,
    pub status: InstanceStatus,
}

pub const UNKNOWN_CLOUD: &str = "Unknown cloud: pick one of the clouds this tenant sees.";
/// The form's cloud left unchosen.
pub const CHOOSE_CLOUD: &str = "Choose a cloud.";
pub const UNKNOWN_OWNER: &str = "Pick a user of this tenant (or no owner).";
/// What the tenant is told of its instance's cloud once it no longer sees it.
pub const UNAVAILABLE_CLOUD: &str = "no longer available to this tenant";
/// A resize that grows an instance on a cloud the tenant no longer sees.
pub const CLOUD_GONE: &str = "The cloud of this instance is no longer available to this \
     tenant: it can keep running and shrink there, but not grow. Move it to a cloud this \
     tenant sees to give it more.";

/// Each field of an instance's input as converted: its value, or its error.
#[derive(Clone, Debug)]
pub struct InstanceFieldsSent {
    pub name: Result<TenantName, String>,
    pub cloud_id: Result<i64, String>,
    pub owner_id: Result<Option<i64>, String>,
    pub storage_gb: Result<i32, String>,
    pub memory_gb: Result<i32, String>,
    pub status: Result<InstanceStatus, String>,
}

impl InstanceInput {
    /// The input from its fields as converted (the form's and the API's): each
    /// field that could not be converted a stand-in with its error
    /// (`services::draft`), so that the checks here report theirs with them.
    pub fn draft(sent: InstanceFieldsSent) -> Draft<Self> {
        let mut errors = FieldErrors::new();
        let mut take = |field: &'static str, e: String| {
            errors.insert(field, e);
        };
        let input = InstanceInput {
            name: sent.name.unwrap_or_else(|e| {
                take("name", e);
                TenantName::stand_in()
            }),
            cloud_id: sent.cloud_id.unwrap_or_else(|e| {
                take("cloud_id", e);
                0
            }),
            owner_id: sent.owner_id.unwrap_or_else(|e| {
                take("owner_id", e);
                None
            }),
            storage_gb: sent.storage_gb.unwrap_or_else(|e| {
                take("storage_gb", e);
                0
            }),
            memory_gb: sent.memory_gb.unwrap_or_else(|e| {
                take("memory_gb", e);
                0
            }),
            status: sent.status.unwrap_or_else(|e| {
                take("status", e);
                InstanceStatus::Running
            }),
        };
        Draft::new(input, errors)
    }

    fn fields(&self) -> InstanceFields<'_> {
        InstanceFields {
            name: self.name.as_str(),
            cloud_id: self.cloud_id,
            owner_id: self.owner_id,
            storage_gb: self.storage_gb,
            memory_gb: self.memory_gb,
            status: self.status,
        }
    }
}

fn snapshot(i: &Instance) -> serde_json::Value {
    serde_json::json!({
        "id": i.id, "name": i.name, "cloud_id": i.cloud_id, "owner_id": i.owner_id,
        "storage_gb": i.storage_gb, "memory_gb": i.memory_gb, "status": i.status,
    })
}

/// The instance `id` as `input` will write it: the audit event is recorded before
/// the write (module comment), with what [`snapshot`] reads of the written row.
fn snapshot_of(id: i64, input: &InstanceInput) -> serde_json::Value {
    let f = input.fields();
    serde_json::json!({
        "id": id, "name": f.name, "cloud_id": Some(f.cloud_id), "owner_id": f.owner_id,
        "storage_gb": f.storage_gb, "memory_gb": f.memory_gb, "status": f.status,
    })
}

/// What a change adds: storage and memory (GB), and instances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Growth {
    pub storage: i64,
    pub memory: i64,
    pub instances: i64,
}

/// Whom a row of `path` (`tenant_id`) is named as to `p`: the tenant's own limit
/// (the end of the path), or an ancestor's, by name only where `p` sees it.
fn holder_of(p: &Principal, path: &[i64], u: &TenantUsage) -> LimitHolder {
    if path.last() == Some(&u.tenant_id) {
        return LimitHolder::Tenant;
    }
    let upto = path
        .iter()
        .position(|id| *id == u.tenant_id)
        .map(|i| &path[..=i]);
    LimitHolder::Ancestor(
        upto.filter(|upto| authz::can_see_path(p, upto))
            .map(|_| u.name.clone()),
    )
}

/// The instance measures and how much `growth` adds to each.
fn grown(growth: Growth) -> [(Measure, i64); 3] {
    [
        (Measure::Storage, growth.storage),
        (Measure::Memory, growth.memory),
        (Measure::Instances, growth.instances),
    ]
}

/// The refusals of `growth` by the limits on the path (`usage`, top-down; the
/// tenant's own last): the tenant's own limit is named first, then the nearest
/// ancestor's, by name only where `p` sees that tenant. One message per field. The
/// budgets are the rows' (`TenantUsage::budget`), as the usage bars show them.
pub fn path_refusals(
    p: &Principal,
    usage: &[TenantUsage],
    path: &[i64],
    growth: Growth,
) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for u in usage.iter().rev() {
        let holder = holder_of(p, path, u);
        // The plan whose limit it is, unless of a tenant not to be named.
        let origin = |m| {
            u.origin(m)
                .filter(|_| holder != LimitHolder::Ancestor(None))
        };
        let checks = grown(growth).map(|(m, more)| (m, u.budget(m), more, origin(m)));
        let resize = growth.instances == 0;
        refuse(&mut errors, &holder, &checks, resize);
    }
    errors
}

/// The use and limits of `tenant`'s subtree, one bar per measure, as `p` may read
/// them (the tenant page and `GET /api/v1/tenants/{id}/usage`): all four with
/// Resources read, else the users' only (whoever sees the tenant sees its users).
/// The rows the limit checks read, in one statement (`Instance::usage`).
pub async fn usage(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
) -> Result<Vec<UsageBar>, AppError> {
    let reads_resources = authz::effective_level(p, tenant, Feature::Resources) >= Level::Read;
    let path = Instance::usage(conn, &tenant.path).await?;
    let mut bars = usage_bars(p, &tenant.path, &path);
    bars.retain(|b| reads_resources || b.measure == Measure::Users);
    Ok(bars)
}

/// The usage bars of the tenant at the end of `path` (`usage`: the rows of its path,
/// top-down, as `Instance::usage` reads them — the rows the limit checks read): its
/// effective limits with where they come from, and the limit above that binds first,
/// named only where `p` sees that tenant, as the refusals name it.
pub fn usage_bars(p: &Principal, path: &[i64], usage: &[TenantUsage]) -> Vec<UsageBar> {
    let own = path.last().copied();
    let name = |u: &TenantUsage| match holder_of(p, path, u) {
        LimitHolder::Ancestor(name) => name,
        _ => Some(u.name.clone()),
    };
    let above: Vec<PathLimits> = usage
        .iter()
        .filter(|u| Some(u.tenant_id) != own && u.limited())
        .map(|u| u.path_limits(name(u)))
        .collect();
    let own_row = usage.iter().find(|u| Some(u.tenant_id) == own).map_or_else(
        || PathLimits {
            name: None,
            tenant_id: None,
            budgets: [Budget::default(); 4],
            origins: Default::default(),
        },
        |u| u.path_limits(None),
    );
    crate::domain::resources::usage_bars(&own_row, &above)
}

/// What a tenant's save that set its own limits says (saved all the same): per
/// measure whose own limit it set or changed (`before`: its own limits before, in
/// [`Measure::ALL`]'s order), a limit below what its subtree uses ("Storage 500 GB
/// in use is above the new limit of 100 GB: growth is refused until it is below.")
/// and a limit above the tightest one of a tenant above it, which still applies
/// (named only where `p` sees it). `usage`: the rows of its path as saved.
pub fn own_limit_warnings(
    p: &Principal,
    path: &[i64],
    usage: &[TenantUsage],
    before: [Option<i64>; 4],
) -> Vec<String> {
    use crate::domain::resources::{above_parent_note, below_use_warning};
    let Some(own) = usage.iter().find(|u| path.last() == Some(&u.tenant_id)) else {
        return Vec::new();
    };
    let after = [
        own.own.own_storage_limit_gb,
        own.own.own_memory_limit_gb,
        own.own.own_max_instances,
        own.own.own_max_users.map(i64::from),
    ];
    let mut warnings = Vec::new();
    for (i, m) in Measure::ALL.into_iter().enumerate() {
        let Some(limit) = after[i].filter(|_| after[i] != before[i]) else {
            continue;
        };
        let used = own.budget(m).used;
        if used > limit {
            warnings.push(below_use_warning(m, used, limit));
        }
        let tightest = usage
            .iter()
            .filter(|u| u.tenant_id != own.tenant_id)
            .filter_map(|u| u.budget(m).limit.map(|l| (l, u)))
            .min_by_key(|(l, _)| *l);
        if let Some((above, u)) = tightest.filter(|(l, _)| *l < limit) {
            warnings.push(above_parent_note(m, limit, above, &holder_of(p, path, u)));
        }
    }
    warnings
}

/// The owner's refusals of `storage`/`memory` more GB.
fn owner_refusals(
    owner: &OwnerUsage,
    (storage, memory, resize): (i64, i64, bool),
    errors: &mut FieldErrors,
) {
    let budget = |used, limit| Budget { used, limit };
    refuse(
        errors,
        &LimitHolder::Owner(owner.username.clone()),
        &[
            (
                Measure::Storage,
                budget(owner.storage_gb, owner.storage_limit_gb),
                storage,
                None,
            ),
            (
                Measure::Memory,
                budget(owner.memory_gb, owner.memory_limit_gb),
                memory,
                None,
            ),
        ],
        resize,
    );
}

/// Adds the refusal of each `(measure, budget, more, origin)` that does not fit,
/// unless its field has one already (`origin`: where the limit comes from, named
/// when a plan's).
fn refuse(
    errors: &mut FieldErrors,
    holder: &LimitHolder,
    checks: &[(Measure, Budget, i64, Option<LimitOrigin>)],
    resize: bool,
) {
    for (measure, budget, more, origin) in checks {
        if !budget.allows(*more) && !errors.contains_key(measure.field()) {
            errors.insert(
                measure.field(),
                refusal(*measure, *budget, *more, holder, resize, origin.as_ref()),
            );
        }
    }
}

/// Is the cloud `id` one `tenant` sees (own or shared)?
async fn cloud_seen(conn: &AsyncPgConnection, tenant: &Tenant, id: i64) -> Result<bool, AppError> {
    let Some((seen, root_public)) = Cloud::on_path(conn, tenant, id).await? else {
        return Ok(false);
    };
    let access = authz::cloud_access(
        &tenant.path,
        root_public,
        &CloudShare {
            owner_id: seen.cloud.tenant_id,
            owner_shares: seen.owner_shares,
            visibility: seen.cloud.visibility,
            assigned_to_viewer: seen.assigned_to_viewer,
        },
    );
    Ok(access != CloudAccess::Hidden)
}

/// A cloud deleted between the check and the insert: the same field error.
fn cloud_gone(e: diesel::result::Error) -> AppError {
    use diesel::result::{DatabaseErrorKind, Error};
    match &e {
        Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info)
            if info.constraint_name() == Some("instances_cloud_id_fkey") =>
        {
            AppError::field("cloud_id", UNKNOWN_CLOUD)
        }
        Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info)
            if info.constraint_name() == Some("instances_owner_id_fkey") =>
        {
            AppError::field("owner_id", UNKNOWN_OWNER)
        }
        _ => e.into(),
    }
}

/// What an instance's write must still pass once written: the limits of its path
/// for `growth`, and its owner's (locked before the write) for `owner_more`.
struct Pending {
    growth: Growth,
    /// The owner, what the write adds to what they own, and whether that is a
    /// growth of an instance they own already.
    owner: Option<(LockedOwner, i64, i64, bool)>,
}

/// What the checks before an instance's write read: whether the tenant sees the
/// cloud, and the owner (`None`: none named, or no such user), locked FOR NO KEY
/// UPDATE so that two instances of one owner are checked one after the other.
struct Reads {
    cloud_seen: bool,
    owner: Option<LockedOwner>,
}

/// Reads them for `input` in `tenant` (locked), pipelined on the connection: the
/// cloud and the owner's lock go out together, one round trip.
async fn reads(
    conn: &AsyncPgConnection,
    tenant: &Tenant,
    input: &InstanceInput,
) -> Result<Reads, AppError> {
    let owner = async {
        match input.owner_id {
            Some(owner_id) => Instance::lock_owner(conn, owner_id).await,
            None => Ok(None),
        }
    };
    let (cloud_seen, owner) =
        futures_util::try_join!(cloud_seen(conn, tenant, input.cloud_id), async {
            owner.await.map_err(AppError::from)
        })?;
    Ok(Reads { cloud_seen, owner })
}

/// The checks of an instance's input on the locked tenant (`old`: the instance
/// before an edit) that come before its write: its cloud, its owner (whose row is
/// then locked) — field errors, all at once. The limits, the owner's with them,
/// come after the write ([`within_limits`]).
async fn check(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    input: &InstanceInput,
    old: Option<&Instance>,
) -> Result<Pending, AppError> {
    let read = reads(conn, tenant, input).await?;
    judge(tenant, input, old, read)
}

/// [`check`] on what it read.
fn judge(
    tenant: &Tenant,
    input: &InstanceInput,
    old: Option<&Instance>,
    read: Reads,
) -> Result<Pending, AppError> {
    let mut errors = FieldErrors::new();
    let same_cloud = old.is_some_and(|o| o.cloud_id == Some(input.cloud_id));
    // Kept on a cloud no longer seen: it may stay, not grow (module comment).
    let mut kept_unseen = false;
    if !read.cloud_seen {
        if same_cloud {
            kept_unseen = true;
        } else {
            errors.insert("cloud_id", UNKNOWN_CLOUD.into());
        }
    }
    let same_owner = old.is_some_and(|o| o.owner_id == input.owner_id);
    // A new owner must be homed in the tenant.
    let locked = read.owner;
    if input.owner_id.is_some()
        && !same_owner
        && locked.as_ref().is_none_or(|o| o.tenant_id != tenant.id)
    {
        errors.insert("owner_id", UNKNOWN_OWNER.into());
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let (old_storage, old_memory) = old.map_or((0, 0), |o| {
        (i64::from(o.storage_gb), i64::from(o.memory_gb))
    });
    let storage = i64::from(input.storage_gb) - old_storage;
    let memory = i64::from(input.memory_gb) - old_memory;
    if kept_unseen && (storage > 0 || memory > 0) {
        for (field, more) in [("storage_gb", storage), ("memory_gb", memory)] {
            if more > 0 {
                errors.insert(field, CLOUD_GONE.into());
            }
        }
        return Err(AppError::Validation(errors));
    }
    let growth = Growth {
        storage,
        memory,
        instances: i64::from(old.is_none()),
    };
    // A new owner takes the whole instance on; the same owner its growth.
    let owner = locked.map(|owner| {
        if same_owner {
            (owner, storage, memory, old.is_some())
        } else {
            (
                owner,
                i64::from(input.storage_gb),
                i64::from(input.memory_gb),
                false,
            )
        }
    });
    Ok(Pending { growth, owner })
}

/// A totals row read after the write, as it was before it.
fn used_before(mut u: TenantUsage, growth: Growth) -> TenantUsage {
    u.storage_gb -= growth.storage;
    u.memory_gb -= growth.memory;
    u.instance_count -= growth.instances;
    u
}

/// The limits, checked right after the instance's write: that statement's trigger
/// (migration `instance_totals_setwise`) added its change to the totals rows of the
/// path and holds them locked to the commit, so they are exact, and the growth is
/// taken back out to say what was used before. Every refusal at once: field errors;
/// an instance count at its limit is the form's general error (`FORM_LEVEL`: no
/// instance fits, whatever its fields), as a user limit's is. An error
/// rolls the write back.
async fn within_limits(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    tenant: &Tenant,
    pending: Pending,
) -> Result<(), AppError> {
    let owner_id = pending.owner.as_ref().map(|(o, ..)| o.user_id);
    let read = Instance::usage_after_write(conn, tenant.id, owner_id).await?;
    limits_allow(p, tenant, pending, read)
}

/// [`within_limits`] on what it read after the write.
fn limits_allow(
    p: &Principal,
    tenant: &Tenant,
    pending: Pending,
    read: UsageAfterWrite,
) -> Result<(), AppError> {
    let usage: Vec<TenantUsage> = read
        .path
        .into_iter()
        .map(|u| used_before(u, pending.growth))
        .collect();
    let mut errors = path_refusals(p, &usage, &tenant.path, pending.growth);
    if let Some((owner, storage, memory, resize)) = pending.owner {
        // What they owned before this write: what they own now, less what it adds.
        let owner = owner.owning((read.owner.0 - storage, read.owner.1 - memory));
        owner_refusals(&owner, (storage, memory, resize), &mut errors);
    }
    // No instance fits, whatever its fields: the form's general error
    // (`FORM_LEVEL`), a 422 as every limit refusal is.
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// One page of `tenant`'s instances (as `Instance::list`), each cloud's name only
/// where the tenant still sees that cloud: of one it no longer sees, the row keeps
/// the id it had and no name (the name may have changed since, and is not its to
/// read). The caller checked Resources read.
pub async fn list(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    filter: &InstanceFilter,
    order: crate::domain::sorting::Order<crate::domain::sorting::InstanceSort>,
    offset: i64,
    limit: i64,
) -> Result<Vec<InstanceRow>, AppError> {
    let mut rows = Instance::list(conn, tenant.id, filter, order, None, offset, limit).await?;
    let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.instance.cloud_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let seen = Cloud::visible_among(conn, tenant, &ids).await?;
    for r in &mut rows {
        if r.instance.cloud_id.is_some_and(|c| !seen.contains(&c)) {
            r.cloud_name = None;
        }
    }
    Ok(rows)
}

/// A cloud an instance form offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudChoice {
    pub id: i64,
    /// `None`: the instance's current cloud, no longer available to the tenant.
    pub name: Option<String>,
    /// The tenant that shares it (`None`: the tenant's own, or unavailable).
    pub shared_by: Option<String>,
}

/// The clouds an instance form of `tenant` offers: those it sees, and the
/// instance's `current` cloud when it no longer sees it (without its name: the
/// module comment). At most 1000 seen clouds (a path's clouds are few).
pub async fn cloud_choices(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    current: Option<i64>,
) -> Result<Vec<CloudChoice>, AppError> {
    let mut choices: Vec<CloudChoice> = Cloud::visible(conn, tenant, None, 1000)
        .await?
        .into_iter()
        .map(|s| CloudChoice {
            id: s.cloud.id,
            shared_by: (s.cloud.tenant_id != tenant.id).then_some(s.owner_name),
            name: Some(s.cloud.name),
        })
        .collect();
    if let Some(current) = current {
        if !choices.iter().any(|c| c.id == current)
            && Cloud::visible_among(conn, tenant, &[current])
                .await?
                .is_empty()
        {
            choices.push(CloudChoice {
                id: current,
                name: None,
                shared_by: None,
            });
        }
    }
    Ok(choices)
}

/// The tenant as [`Tenant::lock_guarded_path`] locked its path (`locked`): its row
/// when its path is still the one read before the transaction (`tenant`) — locked,
/// it cannot move any more —, `None` when it moved meanwhile; 409 when a tenant on
/// its path is being deleted (no row locked), 404 when it is gone.
async fn locked_as_read(
    conn: &mut AsyncPgConnection,
    locked: Vec<Tenant>,
    tenant: &Tenant,
) -> Result<Option<Tenant>, AppError> {
    if locked.is_empty() {
        // Not all of its path's guards taken, or no path: which one.
        Tenant::find(conn, tenant.id).await?;
        return Err(AppError::Conflict(BEING_DELETED.into()));
    }
    Ok(locked
        .into_iter()
        .find(|t| t.id == tenant.id && t.path == tenant.path))
}

/// The tenant locked under the tree protocol ("create under" it), as it is now,
/// the transaction's lock waits bounded (`set_lock_timeout`): its path is guarded
/// and locked in one statement ([`locked_as_read`]); when the tenant moved since
/// the caller read it, `lock_paths` takes over.
async fn lock_tenant(conn: &mut AsyncPgConnection, tenant: &Tenant) -> Result<Tenant, AppError> {
    let locked = Tenant::lock_guarded_path(conn, tenant.id).await?;
    if let Some(now) = locked_as_read(conn, locked, tenant).await? {
        return Ok(now);
    }
    lock_paths(conn, &[tenant.id], None)
        .await?
        .remove(&tenant.id)
        .ok_or(AppError::NotFound)
}

/// Why a create's transaction ended without its answer: the answer (an error), or
/// the tenant changed between the read before it and its lock.
enum Stopped {
    Refused(AppError),
    /// Moved (or its tenant role changed): the pipelined reads were of the tenant
    /// as it was. Started over with the tenant as it is now.
    Changed,
}

impl From<diesel::result::Error> for Stopped {
    fn from(e: diesel::result::Error) -> Self {
        Stopped::Refused(e.into())
    }
}

impl From<AppError> for Stopped {
    fn from(e: AppError) -> Self {
        Stopped::Refused(e)
    }
}

/// Creates an instance in `tenant` (Resources full), within every limit.
///
/// One transaction, in as few round trips as its order allows (docs/PERFORMANCE.md,
/// session 17): the path's guards, lock timeout and "create under" locks in one
/// statement, pipelined with the cloud's read and the owner's lock (sent together,
/// run by PostgreSQL in that order: tenants before the owner, as ever); the
/// instance and its audit event in one statement, pipelined with the read of the
/// limits (the owner's too) it left; the commit. The pipelined reads are of the
/// tenant as read before the transaction: when the lock finds it moved (or its
/// tenant role changed) in between, the transaction is rolled back and run again on
/// the tenant as it is then — so no lock is ever taken out of the protocol's order.
pub async fn create(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    input: impl Into<Draft<InstanceInput>>,
) -> Result<Instance, AppError> {
    authz::require(p, tenant, Feature::Resources, Level::Full)?;
    let (input, unread) = input.into().open()?;
    let mut tenant = std::borrow::Cow::Borrowed(tenant);
    // A second change of the tenant between a read and its lock is a race lost:
    // 409, try again (as `lock_paths` answers one that never holds still).
    for _ in 0..2 {
        let attempt = in_transaction(conn, async |conn| {
            create_locked(conn, p, actor, &tenant, &input, unread.clone()).await
        })
        .await;
        match attempt {
            Ok(instance) => return Ok(instance),
            Err(Stopped::Refused(e)) => return Err(e),
            Err(Stopped::Changed) => {
                let now = Tenant::find(conn, tenant.id).await?;
                authz::require(p, &now, Feature::Resources, Level::Full)?;
                tenant = std::borrow::Cow::Owned(now);
            }
        }
    }
    Err(AppError::Busy)
}

/// [`create`]'s transaction on `tenant` as read before it.
async fn create_locked(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    input: &InstanceInput,
    unread: crate::services::draft::Unread,
) -> Result<Instance, Stopped> {
    // Sent in this order, run in this order: the locks, then the reads.
    let shared: &AsyncPgConnection = conn;
    let (locked, read) = futures_util::try_join!(
        async {
            Tenant::lock_guarded_path(shared, tenant.id)
                .await
                .map_err(AppError::from)
        },
        reads(shared, tenant, input),
    )?;
    let tenant = match locked_as_read(conn, locked, tenant).await? {
        Some(now) if now.tenant_role_id == tenant.tenant_role_id => now,
        _ => return Err(Stopped::Changed),
    };
    let pending = unread.merged(judge(&tenant, input, None, read))?;
    let mut event = actor.event(Action::InstanceCreate, Some(tenant.id));
    // Its id is the instance's, set by the insert that records it.
    event.after = Some(snapshot_of(0, input));
    // The write and the check of what it left, sent together (the check runs after
    // the write's trigger took and updated the path's totals rows).
    let owner_id = pending.owner.as_ref().map(|(o, ..)| o.user_id);
    let shared: &AsyncPgConnection = conn;
    let (instance, read) = futures_util::try_join!(
        async {
            Instance::insert_audited(shared, tenant.id, &input.fields(), &event)
                .await
                .map_err(cloud_gone)
        },
        async {
            Instance::usage_after_write(shared, tenant.id, owner_id)
                .await
                .map_err(AppError::from)
        },
    )?;
    limits_allow(p, &tenant, pending, read)?;
    Ok(instance)
}

/// Changes an instance of `tenant` (Resources full); growing it is checked
/// against every limit, shrinking always goes.
pub async fn update(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    id: i64,
    input: impl Into<Draft<InstanceInput>>,
) -> Result<Instance, AppError> {
    authz::require(p, tenant, Feature::Resources, Level::Full)?;
    Instance::find(conn, tenant.id, id).await?;
    let (input, unread) = input.into().open()?;
    in_transaction(conn, async |conn| {
        let tenant = lock_tenant(conn, tenant).await?;
        let before = Instance::lock(conn, tenant.id, id).await?;
        let pending = unread.merged(check(conn, &tenant, &input, Some(&before)).await)?;
        // Nothing changes (an empty PATCH): nothing written, `updated_at` kept.
        if snapshot(&before) == snapshot_of(id, &input) {
            return Ok(before);
        }
        // The event first, as a create's.
        let mut event = actor.event(Action::InstanceUpdate, Some(tenant.id));
        event.before = Some(snapshot(&before));
        event.after = Some(snapshot_of(id, &input));
        event.record(conn).await?;
        let instance = Instance::update(conn, id, &input.fields())
            .await
            .map_err(cloud_gone)?;
        within_limits(conn, p, &tenant, pending).await?;
        Ok(instance)
    })
    .await
}

/// Deletes an instance of `tenant` (Resources full).
pub async fn delete(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    actor: &Actor,
    tenant: &Tenant,
    id: i64,
) -> Result<Instance, AppError> {
    authz::require(p, tenant, Feature::Resources, Level::Full)?;
    in_transaction(conn, async |conn| {
        // Its trigger locks the path FOR KEY SHARE too: a stream of these must not
        // starve a delete of the tenant either (`Tenant::guard_change`).
        if !Tenant::guard_change(conn, &tenant.path).await? {
            return Err(AppError::Conflict(BEING_DELETED.into()));
        }
        let before = Instance::lock(conn, tenant.id, id).await?;
        let mut event = actor.event(Action::InstanceDelete, Some(tenant.id));
        event.before = Some(snapshot(&before));
        event.record(conn).await?;
        // Last: its trigger holds the path's totals rows to the commit.
        Instance::delete(conn, id).await?;
        Ok(before)
    })
    .await
}
