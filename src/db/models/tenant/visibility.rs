//! Which tenants a user may see, as filters the database applies with its indexes.

use super::{Tenant, WithPath};
use crate::db::schema::{tenant_paths, tenants};
use diesel::pg::Pg;
use diesel::prelude::*;

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

pub(crate) type BoxedTenants<'a> = diesel::dsl::IntoBoxed<'a, WithPath, Pg>;

diesel::alias!(tenant_paths as subtree_paths: SubtreePaths);

/// `SELECT tenant_id FROM tenant_paths WHERE …`, through an alias so that it also
/// works where `tenant_paths` is joined.
pub(crate) type PathIdsWhere<F> = diesel::dsl::Select<
    diesel::dsl::Filter<diesel::query_source::Alias<SubtreePaths>, F>,
    diesel::query_source::AliasedField<SubtreePaths, tenant_paths::tenant_id>,
>;
pub(crate) type AliasedPath = diesel::query_source::AliasedField<SubtreePaths, tenant_paths::path>;
pub(crate) type InSubtrees = diesel::dsl::OverlapsWith<AliasedPath, Vec<i64>>;

/// "The tenant is in the subtree of one of `roots`" (the roots included), as a
/// semi-join on the path index: it filters `tenants` alone (so counting stays on
/// `tenants`) or joined with paths.
pub(crate) fn in_subtrees(
    roots: Vec<i64>,
) -> diesel::dsl::EqAny<tenants::id, PathIdsWhere<InSubtrees>> {
    tenants::id.eq_any(
        subtree_paths
            .filter(subtree_paths.field(tenant_paths::path).overlaps_with(roots))
            .select(subtree_paths.field(tenant_paths::tenant_id)),
    )
}

pub(crate) type VisibleFilter = diesel::dsl::EqAny<
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
pub(crate) fn visible_filter(visibility: &Visibility) -> Option<VisibleFilter> {
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

pub(crate) fn visible<'a>(query: BoxedTenants<'a>, visibility: &Visibility) -> BoxedTenants<'a> {
    match visible_filter(visibility) {
        Some(filter) => query.filter(filter),
        None => query,
    }
}
