//! `/tenants/{id}/rules`: the list (filters kind, action, enabled, application,
//! domain and a search over value and path; pages of 50), the new-rule form, the
//! edit form (`/{rid}`) and the delete with its confirmation.

use super::{
    can_change, confirmed, id_choices, page_or_fragment, readable, saved, tenant_page, writable,
    Choice,
};
use crate::auth::CurrentUser;
use crate::db::models::rules::{Application, Domain, RuleFilter, RuleRow};
use crate::db::models::Tenant;
use crate::domain::rules::{RuleAction, RuleInput, RuleKind, RuleText};
use crate::error::{AppError, FieldErrors};
use crate::services::rules as service;
use crate::web::confirm::{Confirm, Question};
use crate::web::extract::Query;
use crate::web::form::{bad_param, checkbox, field_id, page_param, with_checkbox, SearchBox};
use crate::web::owned::Rules;
use crate::web::page::PageCtx;
use crate::web::routes::{form_routes, Route};
use crate::web::{parse_id, AppState};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;
use std::collections::HashMap;

pub fn routes() -> Vec<Route> {
    form_routes!("/tenants/{id}/rules", "{rid}")
}

const PER_PAGE: i64 = 50;

/// The list's query string.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListParams {
    pub kind: String,
    pub action: String,
    pub enabled: String,
    pub application: String,
    pub domain: String,
    pub q: String,
    pub page: String,
}

impl ListParams {
    /// The filter, or the 400 naming the parameter that cannot be read.
    fn filter(&self, search: &SearchBox) -> Result<RuleFilter, AppError> {
        let opt = |v: &str| Some(v.trim()).filter(|v| !v.is_empty()).map(str::to_string);
        let kind = opt(&self.kind)
            .map(|k| k.parse::<RuleKind>())
            .transpose()
            .map_err(|_| bad_param("kind", &one_of(RuleKind::ALL.iter().map(|k| k.as_str()))))?;
        let action = opt(&self.action)
            .map(|a| a.parse::<RuleAction>())
            .transpose()
            .map_err(|_| {
                bad_param(
                    "action",
                    &one_of(RuleAction::ALL.iter().map(|a| a.as_str())),
                )
            })?;
        let enabled = match self.enabled.trim() {
            "" => None,
            "yes" => Some(true),
            "no" => Some(false),
            _ => return Err(bad_param("enabled", "must be one of “yes”, “no”")),
        };
        let id = |name: &str, raw: &str| -> Result<Option<i64>, AppError> {
            opt(raw)
                .map(|v| field_id(&v).ok_or_else(|| bad_param(name, "must be a whole number")))
                .transpose()
        };
        Ok(RuleFilter {
            kind,
            action,
            enabled,
            application_id: id("application", &self.application)?,
            domain_id: id("domain", &self.domain)?,
            q: search.query().map(str::to_string),
        })
    }
}

fn one_of<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = values.map(|v| format!("“{v}”")).collect();
    format!("must be one of {}", quoted.join(", "))
}

/// One rule as the list shows it.
pub struct RuleLine {
    pub rule: RuleRow,
    pub application: Option<String>,
    pub domain: Option<String>,
}

#[derive(Template)]
#[template(path = "rules/index.html", blocks = ["content"])]
struct IndexPage {
    page: PageCtx,
    tenant: Tenant,
    rows: Vec<RuleLine>,
    total: i64,
    page_no: i64,
    pages: i64,
    params: ListParams,
    search: SearchBox,
    kinds: Vec<Choice>,
    actions: Vec<Choice>,
    applications: Vec<Choice>,
    domains: Vec<Choice>,
    can_change: bool,
    /// The "Migrate rules…" link (Owner or Administrator here with Rules full).
    can_migrate: bool,
    /// The filters' selects show no field errors (a bad one is a 400).
    errors: FieldErrors,
}

impl IndexPage {
    fn page_href(&self, page: i64) -> String {
        let p = &self.params;
        let query = serde_urlencoded::to_string([
            ("kind", p.kind.as_str()),
            ("action", p.action.as_str()),
            ("enabled", p.enabled.as_str()),
            ("application", p.application.as_str()),
            ("domain", p.domain.as_str()),
            ("q", self.search.shown.as_str()),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default();
        format!("/tenants/{}/rules?{query}", self.tenant.id)
    }
}

/// The select options of text values.
fn text_choices<'a>(
    values: impl Iterator<Item = &'a str>,
    chosen: &str,
    none: &str,
) -> Vec<Choice> {
    let items: Vec<Choice> = values
        .map(|v| Choice {
            value: v.to_string(),
            label: v.to_string(),
            selected: chosen.trim() == v,
        })
        .collect();
    std::iter::once(Choice {
        value: String::new(),
        label: none.to_string(),
        selected: chosen.trim().is_empty(),
    })
    .chain(items)
    .collect()
}

/// The tenant's applications and domains, `(id, name)` each.
async fn names(
    conn: &mut AsyncPgConnection,
    tenant_id: i64,
) -> Result<(Vec<(i64, String)>, Vec<(i64, String)>), AppError> {
    let apps = Application::all(conn, tenant_id)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let domains = Domain::all(conn, tenant_id)
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    Ok((apps, domains))
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
    let page_no = page_param(&params.page)?;
    let mut conn = state.pool.get().await?;
    let tenant = readable(&user, &mut conn, &path).await?;
    let (total, rows) = if search.error.is_some() {
        (0, Vec::new())
    } else {
        RuleRow::list(&mut conn, tenant.id, &filter, page_no, PER_PAGE).await?
    };
    let (apps, domains) = names(&mut conn, tenant.id).await?;
    let app_names: HashMap<i64, String> = apps.iter().cloned().collect();
    let domain_names: HashMap<i64, String> = domains.iter().cloned().collect();
    let status = search.status();
    let page = IndexPage {
        page: PageCtx::new(&user, &mut conn, "rules").await?,
        rows: rows
            .into_iter()
            .map(|r| RuleLine {
                application: r.application_id.and_then(|a| app_names.get(&a).cloned()),
                domain: r.domain_id.and_then(|d| domain_names.get(&d).cloned()),
                rule: r,
            })
            .collect(),
        total,
        page_no,
        pages: ((total + PER_PAGE - 1) / PER_PAGE).max(1),
        kinds: text_choices(
            RuleKind::ALL.iter().map(|k| k.as_str()),
            &params.kind,
            "any kind",
        ),
        actions: text_choices(
            RuleAction::ALL.iter().map(|a| a.as_str()),
            &params.action,
            "any action",
        ),
        applications: id_choices(&apps, &params.application, "any application"),
        domains: id_choices(&domains, &params.domain, "any domain"),
        can_change: can_change(&user, &tenant),
        can_migrate: crate::auth::authz::can_migrate_rules_from(&user, &tenant),
        errors: FieldErrors::new(),
        params,
        search,
        tenant,
    };
    page_or_fragment!(&req, page, status)
}

/// The rule form as sent.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct RuleForm {
    pub kind: String,
    pub application_id: String,
    pub domain_id: String,
    pub path: String,
    pub value: String,
    pub action: String,
    pub enabled: Option<String>,
}

impl RuleForm {
    fn of(r: &RuleRow) -> Self {
        RuleForm {
            kind: r.kind.to_string(),
            application_id: r.application_id.map(|a| a.to_string()).unwrap_or_default(),
            domain_id: r.domain_id.map(|d| d.to_string()).unwrap_or_default(),
            path: r.path.clone().unwrap_or_default(),
            value: r.value.clone(),
            action: r.action.to_string(),
            enabled: r.enabled.then(|| "true".to_string()),
        }
    }

    /// The service's input; an id that is no number names none of the tenant's.
    fn to_input(&self) -> Result<RuleInput, FieldErrors> {
        let id = |raw: &str| match raw.trim() {
            "" => None,
            raw => Some(field_id(raw).unwrap_or(0)),
        };
        with_checkbox("enabled", &self.enabled, |enabled| {
            RuleInput::parse(RuleText {
                kind: Some(&self.kind),
                application_id: id(&self.application_id),
                domain_id: id(&self.domain_id),
                path: &self.path,
                value: &self.value,
                action: Some(&self.action),
                enabled,
            })
        })
    }
}

#[derive(Template)]
#[template(path = "rules/form.html", blocks = ["content"])]
struct FormPage {
    page: PageCtx,
    tenant: Tenant,
    /// The rule edited (`None`: a new one).
    rule_id: Option<i64>,
    form: RuleForm,
    errors: FieldErrors,
    kinds: Vec<Choice>,
    actions: Vec<Choice>,
    applications: Vec<Choice>,
    domains: Vec<Choice>,
    can_change: bool,
}

impl FormPage {
    fn form_action(&self) -> String {
        match self.rule_id {
            Some(id) => format!("/tenants/{}/rules/{id}", self.tenant.id),
            None => format!("/tenants/{}/rules/new", self.tenant.id),
        }
    }

    fn enabled(&self) -> bool {
        checkbox(&self.form.enabled).unwrap_or(false)
    }
}

async fn form_page(
    req: &HttpRequest,
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    tenant: Tenant,
    rule_id: Option<i64>,
    form: RuleForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let status = super::status(&errors);
    let (apps, domains) = names(conn, tenant.id).await?;
    let page = FormPage {
        page: PageCtx::new(user, conn, "rules").await?,
        kinds: text_choices(
            RuleKind::ALL.iter().map(|k| k.as_str()),
            &form.kind,
            "(choose)",
        ),
        actions: text_choices(
            RuleAction::ALL.iter().map(|a| a.as_str()),
            &form.action,
            "(choose)",
        ),
        applications: id_choices(&apps, &form.application_id, "(every application)"),
        domains: id_choices(&domains, &form.domain_id, "(every domain)"),
        can_change: can_change(user, &tenant),
        tenant,
        rule_id,
        form,
        errors,
    };
    page_or_fragment!(req, page, status)
}

/// The list's page under the tenant.
const LIST: &str = "rules";

async fn new_form(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = writable(&user, &mut conn, &path).await?;
    service::may_change(&mut conn, &user, &tenant).await?;
    let form = RuleForm {
        enabled: Some("true".into()),
        ..RuleForm::default()
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
    form: web::Form<RuleForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = form.to_input();
    saved::<Rules, _>(
        &req,
        &user,
        &state,
        &path,
        LIST,
        async |conn, c| service::create_rule(conn, c, input).await,
        |r: &RuleRow| format!("Created rule #{}.", r.rule_id),
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
    let tenant = readable(&user, &mut conn, &path.0).await?;
    let rule = RuleRow::find_current(&mut conn, tenant.id, parse_id(&path.1)?).await?;
    let form = RuleForm::of(&rule);
    form_page(
        &req,
        &user,
        &mut conn,
        tenant,
        Some(rule.rule_id),
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
    form: web::Form<RuleForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = form.to_input();
    saved::<Rules, _>(
        &req,
        &user,
        &state,
        &path.0,
        LIST,
        async |conn, c| service::update_rule(conn, c, parse_id(&path.1)?, input).await,
        |r: &RuleRow| format!("Saved rule #{}.", r.rule_id),
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
    confirmed::<Rules, _>(
        &req,
        &user,
        &state,
        &path,
        &confirm,
        LIST,
        async |conn, tenant, id| {
            let r = RuleRow::find_current(conn, tenant.id, id).await?;
            let rule = format!("{}/{}", tenant_page(tenant, LIST), r.rule_id);
            Ok(Question {
                title: format!("Delete rule #{}?", r.rule_id),
                detail: format!(
                    "The {} rule for {} stops applying. Older versions keep it: restoring one brings it back.",
                    r.kind, r.value
                ),
                button: "Delete rule".into(),
                action: format!("{rule}/delete"),
                cancel: rule,
                ..Question::default()
            })
        },
        async |conn, c, id| service::delete_rule(conn, c, id).await,
        |r: &RuleRow| format!("Deleted rule #{}.", r.rule_id),
    )
    .await
}
