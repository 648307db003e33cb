//! The tenant tree: one level at a time, expanded in place with htmx.

use super::named_or_acting;
use crate::auth::{authz, CurrentUser};
use crate::db::models::Tenant;
use crate::domain::{Feature, Level};
use crate::error::AppError;
use crate::web::extract::with_path_tenant;
use crate::web::extract::Query;
use crate::web::form::query_id;
use crate::web::page::{render, see_other, wants_fragment, PageCtx};
use crate::web::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

pub struct Node {
    pub id: i64,
    pub name: String,
    pub subdomain: String,
    pub enabled: bool,
    pub has_children: bool,
    /// Its children, when the page shows it expanded (the tree's `open=`).
    pub open: Option<TreeLevel>,
}

/// The sub-tenants of one tenant as the tree shows them.
pub struct TreeLevel {
    pub parent_id: i64,
    pub nodes: Vec<Node>,
    /// More visible children than the tree lists.
    pub truncated: bool,
    /// How many children the user may not see: a count, never their names.
    pub hidden: i64,
}

const TREE_LIMIT: i64 = 200;

/// The tree below `parent`, and below `open` too when that is one of its visible
/// children (shown expanded): one statement. Below a subtree the user sees whole
/// nothing is hidden and no visibility test runs.
pub(super) async fn levels(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    parent: &Tenant,
    open: Option<i64>,
) -> Result<TreeLevel, AppError> {
    let visibility = authz::visibility(user).below(parent);
    let (top, below) = Tenant::tree_levels(conn, parent.id, open, &visibility, TREE_LIMIT).await?;
    let mut level = tree_level(parent.id, top);
    // Only a child listed here opens: never the children of a tenant named at will.
    if let (Some(open), Some(below)) = (open, below) {
        if let Some(node) = level.nodes.iter_mut().find(|n| n.id == open) {
            node.open = Some(tree_level(open, below));
        }
    }
    Ok(level)
}

fn tree_level(parent_id: i64, level: crate::db::models::tenant::TreeLevel) -> TreeLevel {
    TreeLevel {
        parent_id,
        nodes: level
            .nodes
            .into_iter()
            .map(|t| Node {
                has_children: t.children > 0,
                id: t.id,
                name: t.name,
                subdomain: t.subdomain,
                enabled: t.enabled,
                open: None,
            })
            .collect(),
        truncated: level.truncated,
        hidden: level.hidden,
    }
}

#[derive(Template)]
#[template(path = "tenants/tree.html")]
struct TreePage {
    page: PageCtx,
    parent: Tenant,
    up_id: Option<i64>,
    level: TreeLevel,
}

#[derive(Template)]
#[template(path = "tenants/_children.html")]
struct ChildrenFragment {
    level: TreeLevel,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct TreeParams {
    parent: String,
    /// A child of `parent` shown expanded (the tree without JavaScript).
    open: String,
}

pub(super) async fn tree(
    user: CurrentUser,
    state: web::Data<AppState>,
    params: Query<TreeParams>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let parent = named_or_acting(&user, &mut conn, "parent", &params.parent).await?;
    authz::require(&user, &parent, Feature::Tenants, Level::Read)?;
    let open = query_id("open", &params.open)?;
    let level = levels(&user, &mut conn, &parent, open).await?;
    // "Up" only while the parent's parent's tree opens too: visible (decided on its
    // path) and its Tenants readable (a home seen without a role would be 403).
    let up_path = &parent.path[..parent.path.len().saturating_sub(1)];
    let up_id = match parent
        .parent_id
        .filter(|_| authz::can_see_path(&user, up_path))
    {
        // A grant reaching it reads Tenants there (no statement: the benchmarked
        // tree keeps its budget); seen only as one's home, the home role decides.
        Some(id) if user.grants.iter().any(|g| g.covers(id, up_path)) => Some(id),
        Some(id) => {
            let up = authz::visible_tenant(&user, id, &mut conn).await?;
            authz::require(&user, &up, Feature::Tenants, Level::Read)
                .is_ok()
                .then_some(id)
        }
        None => None,
    };
    render(&TreePage {
        page: PageCtx::new(&user, &mut conn, "tree").await?,
        parent,
        up_id,
        level,
    })
}

pub(super) async fn children(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (mut conn, parent) = with_path_tenant(&user, &state, &path).await?;
    authz::require(&user, &parent, Feature::Tenants, Level::Read)?;
    if !wants_fragment(&req) {
        return Ok(see_other(
            &req,
            &format!("/tenants/tree?parent={}", parent.id),
        ));
    }
    let level = levels(&user, &mut conn, &parent, None).await?;
    render(&ChildrenFragment { level })
}
