//! Structural changes of the tree: moving and deleting whole subtrees.
//!
//! Lock order for structural changes (create under, move, delete): every tenant on
//! the paths involved is locked top-down — by depth, then id — FOR KEY SHARE, and
//! the tenant whose subtree changes (the moved or deleted one) FOR UPDATE in its
//! place in that order. See `services::tenants` for why this is enough.

use super::{with_path, Tenant};
use crate::db::models::{array_length, AuditEvent};
use crate::db::schema::{tenant_paths, tenants};
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

    /// Deletes `id` and every tenant below it in one statement (their users, roles,
    /// grants and instances go with them). Returns how many tenants were deleted.
    pub async fn delete_subtree(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
        let subtree = tenant_paths::table
            .filter(tenant_paths::path.contains(vec![id]))
            .select(tenant_paths::tenant_id);
        diesel::delete(tenants::table.filter(tenants::id.eq_any(subtree)))
            .execute(conn)
            .await
    }
}
