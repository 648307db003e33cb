//! Instances (workloads) of a tenant, and the subtree sums their limits are checked
//! against. Every query is scoped by tenant: an id from another tenant is not found.

use crate::db::schema::{clouds, instances, tenants, users};
use crate::domain::resources::{
    Budget, InstanceStatus, LimitChange, LimitOrigin, Measure, PathLimits,
};
use crate::domain::sorting::{After, InstanceSort, Order};
use chrono::{DateTime, Utc};
use diesel::expression::SqlLiteral;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::like_pattern;

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable, PartialEq, Eq)]
#[diesel(table_name = instances, check_for_backend(Pg))]
pub struct Instance {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    pub storage_gb: i32,
    pub memory_gb: i32,
    pub created_at: DateTime<Utc>,
    pub cloud_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub status: InstanceStatus,
    pub updated_at: DateTime<Utc>,
}

/// An instance with the names of its cloud and owner, as lists show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceRow {
    pub instance: Instance,
    pub cloud_name: Option<String>,
    pub owner_name: Option<String>,
}

/// An instance's fields as a create or edit sets them.
#[derive(Clone, Debug)]
pub struct InstanceFields<'a> {
    pub name: &'a str,
    pub cloud_id: i64,
    pub owner_id: Option<i64>,
    pub storage_gb: i32,
    pub memory_gb: i32,
    pub status: InstanceStatus,
}

/// The list's filters (all optional).
#[derive(Clone, Debug, Default)]
pub struct InstanceFilter {
    pub status: Option<InstanceStatus>,
    pub cloud_id: Option<i64>,
    pub owner_id: Option<i64>,
    /// Part of the name, any case.
    pub q: Option<String>,
}

/// One tenant on a path with its limits and its subtree's use, as read (and locked)
/// for an instance's limit check, or shown on the tenant page and the dashboard. The
/// limits are the effective ones (`effective_limit!`: the lower of its own and its
/// plan's); its own and its plan's name say where each comes from.
#[derive(Clone, Debug, PartialEq, Eq, QueryableByName)]
pub struct TenantUsage {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub tenant_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub storage_limit_gb: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub memory_limit_gb: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub max_instances: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub storage_gb: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub memory_gb: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub instance_count: i64,
    /// The user limit and the subtree's users (a move checks them too).
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    pub max_users: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub user_count: i64,
    /// Its own limits and the name of the plan governing it: where each effective
    /// limit above comes from.
    #[diesel(embed)]
    pub own: OwnLimits,
}

/// A tenant's own limits (its row's), and the name of the plan governing it.
#[derive(Clone, Debug, Default, PartialEq, Eq, QueryableByName, Queryable)]
pub struct OwnLimits {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub own_storage_limit_gb: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub own_memory_limit_gb: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub own_max_instances: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    pub own_max_users: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub plan_name: Option<String>,
}

impl TenantUsage {
    /// Does this tenant limit anything?
    pub fn limited(&self) -> bool {
        self.storage_limit_gb.is_some()
            || self.memory_limit_gb.is_some()
            || self.max_instances.is_some()
            || self.max_users.is_some()
    }

    /// Its subtree's use and its effective limit on `measure`: what the limit
    /// checks refuse growth by, and what the usage bars show.
    pub fn budget(&self, measure: Measure) -> Budget {
        let (used, limit) = match measure {
            Measure::Storage => (self.storage_gb, self.storage_limit_gb),
            Measure::Memory => (self.memory_gb, self.memory_limit_gb),
            Measure::Instances => (self.instance_count, self.max_instances),
            Measure::Users => (self.user_count, self.max_users.map(i64::from)),
        };
        Budget { used, limit }
    }

    /// Where its effective limit on `measure` comes from (`None`: no limit).
    pub fn origin(&self, measure: Measure) -> Option<LimitOrigin> {
        let own = match measure {
            Measure::Storage => self.own.own_storage_limit_gb,
            Measure::Memory => self.own.own_memory_limit_gb,
            Measure::Instances => self.own.own_max_instances,
            Measure::Users => self.own.own_max_users.map(i64::from),
        };
        LimitOrigin::of(
            own,
            self.budget(measure).limit,
            self.own.plan_name.as_deref(),
        )
    }

    /// The row as the usage bars take it, named `name` (`None`: not to be named,
    /// nor its id given).
    pub fn path_limits(&self, name: Option<String>) -> PathLimits {
        PathLimits {
            tenant_id: name.is_some().then_some(self.tenant_id),
            name,
            budgets: Measure::ALL.map(|m| self.budget(m)),
            origins: Measure::ALL.map(|m| self.origin(m)),
        }
    }
}

/// The effective limits of the `tenants` row in a DSL statement, with its own and its
/// plan's name: the columns [`USAGE_SELECT`] reads (the same fragments), for a
/// statement that reads a path's rows among others (`Tenant::totals`).
pub type LimitColumns = (
    SqlLiteral<Nullable<BigInt>>,
    SqlLiteral<Nullable<BigInt>>,
    SqlLiteral<Nullable<BigInt>>,
    SqlLiteral<Nullable<Integer>>,
    (
        tenants::storage_limit_gb,
        tenants::memory_limit_gb,
        tenants::max_instances,
        tenants::max_users,
        SqlLiteral<Nullable<Text>>,
    ),
);

/// What [`limit_columns`] reads: storage, memory, instances and users limits
/// (effective), and the tenant's own with its plan's name.
pub type LimitValues = (
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i32>,
    OwnLimits,
);

pub fn limit_columns() -> LimitColumns {
    use diesel::dsl::sql;
    (
        sql(crate::effective_limit!("tenants", "storage_limit_gb")),
        sql(crate::effective_limit!("tenants", "memory_limit_gb")),
        sql(crate::effective_limit!("tenants", "max_instances")),
        sql(crate::effective_limit!("tenants", "max_users")),
        (
            tenants::storage_limit_gb,
            tenants::memory_limit_gb,
            tenants::max_instances,
            tenants::max_users,
            sql(crate::governing_plan_column!("tenants", "name")),
        ),
    )
}

impl TenantUsage {
    /// A path row read by [`limit_columns`] beside the tenant's subtree totals.
    pub fn from_columns(
        tenant_id: i64,
        name: String,
        limits: LimitValues,
        totals: &super::tenant::SubtreeTotals,
    ) -> Self {
        let (storage_limit_gb, memory_limit_gb, max_instances, max_users, own) = limits;
        TenantUsage {
            tenant_id,
            name,
            storage_limit_gb,
            memory_limit_gb,
            max_instances,
            storage_gb: totals.storage_gb,
            memory_gb: totals.memory_gb,
            instance_count: totals.instances,
            max_users,
            user_count: totals.users,
            own,
        }
    }
}

/// A user's limits and what the instances they own use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerUsage {
    pub username: String,
    pub storage_limit_gb: Option<i64>,
    pub memory_limit_gb: Option<i64>,
    pub storage_gb: i64,
    pub memory_gb: i64,
}

/// An instance owner's row, locked by `Instance::lock_owner`.
#[derive(Clone, Debug)]
pub struct LockedOwner {
    pub user_id: i64,
    /// The owner's home tenant.
    pub tenant_id: i64,
    pub username: String,
    pub storage_limit_gb: Option<i64>,
    pub memory_limit_gb: Option<i64>,
}

impl LockedOwner {
    /// The owner's limits, with what their instances use (`storage`, `memory` GB):
    /// read after the lock ([`Instance::usage_after_write`]), since a statement
    /// that locks sums under a snapshot taken before its lock wait, missing the
    /// instances of the change it waited for.
    pub fn owning(self, (storage_gb, memory_gb): (i64, i64)) -> OwnerUsage {
        OwnerUsage {
            username: self.username,
            storage_limit_gb: self.storage_limit_gb,
            memory_limit_gb: self.memory_limit_gb,
            storage_gb,
            memory_gb,
        }
    }
}

/// The rows of a path (`$1`, top-down) with their limits and subtree use, and
/// `$extra` columns: the limits are the effective ones (`effective_limit!`: the lower
/// of its own and its plan's), with its own and its plan's name ([`limit_columns`]
/// reads the same).
macro_rules! usage_select {
    ($path:literal, $extra:literal) => {
        concat!(
            "SELECT s.tenant_id, t.name, ",
            crate::effective_limit!("t", "storage_limit_gb"),
            " AS storage_limit_gb, ",
            crate::effective_limit!("t", "memory_limit_gb"),
            " AS memory_limit_gb, ",
            crate::effective_limit!("t", "max_instances"),
            " AS max_instances, s.storage_gb, s.memory_gb, s.instance_count, ",
            crate::effective_limit!("t", "max_users"),
            " AS max_users, s.user_count, t.storage_limit_gb AS own_storage_limit_gb, \
             t.memory_limit_gb AS own_memory_limit_gb, t.max_instances AS own_max_instances, \
             t.max_users AS own_max_users, ",
            crate::governing_plan_column!("t", "name"),
            " AS plan_name",
            $extra,
            " FROM tenant_subtree_totals s JOIN tenants t ON t.id = s.tenant_id \
             WHERE s.tenant_id = ANY (",
            $path,
            ") ORDER BY array_position(",
            $path,
            ", s.tenant_id)"
        )
    };
}

const USAGE_SELECT: &str = usage_select!("$1", "");

/// [`USAGE_SELECT`] of the path of the tenant `$1`, with what the instances of the
/// user `$2` use (`NULL`: 0). The path is read by its tenant's id: with the path
/// as an array parameter PostgreSQL plans the statement again on every call (each
/// depth's plan cheaper than a generic one); this way it keeps one plan for every
/// depth (docs/PERFORMANCE.md, session 17).
const USAGE_WITH_OWNER_SELECT: &str = usage_select!(
    "(SELECT p.path FROM tenant_paths p WHERE p.tenant_id = $1)::bigint[]",
    ", (SELECT coalesce(sum(i.storage_gb), 0) FROM instances i WHERE i.owner_id = $2)::bigint \
     AS owner_storage_gb, \
     (SELECT coalesce(sum(i.memory_gb), 0) FROM instances i WHERE i.owner_id = $2)::bigint \
     AS owner_memory_gb"
);

/// What an instance write's check reads once written: the path's rows and what
/// its owner now owns.
pub struct UsageAfterWrite {
    /// The path's rows, top-down (as [`Instance::usage`]).
    pub path: Vec<TenantUsage>,
    /// Storage and memory (GB) of the owner's instances, this one included.
    pub owner: (i64, i64),
}

impl Instance {
    fn filtered(tenant_id: i64, filter: &InstanceFilter) -> instances::BoxedQuery<'static, Pg> {
        let mut q = instances::table
            .filter(instances::tenant_id.eq(tenant_id))
            .into_boxed();
        if let Some(s) = filter.status {
            q = q.filter(instances::status.eq(s));
        }
        if let Some(c) = filter.cloud_id {
            q = q.filter(instances::cloud_id.eq(c));
        }
        if let Some(o) = filter.owner_id {
            q = q.filter(instances::owner_id.eq(o));
        }
        if let Some(text) = &filter.q {
            q = q.filter(instances::name.ilike(like_pattern(text)));
        }
        q
    }

    /// `q` in `order`, from right after `after` on.
    fn ordered(
        q: instances::BoxedQuery<'static, Pg>,
        order: Order<InstanceSort>,
        after: Option<&After>,
    ) -> instances::BoxedQuery<'static, Pg> {
        use super::{keyset, lower};
        let (desc, id) = (order.descending, instances::id);
        match order.key {
            None => keyset!(q, id, id, desc, after.map(|a| (a.id, a.id))),
            Some(InstanceSort::Name) => keyset!(
                q,
                lower(instances::name),
                id,
                desc,
                after.map(|a| (lower(a.value.clone()), a.id))
            ),
            Some(InstanceSort::Storage) => keyset!(
                q,
                instances::storage_gb,
                id,
                desc,
                after.map(|a| (a.number(), a.id))
            ),
            Some(InstanceSort::Memory) => keyset!(
                q,
                instances::memory_gb,
                id,
                desc,
                after.map(|a| (a.number(), a.id))
            ),
            Some(InstanceSort::Status) => keyset!(
                q,
                instances::status,
                id,
                desc,
                after.map(|a| (a.value.parse().unwrap_or(InstanceStatus::Running), a.id))
            ),
            Some(InstanceSort::Created) => keyset!(
                q,
                instances::created_at,
                id,
                desc,
                after.map(|a| (a.time(), a.id))
            ),
        }
    }

    /// One page of the tenant's instances matching `filter`, in `order` right after
    /// `after` (the API's cursor) and skipping `offset` (the console's page), at most
    /// `limit`.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        filter: &InstanceFilter,
        order: Order<InstanceSort>,
        after: Option<&After>,
        offset: i64,
        limit: i64,
    ) -> QueryResult<Vec<InstanceRow>> {
        let ids: Vec<i64> = Self::ordered(Self::filtered(tenant_id, filter), order, after)
            .offset(offset)
            .limit(limit)
            .select(instances::id)
            .load(conn)
            .await?;
        let rows: Vec<(Instance, Option<String>, Option<String>)> = instances::table
            .left_join(clouds::table)
            .left_join(users::table)
            .filter(instances::id.eq_any(&ids))
            .select((
                Instance::as_select(),
                clouds::name.nullable(),
                users::username.nullable(),
            ))
            .load(conn)
            .await?;
        let mut rows: Vec<InstanceRow> = rows
            .into_iter()
            .map(|(instance, cloud_name, owner_name)| InstanceRow {
                instance,
                cloud_name,
                owner_name,
            })
            .collect();
        rows.sort_by_key(|r| ids.iter().position(|id| *id == r.instance.id));
        Ok(rows)
    }

    /// Where the next page starts after this instance, in an order by `key`.
    pub fn after(&self, key: Option<InstanceSort>) -> After {
        match key {
            None => After::id(self.id),
            Some(InstanceSort::Name) => After::at(self.id, &self.name),
            Some(InstanceSort::Storage) => After::at(self.id, self.storage_gb),
            Some(InstanceSort::Memory) => After::at(self.id, self.memory_gb),
            Some(InstanceSort::Status) => After::at(self.id, self.status),
            Some(InstanceSort::Created) => After::created(self.id, self.created_at),
        }
    }

    /// How many of the tenant's instances match `filter`.
    pub async fn count(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        filter: &InstanceFilter,
    ) -> QueryResult<i64> {
        Self::filtered(tenant_id, filter)
            .count()
            .get_result(conn)
            .await
    }

    pub async fn find(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        id: i64,
    ) -> QueryResult<Instance> {
        instances::table
            .filter(instances::tenant_id.eq(tenant_id))
            .filter(instances::id.eq(id))
            .select(Instance::as_select())
            .first(conn)
            .await
    }

    /// The instance `id` of `tenant_id` locked FOR UPDATE (a resize or delete of it).
    pub async fn lock(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        id: i64,
    ) -> QueryResult<Instance> {
        instances::table
            .filter(instances::tenant_id.eq(tenant_id))
            .filter(instances::id.eq(id))
            .select(Instance::as_select())
            .for_update()
            .first(conn)
            .await
    }

    pub async fn insert(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
        f: &InstanceFields<'_>,
    ) -> QueryResult<Instance> {
        diesel::insert_into(instances::table)
            .values((
                instances::tenant_id.eq(tenant_id),
                instances::name.eq(f.name),
                instances::cloud_id.eq(Some(f.cloud_id)),
                instances::owner_id.eq(f.owner_id),
                instances::storage_gb.eq(f.storage_gb),
                instances::memory_gb.eq(f.memory_gb),
                instances::status.eq(f.status),
            ))
            .returning(Instance::as_returning())
            .get_result(conn)
            .await
    }

    /// Inserts the instance and records `event` about it, in one statement: the
    /// event's `after` gets the new instance's `id`. The totals' statement trigger
    /// (migration `instance_totals_setwise`) runs at the end of the statement, after
    /// both rows are written, so the path's totals rows are locked from there to the
    /// commit only (`services::instances`).
    pub async fn insert_audited(
        mut conn: &AsyncPgConnection,
        tenant_id: i64,
        f: &InstanceFields<'_>,
        event: &super::AuditEvent,
    ) -> QueryResult<Instance> {
        use diesel::sql_types::Jsonb;
        crate::db::prepared::prepared(
            "WITH i AS (INSERT INTO instances \
             (tenant_id, name, cloud_id, owner_id, storage_gb, memory_gb, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *), \
             e AS (INSERT INTO audit_events (actor_user_id, actor_username, acting_tenant_id, \
             tenant_id, action, before, after, client_addr) \
             SELECT $8, $9, $10, $11, $12, $13, jsonb_set($14, '{id}', to_jsonb(i.id)), $15 \
             FROM i) \
             SELECT * FROM i",
        )
        .bind::<BigInt, _>(tenant_id)
        .bind::<Text, _>(f.name)
        .bind::<BigInt, _>(f.cloud_id)
        .bind::<Nullable<BigInt>, _>(f.owner_id)
        .bind::<Integer, _>(f.storage_gb)
        .bind::<Integer, _>(f.memory_gb)
        .bind::<Text, _>(f.status)
        .bind::<Nullable<BigInt>, _>(event.actor_user_id)
        .bind::<Text, _>(&event.actor_username)
        .bind::<Nullable<BigInt>, _>(event.acting_tenant_id)
        .bind::<Nullable<BigInt>, _>(event.tenant_id)
        .bind::<Text, _>(event.action.as_str())
        .bind::<Nullable<Jsonb>, _>(&event.before)
        .bind::<Nullable<Jsonb>, _>(&event.after)
        .bind::<Nullable<Text>, _>(&event.client_addr)
        .get_result(&mut conn)
        .await
    }

    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: i64,
        f: &InstanceFields<'_>,
    ) -> QueryResult<Instance> {
        diesel::update(instances::table.find(id))
            .set((
                instances::name.eq(f.name),
                instances::cloud_id.eq(Some(f.cloud_id)),
                instances::owner_id.eq(f.owner_id),
                instances::storage_gb.eq(f.storage_gb),
                instances::memory_gb.eq(f.memory_gb),
                instances::status.eq(f.status),
                instances::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Instance::as_returning())
            .get_result(conn)
            .await
    }

    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(instances::table.find(id))
            .execute(conn)
            .await
    }

    /// The tenants on `path` with their limits and subtree use, top-down, their
    /// subtree-totals rows locked FOR NO KEY UPDATE in that order (the order the
    /// totals' triggers and the tree changes take them): until the commit no other
    /// instance change on these paths can move the sums. The caller holds the path
    /// FOR KEY SHARE (the tree protocol's "create under"). `path` may be any list in
    /// that order (by depth, then id): a move passes its two paths merged. (An
    /// instance write takes the same locks through its trigger and then reads them
    /// with [`Instance::usage_after_write`].)
    pub async fn lock_usage(
        conn: &mut AsyncPgConnection,
        path: &[i64],
    ) -> QueryResult<Vec<TenantUsage>> {
        diesel::sql_query(format!("{USAGE_SELECT} FOR NO KEY UPDATE OF s"))
            .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(path.to_vec())
            .load(conn)
            .await
    }

    /// The same rows read without locking: the tenant page's and the dashboard's bars.
    pub async fn usage(
        conn: &mut AsyncPgConnection,
        path: &[i64],
    ) -> QueryResult<Vec<TenantUsage>> {
        crate::db::prepared::prepared(USAGE_SELECT)
            .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(path.to_vec())
            .load(conn)
            .await
    }

    /// An instance write's check, right after the write (whose trigger holds the
    /// path's totals rows to the commit): the rows of [`Instance::usage`] for the
    /// path of the tenant `tenant_id` (locked by the caller: it cannot move), and
    /// what `owner` (locked before the write by [`Instance::lock_owner`]) owns now,
    /// in one statement. Its snapshot is taken after the owner's lock was granted, so
    /// the sums hold every instance of theirs committed before, and this one. It may
    /// be pipelined right behind the write (PostgreSQL runs them in the order sent).
    pub async fn usage_after_write(
        mut conn: &AsyncPgConnection,
        tenant_id: i64,
        owner: Option<i64>,
    ) -> QueryResult<UsageAfterWrite> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(embed)]
            usage: TenantUsage,
            #[diesel(sql_type = BigInt)]
            owner_storage_gb: i64,
            #[diesel(sql_type = BigInt)]
            owner_memory_gb: i64,
        }
        let rows: Vec<Row> = crate::db::prepared::prepared(USAGE_WITH_OWNER_SELECT)
            .bind::<BigInt, _>(tenant_id)
            .bind::<Nullable<BigInt>, _>(owner)
            .load(&mut conn)
            .await?;
        let owner = match rows.as_slice() {
            [row, ..] => (row.owner_storage_gb, row.owner_memory_gb),
            [] => (0, 0),
        };
        Ok(UsageAfterWrite {
            path: rows.into_iter().map(|r| r.usage).collect(),
            owner,
        })
    }

    /// The user `user_id` locked FOR NO KEY UPDATE (after the path's locks) so that
    /// two instances of one owner are checked one after the other, with their home
    /// tenant and limits. `None`: no such user.
    pub async fn lock_owner(
        mut conn: &AsyncPgConnection,
        user_id: i64,
    ) -> QueryResult<Option<LockedOwner>> {
        let user: Option<(i64, String, Option<i64>, Option<i64>)> = users::table
            .find(user_id)
            .select((
                users::tenant_id,
                users::username,
                users::storage_limit_gb,
                users::memory_limit_gb,
            ))
            .for_no_key_update()
            .first(&mut conn)
            .await
            .optional()?;
        Ok(user.map(
            |(tenant_id, username, storage_limit, memory_limit)| LockedOwner {
                user_id,
                tenant_id,
                username,
                storage_limit_gb: storage_limit,
                memory_limit_gb: memory_limit,
            },
        ))
    }

    /// How many instances `user_id` owns.
    pub async fn owned_by(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<i64> {
        instances::table
            .filter(instances::owner_id.eq(user_id))
            .count()
            .get_result(conn)
            .await
    }

    /// The users homed in `tenant_id` (id, username), by username: the owner picker.
    pub async fn owner_choices(
        conn: &mut AsyncPgConnection,
        tenant_id: i64,
    ) -> QueryResult<Vec<(i64, String)>> {
        users::table
            .filter(users::tenant_id.eq(tenant_id))
            .order((users::username, users::id))
            .select((users::id, users::username))
            .limit(500)
            .load(conn)
            .await
    }
}

/// Changes a tenant's limits (nothing when `change` changes nothing).
pub async fn set_limits(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
    change: &LimitChange,
) -> QueryResult<usize> {
    if change.is_empty() {
        return Ok(0);
    }
    diesel::update(tenants::table.find(tenant_id))
        .set(LimitChangeset {
            storage_limit_gb: change.storage_limit_gb,
            memory_limit_gb: change.memory_limit_gb,
            max_instances: change.max_instances,
        })
        .execute(conn)
        .await
}

/// The columns a limit change sets (`None` skips one, `Some(None)` sets it NULL).
#[derive(AsChangeset)]
#[diesel(table_name = tenants)]
struct LimitChangeset {
    storage_limit_gb: Option<Option<i64>>,
    memory_limit_gb: Option<Option<i64>>,
    max_instances: Option<Option<i64>>,
}

/// A tenant's limits on its whole subtree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = tenants, check_for_backend(Pg))]
pub struct TenantLimits {
    pub storage_limit_gb: Option<i64>,
    pub memory_limit_gb: Option<i64>,
    pub max_instances: Option<i64>,
}

impl TenantLimits {
    /// The limits as `usage_bars` takes them.
    pub fn triple(&self) -> (Option<i64>, Option<i64>, Option<i64>) {
        (
            self.storage_limit_gb,
            self.memory_limit_gb,
            self.max_instances,
        )
    }

    pub async fn of(conn: &mut AsyncPgConnection, tenant_id: i64) -> QueryResult<TenantLimits> {
        tenants::table
            .find(tenant_id)
            .select(TenantLimits::as_select())
            .first(conn)
            .await
    }
}
