//! The tenant tree: one level at a time, expanded in place with htmx.

use super::{named_or_acting, path_tenant};
use crate::auth::{authz, CurrentUser};
use crate::db::models::{Tenant, Visibility};
use crate::domain::{Feature, Level};
use crate::error::AppError;
use crate::web::form::parse_id;
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

pub(super) async fn nodes(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    parent: &Tenant,
) -> Result<TreeLevel, AppError> {
    let visibility = authz::visibility(user);
    let kids = Tenant::children(conn, parent.id, &visibility, TREE_LIMIT + 1).await?;
    let truncated = kids.len() as i64 > TREE_LIMIT;
    // Below a subtree the user sees whole nothing is hidden: no count to run.
    let hidden = match visibility.below(parent) {
        Visibility::All => 0,
        _ => {
            let (all, seen) = Tenant::count_children(conn, parent.id, &visibility).await?;
            all - seen
        }
    };
    let ids: Vec<i64> = kids.iter().map(|t| t.id).collect();
    let with_children = Tenant::with_children(conn, &ids).await?;
    Ok(TreeLevel {
        parent_id: parent.id,
        nodes: kids
            .into_iter()
            .take(TREE_LIMIT as usize)
            .map(|t| Node {
                has_children: with_children.contains(&t.id),
                id: t.id,
                name: t.name,
                subdomain: t.subdomain,
                enabled: t.enabled,
                open: None,
            })
            .collect(),
        truncated,
        hidden,
    })
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
    params: web::Query<TreeParams>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let parent = named_or_acting(&user, &mut conn, &params.parent).await?;
    authz::require(&user, &parent, Feature::Tenants, Level::Read)?;
    let mut level = nodes(&user, &mut conn, &parent).await?;
    let open = parse_id(&params.open).ok();
    if let Some(node) = level.nodes.iter_mut().find(|n| Some(n.id) == open) {
        let child = authz::visible_tenant(&user, node.id, &mut conn).await?;
        node.open = Some(nodes(&user, &mut conn, &child).await?);
    }
    // "Up" only while the parent's parent is visible too.
    let up_id = match parent.parent_id {
        Some(pid) => authz::visible_tenant(&user, pid, &mut conn)
            .await
            .ok()
            .map(|t| t.id),
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
    let (mut conn, parent) = path_tenant(&user, &state, &path).await?;
    authz::require(&user, &parent, Feature::Tenants, Level::Read)?;
    if !wants_fragment(&req) {
        return Ok(see_other(
            &req,
            &format!("/tenants/tree?parent={}", parent.id),
        ));
    }
    let level = nodes(&user, &mut conn, &parent).await?;
    render(&ChildrenFragment { level })
}
