//! The Tenants pages: list, tree, detail, create, edit, enable/disable, move, delete.

use crate::auth::{authz, CurrentUser};
use crate::db::models::role::TenantRole;
use crate::db::models::tenant::{ListQuery, SortKey, COUNT_CAP};
use crate::db::models::{Tenant, TenantListRow};
use crate::domain::domain_name::{
    challenge_name, challenge_value, parse_custom_domain, DomainStatus,
};
use crate::domain::{Feature, Level};
use crate::error::{AppError, FieldErrors};
use crate::services::tenants::{self as service, TenantInput};
use crate::web::actor;
use crate::web::page::{flash, render, render_status, see_other, wants_fragment, Crumb, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::switch::{self, SwitchResult};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/tenants" => index),
        route!(POST "/tenants" => create),
        route!(GET "/tenants/tree" => tree),
        route!(GET "/tenants/new" => new_form),
        route!(POST "/tenants/new" => create),
        route!(GET "/tenants/{id}" => show),
        route!(POST "/tenants/{id}" => update),
        route!(GET "/tenants/{id}/children" => children),
        route!(GET "/tenants/{id}/edit" => edit_form),
        route!(POST "/tenants/{id}/edit" => update),
        route!(POST "/tenants/{id}/enable" => enable),
        route!(POST "/tenants/{id}/disable" => disable),
        route!(GET "/tenants/{id}/delete" => delete_form),
        route!(POST "/tenants/{id}/delete" => delete),
        route!(GET "/tenants/{id}/move" => move_form),
        route!(POST "/tenants/{id}/move" => move_tenant),
        route!(POST "/tenants/{id}/custom-domain/check" => check_domain),
        route!(POST "/tenants/{id}/custom-domain/approve" => approve_domain),
    ]
}

/// Ids in paths are numbers; anything else is a tenant that does not exist.
fn tenant_id(raw: &str) -> Result<i64, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}

// ---------------------------------------------------------------- list

pub const PER_PAGE_DEFAULT: i64 = 50;
pub const PER_PAGE_MAX: i64 = 200;

#[derive(serde::Deserialize, Default, Debug)]
#[serde(default)]
pub struct ListParams {
    q: String,
    sort: String,
    dir: String,
    page: String,
    per_page: String,
}

pub struct Column {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
    pub numeric: bool,
}

/// The list and everything its links need.
pub struct TenantList {
    pub rows: Vec<TenantListRow>,
    pub total: i64,
    /// More than `total` match; the exact number was not counted.
    pub capped: bool,
    pub page: i64,
    pub pages: i64,
    pub per_page: i64,
    pub q: String,
    pub sort: &'static str,
    pub dir: &'static str,
    pub within_name: String,
}

impl TenantList {
    fn href(&self, sort: &str, dir: &str, page: i64) -> String {
        let query = serde_urlencoded::to_string([
            ("q", self.q.as_str()),
            ("sort", sort),
            ("dir", dir),
            ("page", &page.to_string()),
            ("per_page", &self.per_page.to_string()),
        ])
        .unwrap_or_default();
        format!("/tenants?{query}")
    }

    pub fn page_href(&self, page: i64) -> String {
        self.href(self.sort, self.dir, page)
    }

    pub fn columns(&self) -> Vec<Column> {
        [
            ("Name", "name", false),
            ("Role", "role", false),
            ("Total Instances", "instances", true),
            ("Total Users", "users", true),
            ("Created", "created", false),
        ]
        .into_iter()
        .map(|(label, key, numeric)| {
            let current = self.sort == key;
            let dir = if current && self.dir == "asc" {
                "desc"
            } else {
                "asc"
            };
            Column {
                label,
                href: self.href(key, dir, 1),
                current,
                numeric,
            }
        })
        .collect()
    }
}

/// Parses list parameters leniently: anything odd falls back to the default.
pub fn list_query(
    params: &ListParams,
    within: Tenant,
    visibility: crate::db::models::Visibility,
) -> ListQuery {
    let per_page = match params.per_page.trim().parse::<i64>() {
        Ok(n) if n >= 1 => n.min(PER_PAGE_MAX),
        _ => PER_PAGE_DEFAULT,
    };
    ListQuery {
        within,
        visibility,
        name_filter: Some(
            params
                .q
                .trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(100)
                .collect::<String>(),
        )
        .filter(|q| !q.is_empty()),
        sort: SortKey::parse(Some(params.sort.as_str())),
        descending: params.dir == "desc",
        page: params.page.parse().unwrap_or(1).clamp(1, 1_000_000),
        per_page,
    }
}

/// Runs the list query; shared by the Tenants page and the benchmark's bare page.
pub async fn load_list(
    conn: &mut AsyncPgConnection,
    query: ListQuery,
) -> Result<TenantList, AppError> {
    let (rows, total) = Tenant::list(conn, &query).await?;
    let capped = total > COUNT_CAP;
    // Past the cap the last page is unknown; "Next" stays while full pages come back.
    let pages = if capped {
        query.page + i64::from(rows.len() as i64 == query.per_page)
    } else {
        ((total + query.per_page - 1) / query.per_page).max(1)
    };
    Ok(TenantList {
        rows,
        total: total.min(COUNT_CAP),
        capped,
        page: query.page,
        pages,
        per_page: query.per_page,
        q: query.name_filter.clone().unwrap_or_default(),
        sort: query.sort.as_str(),
        dir: if query.descending { "desc" } else { "asc" },
        within_name: query.within.name,
    })
}

#[derive(Template)]
#[template(path = "tenants/index.html")]
struct IndexPage {
    page: PageCtx,
    list: TenantList,
    can_create: bool,
}

#[derive(Template)]
#[template(path = "tenants/_table.html")]
pub struct TableFragment {
    pub list: TenantList,
}

async fn index(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    authz::require(&user, &user.acting, Feature::Tenants, Level::Read)?;
    let mut conn = state.pool.get().await?;
    let list = load_list(
        &mut conn,
        list_query(&params, user.acting.clone(), authz::visibility(&user)),
    )
    .await?;
    if wants_fragment(&req) {
        return render(&TableFragment { list });
    }
    let can_create =
        user.acting.can_have_subtenants && authz::can_manage_children(&user, &user.acting);
    render(&IndexPage {
        page: PageCtx::new(&user, &mut conn, "tenants").await?,
        list,
        can_create,
    })
}

// ---------------------------------------------------------------- tree

pub struct Node {
    pub id: i64,
    pub name: String,
    pub subdomain: String,
    pub enabled: bool,
    pub has_children: bool,
}

const TREE_LIMIT: i64 = 200;

async fn nodes(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    parent: &Tenant,
) -> Result<(Vec<Node>, bool), AppError> {
    let kids = Tenant::children(conn, parent.id, &authz::visibility(user), TREE_LIMIT + 1).await?;
    let truncated = kids.len() as i64 > TREE_LIMIT;
    let ids: Vec<i64> = kids.iter().map(|t| t.id).collect();
    let with_children = Tenant::with_children(conn, &ids).await?;
    Ok((
        kids.into_iter()
            .take(TREE_LIMIT as usize)
            .map(|t| Node {
                has_children: with_children.contains(&t.id),
                id: t.id,
                name: t.name,
                subdomain: t.subdomain,
                enabled: t.enabled,
            })
            .collect(),
        truncated,
    ))
}

#[derive(Template)]
#[template(path = "tenants/tree.html")]
struct TreePage {
    page: PageCtx,
    parent: Tenant,
    up_id: Option<i64>,
    nodes: Vec<Node>,
    truncated: bool,
}

#[derive(Template)]
#[template(path = "tenants/_children.html")]
struct ChildrenFragment {
    nodes: Vec<Node>,
    truncated: bool,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct TreeParams {
    parent: String,
}

async fn tree(
    user: CurrentUser,
    state: web::Data<AppState>,
    params: web::Query<TreeParams>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let parent = match params.parent.trim() {
        "" => user.acting.clone(),
        raw => authz::visible_tenant(&user, tenant_id(raw)?, &mut conn).await?,
    };
    authz::require(&user, &parent, Feature::Tenants, Level::Read)?;
    let (nodes, truncated) = nodes(&user, &mut conn, &parent).await?;
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
        nodes,
        truncated,
    })
}

async fn children(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let parent = authz::visible_tenant(&user, tenant_id(&path)?, &mut conn).await?;
    authz::require(&user, &parent, Feature::Tenants, Level::Read)?;
    if !wants_fragment(&req) {
        return Ok(see_other(
            &req,
            &format!("/tenants/tree?parent={}", parent.id),
        ));
    }
    let (nodes, truncated) = nodes(&user, &mut conn, &parent).await?;
    render(&ChildrenFragment { nodes, truncated })
}

// ---------------------------------------------------------------- detail

#[derive(Template)]
#[template(path = "tenants/show.html")]
struct ShowPage {
    page: PageCtx,
    tenant: Tenant,
    path: Vec<Crumb>,
    role_name: String,
    nodes: Vec<Node>,
    truncated: bool,
    can_edit: bool,
    can_delete: bool,
    can_move: bool,
    can_create_child: bool,
    can_switch: bool,
    /// The custom domain and its proof, while one is set.
    domain: Option<DomainView>,
    /// Why the last custom-domain check or approval failed.
    domain_error: Option<String>,
}

/// A custom domain as the tenant page and the edit form show it.
pub struct DomainView {
    pub name: String,
    pub status: DomainStatus,
    /// The TXT record that proves it: name and value.
    pub txt_name: String,
    pub txt_value: String,
    pub verified_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why the console's rules no longer allow this domain (set before they existed).
    pub problem: Option<String>,
    /// "Check now": whoever may edit the tenant.
    pub can_check: bool,
    /// "Approve": Owners of the root.
    pub can_approve: bool,
}

impl DomainView {
    fn of(tenant: &Tenant, hosts: &crate::domain::domain_name::ConsoleHosts) -> Option<Self> {
        let name = tenant.custom_domain.clone()?;
        Some(DomainView {
            status: tenant
                .domain_claim
                .status()
                .unwrap_or(DomainStatus::Pending),
            txt_name: challenge_name(&name),
            txt_value: challenge_value(tenant.domain_claim.token.as_deref().unwrap_or_default()),
            verified_at: tenant.domain_claim.verified_at,
            problem: parse_custom_domain(&name, hosts).err(),
            can_check: false,
            can_approve: false,
            name,
        })
    }

    pub fn is_pending(&self) -> bool {
        self.status == DomainStatus::Pending
    }

    pub fn is_approved(&self) -> bool {
        self.status == DomainStatus::Approved
    }

    pub fn status_name(&self) -> &'static str {
        self.status.as_str()
    }
}

async fn parent_of(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
) -> Result<Option<Tenant>, AppError> {
    match tenant.parent_id {
        Some(id) => Ok(Some(Tenant::find(conn, id).await?)),
        None => Ok(None),
    }
}

async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = authz::visible_tenant(&user, tenant_id(&path)?, &mut conn).await?;
    authz::require(&user, &tenant, Feature::Tenants, Level::Read)?;
    show_page(&user, &state, &mut conn, tenant, None, StatusCode::OK).await
}

/// The tenant page; `domain_error` says why a custom-domain check or approval failed.
async fn show_page(
    user: &CurrentUser,
    state: &AppState,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    domain_error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let parent = parent_of(conn, &tenant).await?;
    let start = authz::visible_path_start(user, &tenant.path);
    let crumbs = tenant
        .path_tenants(conn)
        .await?
        .into_iter()
        .skip(start)
        .map(|(id, name)| Crumb { id, name })
        .collect();
    let (nodes, truncated) = nodes(user, conn, &tenant).await?;
    let can_edit = authz::can_edit(user, &tenant, parent.as_ref());
    let domain = DomainView::of(&tenant, &state.settings.console_hosts()).map(|d| DomainView {
        can_check: can_edit && d.problem.is_none(),
        can_approve: authz::can_approve_custom_domain(user) && d.problem.is_none(),
        ..d
    });
    let page = ShowPage {
        page: PageCtx::new(user, conn, "tenants").await?,
        role_name: user.cap_name(&tenant),
        path: crumbs,
        nodes,
        truncated,
        can_edit,
        domain,
        can_delete: authz::can_delete(user, &tenant, parent.as_ref()),
        can_move: authz::can_move(user, &tenant, parent.as_ref()),
        can_create_child: tenant.can_have_subtenants && authz::can_manage_children(user, &tenant),
        can_switch: tenant.enabled && tenant.id != user.acting.id,
        domain_error,
        tenant,
    };
    render_status(&page, status)
}

// ---------------------------------------------------------------- create / edit

pub struct ParentOption {
    pub id: i64,
    pub label: String,
}

#[derive(Template)]
#[template(path = "tenants/form.html")]
struct FormPage {
    page: PageCtx,
    form: TenantInput,
    errors: FieldErrors,
    parents: Vec<ParentOption>,
    /// Offered only to root administrators; empty hides the field.
    tenant_roles: Vec<TenantRole>,
    editing: Option<i64>,
    action: String,
    cancel_href: String,
    show_enabled: bool,
    /// The saved custom domain of the tenant being edited, with its proof.
    domain: Option<DomainView>,
}

impl FormPage {
    /// The create form (`editing` None) or the edit form of `editing`.
    async fn build(
        user: &CurrentUser,
        conn: &mut AsyncPgConnection,
        form: TenantInput,
        errors: FieldErrors,
        editing: Option<&Tenant>,
        parents: Vec<ParentOption>,
        hosts: &crate::domain::domain_name::ConsoleHosts,
    ) -> Result<Self, AppError> {
        // The root is never capped: its form offers no tenant role.
        let root = editing.is_some_and(Tenant::is_root);
        let tenant_roles = if authz::can_manage_tenant_roles(user) && !root {
            TenantRole::all(conn).await?
        } else {
            Vec::new()
        };
        Ok(FormPage {
            page: PageCtx::new(user, conn, "tenants").await?,
            form,
            errors,
            parents,
            tenant_roles,
            editing: editing.map(|t| t.id),
            action: editing.map_or("/tenants".into(), |t| format!("/tenants/{}/edit", t.id)),
            cancel_href: editing.map_or("/tenants".into(), |t| format!("/tenants/{}", t.id)),
            show_enabled: editing.is_some_and(|t| !t.is_root()),
            domain: editing.and_then(|t| DomainView::of(t, hosts)),
        })
    }
}

const PARENT_CHOICES: i64 = 300;

/// Parents the user may create under, below the acting tenant (plus the preselected one).
async fn parent_options(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    selected: Option<&Tenant>,
) -> Result<Vec<ParentOption>, AppError> {
    let mut candidates =
        Tenant::possible_parents(conn, &user.acting, &authz::visibility(user), PARENT_CHOICES)
            .await?;
    if let Some(sel) = selected {
        if !candidates.iter().any(|t| t.id == sel.id) {
            candidates.insert(0, sel.clone());
        }
    }
    let ids: Vec<i64> = candidates
        .iter()
        .flat_map(|t| t.path.iter().copied())
        .collect();
    let names = Tenant::names(conn, ids).await?;
    Ok(candidates
        .into_iter()
        .filter(|t| t.can_have_subtenants && authz::can_manage_children(user, t))
        .map(|t| {
            let start = authz::visible_path_start(user, &t.path);
            let label = t.path[start..]
                .iter()
                .filter_map(|id| names.get(id).cloned())
                .collect::<Vec<_>>()
                .join(" / ");
            ParentOption { id: t.id, label }
        })
        .collect())
}

/// The tenant role chosen in the form: only root administrators may choose one.
/// The tenant role (cap) chosen in the form, if it changes: for a new tenant any
/// tenant role (root administrators only); for `editing`, what
/// `authz::tenant_role_assignment` allows. An unchanged choice passes as it is.
async fn chosen_tenant_role(
    user: &CurrentUser,
    raw: &str,
    editing: Option<&Tenant>,
    errors: &mut FieldErrors,
) -> Result<Option<i64>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let Ok(id) = raw.parse::<i64>() else {
        if !authz::can_manage_tenant_roles(user) {
            return Err(AppError::Forbidden);
        }
        errors.insert("tenant_role_id", authz::UNKNOWN_TENANT_ROLE.into());
        return Ok(None);
    };
    let decision = match editing {
        Some(t) if t.tenant_role_id == id => return Ok(None),
        Some(t) => authz::tenant_role_assignment(user, t, id)?,
        None if !authz::can_manage_tenant_roles(user) => return Err(AppError::Forbidden),
        None if user.caps.contains_key(&id) => Ok(()),
        None => Err(authz::UNKNOWN_TENANT_ROLE.to_string()),
    };
    match decision {
        Ok(()) => Ok(Some(id)),
        Err(message) => {
            errors.insert("tenant_role_id", message);
            Ok(None)
        }
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct NewParams {
    parent_id: String,
}

async fn new_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    params: web::Query<NewParams>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let parent = match params.parent_id.trim() {
        "" => user.acting.clone(),
        raw => authz::visible_tenant(&user, tenant_id(raw)?, &mut conn).await?,
    };
    let parents = parent_options(&user, &mut conn, Some(&parent)).await?;
    if parents.is_empty() {
        return Err(AppError::Forbidden);
    }
    let form = TenantInput {
        parent_id: parent.id.to_string(),
        tenant_role_id: parent.tenant_role_id.to_string(),
        enabled: Some("true".into()),
        ..Default::default()
    };
    let hosts = state.settings.console_hosts();
    render(
        &FormPage::build(
            &user,
            &mut conn,
            form,
            FieldErrors::new(),
            None,
            parents,
            &hosts,
        )
        .await?,
    )
}

async fn create(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    form: web::Form<TenantInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let mut conn = state.pool.get().await?;
    // An unknown or invisible parent is the same field error.
    let parent = match input.parent_id.trim().parse::<i64>() {
        Ok(id) => authz::visible_tenant(&user, id, &mut conn).await.ok(),
        Err(_) => None,
    };
    let mut errors = FieldErrors::new();
    let fields = input
        .validate(true, &state.settings.console_hosts())
        .map_err(|e| errors = e)
        .ok();
    match &parent {
        None => {
            errors.insert("parent_id", "Choose a parent tenant from the list.".into());
        }
        Some(p) if !authz::can_manage_children(&user, p) => return Err(AppError::Forbidden),
        Some(p) if !p.can_have_subtenants => {
            errors.insert("parent_id", format!("{} may not have sub-tenants.", p.name));
        }
        Some(_) => {}
    }
    let role = chosen_tenant_role(&user, &input.tenant_role_id, None, &mut errors).await?;
    let result = match (fields, parent.as_ref()) {
        (Some(mut fields), Some(parent)) if errors.is_empty() => {
            fields.tenant_role_id = role;
            {
                let principal = &user.principal;
                let authorize = |t: &Tenant| authz::require_manage_children(principal, t);
                service::create(&mut conn, &actor(&user, &req), parent, fields, &authorize).await
            }
        }
        _ => Err(AppError::Validation(errors)),
    };
    match result {
        Ok(tenant) => {
            flash(&user.session.0, format!("Created {}.", tenant.name));
            Ok(see_other(&req, &format!("/tenants/{}", tenant.id)))
        }
        Err(AppError::Validation(errors)) => {
            let parents = parent_options(&user, &mut conn, parent.as_ref()).await?;
            let hosts = state.settings.console_hosts();
            let page =
                FormPage::build(&user, &mut conn, input, errors, None, parents, &hosts).await?;
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e),
    }
}

/// Loads a tenant the user may edit: 404 if invisible, 403 if visible but not editable.
async fn editable(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    raw_id: &str,
) -> Result<(Tenant, Option<Tenant>), AppError> {
    let tenant = authz::visible_tenant(user, tenant_id(raw_id)?, conn).await?;
    let parent = parent_of(conn, &tenant).await?;
    authz::require_edit(user, &tenant, parent.as_ref())?;
    Ok((tenant, parent))
}

async fn edit_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, _) = editable(&user, &mut conn, &path).await?;
    let form = TenantInput::from_tenant(&tenant);
    render(
        &FormPage::build(
            &user,
            &mut conn,
            form,
            FieldErrors::new(),
            Some(&tenant),
            Vec::new(),
            &state.settings.console_hosts(),
        )
        .await?,
    )
}

async fn update(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<TenantInput>,
) -> Result<HttpResponse, AppError> {
    let input = form.into_inner();
    let mut conn = state.pool.get().await?;
    let (tenant, _) = editable(&user, &mut conn, &path).await?;
    let mut errors = FieldErrors::new();
    let role = chosen_tenant_role(&user, &input.tenant_role_id, Some(&tenant), &mut errors).await?;
    // An unchecked checkbox sends nothing: in this form, absent means off.
    let result = match input.validate(false, &state.settings.console_hosts()) {
        Ok(mut fields) if errors.is_empty() => {
            fields.tenant_role_id = role;
            service::update(
                &mut conn,
                &actor(&user, &req),
                tenant.id,
                fields,
                authz::is_global_owner(&user),
            )
            .await
        }
        Ok(_) => Err(AppError::Validation(errors)),
        Err(mut more) => {
            more.append(&mut errors);
            Err(AppError::Validation(more))
        }
    };
    match result {
        Ok(t) => {
            flash(&user.session.0, format!("Saved {}.", t.name));
            Ok(see_other(&req, &format!("/tenants/{}", t.id)))
        }
        Err(AppError::Validation(errors)) => {
            let hosts = state.settings.console_hosts();
            let page = FormPage::build(
                &user,
                &mut conn,
                input,
                errors,
                Some(&tenant),
                Vec::new(),
                &hosts,
            )
            .await?;
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e),
    }
}

async fn set_enabled(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    raw_id: &str,
    enabled: bool,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, _) = editable(&user, &mut conn, raw_id).await?;
    let t = service::set_enabled(&mut conn, &actor(&user, &req), tenant.id, enabled).await?;
    flash(
        &user.session.0,
        format!(
            "{} is now {}.",
            t.name,
            if enabled { "enabled" } else { "disabled" }
        ),
    );
    Ok(see_other(&req, &format!("/tenants/{}", t.id)))
}

async fn enable(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    set_enabled(req, user, state, &path, true).await
}

async fn disable(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    set_enabled(req, user, state, &path, false).await
}

// ---------------------------------------------------------------- custom domain

/// After a custom-domain check or approval: success goes back to the tenant page
/// with a message; a failure shows the page again with what went wrong — the TXT
/// record to add (422), a domain changed meanwhile (409), a DNS resolver that failed
/// or did not answer (503).
async fn domain_answer(
    req: &HttpRequest,
    user: &CurrentUser,
    state: &AppState,
    id: i64,
    result: Result<service::DomainChange, AppError>,
) -> Result<HttpResponse, AppError> {
    let (message, status) = match result {
        Ok(change) => {
            let t = change.tenant();
            let domain = t.custom_domain.clone().unwrap_or_default();
            let status = t.domain_claim.status.clone().unwrap_or_default();
            flash(
                &user.session.0,
                match change {
                    service::DomainChange::Serving(_) => {
                        format!("{domain} is {status} now: its login page shows {}.", t.name)
                    }
                    service::DomainChange::AlreadyServing(_) => {
                        format!("{domain} is {status} already.")
                    }
                },
            );
            return Ok(see_other(req, &format!("/tenants/{id}")));
        }
        Err(AppError::Validation(errors)) => (
            errors.into_values().collect::<Vec<_>>().join(" "),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(AppError::Conflict(message)) => (message, StatusCode::CONFLICT),
        Err(AppError::Problem { kind, detail }) => (detail, kind.status()),
        Err(e) => return Err(e),
    };
    let mut conn = state.pool.get().await?;
    let tenant = authz::visible_tenant(user, id, &mut conn).await?;
    show_page(user, state, &mut conn, tenant, Some(message), status).await
}

/// "Check now": looks up the pending domain's TXT record (whoever may edit the tenant).
async fn check_domain(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let tenant = {
        let mut conn = state.pool.get().await?;
        editable(&user, &mut conn, &path).await?.0
    };
    // The lookup runs without a database connection held (see the service).
    let result = service::verify_custom_domain(
        &state.pool,
        &crate::dns::TxtResolver::from_settings(&state.settings),
        &state.settings.console_hosts(),
        &actor(&user, &req),
        &tenant,
    )
    .await;
    domain_answer(&req, &user, &state, tenant.id, result).await
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ApproveForm {
    /// The domain the approver was shown.
    custom_domain: String,
}

/// "Approve": a root Owner lets the pending domain serve without its DNS proof.
async fn approve_domain(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<ApproveForm>,
) -> Result<HttpResponse, AppError> {
    let result = {
        let mut conn = state.pool.get().await?;
        let tenant = authz::visible_tenant(&user, tenant_id(&path)?, &mut conn).await?;
        if !authz::can_approve_custom_domain(&user) {
            return Err(AppError::Forbidden);
        }
        service::approve_custom_domain(
            &mut conn,
            &state.settings.console_hosts(),
            &actor(&user, &req),
            tenant.id,
            &form.custom_domain,
        )
        .await
    };
    domain_answer(&req, &user, &state, tenant_id(&path)?, result).await
}

// ---------------------------------------------------------------- delete

#[derive(Template)]
#[template(path = "tenants/delete.html")]
struct DeletePage {
    page: PageCtx,
    tenant: Tenant,
    preview: service::DeletePreview,
    errors: FieldErrors,
    confirm: String,
}

impl DeletePage {
    async fn build(
        user: &CurrentUser,
        conn: &mut AsyncPgConnection,
        tenant: Tenant,
        errors: FieldErrors,
        confirm: String,
    ) -> Result<Self, AppError> {
        Ok(DeletePage {
            preview: service::delete_preview(conn, &tenant).await?,
            page: PageCtx::new(user, conn, "tenants").await?,
            tenant,
            errors,
            confirm,
        })
    }
}

/// Loads a tenant the user may delete (and move): 404 if invisible, 403 unless an
/// Owner over its parent that manages sub-tenants; never the root.
async fn deletable(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    raw_id: &str,
) -> Result<(Tenant, Tenant), AppError> {
    let tenant = authz::visible_tenant(user, tenant_id(raw_id)?, conn).await?;
    let parent = parent_of(conn, &tenant).await?;
    match parent {
        Some(parent) if authz::can_delete(user, &tenant, Some(&parent)) => Ok((tenant, parent)),
        _ => Err(AppError::Forbidden),
    }
}

async fn delete_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, _) = deletable(&user, &mut conn, &path).await?;
    render(&DeletePage::build(&user, &mut conn, tenant, FieldErrors::new(), String::new()).await?)
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct DeleteForm {
    /// Force delete: the whole subtree, whatever it holds.
    force: Option<String>,
    /// The tenant's subdomain, typed to confirm a force delete.
    confirm: String,
}

async fn delete(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut conn = state.pool.get().await?;
    let (tenant, _) = deletable(&user, &mut conn, &path).await?;
    let force = matches!(form.force.as_deref(), Some("true" | "on" | "1" | "yes"));
    if force && form.confirm.trim() != tenant.subdomain {
        let mut errors = FieldErrors::new();
        errors.insert(
            "confirm",
            format!(
                "Type the subdomain {} exactly to confirm.",
                tenant.subdomain
            ),
        );
        let page = DeletePage::build(&user, &mut conn, tenant, errors, form.confirm).await?;
        return render_status(&page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let principal = &user.principal;
    let authorize = |t: &Tenant, parent: &Tenant| {
        if authz::can_delete(principal, t, Some(parent)) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    };
    match service::delete(&mut conn, &actor(&user, &req), tenant.id, force, &authorize).await {
        Ok(deleted) => {
            let below = deleted.saturating_sub(1);
            flash(
                &user.session.0,
                if below > 0 {
                    format!(
                        "Deleted {} and {below} sub-tenant{} below it.",
                        tenant.name,
                        if below == 1 { "" } else { "s" }
                    )
                } else {
                    format!("Deleted {}.", tenant.name)
                },
            );
            let back = tenant
                .parent_id
                .map_or("/tenants".to_string(), |p| format!("/tenants/{p}"));
            Ok(see_other(&req, &back))
        }
        // Something appeared in the subtree since the page was shown: show it again.
        Err(AppError::DeleteBlocked(_)) => {
            let page =
                DeletePage::build(&user, &mut conn, tenant, FieldErrors::new(), String::new())
                    .await?;
            render_status(&page, StatusCode::CONFLICT)
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- move

#[derive(Template)]
#[template(path = "tenants/move.html")]
struct MovePage {
    page: PageCtx,
    tenant: Tenant,
    parent_name: String,
    q: String,
    results: Vec<SwitchResult>,
    destination: Option<Tenant>,
    destination_path: String,
    preview: Option<service::MovePreview>,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "tenants/_move_results.html")]
struct MoveResults {
    tenant: Tenant,
    q: String,
    results: Vec<SwitchResult>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct MoveParams {
    /// Search text for the destination picker.
    q: String,
    /// The destination to preview.
    parent_id: String,
}

/// Destinations matching `q` that the user may move `tenant` under (the switcher's
/// search, narrowed to tenants that may have sub-tenants, the user manages, and that
/// are not the tenant, below it or its current parent).
async fn destinations(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    q: &str,
) -> Result<Vec<SwitchResult>, AppError> {
    let q = switch::clean_query(q);
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let found = Tenant::search_destinations(
        conn,
        &authz::visibility(user),
        &q,
        tenant.id,
        switch::RESULTS,
    )
    .await?;
    let allowed = found
        .into_iter()
        .filter(|t| Some(t.id) != tenant.parent_id && authz::can_manage_children(user, t))
        .collect();
    switch::labelled(user, conn, allowed).await
}

/// The destination named by `raw`: a field error when missing or invisible (the same
/// answer), 403 when visible but not managed by the user.
async fn destination(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    raw: &str,
    errors: &mut FieldErrors,
) -> Result<Option<Tenant>, AppError> {
    let found = match raw.trim().parse::<i64>() {
        Ok(id) => authz::visible_tenant(user, id, conn).await.ok(),
        Err(_) => None,
    };
    let Some(d) = found else {
        errors.insert("parent_id", "Choose the new parent from the list.".into());
        return Ok(None);
    };
    if let Some(message) = service::destination_error(tenant, &d) {
        errors.insert("parent_id", message);
        return Ok(None);
    }
    if !authz::can_manage_children(user, &d) {
        return Err(AppError::Forbidden);
    }
    Ok(Some(d))
}

#[expect(clippy::too_many_arguments)]
async fn move_page(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    parent: &Tenant,
    q: String,
    destination: Option<Tenant>,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let results = destinations(user, conn, &tenant, &q).await?;
    let (preview, destination_path) = match &destination {
        Some(d) => {
            let labels = switch::labelled(user, conn, vec![d.clone()]).await?;
            (
                Some(service::move_preview(conn, &tenant, parent, d).await?),
                labels
                    .into_iter()
                    .next()
                    .map(|r| r.path)
                    .unwrap_or_default(),
            )
        }
        None => (None, String::new()),
    };
    let page = MovePage {
        page: PageCtx::new(user, conn, "tenants").await?,
        parent_name: parent.name.clone(),
        tenant,
        q,
        results,
        destination,
        destination_path,
        preview,
        errors,
    };
    render_status(&page, status)
}

async fn move_form(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: web::Query<MoveParams>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let mut conn = state.pool.get().await?;
    let (tenant, parent) = deletable(&user, &mut conn, &path).await?;
    if wants_fragment(&req) && params.parent_id.trim().is_empty() {
        let results = destinations(&user, &mut conn, &tenant, &params.q).await?;
        return render(&MoveResults {
            tenant,
            q: params.q,
            results,
        });
    }
    let mut errors = FieldErrors::new();
    let destination = if params.parent_id.trim().is_empty() {
        None
    } else {
        destination(&user, &mut conn, &tenant, &params.parent_id, &mut errors).await?
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    move_page(
        &user,
        &mut conn,
        tenant,
        &parent,
        params.q,
        destination,
        errors,
        status,
    )
    .await
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct MoveForm {
    parent_id: String,
}

async fn move_tenant(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (tenant, parent) = deletable(&user, &mut conn, &path).await?;
    let mut errors = FieldErrors::new();
    let Some(dest) = destination(&user, &mut conn, &tenant, &form.parent_id, &mut errors).await?
    else {
        return move_page(
            &user,
            &mut conn,
            tenant,
            &parent,
            String::new(),
            None,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let principal = &user.principal;
    let authorize = |t: &Tenant, from: &Tenant, to: &Tenant| {
        if authz::can_move_to(principal, t, Some(from), to) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    };
    match service::move_tenant(
        &mut conn,
        &actor(&user, &req),
        tenant.id,
        dest.id,
        &authorize,
    )
    .await
    {
        Ok(moved) => {
            flash(
                &user.session.0,
                format!("Moved {} under {}.", moved.name, dest.name),
            );
            Ok(see_other(&req, &format!("/tenants/{}", moved.id)))
        }
        Err(AppError::Validation(errors)) => {
            move_page(
                &user,
                &mut conn,
                tenant,
                &parent,
                String::new(),
                None,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}
