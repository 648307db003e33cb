//! Tenants' user limits (`tenants.max_users`, migration `resolvers_devices_subnets`):
//! reading them, and locking the limits on a path for a create to count against.
//! `limits_of` reads tenants' own limits (their forms); `lock_limits` the effective
//! ones (own, else their plan's: `db::models::plan::effective_limit!`).

use crate::db::schema::{tenant_paths, tenant_subtree_totals, tenants};
use crate::domain::resources::LimitOrigin;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::collections::HashMap;

/// The limits of those of these tenants that have one.
pub async fn limits_of(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> QueryResult<HashMap<i64, i32>> {
    let rows: Vec<(i64, Option<i32>)> = tenants::table
        .filter(tenants::id.eq_any(ids.to_vec()))
        .filter(tenants::max_users.is_not_null())
        .select((tenants::id, tenants::max_users))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, max)| max.map(|m| (id, m)))
        .collect())
}

/// Id, name, limit (in effect, and its own with its plan's name), path and subtree
/// user count, as `lock_limits` reads them.
type LimitRow = (
    i64,
    String,
    Option<i32>,
    (Option<i32>, Option<String>),
    Vec<i64>,
    i64,
);

/// A tenant whose limit a new user counts against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limited {
    pub id: i64,
    pub name: String,
    pub path: Vec<i64>,
    pub max_users: i32,
    /// Where `max_users` comes from: its own, or its plan's.
    pub origin: Option<LimitOrigin>,
    /// Users of its whole subtree, as committed.
    pub users: i64,
}

/// The tenants on `path` (root first) that limit their subtree's users, each locked
/// FOR NO KEY UPDATE in path order (top-down, as the tree protocol orders locks),
/// with their subtree's user count read after the locks.
///
/// Every create under a limited tenant takes its lock first and keeps it to its
/// commit, where the deferred trigger adds the new user to the subtree totals
/// (migration `subtree_totals`): so once the locks are held, the totals hold every
/// committed user that counts against them, and no other create under them can
/// commit until this transaction ends. Users this transaction inserted itself are
/// not in the totals yet (the trigger runs at its commit): the caller counts those.
pub async fn lock_limits(conn: &mut AsyncPgConnection, path: &[i64]) -> QueryResult<Vec<Limited>> {
    use diesel::sql_types::{Array, BigInt};
    // `ORDER BY array_position` so the rows are locked in path order; no DSL form.
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    // The effective limit: its own, else its plan's (`effective_limit!`).
    let locked: Vec<i64> = diesel::sql_query(concat!(
        "SELECT t.id FROM tenants t WHERE t.id = ANY($1) AND ",
        crate::effective_limit!("t", "max_users"),
        " IS NOT NULL ORDER BY array_position($1, t.id) FOR NO KEY UPDATE OF t",
    ))
    .bind::<Array<BigInt>, _>(path.to_vec())
    .load::<Id>(conn)
    .await?
    .into_iter()
    .map(|r| r.id)
    .collect();
    if locked.is_empty() {
        return Ok(Vec::new());
    }
    // A statement of its own: its snapshot is taken once the locks are held.
    let rows: Vec<LimitRow> = tenants::table
        .inner_join(tenant_paths::table)
        .inner_join(tenant_subtree_totals::table)
        .filter(tenants::id.eq_any(&locked))
        .select((
            tenants::id,
            tenants::name,
            diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Integer>>(
                crate::effective_limit!("tenants", "max_users"),
            ),
            (
                tenants::max_users,
                diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(
                    crate::governing_plan_column!("tenants", "name"),
                ),
            ),
            tenant_paths::path,
            tenant_subtree_totals::user_count,
        ))
        .load(conn)
        .await?;
    let mut limited: Vec<Limited> = rows
        .into_iter()
        .filter_map(|(id, name, max, (own, plan), path, users)| {
            max.map(|max_users| Limited {
                id,
                name,
                path,
                max_users,
                origin: LimitOrigin::of(
                    own.map(i64::from),
                    Some(i64::from(max_users)),
                    plan.as_deref(),
                ),
                users,
            })
        })
        .collect();
    limited.sort_by_key(|l| l.path.len());
    Ok(limited)
}
