//! Plans at `/plans` (issue #16): root Owners and Administrators list them (with
//! how many tenants are on each and their queries this month), create, edit and
//! delete them; each plan's page lists its tenants with their quota use this month,
//! paged. Everyone else is answered 404 (`authz::can_manage_plans`, asked by
//! `services::plans`).

use crate::auth::CurrentUser;
use crate::db::models::plan::{Plan, PlanTenant, PlanTenantQuery};
use crate::domain::plan::{PlanInput, PlanLimits, PlanOption, PlanOptions};
use crate::domain::sorting::PlanTenantSort;
use crate::domain::{user_limit, TenantName};
use crate::error::{AppError, FieldErrors};
use crate::services::plans::{self as service, PlanSummary};
use crate::web::confirm::{ask, Confirm, Question};
use crate::web::extract::Query;
use crate::web::form::{bad_param, checkbox, field_errors, page_param};
use crate::web::page::{done, render, render_status, rerender, PageCtx};
use crate::web::routes::{form_routes, route, Route};
use crate::web::sort::{list_href, PageOrder, SortedList};
use crate::web::stats::QuotaUse;
use crate::web::AppState;
use crate::web::{actor, parse_id};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use std::collections::HashMap;

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    let mut all = form_routes!("/plans", "{id}");
    all.push(route!(GET "/plans/{id}/delete" => delete_form));
    all
}

/// Tenants per page on a plan's page.
const PER_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "plans/index.html", blocks = ["content"])]
struct IndexPage {
    page: PageCtx,
    plans: Vec<PlanSummary>,
}

/// One option's checkbox on the form.
pub struct OptionBox {
    pub field: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "plans/form.html", blocks = ["content"])]
struct FormPage {
    page: PageCtx,
    plan: Option<Plan>,
    form: HashMap<String, String>,
    options: Vec<OptionBox>,
    errors: FieldErrors,
    /// The plan's tenants (an existing plan's page), one page of them.
    tenants: Vec<PlanTenant>,
    total: i64,
    page_no: i64,
    pages: i64,
    /// Their order (by name or quota use), and whether only those near or over
    /// their quota are listed (`quota=near`).
    order: PageOrder<PlanTenantSort>,
    near_only: bool,
    /// Why the plan was not deleted (tenants are on it).
    delete_error: Option<String>,
}

impl FormPage {
    fn action(&self) -> String {
        self.plan
            .as_ref()
            .map_or_else(|| "/plans/new".into(), |p| format!("/plans/{}", p.id))
    }

    fn value(&self, field: &str) -> &str {
        self.form.get(field).map_or("", String::as_str)
    }

    /// A tenant's quota in effect: the lower of its own and the plan's, either
    /// where the other is unset (as the list sorts and filters by it).
    fn quota(&self, t: &PlanTenant) -> Option<i64> {
        let plan = self.plan.as_ref().and_then(|p| p.monthly_query_quota);
        match (t.own_quota, plan) {
            (Some(own), Some(plan)) => Some(own.min(plan)),
            (own, plan) => own.or(plan),
        }
    }

    fn quota_of(&self, t: &PlanTenant) -> String {
        self.quota(t)
            .map_or_else(|| "unlimited".into(), crate::domain::number::grouped)
    }

    /// Its queries this month against that quota, marked as the statistics mark it.
    fn quota_use(&self, t: &PlanTenant) -> QuotaUse {
        QuotaUse::new(t.queries, self.quota(t))
    }
}

fn text(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

/// A plan's fields as its form shows them.
fn form_of(plan: &Plan) -> HashMap<String, String> {
    let mut form: HashMap<String, String> = plan
        .limits()
        .each()
        .into_iter()
        .map(|(field, value, _)| (field.to_string(), text(value)))
        .collect();
    form.insert("name".into(), plan.name.clone());
    for option in PlanOption::ALL {
        if plan.options().includes(option) {
            form.insert(option.field().into(), "true".into());
        }
    }
    form
}

/// The posted form as a plan's input, or every field error at once.
pub fn parse_form(form: &HashMap<String, String>) -> Result<PlanInput, FieldErrors> {
    let mut errors = FieldErrors::new();
    let raw = |field: &str| form.get(field).map_or("", String::as_str);
    let name = TenantName::parse(raw("name"))
        .map_err(|e| errors.insert("name", e))
        .ok();
    // A whole number too large to read says the field's maximum, not "Enter a
    // whole number".
    for (field, most) in [
        ("monthly_query_quota", i64::MAX),
        ("max_users", user_limit::MAX),
        (
            "max_instances",
            crate::domain::resources::MAX_SIZE_GB * 1000,
        ),
        (
            "storage_limit_gb",
            crate::domain::resources::MAX_SIZE_GB * 1000,
        ),
        (
            "memory_limit_gb",
            crate::domain::resources::MAX_SIZE_GB * 1000,
        ),
    ] {
        if too_large(raw(field)) {
            errors.insert(field, format!("At most {most}."));
        }
    }
    let mut limits = PlanLimits::default();
    match crate::domain::usage::parse_quota(raw("monthly_query_quota")) {
        Ok(q) => limits.monthly_query_quota = q,
        Err(e) => {
            errors.entry("monthly_query_quota").or_insert(e);
        }
    }
    match user_limit::parse(raw("max_users")) {
        Ok(m) => limits.max_users = m,
        Err(e) => {
            errors.entry("max_users").or_insert(e);
        }
    }
    for (field, slot) in [
        ("max_instances", &mut limits.max_instances),
        ("storage_limit_gb", &mut limits.storage_limit_gb),
        ("memory_limit_gb", &mut limits.memory_limit_gb),
    ] {
        match crate::domain::resources::parse_limit(raw(field)) {
            Ok(v) => *slot = v,
            Err(e) => {
                errors.entry(field).or_insert(e);
            }
        }
    }
    let mut options = PlanOptions::default();
    for option in PlanOption::ALL {
        match checkbox(&form.get(option.field()).cloned()) {
            Ok(on) => options.set(option, on),
            Err(e) => {
                errors.insert(option.field(), e);
            }
        }
    }
    match name {
        Some(name) if errors.is_empty() => Ok(PlanInput {
            name,
            limits,
            options,
        }),
        _ => Err(errors),
    }
}

impl SortedList for FormPage {
    type Key = PlanTenantSort;

    fn order(&self) -> &PageOrder<PlanTenantSort> {
        &self.order
    }

    fn href(&self, more: &[(&str, &str)]) -> String {
        let mut pairs = vec![("quota", if self.near_only { "near" } else { "" })];
        pairs.extend_from_slice(more);
        list_href(&self.action(), &pairs)
    }
}

/// A plan page's query string: its tenants' page, order (`sort` by `name` or
/// `quota_use`, `dir`) and filter (`quota=near`: near or over their quota only).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PageParams {
    pub page: String,
    pub sort: String,
    pub dir: String,
    pub quota: String,
}

impl PageParams {
    /// Whether only tenants near or over their quota are asked for.
    fn near_only(&self) -> Result<bool, AppError> {
        match self.quota.trim() {
            "" => Ok(false),
            "near" => Ok(true),
            _ => Err(bad_param("quota", "must be “near” or left out")),
        }
    }
}

/// Whether `raw` is a whole number (digits, perhaps with separators) too large for
/// any limit to be read from it.
fn too_large(raw: &str) -> bool {
    let digits = raw.trim().replace(['_', ','], "");
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.parse::<i64>().is_err()
}

/// The list's query string: none (it is not paged), so any parameter is a 400
/// naming it, as everywhere.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoParams {}

/// The posted fields, each at most once: one given twice is refused (400 naming it),
/// as the API refuses a duplicate key, rather than the last one winning.
fn fields_once(pairs: Vec<(String, String)>) -> Result<HashMap<String, String>, AppError> {
    let mut form = HashMap::new();
    for (name, value) in pairs {
        if form.contains_key(&name) {
            return Err(AppError::BadRequest(format!(
                "The field “{name}” is given more than once: give it once."
            )));
        }
        form.insert(name, value);
    }
    Ok(form)
}

/// A save's flash with what it warns of: "Saved plan Basic. Note: Acme uses …".
pub fn noted(message: String, warnings: &[String]) -> String {
    if warnings.is_empty() {
        message
    } else {
        format!("{message} Note: {}", warnings.join(" "))
    }
}

async fn index(
    user: CurrentUser,
    state: web::Data<AppState>,
    _params: Query<NoParams>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let plans = service::list(&mut conn, &user, state.clock.now()).await?;
    render(&IndexPage {
        page: PageCtx::new(&user, &mut conn, "plans").await?,
        plans,
    })
}

async fn form_page(
    user: &CurrentUser,
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    plan: Option<Plan>,
    form: HashMap<String, String>,
    errors: FieldErrors,
    list: &PageParams,
) -> Result<FormPage, AppError> {
    let page_no = page_param(&list.page)?;
    let near_only = list.near_only()?;
    let order = PageOrder::read(&list.sort, &list.dir, PlanTenantSort::Name);
    let query = |page_no: i64| PlanTenantQuery {
        order: order.order,
        near_only,
        offset: (page_no - 1) * PER_PAGE,
        limit: PER_PAGE,
    };
    let now = state.clock.now();
    let (mut tenants, total) = match &plan {
        Some(p) => service::tenants(conn, user, p, now, &query(page_no)).await?,
        None => (Vec::new(), 0),
    };
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    // A page past the end (an old link, a filter that now matches less) shows the
    // last page, numbered as such, as the Tenants list does.
    let page_no = match &plan {
        Some(p) if page_no > pages => {
            tenants = service::tenants(conn, user, p, now, &query(pages)).await?.0;
            pages
        }
        _ => page_no,
    };
    let options = PlanOption::ALL
        .into_iter()
        .map(|o| OptionBox {
            field: o.field(),
            label: o.label(),
            checked: form.get(o.field()).is_some_and(|v| v == "true"),
        })
        .collect();
    Ok(FormPage {
        page: PageCtx::new(user, conn, "plans").await?,
        plan,
        form,
        options,
        errors,
        tenants,
        pages,
        total,
        page_no,
        order,
        near_only,
        delete_error: None,
    })
}

async fn new_form(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    crate::auth::authz::require_plans(&user)?;
    let mut conn = state.pool.get().await?;
    let page = form_page(
        &user,
        &state,
        &mut conn,
        None,
        HashMap::new(),
        FieldErrors::new(),
        &PageParams::default(),
    )
    .await?;
    render(&page)
}

async fn create(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    crate::auth::authz::require_plans(&user)?;
    let mut conn = state.pool.get().await?;
    let form = fields_once(form.into_inner())?;
    let result = service::create(
        &mut conn,
        &user,
        &actor(&user, &req),
        parse_form(&form),
        state.clock.now(),
    )
    .await;
    match field_errors(result)? {
        Ok(plan) => done(
            &req,
            &user,
            format!("Created plan {}.", plan.name),
            &format!("/plans/{}", plan.id),
        ),
        Err(errors) => rerender(
            &form_page(
                &user,
                &state,
                &mut conn,
                None,
                form,
                errors,
                &PageParams::default(),
            )
            .await?,
        ),
    }
}

async fn edit_form(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let plan = service::find(&mut conn, &user, parse_id(&path)?).await?;
    let form = form_of(&plan);
    let page = form_page(
        &user,
        &state,
        &mut conn,
        Some(plan),
        form,
        FieldErrors::new(),
        &params,
    )
    .await?;
    render(&page)
}

async fn update(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let plan = service::find(&mut conn, &user, parse_id(&path)?).await?;
    let form = fields_once(form.into_inner())?;
    let result = service::update(
        &mut conn,
        &user,
        &actor(&user, &req),
        plan.id,
        |_| parse_form(&form),
        state.clock.now(),
    )
    .await;
    match field_errors(result)? {
        Ok(saved) => done(
            &req,
            &user,
            noted(format!("Saved plan {}.", saved.value.name), &saved.warnings),
            &format!("/plans/{}", saved.value.id),
        ),
        Err(errors) => {
            let list = PageParams::default();
            rerender(&form_page(&user, &state, &mut conn, Some(plan), form, errors, &list).await?)
        }
    }
}

/// `GET /plans/{id}/delete`: what deleting the plan does, to confirm; the plan's
/// page with the reason when it cannot be deleted (tenants are on it).
async fn delete_form(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let plan = service::find(&mut conn, &user, parse_id(&path)?).await?;
    confirmation(&req, &user, &state, &mut conn, plan, StatusCode::OK).await
}

/// The delete's confirmation, or the plan's page with why it cannot be deleted
/// (with `refused` as its status).
async fn confirmation(
    req: &HttpRequest,
    user: &CurrentUser,
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    plan: Plan,
    refused: StatusCode,
) -> Result<HttpResponse, AppError> {
    if let Some(refusal) = service::delete_refusal(conn, user, &plan).await? {
        return refused_delete(user, state, conn, plan, refusal, refused).await;
    }
    let page = format!("/plans/{}", plan.id);
    let question = Question {
        title: format!("Delete plan {}?", plan.name),
        detail: format!(
            "The plan {} — its limits and options — is deleted for good. No tenant is on it.",
            plan.name
        ),
        button: "Delete plan".into(),
        action: format!("{page}/delete"),
        cancel: page,
        ..Question::default()
    };
    ask(req, user, conn, "plans", question).await
}

/// The plan's page with why it was not deleted.
async fn refused_delete(
    user: &CurrentUser,
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    plan: Plan,
    refusal: String,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let form = form_of(&plan);
    let list = PageParams::default();
    let page = form_page(
        user,
        state,
        conn,
        Some(plan),
        form,
        FieldErrors::new(),
        &list,
    )
    .await?;
    render_status(
        &FormPage {
            delete_error: Some(refusal),
            ..page
        },
        status,
    )
}

/// `POST /plans/{id}/delete`: unconfirmed, the confirmation (nothing changes);
/// confirmed (`confirm=yes`), the delete, or the plan's page saying why not (409).
async fn delete(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let plan = service::find(&mut conn, &user, parse_id(&path)?).await?;
    if !confirm.confirmed {
        return confirmation(&req, &user, &state, &mut conn, plan, StatusCode::CONFLICT).await;
    }
    match service::delete(&mut conn, &user, &actor(&user, &req), plan.id).await {
        Ok(deleted) => done(
            &req,
            &user,
            format!("Deleted plan {}.", deleted.name),
            "/plans",
        ),
        Err(AppError::Conflict(refusal)) => {
            refused_delete(
                &user,
                &state,
                &mut conn,
                plan,
                refusal,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_field_given_twice_is_refused() {
        let pairs = |p: &[(&str, &str)]| {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        assert!(fields_once(pairs(&[("name", "A"), ("max_users", "1")])).is_ok());
        let e = fields_once(pairs(&[("name", "A"), ("name", "B")])).unwrap_err();
        assert_eq!(
            e.public_message().1,
            "The field “name” is given more than once: give it once."
        );
    }

    #[test]
    fn empty_limits_are_unlimited_and_bad_ones_are_field_errors() {
        let input = parse_form(&form(&[
            ("name", " Basic "),
            ("storage_limit_gb", "500"),
            ("api_access", "true"),
        ]))
        .unwrap();
        assert_eq!(input.name.as_str(), "Basic");
        assert_eq!(input.limits.storage_limit_gb, Some(500));
        assert_eq!(input.limits.max_users, None);
        assert!(input.options.api_access && !input.options.sub_tenants);
        let errors = parse_form(&form(&[
            ("name", ""),
            ("max_users", "-1"),
            ("memory_limit_gb", "lots"),
            ("custom_domain", "maybe"),
        ]))
        .unwrap_err();
        let fields: Vec<&str> = errors.keys().copied().collect();
        assert_eq!(
            fields,
            ["custom_domain", "max_users", "memory_limit_gb", "name"]
        );
        // A number too large to read says the maximum.
        let huge = "99999999999999999999";
        let errors = parse_form(&form(&[
            ("name", "A"),
            ("monthly_query_quota", huge),
            ("max_users", huge),
            ("storage_limit_gb", huge),
        ]))
        .unwrap_err();
        assert_eq!(
            errors["monthly_query_quota"],
            format!("At most {}.", i64::MAX)
        );
        assert_eq!(errors["max_users"], format!("At most {}.", i32::MAX));
        assert_eq!(
            errors["storage_limit_gb"],
            format!("At most {}.", crate::domain::resources::MAX_SIZE_GB * 1000)
        );
    }
}
