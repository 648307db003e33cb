//! `/tenants/{id}/subnets`: the list (filter by an address or network the subnets
//! overlap, and by resolver), the new-subnet form, the subnet's form (`/{sid}`)
//! and its delete with a confirmation.

use super::{form_id, resolver_names, ListParams, PER_PAGE};
use crate::auth::CurrentUser;
use crate::db::models::network::{NetworkFilter, Subnet};
use crate::db::models::Tenant;
use crate::domain::sorting::SubnetSort;
use crate::error::{AppError, FieldErrors};
use crate::services::draft::Draft;
use crate::services::network::{self as service, SubnetInput};
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
use ipnet::IpNet;

pub fn routes() -> Vec<Route> {
    form_routes!("/tenants/{id}/subnets", "{sid}")
}

/// The list's page under the tenant.
const LIST: &str = "subnets";

fn list(tenant: &Tenant) -> String {
    tenant_page(tenant, LIST)
}

/// One subnet as the list shows it.
pub struct SubnetLine {
    pub subnet: Subnet,
    pub resolver: String,
}

#[derive(Template)]
#[template(path = "network/subnets.html", blocks = ["content"])]
struct IndexPage {
    page: PageCtx,
    tenant: Tenant,
    rows: Vec<SubnetLine>,
    total: i64,
    page_no: i64,
    pages: i64,
    params: ListParams,
    search: SearchBox,
    resolvers: Vec<Choice>,
    can_change: bool,
    order: PageOrder<SubnetSort>,
    errors: FieldErrors,
    /// The names of the policies the rows use (the Policy column).
    policy_names: Option<std::collections::HashMap<i64, String>>,
}

super::sorted_list!(SubnetSort);

impl IndexPage {
    fn policy_name(&self, id: &i64) -> &str {
        self.policy_names
            .as_ref()
            .and_then(|names| names.get(id))
            .map_or("", String::as_str)
    }
}

/// The search box read as an address or a network (host bits ignored): the
/// subnets overlapping it. Anything else is the box's error.
fn network_query(search: &mut SearchBox) -> Option<IpNet> {
    let text = search.query()?.to_string();
    if let Ok(addr) = text.parse::<std::net::IpAddr>() {
        return Some(IpNet::from(addr));
    }
    match text.parse::<IpNet>() {
        Ok(net) => Some(net.trunc()),
        Err(_) => {
            search.error =
                Some("Search by an address or a network, such as 10.0.0.7 or 10.0.0.0/16.".into());
            None
        }
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
    let (mut search, resolver_id) = params.read()?;
    let order = params.order(SubnetSort::Cidr);
    let overlapping = network_query(&mut search);
    let mut conn = state.pool.get().await?;
    let tenant = readable::<Resources>(&user, &mut conn, &path).await?;
    let filter = NetworkFilter {
        resolver_id,
        overlapping,
        ..NetworkFilter::default()
    };
    let shown = paged(&params.page, PER_PAGE, async |n| {
        if search.error.is_some() {
            return Ok((0, Vec::new()));
        }
        Ok(Subnet::list(&mut conn, tenant.id, &filter, order.order, n, PER_PAGE).await?)
    })
    .await?;
    let (total, rows) = (shown.total, shown.rows);
    let (all, names) = resolver_names(&mut conn, tenant.id).await?;
    let policy_names =
        super::policy_names(&mut conn, &user, &tenant, rows.iter().map(|s| s.policy_id)).await?;
    let status = search.status();
    let page = IndexPage {
        policy_names,
        page: PageCtx::new(&user, &mut conn, "resources").await?,
        total,
        page_no: shown.page_no,
        pages: shown.pages,
        rows: rows
            .into_iter()
            .map(|s| SubnetLine {
                resolver: names.get(&s.resolver_id).cloned().unwrap_or_default(),
                subnet: s,
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

/// The subnet form as sent.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct SubnetForm {
    pub cidr: String,
    pub resolver_id: String,
    /// Not sent by a form without the picker (`super::policy_pick`).
    pub policy_id: Option<String>,
}

impl SubnetForm {
    fn of(s: &Subnet) -> Self {
        SubnetForm {
            cidr: s.cidr.to_string(),
            resolver_id: s.resolver_id.to_string(),
            policy_id: Some(s.policy_id.map(|p| p.to_string()).unwrap_or_default()),
        }
    }

    /// The service's input.
    fn to_input(&self) -> Draft<SubnetInput> {
        SubnetInput::parse(
            &self.cidr,
            form_id(&self.resolver_id),
            super::policy_pick(self.policy_id.as_deref()),
        )
    }
}

#[derive(Template)]
#[template(path = "network/subnet_form.html", blocks = ["content"])]
struct FormPage {
    page: PageCtx,
    tenant: Tenant,
    /// The subnet shown (`None`: a new one).
    subnet: Option<Subnet>,
    form: SubnetForm,
    errors: FieldErrors,
    resolvers: Vec<Choice>,
    policy: super::PolicyPicker,
    no_resolvers: bool,
    can_change: bool,
}

impl FormPage {
    fn form_action(&self) -> String {
        match &self.subnet {
            Some(s) => format!("{}/{}", list(&self.tenant), s.id),
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
    subnet: Option<Subnet>,
    form: SubnetForm,
    errors: FieldErrors,
    fresh: bool,
) -> Result<HttpResponse, AppError> {
    let status = status(&errors);
    let (all, _) = resolver_names(conn, tenant.id).await?;
    let chosen = (!fresh).then_some(form.policy_id.as_deref().unwrap_or(""));
    let policy = super::policy_picker(conn, user, &tenant, chosen, subnet.is_some()).await?;
    let page = FormPage {
        policy,
        page: PageCtx::new(user, conn, "resources").await?,
        resolvers: id_choices(&all, &form.resolver_id, "(choose)"),
        no_resolvers: all.is_empty(),
        can_change: can_change::<Resources>(user, &tenant),
        tenant,
        subnet,
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
        SubnetForm::default(),
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
    form: web::Form<SubnetForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = form.to_input();
    saved::<Resources, _>(
        &req,
        &user,
        &state,
        &path,
        LIST,
        async |conn, c| service::create_subnet(conn, c, input).await,
        |s: &Subnet| format!("Created subnet {}.", s.cidr),
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
    let s = Subnet::find(&mut conn, tenant.id, parse_id(&path.1)?).await?;
    let form = SubnetForm::of(&s);
    form_page(
        &req,
        &user,
        &mut conn,
        tenant,
        Some(s),
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
    form: web::Form<SubnetForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = form.to_input();
    saved::<Resources, _>(
        &req,
        &user,
        &state,
        &path.0,
        LIST,
        async |conn, c| service::update_subnet(conn, c, parse_id(&path.1)?, input).await,
        |s: &Subnet| format!("Saved subnet {}.", s.cidr),
        async |conn, tenant, errors| {
            let s = Subnet::find(conn, tenant.id, parse_id(&path.1)?).await?;
            form_page(&req, &user, conn, tenant, Some(s), form, errors, false).await
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
            let s = Subnet::find(conn, tenant.id, id).await?;
            let back = format!("{}/{}", list(tenant), s.id);
            Ok(Question {
                title: format!("Delete the subnet {}?", s.cidr),
                detail: format!("The subnet {} is removed for good.", s.cidr),
                button: "Delete subnet".into(),
                action: format!("{back}/delete"),
                cancel: back,
                ..Question::default()
            })
        },
        async |conn, c, id| service::delete_subnet(conn, c, id).await,
        |s: &Subnet| format!("Deleted subnet {}.", s.cidr),
    )
    .await
}
