//! The Tenants page and the API's tenant listing: filtered, sorted, paged.

use super::visibility::{in_subtrees, visible, visible_filter};
use super::{with_path, Tenant, Visibility};
use crate::db::models::{array_length, like_pattern, lower};
use crate::db::schema::{tenant_paths, tenant_roles, tenants};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// The Tenants page counts matches exactly up to this many, then says "more than".
pub const COUNT_CAP: i64 = 10_000;

/// One row of the Tenants page.
#[derive(Clone, Debug, Queryable)]
pub struct TenantListRow {
    pub id: i64,
    pub name: String,
    pub subdomain: String,
    pub enabled: bool,
    pub can_have_subtenants: bool,
    pub role_name: String,
    pub instance_count: i32,
    pub user_count: i32,
    pub created_at: DateTime<Utc>,
    pub depth: Option<i32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Role,
    Instances,
    Users,
    Created,
}

impl SortKey {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("role") => SortKey::Role,
            Some("instances") => SortKey::Instances,
            Some("users") => SortKey::Users,
            Some("created") => SortKey::Created,
            _ => SortKey::Name,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Role => "role",
            SortKey::Instances => "instances",
            SortKey::Users => "users",
            SortKey::Created => "created",
        }
    }
}

/// What the Tenants page asks for.
#[derive(Clone, Debug)]
pub struct ListQuery {
    /// List the descendants of this tenant (not the tenant itself).
    pub within: Tenant,
    pub visibility: Visibility,
    pub name_filter: Option<String>,
    pub sort: SortKey,
    pub descending: bool,
    pub page: i64,
    pub per_page: i64,
}

impl Tenant {
    /// The Tenants page: one page of visible descendants plus the total count.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        q: &ListQuery,
    ) -> QueryResult<(Vec<TenantListRow>, i64)> {
        // On `tenants` alone (paths only in semi-joins), so that counting never joins.
        let filtered = || {
            let mut query = tenants::table
                .filter(tenants::id.ne(q.within.id))
                .into_boxed();
            // Below the root every tenant matches: skip the subtree test.
            if !q.within.is_root() {
                query = query.filter(in_subtrees(vec![q.within.id]));
            }
            if let Some(filter) = visible_filter(&q.visibility.below(&q.within)) {
                query = query.filter(filter);
            }
            if let Some(f) = q.name_filter.as_deref().filter(|f| !f.is_empty()) {
                query = query.filter(tenants::name.ilike(like_pattern(f)));
            }
            query
        };
        // Counting 100k rows costs more than the page itself: count up to a cap.
        let ids: Vec<i64> = filtered()
            .select(tenants::id)
            .limit(COUNT_CAP + 1)
            .load(conn)
            .await?;
        let total = ids.len() as i64;
        // Up to the cap, the page picks from the ids just read: sorting a few thousand
        // rows fetched by key beats walking the name index past everything the filters
        // reject, which is what the planner picks for a small subtree of a big tree.
        let matching = if total <= COUNT_CAP {
            tenants::table.filter(tenants::id.eq_any(ids)).into_boxed()
        } else {
            filtered()
        };
        let base = matching
            .inner_join(tenant_roles::table)
            .inner_join(tenant_paths::table)
            .select((
                tenants::id,
                tenants::name,
                tenants::subdomain,
                tenants::enabled,
                tenants::can_have_subtenants,
                tenant_roles::name,
                tenants::instance_count,
                tenants::user_count,
                tenants::created_at,
                array_length(tenant_paths::path, 1),
            ));
        let ordered = match (q.sort, q.descending) {
            (SortKey::Name, false) => base.order((lower(tenants::name).asc(), tenants::id.asc())),
            (SortKey::Name, true) => base.order((lower(tenants::name).desc(), tenants::id.desc())),
            (SortKey::Role, false) => base.order((
                lower(tenant_roles::name).asc(),
                lower(tenants::name).asc(),
                tenants::id.asc(),
            )),
            (SortKey::Role, true) => base.order((
                lower(tenant_roles::name).desc(),
                lower(tenants::name).asc(),
                tenants::id.asc(),
            )),
            (SortKey::Instances, false) => {
                base.order((tenants::instance_count.asc(), tenants::id.asc()))
            }
            (SortKey::Instances, true) => {
                base.order((tenants::instance_count.desc(), tenants::id.desc()))
            }
            (SortKey::Users, false) => base.order((tenants::user_count.asc(), tenants::id.asc())),
            (SortKey::Users, true) => base.order((tenants::user_count.desc(), tenants::id.desc())),
            (SortKey::Created, false) => base.order((tenants::created_at.asc(), tenants::id.asc())),
            (SortKey::Created, true) => {
                base.order((tenants::created_at.desc(), tenants::id.desc()))
            }
        };
        let rows = ordered
            .limit(q.per_page)
            .offset((q.page - 1).max(0) * q.per_page)
            .load::<TenantListRow>(conn)
            .await?;
        Ok((rows, total))
    }
}

/// What `GET /api/v1/tenants` asks for: visible tenants, filtered, by id after a cursor.
#[derive(Clone, Debug)]
pub struct ApiListQuery {
    pub visibility: Visibility,
    pub parent: Option<i64>,
    pub subtree: Option<i64>,
    pub name: Option<String>,
    pub after: Option<i64>,
    pub limit: i64,
}

impl Tenant {
    pub async fn api_page(
        conn: &mut AsyncPgConnection,
        q: &ApiListQuery,
    ) -> QueryResult<Vec<Tenant>> {
        let mut query = visible(with_path().into_boxed(), &q.visibility);
        if let Some(p) = q.parent {
            query = query.filter(tenants::parent_id.eq(p));
        }
        if let Some(s) = q.subtree {
            query = query.filter(tenant_paths::path.contains(vec![s]));
        }
        if let Some(n) = &q.name {
            query = query.filter(tenants::name.ilike(like_pattern(n)));
        }
        if let Some(after) = q.after {
            query = query.filter(tenants::id.gt(after));
        }
        query
            .order(tenants::id.asc())
            .limit(q.limit)
            .select(Tenant::as_select())
            .load(conn)
            .await
    }
}
