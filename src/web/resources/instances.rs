//! `/tenants/{id}/instances`: the list (filters status, cloud, owner and a name
//! search; pages of 50), the new-instance form, the edit form (`/{rid}`) and the
//! delete with its confirmation. Limits are the service's: a refusal is a field
//! error naming the limit and its use.

use super::{value_choices, Choice};
use crate::auth::CurrentUser;
use crate::db::models::instance::{Instance, InstanceFilter, InstanceRow};
use crate::db::models::Tenant;
use crate::domain::resources::{parse_size, InstanceStatus};
use crate::domain::sorting::InstanceSort;
use crate::domain::{Feature, Level, TenantName};
use crate::error::{AppError, FieldErrors};
use crate::services::draft::Draft;
use crate::services::instances::{
    self as service, InstanceFieldsSent, InstanceInput, CHOOSE_CLOUD, UNAVAILABLE_CLOUD,
    UNKNOWN_CLOUD, UNKNOWN_OWNER,
};
use crate::web::confirm::{Confirm, Question};
use crate::web::extract::{path_tenant, Query};
use crate::web::form::{any_field_error, bad_param, field_id, general_error, paged, SearchBox};
use crate::web::owned::{
    can_change, confirmed, id_choices, page_or_fragment, readable, saved, status, tenant_page,
    Resources,
};
use crate::web::page::PageCtx;
use crate::web::routes::{form_routes, Route};
use crate::web::sort::{list_href, PageOrder, SortedList};
use crate::web::{parse_id, AppState};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

pub fn routes() -> Vec<Route> {
    form_routes!("/tenants/{id}/instances", "{rid}")
}

const PER_PAGE: i64 = 50;

/// The list's query string (others are ignored, as on every console list).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ListParams {
    pub status: String,
    pub cloud: String,
    pub owner: String,
    pub q: String,
    pub sort: String,
    pub dir: String,
    pub page: String,
}

impl ListParams {
    /// The filter, or the 400 naming the parameter that cannot be read.
    fn filter(&self, search: &SearchBox) -> Result<InstanceFilter, AppError> {
        let status = match self.status.trim() {
            "" => None,
            s => Some(
                s.parse::<InstanceStatus>()
                    .map_err(|_| bad_param("status", "must be one of “running”, “stopped”"))?,
            ),
        };
        let id = |name: &str, raw: &str| -> Result<Option<i64>, AppError> {
            match raw.trim() {
                "" => Ok(None),
                raw => field_id(raw)
                    .map(Some)
                    .ok_or_else(|| bad_param(name, "must be a whole number")),
            }
        };
        Ok(InstanceFilter {
            status,
            cloud_id: id("cloud", &self.cloud)?,
            owner_id: id("owner", &self.owner)?,
            q: search.query().map(str::to_string),
        })
    }
}

#[derive(Template)]
#[template(path = "resources/instances.html", blocks = ["content"])]
struct IndexPage {
    page: PageCtx,
    tenant: Tenant,
    rows: Vec<InstanceRow>,
    total: i64,
    page_no: i64,
    pages: i64,
    params: ListParams,
    search: SearchBox,
    statuses: Vec<Choice>,
    clouds: Vec<Choice>,
    owners: Vec<Choice>,
    can_change: bool,
    errors: FieldErrors,
    order: PageOrder<InstanceSort>,
}

impl SortedList for IndexPage {
    type Key = InstanceSort;

    fn order(&self) -> &PageOrder<InstanceSort> {
        &self.order
    }

    fn href(&self, more: &[(&str, &str)]) -> String {
        let p = &self.params;
        let mut pairs = vec![
            ("status", p.status.as_str()),
            ("cloud", p.cloud.as_str()),
            ("owner", p.owner.as_str()),
            ("q", self.search.shown.as_str()),
        ];
        pairs.extend_from_slice(more);
        list_href(&format!("/tenants/{}/instances", self.tenant.id), &pairs)
    }
}

fn status_choices(chosen: &str, none: Option<&str>) -> Vec<Choice> {
    value_choices(
        InstanceStatus::ALL.iter().map(|s| (s.as_str(), s.as_str())),
        chosen,
        none,
    )
}

/// The clouds the tenant sees (and the instance's `current` one, when it no longer
/// sees it) and its users, `(id, name)` each: the selects.
async fn names(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    current: Option<i64>,
) -> Result<(Vec<(i64, String)>, Vec<(i64, String)>), AppError> {
    let clouds = service::cloud_choices(conn, tenant, current)
        .await?
        .into_iter()
        .map(|c| {
            let label = match (c.name, c.shared_by) {
                (Some(name), None) => name,
                (Some(name), Some(owner)) => format!("{name} (shared by {owner})"),
                (None, _) => format!("Current cloud ({UNAVAILABLE_CLOUD})"),
            };
            (c.id, label)
        })
        .collect();
    let owners = Instance::owner_choices(conn, tenant.id).await?;
    Ok((clouds, owners))
}

async fn index(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let search = SearchBox::read(&params.q);
    let filter = params.filter(&search)?;
    let order = PageOrder::read(&params.sort, &params.dir, InstanceSort::Created);
    let mut conn = state.pool.get().await?;
    let tenant = readable::<Resources>(&user, &mut conn, &path).await?;
    let shown = paged(&params.page, PER_PAGE, async |n| {
        if search.error.is_some() {
            return Ok((0, Vec::new()));
        }
        let total = Instance::count(&mut conn, tenant.id, &filter).await?;
        let offset = (n - 1) * PER_PAGE;
        let rows =
            service::list(&mut conn, &tenant, &filter, order.order, offset, PER_PAGE).await?;
        Ok((total, rows))
    })
    .await?;
    let (rows, total, page_no) = (shown.rows, shown.total, shown.page_no);
    let (clouds, owners) = names(&mut conn, &tenant, None).await?;
    let status = search.status();
    let page = IndexPage {
        page: PageCtx::new(&user, &mut conn, "").await?,
        rows,
        total,
        page_no,
        pages: shown.pages,
        statuses: status_choices(&params.status, Some("any status")),
        clouds: id_choices(&clouds, &params.cloud, "any cloud"),
        owners: id_choices(&owners, &params.owner, "any owner"),
        can_change: can_change::<Resources>(&user, &tenant),
        errors: FieldErrors::new(),
        order,
        params,
        search,
        tenant,
    };
    page_or_fragment!(&req, page, status)
}

/// The instance form as sent.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct InstanceForm {
    pub name: String,
    pub cloud_id: String,
    pub owner_id: String,
    pub storage_gb: String,
    pub memory_gb: String,
    pub status: String,
}

impl InstanceForm {
    fn of(i: &Instance) -> Self {
        InstanceForm {
            name: i.name.clone(),
            cloud_id: i.cloud_id.map(|c| c.to_string()).unwrap_or_default(),
            owner_id: i.owner_id.map(|o| o.to_string()).unwrap_or_default(),
            storage_gb: i.storage_gb.to_string(),
            memory_gb: i.memory_gb.to_string(),
            status: i.status.to_string(),
        }
    }

    /// The input, with every field's error and a stand-in for each field that
    /// could not be read, so that the service reports its own errors with them.
    fn to_input(&self) -> Draft<InstanceInput> {
        let cloud_id = field_id(&self.cloud_id).ok_or_else(|| {
            match self.cloud_id.trim() {
                // "(choose)" left as it was.
                "" => CHOOSE_CLOUD,
                _ => UNKNOWN_CLOUD,
            }
            .to_string()
        });
        let owner_id = match self.owner_id.trim() {
            "" => Ok(None),
            raw => field_id(raw)
                .map(Some)
                .ok_or_else(|| UNKNOWN_OWNER.to_string()),
        };
        let status = match self.status.trim() {
            "" => Ok(InstanceStatus::Running),
            s => s
                .parse::<InstanceStatus>()
                .map_err(|_| "Pick running or stopped.".to_string()),
        };
        InstanceInput::draft(InstanceFieldsSent {
            name: TenantName::parse(&self.name),
            cloud_id,
            owner_id,
            storage_gb: parse_size(&self.storage_gb),
            memory_gb: parse_size(&self.memory_gb),
            status,
        })
    }
}

#[derive(Template)]
#[template(path = "resources/instance_form.html", blocks = ["content"])]
struct FormPage {
    page: PageCtx,
    tenant: Tenant,
    /// The instance edited (`None`: a new one).
    instance_id: Option<i64>,
    form: InstanceForm,
    errors: FieldErrors,
    clouds: Vec<Choice>,
    owners: Vec<Choice>,
    statuses: Vec<Choice>,
    can_change: bool,
}

impl FormPage {
    /// Some field has an error (not only the form's general one).
    fn field_error(&self) -> bool {
        any_field_error(&self.errors)
    }

    fn form_action(&self) -> String {
        match self.instance_id {
            Some(id) => format!("/tenants/{}/instances/{id}", self.tenant.id),
            None => format!("/tenants/{}/instances/new", self.tenant.id),
        }
    }
}

async fn form_page(
    req: &HttpRequest,
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    instance_id: Option<i64>,
    form: InstanceForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let status = status(&errors);
    // An edited instance keeps its cloud on offer, even one no longer available.
    let current = match instance_id {
        Some(id) => Instance::find(conn, tenant.id, id).await?.cloud_id,
        None => None,
    };
    let (clouds, owners) = names(conn, &tenant, current).await?;
    let page = FormPage {
        page: PageCtx::new(user, conn, "").await?,
        clouds: id_choices(&clouds, &form.cloud_id, "(choose)"),
        owners: id_choices(&owners, &form.owner_id, "(no owner)"),
        statuses: status_choices(
            if form.status.is_empty() {
                "running"
            } else {
                &form.status
            },
            None,
        ),
        can_change: can_change::<Resources>(user, &tenant),
        tenant,
        instance_id,
        form,
        errors,
    };
    page_or_fragment!(req, page, status)
}

/// The list's page under the tenant.
const LIST: &str = "instances";

fn list(tenant: &Tenant) -> String {
    tenant_page(tenant, LIST)
}

async fn new_form(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = path_tenant(&user, &mut conn, &path, Feature::Resources, Level::Full).await?;
    let form = InstanceForm {
        storage_gb: "0".into(),
        memory_gb: "0".into(),
        ..InstanceForm::default()
    };
    form_page(
        &req,
        &user,
        &mut conn,
        tenant,
        None,
        form,
        FieldErrors::new(),
    )
    .await
}

async fn create(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<InstanceForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = form.to_input();
    saved::<Resources, _>(
        &req,
        &user,
        &state,
        &path,
        LIST,
        async |conn, c| {
            service::create(conn, c.p, c.actor, c.tenant, input)
                .await
                .map_err(general_error)
        },
        |i: &Instance| format!("Created instance {}.", i.name),
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
    let instance = Instance::find(&mut conn, tenant.id, parse_id(&path.1)?).await?;
    let form = InstanceForm::of(&instance);
    form_page(
        &req,
        &user,
        &mut conn,
        tenant,
        Some(instance.id),
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
    form: web::Form<InstanceForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = form.to_input();
    saved::<Resources, _>(
        &req,
        &user,
        &state,
        &path.0,
        LIST,
        async |conn, c| {
            let id = parse_id(&path.1)?;
            service::update(conn, c.p, c.actor, c.tenant, id, input)
                .await
                .map_err(general_error)
        },
        |i: &Instance| format!("Saved instance {}.", i.name),
        async |conn, tenant, errors| {
            let id = parse_id(&path.1)?;
            form_page(&req, &user, conn, tenant, Some(id), form, errors).await
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
            let instance = Instance::find(conn, tenant.id, id).await?;
            let back = format!("{}/{id}", list(tenant));
            Ok(Question {
                title: format!("Delete the instance {}?", instance.name),
                detail: format!(
                    "Its {} GB of storage and {} GB of memory are freed.",
                    instance.storage_gb, instance.memory_gb
                ),
                button: "Delete instance".into(),
                action: format!("{back}/delete"),
                cancel: back,
                ..Question::default()
            })
        },
        async |conn, c, id| service::delete(conn, c.p, c.actor, c.tenant, id).await,
        |i: &Instance| format!("Deleted instance {}.", i.name),
    )
    .await
}
