//! Reading the tree: children for the tree view, search as you type, the parent picker.

use super::visibility::{visible, visible_filter, BoxedTenants};
use super::{with_path, Tenant, Visibility};
use crate::db::models::{array_length, like_pattern, lower};
use crate::db::schema::{tenant_paths, tenant_subtree_totals, tenants};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// How deep below a tenant `Tenant::hidden_below` counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    Children,
    Subtree,
}

/// A tenant as the tree view shows it.
#[derive(Clone, Debug, Queryable)]
pub struct TreeNode {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub subdomain: String,
    pub enabled: bool,
    /// Its children, visible or not (kept with the subtree totals).
    pub children: i64,
    /// For a child: how many children of its parent the user sees, when the user
    /// sees only parts of the tree (0 when they see all, and for a parent's own row).
    pub visible_siblings: i64,
    /// The row of one of the parents asked for, not of a child.
    pub is_parent: bool,
}

/// The children of each parent asked for, and what the tree says about them.
#[derive(Clone, Debug, Default)]
pub struct TreeLevel {
    /// Visible children by name, at most the limit.
    pub nodes: Vec<TreeNode>,
    /// More visible children than the limit.
    pub truncated: bool,
    /// Children the user may not see: a count, never their names.
    pub hidden: i64,
}

impl Tenant {
    /// The tree below `parent` and, when given, below `open` too (a child of it shown
    /// expanded), as the user may see it: up to `limit` visible children of each by
    /// name, whether each has children, and how many children each parent has that
    /// the user may not see — one statement (the parents' own rows, then each one's
    /// children; a missing `open` asks for the children of no tenant).
    pub async fn tree_levels(
        conn: &mut AsyncPgConnection,
        parent: i64,
        open: Option<i64>,
        visibility: &Visibility,
        limit: i64,
    ) -> QueryResult<(TreeLevel, Option<TreeLevel>)> {
        let open_id = open.unwrap_or(-1);
        let filter = visible_filter(visibility);
        let counts_visible = filter.is_some();
        let children = |of: i64| {
            let mut query = tenants::table
                .inner_join(tenant_subtree_totals::table)
                .filter(tenants::parent_id.eq(of))
                .into_boxed();
            if let Some(f) = filter.clone() {
                query = query.filter(f);
            }
            // Counted before the limit: every visible child.
            let siblings: Box<dyn BoxableExpression<_, _, SqlType = BigInt>> = if counts_visible {
                Box::new(diesel::dsl::count_star().over())
            } else {
                Box::new(0_i64.into_sql::<BigInt>())
            };
            query
                .select((
                    tenants::id,
                    tenants::parent_id,
                    tenants::name,
                    tenants::subdomain,
                    tenants::enabled,
                    tenant_subtree_totals::child_count,
                    siblings,
                    false.into_sql::<Bool>(),
                ))
                .order((lower(tenants::name).asc(), tenants::id.asc()))
                .limit(limit + 1)
        };
        let parents = tenants::table
            .inner_join(tenant_subtree_totals::table)
            .filter(tenants::id.eq_any(vec![parent, open_id]))
            .select((
                tenants::id,
                tenants::parent_id,
                tenants::name,
                tenants::subdomain,
                tenants::enabled,
                tenant_subtree_totals::child_count,
                0_i64.into_sql::<BigInt>(),
                true.into_sql::<Bool>(),
            ))
            .into_boxed();
        let rows: Vec<TreeNode> = parents
            .union_all(children(parent))
            .union_all(children(open_id))
            .load(conn)
            .await?;
        let level = |of: i64| {
            let all = rows
                .iter()
                .find(|r| r.is_parent && r.id == of)
                .map_or(0, |r| r.children);
            let nodes: Vec<TreeNode> = rows
                .iter()
                .filter(|r| !r.is_parent && r.parent_id == Some(of))
                .cloned()
                .collect();
            let seen = match <[TreeNode]>::first(&nodes) {
                Some(n) if counts_visible => n.visible_siblings,
                _ if counts_visible => 0,
                _ => all,
            };
            TreeLevel {
                truncated: nodes.len() as i64 > limit,
                nodes: nodes.into_iter().take(limit as usize).collect(),
                hidden: all - seen,
            }
        };
        Ok((level(parent), open.map(level)))
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

    /// How many tenants below `of` lie outside `visibility` — its children or its
    /// whole subtree: a count, never which (none to count when the user sees
    /// everything there).
    pub async fn hidden_below(
        conn: &mut AsyncPgConnection,
        of: &Tenant,
        depth: Depth,
        visibility: &Visibility,
    ) -> QueryResult<i64> {
        let Some(visible) = visible_filter(visibility) else {
            return Ok(0);
        };
        match depth {
            // At most the parent's children: counted.
            Depth::Children => {
                tenants::table
                    .filter(diesel::dsl::not(visible))
                    .filter(tenants::parent_id.eq(of.id))
                    .count()
                    .get_result(conn)
                    .await
            }
            Depth::Subtree => Self::hidden_in_subtree(conn, of, visibility).await,
        }
    }

    /// The tenants below `of` less the visible ones (`HiddenBelow`). Only where no
    /// visible subtree holds `of` (else nothing is hidden and `Visibility::below` says so).
    async fn hidden_in_subtree(
        conn: &mut AsyncPgConnection,
        of: &Tenant,
        visibility: &Visibility,
    ) -> QueryResult<i64> {
        diesel::select(HiddenBelow::new(of.id, visibility))
            .get_result(conn)
            .await
    }

    /// Search as you type for a move's destination: visible tenants that may have
    /// sub-tenants (outside the subtree of `moving`, when one tenant moves).
    pub async fn search_destinations(
        conn: &mut AsyncPgConnection,
        visibility: &Visibility,
        q: &str,
        moving: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<Tenant>> {
        let mut query = Self::matching(visibility, q).filter(tenants::can_have_subtenants.eq(true));
        if let Some(moving) = moving {
            query = query.filter(diesel::dsl::not(tenant_paths::path.contains(vec![moving])));
        }
        Self::search_in(conn, query, limit).await
    }

    /// Visible tenants whose subdomain or name is `text` (whole, in any case): what a
    /// typed destination names.
    pub async fn named_exactly(
        conn: &mut AsyncPgConnection,
        visibility: &Visibility,
        text: &str,
        limit: i64,
    ) -> QueryResult<Vec<Tenant>> {
        let text = text.trim().to_lowercase();
        let query = visible(
            with_path()
                .filter(
                    lower(tenants::subdomain)
                        .eq(text.clone())
                        .or(lower(tenants::name).eq(text)),
                )
                .into_boxed(),
            visibility,
        );
        Self::search_in(conn, query, limit).await
    }

    /// Visible tenants strictly below `of` (matching `q` by name or subdomain when
    /// given), nearest first then by name, at most `limit`: whom a cloud of `of` may
    /// be assigned to (the cloud form's picker).
    pub async fn visible_below(
        conn: &mut AsyncPgConnection,
        visibility: &Visibility,
        of: i64,
        q: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<Tenant>> {
        let query = match q {
            Some(q) => Self::matching(visibility, q),
            None => visible(with_path().into_boxed(), visibility),
        }
        .filter(tenant_paths::path.contains(vec![of]))
        .filter(tenants::id.ne(of));
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

/// How many tenants below a tenant lie outside a visibility, as an expression (a
/// scalar subquery, so that the Tenants list's statement can carry it as a column:
/// `Tenant::list_counting_hidden`). All from the subtree totals: a visible subtree
/// counts its `tenant_count` once (unless inside another visible one), a single
/// visible tenant one (unless inside a visible subtree). Its cost is the user's
/// grants, not the subtree's size: counting the hidden tenants one by one read a
/// whole reseller's subtree (100,000 tenants at the 1,000,000 scale). Exact, as the
/// totals are; 0 where the user sees everything.
#[derive(Clone, Debug)]
pub(crate) struct HiddenBelow(Option<(i64, Vec<i64>, Vec<i64>)>);

impl HiddenBelow {
    pub(crate) fn new(of: i64, visibility: &Visibility) -> Self {
        HiddenBelow(match visibility {
            Visibility::All => None,
            Visibility::Within {
                subtree_roots,
                tenants,
            } => Some((of, subtree_roots.clone(), tenants.clone())),
        })
    }

    /// Counts nothing (the list where no count is asked for).
    pub(crate) fn none() -> Self {
        HiddenBelow(None)
    }

    /// Whether there is anything to count (else it is the constant 0).
    pub(crate) fn counts(&self) -> bool {
        self.0.is_some()
    }
}

impl diesel::query_builder::QueryId for HiddenBelow {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Expression for HiddenBelow {
    type SqlType = BigInt;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for HiddenBelow {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::Array;
        let Some((of, roots, singles)) = &self.0 else {
            out.push_sql("0::int8");
            return Ok(());
        };
        out.push_sql("((SELECT s.tenant_count FROM tenant_subtree_totals s WHERE s.tenant_id = ");
        out.push_bind_param::<BigInt, _>(of)?;
        out.push_sql(
            ") - 1 - coalesce((SELECT sum(s.tenant_count) FROM tenant_paths p \
             JOIN tenant_subtree_totals s ON s.tenant_id = p.tenant_id WHERE p.tenant_id = ANY(",
        );
        out.push_bind_param::<Array<BigInt>, _>(roots)?;
        out.push_sql(") AND p.tenant_id <> ");
        out.push_bind_param::<BigInt, _>(of)?;
        out.push_sql(" AND p.path @> ARRAY[");
        out.push_bind_param::<BigInt, _>(of)?;
        out.push_sql("]::int8[] AND NOT (p.path[1:cardinality(p.path) - 1] && ");
        out.push_bind_param::<Array<BigInt>, _>(roots)?;
        out.push_sql(")), 0) - (SELECT count(*) FROM tenant_paths p WHERE p.tenant_id = ANY(");
        out.push_bind_param::<Array<BigInt>, _>(singles)?;
        out.push_sql(") AND p.tenant_id <> ");
        out.push_bind_param::<BigInt, _>(of)?;
        out.push_sql(" AND p.path @> ARRAY[");
        out.push_bind_param::<BigInt, _>(of)?;
        out.push_sql("]::int8[] AND NOT (p.path && ");
        out.push_bind_param::<Array<BigInt>, _>(roots)?;
        out.push_sql(")))::int8");
        Ok(())
    }
}

impl<QS> diesel::expression::AppearsOnTable<QS> for HiddenBelow {}
impl<QS> SelectableExpression<QS> for HiddenBelow {}
impl<GB> diesel::expression::ValidGrouping<GB> for HiddenBelow {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}
