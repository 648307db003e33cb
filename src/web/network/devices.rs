//! `/tenants/{id}/devices`: the list (search by name or identifier, filter by
//! resolver), the new-device form, the device's form (`/{did}`) and its delete
//! with a confirmation.

use super::{form_id, resolver_names, ListParams, PER_PAGE};
use crate::auth::CurrentUser;
use crate::db::models::network::{Device, NetworkFilter};
use crate::db::models::Tenant;
use crate::domain::sorting::DeviceSort;
use crate::error::{AppError, FieldErrors};
use crate::services::draft::Draft;
use crate::services::network::{self as service, DeviceInput};
use crate::web::confirm::{Confirm, Question};
use crate::web::extract::Query;
use crate::web::form::{paged, SearchBox};
use crate::web::owned::{
    can_change, confirmed, id_choices, page_or_fragment, readable, saved, status, tenant_page,
    Choice, Resources,
};
use crate::web::page::PageCtx;
use crate::web::routes::{form_routes, Route};
use crate::web::sort::{PageOrder, SortedList};
use crate::web::{parse_id, AppState};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

pub fn routes() -> Vec<Route> {
    form_routes!("/tenants/{id}/devices", "{did}")
}

/// The list's page under the tenant.
const LIST: &str = "devices";

fn list(tenant: &Tenant) -> String {
    tenant_page(tenant, LIST)
}

/// One device as the list shows it.
pub struct DeviceLine {
    pub device: Device,
    pub resolver: String,
}

#[derive(Template)]
#[template(path = "network/devices.html", blocks = ["content"])]
struct IndexPage {
    page: PageCtx,
    tenant: Tenant,
    rows: Vec<DeviceLine>,
    total: i64,
    page_no: i64,
    pages: i64,
    params: ListParams,
    search: SearchBox,
    resolvers: Vec<Choice>,
    can_change: bool,
    order: PageOrder<DeviceSort>,
    /// The filters' select shows no field error (a bad one is a 400).
    errors: FieldErrors,
}

super::sorted_list!(DeviceSort);

async fn index(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let (search, resolver_id) = params.read()?;
    let order = params.order(DeviceSort::Name);
    let mut conn = state.pool.get().await?;
    let tenant = readable::<Resources>(&user, &mut conn, &path).await?;
    let filter = NetworkFilter {
        q: search.query().map(str::to_string),
        resolver_id,
        ..NetworkFilter::default()
    };
    let shown = paged(&params.page, PER_PAGE, async |n| {
        if search.error.is_some() {
            return Ok((0, Vec::new()));
        }
        Ok(Device::list(&mut conn, tenant.id, &filter, order.order, n, PER_PAGE).await?)
    })
    .await?;
    let (total, rows) = (shown.total, shown.rows);
    let (all, names) = resolver_names(&mut conn, tenant.id).await?;
    let status = search.status();
    let page = IndexPage {
        page: PageCtx::new(&user, &mut conn, "resources").await?,
        total,
        page_no: shown.page_no,
        pages: shown.pages,
        rows: rows
            .into_iter()
            .map(|d| DeviceLine {
                resolver: names.get(&d.resolver_id).cloned().unwrap_or_default(),
                device: d,
            })
            .collect(),
        resolvers: id_choices(&all, &params.resolver, "any resolver"),
        can_change: can_change::<Resources>(&user, &tenant),
        errors: FieldErrors::new(),
        order,
        params,
        search,
        tenant,
    };
    page_or_fragment!(&req, page, status)
}

/// The device form as sent.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct DeviceForm {
    pub name: String,
    pub identifier: String,
    pub resolver_id: String,
}

impl DeviceForm {
    fn of(d: &Device) -> Self {
        DeviceForm {
            name: d.name.clone(),
            identifier: d.identifier.clone(),
            resolver_id: d.resolver_id.to_string(),
        }
    }

    fn to_input(&self) -> Draft<DeviceInput> {
        DeviceInput::parse(&self.name, &self.identifier, form_id(&self.resolver_id))
    }
}

#[derive(Template)]
#[template(path = "network/device_form.html", blocks = ["content"])]
struct FormPage {
    page: PageCtx,
    tenant: Tenant,
    /// The device shown (`None`: a new one).
    device: Option<Device>,
    form: DeviceForm,
    errors: FieldErrors,
    resolvers: Vec<Choice>,
    /// The tenant has no resolver yet: the form says to create one first.
    no_resolvers: bool,
    can_change: bool,
}

impl FormPage {
    fn form_action(&self) -> String {
        match &self.device {
            Some(d) => format!("{}/{}", list(&self.tenant), d.id),
            None => format!("{}/new", list(&self.tenant)),
        }
    }
}

async fn form_page(
    req: &HttpRequest,
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    device: Option<Device>,
    form: DeviceForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let status = status(&errors);
    let (all, _) = resolver_names(conn, tenant.id).await?;
    let page = FormPage {
        page: PageCtx::new(user, conn, "resources").await?,
        resolvers: id_choices(&all, &form.resolver_id, "(choose)"),
        no_resolvers: all.is_empty(),
        can_change: can_change::<Resources>(user, &tenant),
        tenant,
        device,
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
        DeviceForm::default(),
        FieldErrors::new(),
    )
    .await
}

async fn create(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<DeviceForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = form.to_input();
    saved::<Resources, _>(
        &req,
        &user,
        &state,
        &path,
        LIST,
        async |conn, c| service::create_device(conn, c, input).await,
        |d: &Device| format!("Created device {}.", d.name),
        async |conn, tenant, errors| form_page(&req, &user, conn, tenant, None, form, errors).await,
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
    let d = Device::find(&mut conn, tenant.id, parse_id(&path.1)?).await?;
    let form = DeviceForm::of(&d);
    form_page(
        &req,
        &user,
        &mut conn,
        tenant,
        Some(d),
        form,
        FieldErrors::new(),
    )
    .await
}

async fn update(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<DeviceForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = form.to_input();
    saved::<Resources, _>(
        &req,
        &user,
        &state,
        &path.0,
        LIST,
        async |conn, c| service::update_device(conn, c, parse_id(&path.1)?, input).await,
        |d: &Device| format!("Saved device {}.", d.name),
        async |conn, tenant, errors| {
            let d = Device::find(conn, tenant.id, parse_id(&path.1)?).await?;
            form_page(&req, &user, conn, tenant, Some(d), form, errors).await
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
            let d = Device::find(conn, tenant.id, id).await?;
            let back = format!("{}/{}", list(tenant), d.id);
            Ok(Question {
                title: format!("Delete the device {}?", d.name),
                detail: format!(
                    "The device {} ({}) is removed for good.",
                    d.name, d.identifier
                ),
                button: "Delete device".into(),
                action: format!("{back}/delete"),
                cancel: back,
                ..Question::default()
            })
        },
        async |conn, c, id| service::delete_device(conn, c, id).await,
        |d: &Device| format!("Deleted device {}.", d.name),
    )
    .await
}
