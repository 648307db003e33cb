//! Reading the tree: children for the tree view, search as you type, the parent picker.

use super::visibility::{visible, BoxedTenants};
use super::{with_path, Tenant, Visibility};
use crate::db::models::{array_length, like_pattern, lower};
use crate::db::schema::{tenant_paths, tenants};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

impl Tenant {
    /// Direct children of a tenant that the user may see, by name.
    pub async fn children(
        conn: &mut AsyncPgConnection,
        parent_id: i64,
        visibility: &Visibility,
        limit: i64,
    ) -> QueryResult<Vec<Tenant>> {
        let query = with_path()
            .filter(tenants::parent_id.eq(parent_id))
            .into_boxed();
        visible(query, visibility)
            .order((lower(tenants::name).asc(), tenants::id.asc()))
            .limit(limit)
            .select(Tenant::as_select())
            .load(conn)
            .await
    }

    /// Which of these tenants have at least one child (for tree toggles).
    pub async fn with_children(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<i64>> {
        tenants::table
            .filter(tenants::parent_id.eq_any(ids.to_vec()))
            .select(tenants::parent_id.assume_not_null())
            .distinct()
            .load(conn)
            .await
    }

    pub async fn has_children(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            tenants::table.filter(tenants::parent_id.eq(id)),
        ))
        .get_result(conn)
        .await
    }

    /// Search as you type over the visible tenants: name or subdomain.
    pub async fn search(
        conn: &mut AsyncPgConnection,
        visibility: &Visibility,
        q: &str,
        limit: i64,
    ) -> QueryResult<Vec<Tenant>> {
        Self::search_in(conn, Self::matching(visibility, q), limit).await
    }

    /// How many visible tenants match `q`, counted up to `cap + 1` (past the cap the
    /// exact number costs more than it tells).
    pub async fn search_count(
        conn: &mut AsyncPgConnection,
        visibility: &Visibility,
        q: &str,
        cap: i64,
    ) -> QueryResult<i64> {
        let ids: Vec<i64> = Self::matching(visibility, q)
            .select(tenants::id)
            .limit(cap + 1)
            .load(conn)
            .await?;
        Ok(ids.len() as i64)
    }

    /// How many direct children `parent_id` has, and how many of them the user sees.
    pub async fn count_children(
        conn: &mut AsyncPgConnection,
        parent_id: i64,
        visibility: &Visibility,
    ) -> QueryResult<(i64, i64)> {
        let all: i64 = tenants::table
            .filter(tenants::parent_id.eq(parent_id))
            .count()
            .get_result(conn)
            .await?;
        let query = with_path()
            .filter(tenants::parent_id.eq(parent_id))
            .into_boxed();
        let seen: i64 = visible(query, visibility).count().get_result(conn).await?;
        Ok((all, seen))
    }

    /// Search as you type for a move's destination: visible tenants that may have
    /// sub-tenants, outside the subtree of `moving`.
    pub async fn search_destinations(
        conn: &mut AsyncPgConnection,
        visibility: &Visibility,
        q: &str,
        moving: i64,
        limit: i64,
    ) -> QueryResult<Vec<Tenant>> {
        let query = Self::matching(visibility, q)
            .filter(tenants::can_have_subtenants.eq(true))
            .filter(diesel::dsl::not(tenant_paths::path.contains(vec![moving])));
        Self::search_in(conn, query, limit).await
    }

    fn matching<'a>(visibility: &Visibility, q: &str) -> BoxedTenants<'a> {
        let pattern = like_pattern(q.trim());
        let query = with_path()
            .filter(
                tenants::name
                    .ilike(pattern.clone())
                    // lower(): the form the trigram index has (migration 000006).
                    .or(lower(tenants::subdomain).ilike(pattern)),
            )
            .into_boxed();
        visible(query, visibility)
    }

    async fn search_in(
        conn: &mut AsyncPgConnection,
        query: BoxedTenants<'_>,
        limit: i64,
    ) -> QueryResult<Vec<Tenant>> {
        query
            .order((
                array_length(tenant_paths::path, 1).asc(),
                lower(tenants::name).asc(),
                tenants::id.asc(),
            ))
            .limit(limit)
            .select(Tenant::as_select())
            .load(conn)
            .await
    }

    /// Tenants under `within` (itself included) that may get children, for the parent picker.
    pub async fn possible_parents(
        conn: &mut AsyncPgConnection,
        within: &Tenant,
        visibility: &Visibility,
        limit: i64,
    ) -> QueryResult<Vec<Tenant>> {
        let query = with_path()
            .filter(tenant_paths::path.contains(vec![within.id]))
            .filter(tenants::can_have_subtenants.eq(true))
            .into_boxed();
        visible(query, visibility)
            .order((
                array_length(tenant_paths::path, 1).asc(),
                lower(tenants::name).asc(),
            ))
            .limit(limit)
            .select(Tenant::as_select())
            .load(conn)
            .await
    }
}
