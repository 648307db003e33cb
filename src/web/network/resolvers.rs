//! `/tenants/{id}/resolvers`: the list (search by name), the new-resolver form,
//! the resolver's form (`/{rid}`) and its delete with a confirmation that names
//! what still uses it.

use super::{ListParams, PER_PAGE};
use crate::auth::CurrentUser;
use crate::db::models::network::{NetworkFilter, Resolver};
use crate::db::models::Tenant;
use crate::domain::sorting::ResolverSort;
use crate::error::{AppError, FieldErrors};
use crate::services::draft::Draft;
use crate::services::network::{self as service, ResolverInput};
use crate::web::confirm::{Confirm, Question};
use crate::web::extract::Query;
use crate::web::form::{paged, SearchBox};
use crate::web::owned::{
    can_change, confirmed, page_or_fragment, readable, saved, status, tenant_page, Resources,
};
use crate::web::page::PageCtx;
use crate::web::routes::{form_routes, Route};
use crate::web::sort::{PageOrder, SortedList};
use crate::web::{parse_id, AppState};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;
use std::collections::HashMap;

pub fn routes() -> Vec<Route> {
    form_routes!("/tenants/{id}/resolvers", "{rid}")
}

/// The list's page under the tenant.
const LIST: &str = "resolvers";

fn list(tenant: &Tenant) -> String {
    tenant_page(tenant, LIST)
}

#[derive(Template)]
#[template(path = "network/resolvers.html", blocks = ["content"])]
struct IndexPage {
    page: PageCtx,
    tenant: Tenant,
    rows: Vec<Resolver>,
    total: i64,
    page_no: i64,
    pages: i64,
    params: ListParams,
    search: SearchBox,
    can_change: bool,
    order: PageOrder<ResolverSort>,
    /// The names of the policies the rows use (the Policy column).
    policy_names: Option<HashMap<i64, String>>,
}

super::sorted_list!(ResolverSort);

impl IndexPage {
    fn policy_name(&self, id: &i64) -> &str {
        self.policy_names
            .as_ref()
            .and_then(|names| names.get(id))
            .map_or("", String::as_str)
    }
}

async fn index(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let (search, _) = params.read()?;
    let order = params.order(ResolverSort::Name);
    let mut conn = state.pool.get().await?;
    let tenant = readable::<Resources>(&user, &mut conn, &path).await?;
    let filter = NetworkFilter {
        q: search.query().map(str::to_string),
        ..NetworkFilter::default()
    };
    let shown = paged(&params.page, PER_PAGE, async |n| {
        if search.error.is_some() {
            return Ok((0, Vec::new()));
        }
        Ok(Resolver::list(&mut conn, tenant.id, &filter, order.order, n, PER_PAGE).await?)
    })
    .await?;
    let (total, rows) = (shown.total, shown.rows);
    let policy_names =
        super::policy_names(&mut conn, &user, &tenant, rows.iter().map(|r| r.policy_id)).await?;
    let status = search.status();
    let page = IndexPage {
        policy_names,
        page: PageCtx::new(&user, &mut conn, "resources").await?,
        total,
        page_no: shown.page_no,
        pages: shown.pages,
        rows,
        can_change: can_change::<Resources>(&user, &tenant),
        order,
        params,
        search,
        tenant,
    };
    page_or_fragment!(&req, page, status)
}

/// The resolver form as sent.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ResolverForm {
    pub name: String,
    pub address: String,
    /// Not sent by a form without the picker (`super::policy_pick`).
    pub policy_id: Option<String>,
}

impl ResolverForm {
    fn of(r: &Resolver) -> Self {
        ResolverForm {
            name: r.name.clone(),
            address: r.address.addr().to_string(),
            policy_id: Some(r.policy_id.map(|p| p.to_string()).unwrap_or_default()),
        }
    }

    /// The service's input.
    fn to_input(&self) -> Draft<ResolverInput> {
        ResolverInput::parse(
            &self.name,
            &self.address,
            super::policy_pick(self.policy_id.as_deref()),
        )
    }
}

#[derive(Template)]
#[template(path = "network/resolver_form.html", blocks = ["content"])]
struct FormPage {
    page: PageCtx,
    tenant: Tenant,
    /// The resolver shown (`None`: a new one).
    resolver: Option<Resolver>,
    form: ResolverForm,
    errors: FieldErrors,
    policy: super::PolicyPicker,
    can_change: bool,
}

impl FormPage {
    fn form_action(&self) -> String {
        match &self.resolver {
            Some(r) => format!("{}/{}", list(&self.tenant), r.id),
            None => format!("{}/new", list(&self.tenant)),
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "the form page's parts, and whether it is a new form (the default policy)"
)]
async fn form_page(
    req: &HttpRequest,
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    resolver: Option<Resolver>,
    form: ResolverForm,
    errors: FieldErrors,
    fresh: bool,
) -> Result<HttpResponse, AppError> {
    let status = status(&errors);
    let chosen = (!fresh).then_some(form.policy_id.as_deref().unwrap_or(""));
    let policy = super::policy_picker(conn, user, &tenant, chosen, resolver.is_some()).await?;
    let page = FormPage {
        page: PageCtx::new(user, conn, "resources").await?,
        policy,
        can_change: can_change::<Resources>(user, &tenant),
        tenant,
        resolver,
        form,
        errors,
    };
    page_or_fragment!(req, page, status)
}

async fn new_form(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = readable::<Resources>(&user, &mut conn, &path).await?;
    service::may_change(&user, &tenant)?;
    form_page(
        &req,
        &user,
        &mut conn,
        tenant,
        None,
        ResolverForm::default(),
        FieldErrors::new(),
        true,
    )
    .await
}

async fn create(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<ResolverForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = form.to_input();
    saved::<Resources, _>(
        &req,
        &user,
        &state,
        &path,
        LIST,
        async |conn, c| service::create_resolver(conn, c, input).await,
        |r: &Resolver| format!("Created resolver {}.", r.name),
        async |conn, tenant, errors| {
            form_page(&req, &user, conn, tenant, None, form, errors, false).await
        },
    )
    .await
}

async fn edit_form(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = readable::<Resources>(&user, &mut conn, &path.0).await?;
    let r = Resolver::find(&mut conn, tenant.id, parse_id(&path.1)?).await?;
    let form = ResolverForm::of(&r);
    form_page(
        &req,
        &user,
        &mut conn,
        tenant,
        Some(r),
        form,
        FieldErrors::new(),
        false,
    )
    .await
}

async fn update(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<ResolverForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = form.to_input();
    saved::<Resources, _>(
        &req,
        &user,
        &state,
        &path.0,
        LIST,
        async |conn, c| service::update_resolver(conn, c, parse_id(&path.1)?, input).await,
        |r: &Resolver| format!("Saved resolver {}.", r.name),
        async |conn, tenant, errors| {
            let r = Resolver::find(conn, tenant.id, parse_id(&path.1)?).await?;
            form_page(&req, &user, conn, tenant, Some(r), form, errors, false).await
        },
    )
    .await
}

async fn delete(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    confirmed::<Resources, _>(
        &req,
        &user,
        &state,
        &path,
        &confirm,
        LIST,
        async |conn, tenant, id| {
            let r = Resolver::find(conn, tenant.id, id).await?;
            let used = service::resolver_use(conn, tenant.id, id).await?;
            if used.devices + used.subnets > 0 {
                // Nothing to confirm: say why not, on the resolver's own page.
                return Err(AppError::Conflict(service::in_use_message(&r.name, &used)));
            }
            let back = format!("{}/{}", list(tenant), r.id);
            Ok(Question {
                title: format!("Delete the resolver {}?", r.name),
                detail: format!(
                    "No device or subnet uses it. The resolver {} ({}) is removed for good.",
                    r.name,
                    r.address.addr()
                ),
                button: "Delete resolver".into(),
                action: format!("{back}/delete"),
                cancel: back,
                ..Question::default()
            })
        },
        async |conn, c, id| service::delete_resolver(conn, c, id).await,
        |r: &Resolver| format!("Deleted resolver {}.", r.name),
    )
    .await
}
