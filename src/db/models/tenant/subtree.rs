//! Structural changes of the tree: moving and deleting whole subtrees.
//!
//! Lock order for structural changes (create under, move, delete): every tenant on
//! the paths involved is locked top-down — by depth, then id — FOR KEY SHARE, and
//! the tenant whose subtree changes (the moved or deleted one) FOR UPDATE in its
//! place in that order. See `services::tenants` for why this is enough.

use super::{with_path, Tenant};
use crate::db::models::{array_length, AuditEvent};
use crate::db::schema::{tenant_paths, tenant_subtree_totals, tenants};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// What a subtree holds: itself and every tenant below it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubtreeCounts {
    /// Tenants, the subtree's root included.
    pub tenants: i64,
    pub users: i64,
    pub instances: i64,
    /// Grants on tenants of the subtree.
    pub grants: i64,
}

/// The class of the tenants' delete guards (transaction advisory locks keyed by
/// class and tenant id). Row locks alone starve a delete: a tenant's row locked FOR
/// KEY SHARE by one create after another (every create under it locks its path so)
/// never comes free for the delete's FOR UPDATE, since a new KEY SHARE joins the
/// holders without queueing behind the waiting delete. The lock manager queues
/// advisory locks fairly: a delete takes its tenant's guard exclusive first
/// ([`Tenant::guard_delete`]), and every change under a tenant tries its path's
/// guards shared first ([`Tenant::guard_change`]) and is refused while a delete
/// holds or waits for one, so the delete waits only for the changes in flight.
pub const DELETE_GUARD: i32 = 0x7464_656c; // "tdel"

/// The path of the tenant `$1` as an array expression: `(SELECT p.path FROM
/// tenant_paths p WHERE p.tenant_id = $1)::bigint[]`. A statement over a path
/// named by its tenant's id rather than passed as an array keeps one plan for
/// every depth: with the array as a parameter PostgreSQL plans it again on every
/// call, each depth's plan being cheaper than a generic one (docs/PERFORMANCE.md,
/// session 17).
fn push_path_of<'b>(
    tenant_id: &'b i64,
    out: &mut diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
) -> QueryResult<()> {
    out.push_sql("(SELECT p.path FROM tenant_paths p WHERE p.tenant_id = ");
    out.push_bind_param::<diesel::sql_types::BigInt, i64>(tenant_id)?;
    out.push_sql(")::bigint[]");
    Ok(())
}

/// A boolean SQL expression of a tenant's id written by `walk`, for a statement's
/// `WHERE` (no columns of its own: it stays cacheable).
macro_rules! path_condition {
    ($(#[$doc:meta])* $name:ident, |$id:ident, $out:ident| $walk:block) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
        struct $name(i64);

        impl diesel::Expression for $name {
            type SqlType = diesel::sql_types::Bool;
        }

        impl<QS> diesel::AppearsOnTable<QS> for $name {}

        impl<GB> diesel::expression::ValidGrouping<GB> for $name {
            type IsAggregate = diesel::expression::is_aggregate::Never;
        }

        impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for $name {
            fn walk_ast<'b>(
                &'b self,
                mut $out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
            ) -> QueryResult<()> {
                let $id = &self.0;
                $walk
            }
        }
    };
}

path_condition! {
    /// Whether the delete guards of every tenant on the path of the tenant (as
    /// [`Tenant::guard_change`]) were taken shared, with the transaction's lock
    /// timeout set (`db::set_lock_timeout`) as a side effect: an uncorrelated
    /// subquery, so that in a statement's `WHERE` it is evaluated once, before any
    /// row is read or locked.
    GuardsHeld, |id, out| {
        use diesel::sql_types::{Integer, Text};
        out.push_sql("(SELECT set_config('lock_timeout', ");
        out.push_bind_param::<Text, str>(crate::db::transaction::LOCK_TIMEOUT)?;
        out.push_sql(
            ", true) IS NOT NULL AND \
             coalesce(bool_and(pg_try_advisory_xact_lock_shared(",
        );
        out.push_bind_param::<Integer, i32>(&DELETE_GUARD)?;
        out.push_sql(", (g & 2147483647)::int)), true) FROM unnest(");
        push_path_of(id, &mut out)?;
        out.push_sql(") AS g)");
        Ok(())
    }
}

path_condition! {
    /// The `tenants` row is on the path of the tenant.
    OnPathOf, |id, out| {
        out.push_sql("tenants.id = ANY(");
        push_path_of(id, &mut out)?;
        out.push_sql(")");
        Ok(())
    }
}

impl Tenant {
    /// The tenants with these ids (any order; missing ids are left out).
    pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<Tenant>> {
        with_path()
            .filter(tenants::id.eq_any(ids.to_vec()))
            .select(Tenant::as_select())
            .load(conn)
            .await
    }

    /// The paths of those of these tenants that exist (id, path).
    pub async fn paths_of(
        conn: &mut AsyncPgConnection,
        ids: &[i64],
    ) -> QueryResult<Vec<(i64, Vec<i64>)>> {
        tenant_paths::table
            .filter(tenant_paths::tenant_id.eq_any(ids.to_vec()))
            .select((tenant_paths::tenant_id, tenant_paths::path))
            .load(conn)
            .await
    }

    /// The tenant `id` and every tenant below it, locked FOR UPDATE top-down (by
    /// depth, then id), for a change of each of them (enabling or disabling a subtree).
    pub async fn lock_subtree(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Vec<Tenant>> {
        with_path()
            .filter(tenant_paths::path.contains(vec![id]))
            .order((array_length(tenant_paths::path, 1).asc(), tenants::id.asc()))
            .select(Tenant::as_select())
            .for_update()
            .load(conn)
            .await
    }

    /// The tenant `id` and every tenant below it, top-down (by depth, then id), as
    /// they are now: what [`Tenant::lock_subtree`] would lock, read without locking
    /// (a preview of a subtree change).
    pub async fn subtree(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Vec<Tenant>> {
        with_path()
            .filter(tenant_paths::path.contains(vec![id]))
            .order((array_length(tenant_paths::path, 1).asc(), tenants::id.asc()))
            .select(Tenant::as_select())
            .load(conn)
            .await
    }

    /// Marks `id` as being deleted until the transaction ends: the delete guard
    /// ([`DELETE_GUARD`]) of the tenant, exclusive, waiting for the changes under it
    /// that hold it shared. Taken before any row lock of the delete.
    pub async fn guard_delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
        use diesel::sql_types::{BigInt, Integer};
        diesel::sql_query("SELECT pg_advisory_xact_lock($1, ($2 & 2147483647)::int)")
            .bind::<Integer, _>(DELETE_GUARD)
            .bind::<BigInt, _>(id)
            .execute(conn)
            .await
    }

    /// Takes the delete guards of these tenants shared, without waiting, until the
    /// transaction ends: `false` when one of them is being deleted (held or waited
    /// for exclusive), and the change must not start.
    pub async fn guard_change(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<bool> {
        use diesel::sql_types::{Array, BigInt, Bool, Integer};
        #[derive(QueryableByName)]
        struct Held {
            #[diesel(sql_type = Bool)]
            held: bool,
        }
        if ids.is_empty() {
            return Ok(true);
        }
        let held: Held = diesel::sql_query(
            "SELECT coalesce(bool_and(pg_try_advisory_xact_lock_shared($1, (id & 2147483647)::int)), \
             true) AS held FROM unnest($2::bigint[]) AS id",
        )
        .bind::<Integer, _>(DELETE_GUARD)
        .bind::<Array<BigInt>, _>(ids)
        .get_result(conn)
        .await?;
        Ok(held.held)
    }

    /// Locks these tenants FOR KEY SHARE, top-down (by depth, then id): nobody can
    /// move or delete them (or lock them FOR UPDATE) until the transaction ends,
    /// while edits of counters and creates under them go on.
    pub async fn lock_key_share(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<usize> {
        if ids.is_empty() {
            return Ok(0);
        }
        let locked: Vec<i64> = with_path()
            .filter(tenants::id.eq_any(ids.to_vec()))
            .order((array_length(tenant_paths::path, 1).asc(), tenants::id.asc()))
            .select(tenants::id)
            .for_key_share()
            .load(conn)
            .await?;
        Ok(locked.len())
    }

    /// `guard_change`, `set_lock_timeout` and `lock_key_share` of the path of the
    /// tenant `id` in one statement, returning the locked rows as they are under the
    /// lock, top-down: the delete guards of the path are tried shared (without
    /// waiting) and the lock timeout set first, as a one-time condition of the
    /// statement, and only when every guard was taken are the rows locked. No row
    /// back: a tenant on the path is being deleted (the root, on every path, is
    /// never deleted), or the tenant is gone. A cached prepared statement with one
    /// plan for every depth, which may be pipelined with what follows it on the
    /// connection.
    pub async fn lock_guarded_path(
        mut conn: &AsyncPgConnection,
        id: i64,
    ) -> QueryResult<Vec<Tenant>> {
        with_path()
            .filter(GuardsHeld(id))
            .filter(OnPathOf(id))
            .order((array_length(tenant_paths::path, 1).asc(), tenants::id.asc()))
            .select(Tenant::as_select())
            .for_key_share()
            .load(&mut conn)
            .await
    }

    /// Moves `tenant` with its whole subtree under `new_parent`: one statement
    /// rewrites every path (new parent's path + the part from `tenant` down), one
    /// the moved tenant's parent link. Returns how many tenants moved. The caller holds
    /// the locks of the tree-change protocol, has ruled out a cycle, and has taken
    /// `usage::exclude_ingestion` then folded every pending usage delta in this
    /// transaction (`services::usage::fold_in`, which also alerts what it folds):
    /// the subtree totals shifted below must hold every committed batch.
    pub async fn move_subtree(
        conn: &mut AsyncPgConnection,
        tenant: &Tenant,
        new_parent: &Tenant,
    ) -> QueryResult<usize> {
        use diesel::sql_types::{Array, BigInt, Integer};
        // Array slicing and concatenation have no DSL form.
        let moved = diesel::sql_query(
            "UPDATE tenant_paths SET path = $1::bigint[] || path[$2:] \
             WHERE path @> ARRAY[$3]::bigint[]",
        )
        .bind::<Array<BigInt>, _>(new_parent.path.clone())
        .bind::<Integer, _>(tenant.path.len() as i32)
        .bind::<BigInt, _>(tenant.id)
        .execute(conn)
        .await?;
        diesel::update(tenants::table.find(tenant.id))
            .set((
                tenants::parent_id.eq(new_parent.id),
                tenants::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        // The subtree's totals leave the ancestors it no longer has and join the new
        // ones (those on both paths keep them); the old parent has one child less, the
        // new one one more. Last, so that those rows are held only until the commit
        // that follows.
        let old = &tenant.path[..tenant.path.len() - 1];
        let mut shifts = Vec::new();
        for (depth, id) in old.iter().enumerate() {
            let leaves = !new_parent.path.contains(id);
            let parent = depth + 1 == old.len();
            if leaves || parent {
                shifts.push(Shift::new(
                    *id,
                    depth,
                    -i64::from(leaves),
                    -i64::from(parent),
                ));
            }
        }
        for (depth, id) in new_parent.path.iter().enumerate() {
            let joins = !old.contains(id);
            let parent = depth + 1 == new_parent.path.len();
            if joins || parent {
                shifts.push(Shift::new(*id, depth, i64::from(joins), i64::from(parent)));
            }
        }
        let totals = SubtreeTotals::find(conn, tenant.id).await?;
        add_totals(conn, &totals, &shifts).await?;
        // Its usage history moves with it (migration `usage`).
        let leaving: Vec<i64> = old
            .iter()
            .filter(|id| !new_parent.path.contains(id))
            .copied()
            .collect();
        let joining: Vec<i64> = new_parent
            .path
            .iter()
            .filter(|id| !old.contains(id))
            .copied()
            .collect();
        crate::db::models::usage::shift_subtree_usage(conn, tenant.id, &leaving, &joining).await?;
        Ok(moved)
    }

    /// Counts what the subtree of `id` holds (the tenant itself included).
    pub async fn subtree_counts(
        conn: &mut AsyncPgConnection,
        id: i64,
    ) -> QueryResult<SubtreeCounts> {
        use crate::db::schema::grants;
        use diesel::dsl::{count_star, sum};
        let (tenants, users, instances): (i64, Option<i64>, Option<i64>) = with_path()
            .filter(tenant_paths::path.contains(vec![id]))
            .select((
                count_star(),
                sum(tenants::user_count),
                sum(tenants::instance_count),
            ))
            .get_result(conn)
            .await?;
        let grants: i64 = grants::table
            .filter(
                grants::tenant_id.eq_any(
                    tenant_paths::table
                        .filter(tenant_paths::path.contains(vec![id]))
                        .select(tenant_paths::tenant_id),
                ),
            )
            .select(count_star())
            .get_result(conn)
            .await?;
        Ok(SubtreeCounts {
            tenants,
            users: users.unwrap_or(0),
            instances: instances.unwrap_or(0),
            grants,
        })
    }

    /// Sub-tenant-scoped grants held on any of these tenants (they reach every
    /// tenant below them).
    pub async fn subtree_grants_on(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<i64> {
        use crate::db::schema::grants;
        if ids.is_empty() {
            return Ok(0);
        }
        grants::table
            .filter(grants::tenant_id.eq_any(ids.to_vec()))
            .filter(grants::scope.eq("subtree"))
            .count()
            .get_result(conn)
            .await
    }

    /// Records a `tenant.delete` audit event for every tenant strictly below `id`
    /// (one statement), before they are deleted with it.
    pub async fn audit_subtree_delete(
        conn: &mut AsyncPgConnection,
        event: &AuditEvent,
        id: i64,
    ) -> QueryResult<usize> {
        use diesel::sql_types::{BigInt, Nullable, Text};
        diesel::sql_query(
            "INSERT INTO audit_events (actor_user_id, actor_username, acting_tenant_id, tenant_id, action, before, after, client_addr) \
             SELECT $1, $2, $3, t.id, $6, \
                    jsonb_build_object('name', t.name, 'subdomain', t.subdomain, 'parent_id', t.parent_id), \
                    jsonb_build_object('deleted_with', $4::bigint), $5 \
             FROM tenants t JOIN tenant_paths p ON p.tenant_id = t.id \
             WHERE p.path @> ARRAY[$4]::bigint[] AND t.id <> $4",
        )
        .bind::<Nullable<BigInt>, _>(event.actor_user_id)
        .bind::<Text, _>(&event.actor_username)
        .bind::<Nullable<BigInt>, _>(event.acting_tenant_id)
        .bind::<BigInt, _>(id)
        .bind::<Nullable<Text>, _>(&event.client_addr)
        .bind::<Text, _>(crate::domain::activity::Action::TenantDelete.as_str())
        .execute(conn)
        .await
    }

    /// Deletes `tenant` and every tenant below it in one statement (their users, roles,
    /// grants and instances go with them), and takes the subtree's totals off every
    /// tenant above it. The caller holds the tree protocol's delete locks. Returns how
    /// many tenants were deleted.
    pub async fn delete_subtree(
        conn: &mut AsyncPgConnection,
        tenant: &Tenant,
    ) -> QueryResult<usize> {
        let subtree = tenant_paths::table
            .filter(tenant_paths::path.contains(vec![tenant.id]))
            .select(tenant_paths::tenant_id);
        // Read before its row goes with the subtree; taken off the ancestors after
        // the delete, so their rows (the root's among them) are held only from there
        // to the commit. Nothing below the tenant changes meanwhile: it is locked FOR
        // UPDATE, and every change of the totals below it waits for that.
        let above = &tenant.path[..tenant.path.len() - 1];
        let shifts: Vec<Shift> = above
            .iter()
            .enumerate()
            .map(|(depth, id)| Shift::new(*id, depth, -1, -i64::from(depth + 1 == above.len())))
            .collect();
        let totals = SubtreeTotals::find(conn, tenant.id).await?;
        let deleted = diesel::delete(tenants::table.filter(tenants::id.eq_any(subtree)))
            .execute(conn)
            .await?;
        add_totals(conn, &totals, &shifts).await?;
        Ok(deleted)
    }
}

/// What a subtree holds, as maintained in `tenant_subtree_totals` (migration
/// 2026-12-05-000300 says who keeps it exact): the tenant itself and everything below.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = tenant_subtree_totals, check_for_backend(diesel::pg::Pg))]
pub struct SubtreeTotals {
    #[diesel(column_name = tenant_count)]
    pub tenants: i64,
    #[diesel(column_name = disabled_count)]
    pub disabled: i64,
    #[diesel(column_name = user_count)]
    pub users: i64,
    #[diesel(column_name = instance_count)]
    pub instances: i64,
    /// The instances' storage and memory (GB), which limits are checked against.
    pub storage_gb: i64,
    pub memory_gb: i64,
}

impl SubtreeTotals {
    pub async fn find(conn: &mut AsyncPgConnection, tenant_id: i64) -> QueryResult<SubtreeTotals> {
        tenant_subtree_totals::table
            .find(tenant_id)
            .select(SubtreeTotals::as_select())
            .first(conn)
            .await
    }
}

/// A change of one tenant's totals by a whole subtree's: `sign` times the subtree's
/// totals (1 it joins, -1 it leaves, 0 neither) and `children` more children.
#[derive(Clone, Copy, Debug)]
struct Shift {
    id: i64,
    depth: usize,
    sign: i64,
    children: i64,
}

impl Shift {
    fn new(id: i64, depth: usize, sign: i64, children: i64) -> Self {
        Shift {
            id,
            depth,
            sign,
            children,
        }
    }
}

/// Applies `shifts` of `totals` (a subtree's), the rows locked top-down (by depth,
/// then id) first: the order of the tree protocol and of the triggers that count
/// along a path, so that no two writers wait on each other in a circle. A tenant
/// named twice (the parent a move leaves is also on its new path) gets both.
async fn add_totals(
    conn: &mut AsyncPgConnection,
    totals: &SubtreeTotals,
    shifts: &[Shift],
) -> QueryResult<()> {
    use diesel::sql_types::{Array, BigInt};
    let mut merged: std::collections::BTreeMap<(usize, i64), (i64, i64)> = Default::default();
    for s in shifts {
        let e = merged.entry((s.depth, s.id)).or_default();
        e.0 += s.sign;
        e.1 += s.children;
    }
    merged.retain(|_, (sign, children)| *sign != 0 || *children != 0);
    if merged.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = merged.keys().map(|k| k.1).collect();
    let signs: Vec<i64> = merged.values().map(|v| v.0).collect();
    let children: Vec<i64> = merged.values().map(|v| v.1).collect();
    tenant_subtree_totals::table
        .filter(tenant_subtree_totals::tenant_id.eq_any(&ids))
        .order(array_position(ids.clone(), tenant_subtree_totals::tenant_id).asc())
        .select(tenant_subtree_totals::tenant_id)
        .for_no_key_update()
        .load::<i64>(conn)
        .await?;
    // Arithmetic over a list of (id, sign, children) has no DSL form.
    diesel::sql_query(
        "UPDATE tenant_subtree_totals s SET \
             tenant_count = s.tenant_count + d.sign * $4, \
             disabled_count = s.disabled_count + d.sign * $5, \
             user_count = s.user_count + d.sign * $6, \
             instance_count = s.instance_count + d.sign * $7, \
             storage_gb = s.storage_gb + d.sign * $8, \
             memory_gb = s.memory_gb + d.sign * $9, \
             child_count = s.child_count + d.children \
         FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS d(id, sign, children) \
         WHERE s.tenant_id = d.id",
    )
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Array<BigInt>, _>(signs)
    .bind::<Array<BigInt>, _>(children)
    .bind::<BigInt, _>(totals.tenants)
    .bind::<BigInt, _>(totals.disabled)
    .bind::<BigInt, _>(totals.users)
    .bind::<BigInt, _>(totals.instances)
    .bind::<BigInt, _>(totals.storage_gb)
    .bind::<BigInt, _>(totals.memory_gb)
    .execute(conn)
    .await?;
    Ok(())
}

diesel::define_sql_function!(fn array_position(a: diesel::sql_types::Array<diesel::sql_types::BigInt>, e: diesel::sql_types::BigInt) -> diesel::sql_types::Nullable<diesel::sql_types::Integer>);
