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

impl Tenant {
    /// The tenants with these ids (any order; missing ids are left out).
    pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<Tenant>> {
        with_path()
            .filter(tenants::id.eq_any(ids.to_vec()))
            .select(Tenant::as_select())
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

    /// Moves `tenant` with its whole subtree under `new_parent`: one statement
    /// rewrites every path (new parent's path + the part from `tenant` down), one
    /// the moved tenant's parent link. Returns how many tenants moved. The caller holds
    /// the locks of the tree-change protocol and has ruled out a cycle.
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
        // ones (those on both paths keep them). Last, so that those rows are held only
        // until the commit that follows.
        let old: Vec<i64> = tenant.path[..tenant.path.len() - 1].to_vec();
        let mut shifts: Vec<(i64, i32, i64)> = Vec::new();
        for (depth, id) in old.iter().enumerate() {
            if !new_parent.path.contains(id) {
                shifts.push((*id, depth as i32, -1));
            }
        }
        for (depth, id) in new_parent.path.iter().enumerate() {
            if !old.contains(id) {
                shifts.push((*id, depth as i32, 1));
            }
        }
        shift_totals(conn, tenant.id, &shifts).await?;
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
             SELECT $1, $2, $3, t.id, 'tenant.delete', \
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
        let shifts: Vec<(i64, i32, i64)> = tenant.path[..tenant.path.len() - 1]
            .iter()
            .enumerate()
            .map(|(depth, id)| (*id, depth as i32, -1))
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

/// Moves the totals of `from`'s subtree: adds them (sign 1) to or takes them (sign
/// -1) off each tenant in `shifts` (id, depth, sign).
async fn shift_totals(
    conn: &mut AsyncPgConnection,
    from: i64,
    shifts: &[(i64, i32, i64)],
) -> QueryResult<()> {
    if shifts.is_empty() {
        return Ok(());
    }
    let totals = SubtreeTotals::find(conn, from).await?;
    add_totals(conn, &totals, shifts).await
}

/// Adds `totals` times each sign in `shifts` (id, depth, sign) to those tenants'
/// totals, their rows locked top-down (by depth, then id) first: the order of the
/// tree protocol and of the triggers that count along a path, so that no two
/// writers wait on each other in a circle.
async fn add_totals(
    conn: &mut AsyncPgConnection,
    totals: &SubtreeTotals,
    shifts: &[(i64, i32, i64)],
) -> QueryResult<()> {
    use diesel::sql_types::{Array, BigInt};
    if shifts.is_empty() {
        return Ok(());
    }
    let mut ordered = shifts.to_vec();
    ordered.sort_unstable_by_key(|(id, depth, _)| (*depth, *id));
    let ids: Vec<i64> = ordered.iter().map(|s| s.0).collect();
    let signs: Vec<i64> = ordered.iter().map(|s| s.2).collect();
    tenant_subtree_totals::table
        .filter(tenant_subtree_totals::tenant_id.eq_any(&ids))
        .order(array_position(ids.clone(), tenant_subtree_totals::tenant_id).asc())
        .select(tenant_subtree_totals::tenant_id)
        .for_no_key_update()
        .load::<i64>(conn)
        .await?;
    // Arithmetic over a list of (id, sign) pairs has no DSL form.
    diesel::sql_query(
        "UPDATE tenant_subtree_totals s SET \
             tenant_count = s.tenant_count + d.sign * $3, \
             disabled_count = s.disabled_count + d.sign * $4, \
             user_count = s.user_count + d.sign * $5, \
             instance_count = s.instance_count + d.sign * $6 \
         FROM unnest($1::bigint[], $2::bigint[]) AS d(id, sign) WHERE s.tenant_id = d.id",
    )
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Array<BigInt>, _>(signs)
    .bind::<BigInt, _>(totals.tenants)
    .bind::<BigInt, _>(totals.disabled)
    .bind::<BigInt, _>(totals.users)
    .bind::<BigInt, _>(totals.instances)
    .execute(conn)
    .await?;
    Ok(())
}

diesel::define_sql_function!(fn array_position(a: diesel::sql_types::Array<diesel::sql_types::BigInt>, e: diesel::sql_types::BigInt) -> diesel::sql_types::Nullable<diesel::sql_types::Integer>);
