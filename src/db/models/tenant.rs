//! Tenants: the tree. Every tenant's path from the root lives in `tenant_paths`
//! (a narrow table, so that moving a subtree rewrites little); queries that need
//! it read `tenants` joined with it (`with_path`).

use super::{array_length, like_pattern, lower};
use crate::db::schema::{tenant_paths, tenant_roles, tenants};
use crate::domain::domain_name::{new_challenge_token, DomainStatus};
use chrono::{DateTime, Utc};
use diesel::dsl::count_star;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Clone, Debug, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = tenants, check_for_backend(Pg))]
pub struct Tenant {
    pub id: i64,
    pub parent_id: Option<i64>,
    /// Ids from the root down to and including this tenant.
    #[diesel(select_expression = tenant_paths::path)]
    pub path: Vec<i64>,
    pub name: String,
    pub description: String,
    pub subdomain: String,
    pub custom_domain: Option<String>,
    pub enabled: bool,
    pub can_have_subtenants: bool,
    pub tenant_role_id: i64,
    pub user_count: i32,
    pub instance_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Where the custom domain stands (all `None` without one).
    #[diesel(embed)]
    pub domain_claim: DomainClaim,
}

/// The proof of a tenant's custom domain: its state and the token its DNS TXT record
/// must hold. Set with the domain, reset whenever the domain changes.
#[derive(Clone, Debug, Default, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = tenants, check_for_backend(Pg))]
pub struct DomainClaim {
    #[diesel(column_name = custom_domain_status)]
    pub status: Option<String>,
    #[diesel(column_name = custom_domain_token)]
    pub token: Option<String>,
    /// Since when a verified or approved domain serves.
    #[diesel(column_name = custom_domain_verified_at)]
    pub verified_at: Option<DateTime<Utc>>,
}

impl DomainClaim {
    /// The state, while a custom domain is set.
    pub fn status(&self) -> Option<DomainStatus> {
        self.status.as_deref().and_then(DomainStatus::parse)
    }

    /// Does the custom domain serve (login page, bare usernames on its host)?
    pub fn serves(&self) -> bool {
        self.status().is_some_and(DomainStatus::serves)
    }
}

/// The Tenants page counts matches exactly up to this many, then says "more than".
pub const COUNT_CAP: i64 = 10_000;

/// Which tenants a user may see, as a filter the database can apply with its indexes.
#[derive(Clone, Debug, PartialEq)]
pub enum Visibility {
    All,
    Within {
        /// Tenants whose whole subtree is visible.
        subtree_roots: Vec<i64>,
        /// Single tenants visible on their own.
        tenants: Vec<i64>,
    },
}

impl Visibility {
    /// What is left to filter at and below `within`: nothing when `within`
    /// lies in a subtree the user sees whole — the usual case of an administrator at
    /// home — so those lists skip the visibility test.
    pub fn below(&self, within: &Tenant) -> Visibility {
        match self {
            Visibility::Within { subtree_roots, .. }
                if !subtree_roots.iter().any(|r| within.is_within(*r)) =>
            {
                self.clone()
            }
            _ => Visibility::All,
        }
    }
}

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

/// Tenants with their paths: what `Tenant::as_select()` reads from.
pub type WithPath = diesel::dsl::InnerJoin<tenants::table, tenant_paths::table>;

pub fn with_path() -> WithPath {
    tenants::table.inner_join(tenant_paths::table)
}

type BoxedTenants<'a> = diesel::dsl::IntoBoxed<'a, WithPath, Pg>;
type BoxedTenantsAlone<'a> = diesel::dsl::IntoBoxed<'a, tenants::table, Pg>;

diesel::alias!(tenant_paths as subtree_paths: SubtreePaths);

/// `SELECT tenant_id FROM tenant_paths WHERE …`, through an alias so that it also
/// works where `tenant_paths` is joined.
type PathIdsWhere<F> = diesel::dsl::Select<
    diesel::dsl::Filter<diesel::query_source::Alias<SubtreePaths>, F>,
    diesel::query_source::AliasedField<SubtreePaths, tenant_paths::tenant_id>,
>;
type AliasedPath = diesel::query_source::AliasedField<SubtreePaths, tenant_paths::path>;
type InSubtrees = diesel::dsl::OverlapsWith<AliasedPath, Vec<i64>>;

/// "The tenant is in the subtree of one of `roots`" (the roots included), as a
/// semi-join on the path index: it filters `tenants` alone (so counting stays on
/// `tenants`) or joined with paths.
fn in_subtrees(roots: Vec<i64>) -> diesel::dsl::EqAny<tenants::id, PathIdsWhere<InSubtrees>> {
    tenants::id.eq_any(
        subtree_paths
            .filter(subtree_paths.field(tenant_paths::path).overlaps_with(roots))
            .select(subtree_paths.field(tenant_paths::tenant_id)),
    )
}

type VisibleFilter = diesel::dsl::EqAny<
    tenants::id,
    PathIdsWhere<
        diesel::dsl::Or<
            InSubtrees,
            diesel::dsl::EqAny<
                diesel::query_source::AliasedField<SubtreePaths, tenant_paths::tenant_id>,
                Vec<i64>,
            >,
        >,
    >,
>;

/// What a user may see, as a filter; `None` for everything. One semi-join whose
/// subquery reads `tenant_paths` alone, so both halves use its indexes (GIN for the
/// subtrees, primary key for the single tenants) and a small visible set stays a
/// handful of lookups however big the tree is.
fn visible_filter(visibility: &Visibility) -> Option<VisibleFilter> {
    match visibility {
        Visibility::All => None,
        Visibility::Within {
            subtree_roots,
            tenants: singles,
        } => Some(
            tenants::id.eq_any(
                subtree_paths
                    .filter(
                        subtree_paths
                            .field(tenant_paths::path)
                            .overlaps_with(subtree_roots.clone())
                            .or(subtree_paths
                                .field(tenant_paths::tenant_id)
                                .eq_any(singles.clone())),
                    )
                    .select(subtree_paths.field(tenant_paths::tenant_id)),
            ),
        ),
    }
}

fn visible<'a>(query: BoxedTenants<'a>, visibility: &Visibility) -> BoxedTenants<'a> {
    match visible_filter(visibility) {
        Some(filter) => query.filter(filter),
        None => query,
    }
}

/// Fields of a tenant as the create/edit forms set them.
#[derive(Clone, Debug)]
pub struct TenantFields {
    pub name: String,
    pub subdomain: String,
    pub description: String,
    pub custom_domain: Option<String>,
    pub can_have_subtenants: bool,
    pub enabled: bool,
    /// The tenant role (cap); `None` keeps the current one (or inherits the parent's on create).
    pub tenant_role_id: Option<i64>,
}

impl Tenant {
    pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Tenant> {
        with_path()
            .filter(tenants::id.eq(id))
            .select(Tenant::as_select())
            .first(conn)
            .await
    }

    pub async fn root(conn: &mut AsyncPgConnection) -> QueryResult<Option<Tenant>> {
        with_path()
            .filter(tenants::parent_id.is_null())
            .select(Tenant::as_select())
            .first(conn)
            .await
            .optional()
    }

    pub async fn by_subdomain(
        conn: &mut AsyncPgConnection,
        subdomain: &str,
    ) -> QueryResult<Option<Tenant>> {
        with_path()
            .filter(tenants::subdomain.eq(subdomain.to_ascii_lowercase()))
            .select(Tenant::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// The tenant whose custom domain is `host`, if that domain serves (verified or
    /// approved): a pending claim never shows its tenant on that host.
    pub async fn by_serving_custom_domain(
        conn: &mut AsyncPgConnection,
        host: &str,
    ) -> QueryResult<Option<Tenant>> {
        let serving: Vec<&str> = DomainStatus::ALL
            .into_iter()
            .filter(|s| s.serves())
            .map(DomainStatus::as_str)
            .collect();
        with_path()
            .filter(lower(tenants::custom_domain.assume_not_null()).eq(host.to_ascii_lowercase()))
            .filter(tenants::custom_domain.is_not_null())
            .filter(tenants::custom_domain_status.eq_any(serving))
            .select(Tenant::as_select())
            .first(conn)
            .await
            .optional()
    }

    pub fn is_root(&self) -> bool {
        self.parent_id.is_none()
    }

    /// True when `ancestor_id` is this tenant or above it: one array lookup, no walk.
    pub fn is_within(&self, ancestor_id: i64) -> bool {
        self.path.contains(&ancestor_id)
    }

    /// The tenants on the path from the root to this one, root first.
    pub async fn path_tenants(
        &self,
        conn: &mut AsyncPgConnection,
    ) -> QueryResult<Vec<(i64, String)>> {
        let mut rows: Vec<(i64, String)> = tenants::table
            .filter(tenants::id.eq_any(self.path.clone()))
            .select((tenants::id, tenants::name))
            .load(conn)
            .await?;
        rows.sort_by_key(|(id, _)| self.path.iter().position(|p| p == id));
        Ok(rows)
    }

    /// The Tenants page: one page of visible descendants plus the total count, in
    /// one statement unless the count passes `COUNT_CAP` or the page lies past the end.
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
        let page = |matching: BoxedTenantsAlone<'static>| {
            let base = matching
                .inner_join(tenant_roles::table)
                .inner_join(tenant_paths::table);
            let ordered = match (q.sort, q.descending) {
                (SortKey::Name, false) => {
                    base.order((lower(tenants::name).asc(), tenants::id.asc()))
                }
                (SortKey::Name, true) => {
                    base.order((lower(tenants::name).desc(), tenants::id.desc()))
                }
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
                (SortKey::Users, false) => {
                    base.order((tenants::user_count.asc(), tenants::id.asc()))
                }
                (SortKey::Users, true) => {
                    base.order((tenants::user_count.desc(), tenants::id.desc()))
                }
                (SortKey::Created, false) => {
                    base.order((tenants::created_at.asc(), tenants::id.asc()))
                }
                (SortKey::Created, true) => {
                    base.order((tenants::created_at.desc(), tenants::id.desc()))
                }
            };
            ordered
                .limit(q.per_page)
                .offset((q.page - 1).max(0) * q.per_page)
        };
        let columns = (
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
        );
        // Counting 100k rows costs more than the page itself: count up to a cap. Up to
        // the cap the page picks from those ids: sorting a few thousand rows fetched by
        // key beats walking the name index past everything the filters reject, which
        // is what the planner picks for a small subtree of a big tree. The window
        // counts them in the same statement.
        let capped_ids = filtered().select(tenants::id).limit(COUNT_CAP + 1);
        let counted: Vec<(TenantListRow, i64)> = page(
            tenants::table
                .filter(tenants::id.eq_any(capped_ids))
                .into_boxed(),
        )
        .select((columns, count_star().over()))
        .load(conn)
        .await?;
        let total = match <[_]>::first(&counted) {
            Some((_, total)) => *total,
            None if q.page <= 1 => 0,
            // Past the last page: no row carried the count.
            None => filtered()
                .select(tenants::id)
                .limit(COUNT_CAP + 1)
                .load::<i64>(conn)
                .await?
                .len() as i64,
        };
        if total <= COUNT_CAP {
            return Ok((counted.into_iter().map(|(row, _)| row).collect(), total));
        }
        // Past the cap those ids are an arbitrary part of the matches: page through all.
        let rows = page(filtered())
            .select(columns)
            .load::<TenantListRow>(conn)
            .await?;
        Ok((rows, total))
    }

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

    /// Names of every tenant on these paths, for breadcrumbs of many results at once.
    pub async fn names(
        conn: &mut AsyncPgConnection,
        ids: Vec<i64>,
    ) -> QueryResult<std::collections::HashMap<i64, String>> {
        let rows: Vec<(i64, String)> = tenants::table
            .filter(tenants::id.eq_any(ids))
            .select((tenants::id, tenants::name))
            .load(conn)
            .await?;
        Ok(rows.into_iter().collect())
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

    /// Creates children: ids from the sequence (ascending, in the order given), then
    /// one INSERT for the tenants and one for their paths per thousand. The caller holds
    /// every tenant on each parent's path locked FOR KEY SHARE in the same transaction
    /// (`services::tenants`), so no parent's path can change and neither a parent nor
    /// an ancestor can be moved or deleted before the children exist.
    pub async fn insert_children(
        conn: &mut AsyncPgConnection,
        children: &[NewChild<'_>],
    ) -> QueryResult<Vec<Tenant>> {
        if children.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = diesel::sql_query(
            "SELECT nextval('tenants_id_seq') AS id FROM generate_series(1, $1) ORDER BY 1",
        )
        .bind::<diesel::sql_types::BigInt, _>(children.len() as i64)
        .load::<NewId>(conn)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
        // Ids follow the order of `children`; rows go in by subdomain, so that two
        // transactions creating the same subdomains wait on each other in one direction
        // (the second fails on the unique index) instead of deadlocking.
        let mut order: Vec<usize> = (0..children.len()).collect();
        order.sort_by(|a, b| {
            children[*a]
                .fields
                .subdomain
                .cmp(&children[*b].fields.subdomain)
        });
        // Well under PostgreSQL's 65,535 bind parameters per statement.
        for chunk in order.chunks(1000) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|&i| {
                    let c = &children[i];
                    (
                        tenants::id.eq(ids[i]),
                        tenants::parent_id.eq(Some(c.parent.id)),
                        tenants::name.eq(&c.fields.name),
                        tenants::subdomain.eq(&c.fields.subdomain),
                        tenants::description.eq(&c.fields.description),
                        tenants::custom_domain.eq(&c.fields.custom_domain),
                        // A new domain starts pending, with its own token.
                        tenants::custom_domain_status.eq(c
                            .fields
                            .custom_domain
                            .as_ref()
                            .map(|_| DomainStatus::Pending.as_str())),
                        tenants::custom_domain_token.eq(c
                            .fields
                            .custom_domain
                            .as_ref()
                            .map(|_| new_challenge_token())),
                        tenants::can_have_subtenants.eq(c.fields.can_have_subtenants),
                        tenants::enabled.eq(c.fields.enabled),
                        tenants::tenant_role_id.eq(c.tenant_role_id),
                    )
                })
                .collect();
            diesel::insert_into(tenants::table)
                .values(rows)
                .execute(conn)
                .await?;
            let paths: Vec<_> = chunk
                .iter()
                .map(|&i| {
                    let mut path = children[i].parent.path.clone();
                    path.push(ids[i]);
                    (
                        tenant_paths::tenant_id.eq(ids[i]),
                        tenant_paths::path.eq(path),
                    )
                })
                .collect();
            diesel::insert_into(tenant_paths::table)
                .values(paths)
                .execute(conn)
                .await?;
        }
        let mut created = Self::find_many(conn, &ids).await?;
        created.sort_unstable_by_key(|t| t.id);
        Ok(created)
    }

    /// Which of these subdomains are taken.
    pub async fn taken_subdomains(
        conn: &mut AsyncPgConnection,
        subdomains: &[String],
    ) -> QueryResult<std::collections::HashSet<String>> {
        let rows: Vec<String> = tenants::table
            .filter(tenants::subdomain.eq_any(subdomains))
            .select(tenants::subdomain)
            .load(conn)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Which of these custom domains (lower case) are taken.
    pub async fn taken_custom_domains(
        conn: &mut AsyncPgConnection,
        domains: &[String],
    ) -> QueryResult<std::collections::HashSet<String>> {
        if domains.is_empty() {
            return Ok(Default::default());
        }
        let rows: Vec<String> = tenants::table
            .filter(tenants::custom_domain.is_not_null())
            .filter(lower(tenants::custom_domain.assume_not_null()).eq_any(domains))
            .select(lower(tenants::custom_domain.assume_not_null()))
            .load(conn)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Creates the root tenant (bootstrap).
    pub async fn insert_root(
        conn: &mut AsyncPgConnection,
        name: &str,
        subdomain: &str,
    ) -> QueryResult<Tenant> {
        let role_id: i64 = tenant_roles::table
            .select(tenant_roles::id)
            .order(tenant_roles::id.asc())
            .first(conn)
            .await?;
        let id: i64 = diesel::select(nextval("tenants_id_seq"))
            .get_result(conn)
            .await?;
        diesel::insert_into(tenants::table)
            .values((
                tenants::id.eq(id),
                tenants::name.eq(name),
                tenants::subdomain.eq(subdomain),
                tenants::can_have_subtenants.eq(true),
                tenants::tenant_role_id.eq(role_id),
            ))
            .execute(conn)
            .await?;
        insert_path(conn, id, vec![id]).await?;
        Self::find(conn, id).await
    }

    /// Locks the row for an update or delete (waits at most the session's lock_timeout).
    pub async fn lock(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Tenant> {
        with_path()
            .filter(tenants::id.eq(id))
            .select(Tenant::as_select())
            .for_update()
            .first(conn)
            .await
    }

    pub async fn update_fields(
        conn: &mut AsyncPgConnection,
        id: i64,
        fields: &TenantFields,
    ) -> QueryResult<Tenant> {
        if let Some(role_id) = fields.tenant_role_id {
            diesel::update(tenants::table.find(id))
                .set(tenants::tenant_role_id.eq(role_id))
                .execute(conn)
                .await?;
        }
        // Another domain (or none) starts over: pending, with a fresh token. Same
        // statement as the domain itself, so the claim always matches it.
        diesel::update(
            tenants::table
                .find(id)
                .filter(tenants::custom_domain.is_distinct_from(&fields.custom_domain)),
        )
        .set((
            tenants::custom_domain.eq(&fields.custom_domain),
            tenants::custom_domain_status.eq(fields
                .custom_domain
                .as_ref()
                .map(|_| DomainStatus::Pending.as_str())),
            tenants::custom_domain_token
                .eq(fields.custom_domain.as_ref().map(|_| new_challenge_token())),
            tenants::custom_domain_verified_at.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;
        diesel::update(tenants::table.find(id))
            .set((
                tenants::name.eq(&fields.name),
                tenants::subdomain.eq(&fields.subdomain),
                tenants::description.eq(&fields.description),
                tenants::can_have_subtenants.eq(fields.can_have_subtenants),
                tenants::enabled.eq(fields.enabled),
                tenants::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        Self::find(conn, id).await
    }

    /// Makes a pending custom domain serve (`Verified` or `Approved`), provided it is
    /// still `domain` with `token` — it may have changed since they were read.
    /// `None` when it has.
    pub async fn set_domain_serving(
        conn: &mut AsyncPgConnection,
        id: i64,
        domain: &str,
        token: &str,
        status: DomainStatus,
    ) -> QueryResult<Option<Tenant>> {
        let changed = diesel::update(
            tenants::table
                .find(id)
                .filter(tenants::custom_domain.eq(domain))
                .filter(tenants::custom_domain_token.eq(token))
                .filter(tenants::custom_domain_status.eq(DomainStatus::Pending.as_str())),
        )
        .set((
            tenants::custom_domain_status.eq(status.as_str()),
            tenants::custom_domain_verified_at.eq(diesel::dsl::now),
            tenants::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
        if changed == 0 {
            return Ok(None);
        }
        Self::find(conn, id).await.map(Some)
    }

    pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(tenants::table.find(id)).execute(conn).await
    }

    /// Name of the tenant role that caps this tenant.
    pub async fn role_name(conn: &mut AsyncPgConnection, role_id: i64) -> QueryResult<String> {
        tenant_roles::table
            .find(role_id)
            .select(tenant_roles::name)
            .first(conn)
            .await
    }

    /// Totals for the dashboard under `within`: sub-tenants, disabled sub-tenants,
    /// users and instances (the tenant itself counted for users and instances).
    pub async fn totals(
        conn: &mut AsyncPgConnection,
        within: &Tenant,
        visibility: &Visibility,
    ) -> QueryResult<Totals> {
        use diesel::dsl::sql;
        use diesel::sql_types::BigInt;
        // The same filters as the Tenants list, on `tenants` alone; at the root no
        // subtree test at all (every tenant is below it).
        let mut query = tenants::table.into_boxed();
        if !within.is_root() {
            query = query.filter(in_subtrees(vec![within.id]));
        }
        if let Some(filter) = visible_filter(visibility) {
            query = query.filter(filter);
        }
        // FILTER aggregates have no DSL form; one statement instead of four counts.
        let (subtenants, disabled, users, instances) = query
            .select((
                sql::<BigInt>("count(*) FILTER (WHERE tenants.id <> ")
                    .bind::<BigInt, _>(within.id)
                    .sql(")"),
                sql::<BigInt>("count(*) FILTER (WHERE tenants.id <> ")
                    .bind::<BigInt, _>(within.id)
                    .sql(" AND NOT tenants.enabled)"),
                sql::<BigInt>("coalesce(sum(tenants.user_count), 0)::bigint"),
                sql::<BigInt>("coalesce(sum(tenants.instance_count), 0)::bigint"),
            ))
            .get_result(conn)
            .await?;
        Ok(Totals {
            subtenants,
            disabled,
            users,
            instances,
        })
    }
}

/// Dashboard totals.
#[derive(Debug, Clone, Copy)]
pub struct Totals {
    pub subtenants: i64,
    pub disabled: i64,
    pub users: i64,
    pub instances: i64,
}

/// One child for `Tenant::insert_children`.
pub struct NewChild<'a> {
    pub parent: &'a Tenant,
    pub tenant_role_id: i64,
    pub fields: &'a TenantFields,
}

#[derive(QueryableByName)]
struct NewId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

async fn insert_path(conn: &mut AsyncPgConnection, id: i64, path: Vec<i64>) -> QueryResult<usize> {
    diesel::insert_into(tenant_paths::table)
        .values((tenant_paths::tenant_id.eq(id), tenant_paths::path.eq(path)))
        .execute(conn)
        .await
}

diesel::define_sql_function!(fn nextval(seq: diesel::sql_types::Text) -> diesel::sql_types::BigInt);

impl Tenant {
    pub async fn set_enabled(
        conn: &mut AsyncPgConnection,
        id: i64,
        enabled: bool,
    ) -> QueryResult<Tenant> {
        diesel::update(tenants::table.find(id))
            .set((
                tenants::enabled.eq(enabled),
                tenants::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        Self::find(conn, id).await
    }
}

// ---------------------------------------------------------------- tree changes
//
// Lock order for structural changes (create under, move, delete): every tenant on
// the paths involved is locked top-down — by depth, then id — FOR KEY SHARE, and
// the tenant whose subtree changes (the moved or deleted one) FOR UPDATE in its
// place in that order. See `services::tenants` for why this is enough.

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
        event: &super::AuditEvent,
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
