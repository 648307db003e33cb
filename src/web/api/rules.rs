//! `/api/v1/tenants/{id}/applications`, `/domains`, `/rules` (with `/rules/batch`)
//! and `/ruleset`: a tenant's protection configuration. The handlers call the same
//! `services::rules` functions as the pages: Rules read to read, Rules full to
//! write, 404 for a tenant the caller may not see, 423 while a migration holds the
//! tenant. `/ruleset` is what nodes fetch: the enabled current rules with their
//! application and domain names, under an `ETag` of the rule set's version.

use super::batch::{BatchResponse, BatchResult, MAX_OPERATIONS};
use super::idempotency::{self, Answer};
use super::owned::{
    changed, created, is_null, listed, nullable_id, refuse_nulls, shown, PageParams,
};
use super::tenants::{integral_opt_i64, nullable, path_tenant};
use super::{json, parse_json};
use crate::auth::ApiUser;
use crate::db::models::rules::{head_version, Application, Domain, RuleRow};
use crate::domain::rules::{CredentialStuffing, RuleAction, RuleInput, RuleKind, RuleText};
use crate::domain::TenantName;
use crate::error::{AppError, FieldErrors, ProblemKind};
use crate::services::rules::{self as service, Change, DomainInput};
use crate::web::extract::Query;
use crate::web::owned::Rules;
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/api/v1/tenants/{id}/applications" => list_applications),
        route!(POST "/api/v1/tenants/{id}/applications" => create_application),
        route!(GET "/api/v1/tenants/{id}/applications/{aid}" => show_application),
        route!(PATCH "/api/v1/tenants/{id}/applications/{aid}" => update_application),
        route!(DELETE "/api/v1/tenants/{id}/applications/{aid}" => delete_application),
        route!(GET "/api/v1/tenants/{id}/domains" => list_domains),
        route!(POST "/api/v1/tenants/{id}/domains" => create_domain),
        route!(GET "/api/v1/tenants/{id}/domains/{did}" => show_domain),
        route!(PATCH "/api/v1/tenants/{id}/domains/{did}" => update_domain),
        route!(DELETE "/api/v1/tenants/{id}/domains/{did}" => delete_domain),
        route!(GET "/api/v1/tenants/{id}/rules" => list_rules),
        route!(POST "/api/v1/tenants/{id}/rules" => create_rule),
        route!(POST "/api/v1/tenants/{id}/rules/batch" => batch_rules),
        route!(GET "/api/v1/tenants/{id}/rules/{rid}" => show_rule),
        route!(PATCH "/api/v1/tenants/{id}/rules/{rid}" => update_rule),
        route!(DELETE "/api/v1/tenants/{id}/rules/{rid}" => delete_rule),
        route!(GET "/api/v1/tenants/{id}/ruleset" => ruleset),
    ]
}

// ---------------------------------------------------------------- DTOs

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Application)]
pub struct ApplicationJson {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Application> for ApplicationJson {
    fn from(a: Application) -> Self {
        ApplicationJson {
            id: a.id,
            name: a.name,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// An application's name: 1–100 characters once trimmed, no control characters,
/// unique in the tenant (any case).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationBody {
    pub name: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Domain)]
pub struct DomainJson {
    pub id: i64,
    /// A host name, lower case.
    pub name: String,
    pub application_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Domain> for DomainJson {
    fn from(d: Domain) -> Self {
        DomainJson {
            id: d.id,
            name: d.name,
            application_id: d.application_id,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// `ApplicationBody` as a PATCH reads it: `name` is required, and `null` is its
/// field error (422) rather than an unreadable body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplicationRename {
    #[serde(deserialize_with = "nullable_name")]
    name: Option<String>,
}

fn nullable_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

/// A domain: a host name (two or more DNS labels, unique in the tenant) and
/// optionally one of the tenant's applications.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainBody {
    pub name: String,
    #[serde(default, deserialize_with = "integral_opt_i64")]
    pub application_id: Option<i64>,
}

/// Changes to a domain: only the fields sent change; `application_id: null` unbinds it
/// (`name: null` is a field error: leave it out to keep the name).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainPatch {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable_id")]
    #[schema(value_type = Option<i64>)]
    pub application_id: Option<Option<i64>>,
}

/// A rule as the API shows it; `id` is the rule's logical id (kept across edits).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Rule)]
pub struct RuleJson {
    pub id: i64,
    pub kind: RuleKind,
    pub application_id: Option<i64>,
    pub domain_id: Option<i64>,
    pub path: Option<String>,
    pub value: String,
    pub action: RuleAction,
    pub enabled: bool,
    /// The rule-set version this content dates from.
    pub since_version: i64,
}

impl From<RuleRow> for RuleJson {
    fn from(r: RuleRow) -> Self {
        RuleJson {
            id: r.rule_id,
            kind: r.kind,
            application_id: r.application_id,
            domain_id: r.domain_id,
            path: r.path,
            value: r.value,
            action: r.action,
            enabled: r.enabled,
            since_version: r.valid_from,
        }
    }
}

fn yes() -> bool {
    true
}

/// A new rule. `value` by kind: an IP address or CIDR network without host bits
/// (`block_ip`, `allow_ip`), requests per minute 1–1,000,000 (`rate_limit`), a
/// pattern of 1–500 characters without control characters (`virtual_patch`),
/// `monitoring` or `blocking` (`mode`). `action`: `allow` only and always for
/// `allow_ip`; `block` or `monitor` for the others, a mode's following its value
/// (`blocking` → `block`). `path`: a prefix starting with `/`, at most 1,000
/// characters, no white space. `application_id`/`domain_id`: the tenant's own; a
/// domain bound to an application takes no other application.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    pub kind: RuleKind,
    #[serde(default, deserialize_with = "integral_opt_i64")]
    pub application_id: Option<i64>,
    #[serde(default, deserialize_with = "integral_opt_i64")]
    pub domain_id: Option<i64>,
    #[serde(default)]
    pub path: Option<String>,
    pub value: String,
    pub action: RuleAction,
    /// Defaults to `true`.
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub enabled: bool,
}

impl RuleBody {
    fn to_input(&self) -> Result<RuleInput, FieldErrors> {
        RuleInput::parse(RuleText {
            kind: Some(self.kind.as_str()),
            application_id: self.application_id,
            domain_id: self.domain_id,
            path: self.path.as_deref().unwrap_or(""),
            value: &self.value,
            action: Some(self.action.as_str()),
            enabled: self.enabled,
        })
    }
}

/// Changes to a rule: only the fields sent change (`null` clears `application_id`,
/// `domain_id` and `path`; for any other field it is a field error: leave the field
/// out to keep it); the result is checked as a whole, like a new rule.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulePatch {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = RuleKind)]
    pub kind: Option<Option<RuleKind>>,
    #[serde(default, deserialize_with = "nullable_id")]
    #[schema(value_type = Option<i64>)]
    pub application_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable_id")]
    #[schema(value_type = Option<i64>)]
    pub domain_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable_text")]
    #[schema(value_type = Option<String>)]
    pub path: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub value: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = RuleAction)]
    pub action: Option<Option<RuleAction>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = bool)]
    pub enabled: Option<Option<bool>>,
}

fn nullable_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl RulePatch {
    fn to_input(&self, old: &RuleRow) -> Result<RuleInput, FieldErrors> {
        let path = match &self.path {
            Some(p) => p.clone().unwrap_or_default(),
            None => old.path.clone().unwrap_or_default(),
        };
        let parsed = RuleInput::parse(RuleText {
            kind: Some(self.kind.flatten().unwrap_or(old.kind).as_str()),
            application_id: self.application_id.unwrap_or(old.application_id),
            domain_id: self.domain_id.unwrap_or(old.domain_id),
            path: &path,
            value: self
                .value
                .as_ref()
                .and_then(|v| v.as_deref())
                .unwrap_or(&old.value),
            action: Some(self.action.flatten().unwrap_or(old.action).as_str()),
            enabled: self.enabled.flatten().unwrap_or(old.enabled),
        });
        refuse_nulls(
            parsed,
            &[
                ("kind", is_null(&self.kind)),
                ("value", is_null(&self.value)),
                ("action", is_null(&self.action)),
                ("enabled", is_null(&self.enabled)),
            ],
        )
    }
}

/// Up to 1,000 new rules, created in one new version of the rule set.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBatch {
    #[schema(min_items = 1, max_items = 1000)]
    pub rules: Vec<RuleBody>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ApplicationPage {
    pub items: Vec<ApplicationJson>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DomainPage {
    pub items: Vec<DomainJson>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RulePage {
    pub items: Vec<RuleJson>,
    pub next_cursor: Option<String>,
}

/// One rule as nodes apply it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct NodeRule {
    pub id: i64,
    pub kind: RuleKind,
    /// The application's name; `null`: every application.
    pub application: Option<String>,
    /// The domain's name; `null`: every domain.
    pub domain: Option<String>,
    pub path: Option<String>,
    pub value: String,
    pub action: RuleAction,
}

/// Credential-stuffing settings as nodes apply them.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct NodeCredentialStuffing {
    pub enabled: bool,
    pub threshold: i32,
    pub window_minutes: i32,
    pub login_paths: Vec<String>,
}

/// The rule set nodes fetch: the enabled current rules and the settings, at `version`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RuleSetJson {
    pub tenant_id: i64,
    pub version: i64,
    pub rules: Vec<NodeRule>,
    pub credential_stuffing: NodeCredentialStuffing,
}

pub use crate::web::form::NoParams;

// ---------------------------------------------------------------- helpers

/// Whether `If-None-Match` (each of its header lines, `sent`) holds `etag` or `*`.
/// RFC 9110 compares them weakly for this header: `W/"x"` matches `"x"`. A list's
/// tags are split at commas outside quotes.
fn none_match(sent: &[&str], etag: &str) -> bool {
    let opaque = |t: &str| t.strip_prefix("W/").unwrap_or(t).to_string();
    let ours = opaque(etag);
    sent.iter()
        .flat_map(|line| entity_tags(line))
        .any(|t| t == "*" || opaque(t) == ours)
}

/// The comma-separated members of an `If-None-Match` line, trimmed.
fn entity_tags(line: &str) -> Vec<&str> {
    let mut tags = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (at, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                tags.push(line[start..at].trim());
                start = at + 1;
            }
            _ => {}
        }
    }
    tags.push(line[start..].trim());
    tags.retain(|t| !t.is_empty());
    tags
}

// ---------------------------------------------------------------- applications

/// List the tenant's applications, by id.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/applications", tag = "rules",
    params(("id" = i64, Path, description = "Tenant id"), PageParams),
    responses((status = 200, description = "One page of applications", body = ApplicationPage)),
    security(("bearer" = [])))]
pub async fn list_applications(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<PageParams>,
) -> Result<HttpResponse, actix_web::Error> {
    let (items, next_cursor) = listed::<Rules, _, _>(
        &req,
        &user,
        &state,
        &path,
        &params,
        async |conn, tenant, after, limit| {
            Ok(Application::page(conn, tenant.id, after, limit).await?)
        },
        |a: &Application| a.id,
    )
    .await?;
    Ok(json(
        StatusCode::OK,
        &ApplicationPage { items, next_cursor },
    ))
}

/// Create an application. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/applications", tag = "rules",
    params(("id" = i64, Path, description = "Tenant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, 1–255 visible ASCII characters")),
    request_body(content = ApplicationBody, content_type = "application/json"),
    responses((status = 201, description = "Created", body = ApplicationJson)),
    security(("bearer" = [])))]
pub async fn create_application(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    created(
        &req,
        &user,
        &state,
        &path,
        &body,
        "applications",
        async |conn, c, data: ApplicationBody| {
            let name = TenantName::parse(&data.name).map_err(|e| FieldErrors::from([("name", e)]));
            let app = service::create_application(conn, c, name).await?;
            Ok((ApplicationJson::from(app.clone()), app.id))
        },
    )
    .await
}

/// Read one application.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/applications/{aid}", tag = "rules",
    params(("id" = i64, Path, description = "Tenant id"), ("aid" = i64, Path, description = "Application id")),
    responses((status = 200, description = "The application", body = ApplicationJson)),
    security(("bearer" = [])))]
pub async fn show_application(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, actix_web::Error> {
    shown::<Rules, _, ApplicationJson>(&req, &user, &state, &path, Application::find).await
}

/// Rename an application.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}/applications/{aid}", tag = "rules",
    params(("id" = i64, Path, description = "Tenant id"), ("aid" = i64, Path, description = "Application id")),
    request_body(content = ApplicationBody, content_type = "application/json"),
    responses((status = 200, description = "The changed application", body = ApplicationJson)),
    security(("bearer" = [])))]
pub async fn update_application(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    changed(&req, &user, &state, &path, async |conn, c, id| {
        let data: ApplicationRename = parse_json(&req, &body)?;
        let name = match &data.name {
            Some(name) => TenantName::parse(name).map_err(|e| FieldErrors::from([("name", e)])),
            None => Err(FieldErrors::from([(
                "name",
                "May not be null: send the new name.".to_string(),
            )])),
        };
        let app = service::update_application(conn, c, id, name).await?;
        Ok(json(StatusCode::OK, &ApplicationJson::from(app)))
    })
    .await
}

/// Delete an application no current rule uses (else 409); its domains are unbound.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/applications/{aid}", tag = "rules",
    params(("id" = i64, Path, description = "Tenant id"), ("aid" = i64, Path, description = "Application id")),
    responses((status = 204, description = "Deleted")),
    security(("bearer" = [])))]
pub async fn delete_application(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, actix_web::Error> {
    changed(&req, &user, &state, &path, async |conn, c, id| {
        service::delete_application(conn, c, id).await?;
        Ok(HttpResponse::NoContent().finish())
    })
    .await
}

// ---------------------------------------------------------------- domains

/// List the tenant's domains, by id.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/domains", tag = "rules",
    params(("id" = i64, Path, description = "Tenant id"), PageParams),
    responses((status = 200, description = "One page of domains", body = DomainPage)),
    security(("bearer" = [])))]
pub async fn list_domains(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<PageParams>,
) -> Result<HttpResponse, actix_web::Error> {
    let (items, next_cursor) = listed::<Rules, _, _>(
        &req,
        &user,
        &state,
        &path,
        &params,
        async |conn, tenant, after, limit| Ok(Domain::page(conn, tenant.id, after, limit).await?),
        |d: &Domain| d.id,
    )
    .await?;
    Ok(json(StatusCode::OK, &DomainPage { items, next_cursor }))
}

/// Create a domain. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/domains", tag = "rules",
    params(("id" = i64, Path, description = "Tenant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, 1–255 visible ASCII characters")),
    request_body(content = DomainBody, content_type = "application/json"),
    responses((status = 201, description = "Created", body = DomainJson)),
    security(("bearer" = [])))]
pub async fn create_domain(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    created(
        &req,
        &user,
        &state,
        &path,
        &body,
        "domains",
        async |conn, c, data: DomainBody| {
            let input = DomainInput::parse(&data.name, data.application_id);
            let d = service::create_domain(conn, c, input).await?;
            Ok((DomainJson::from(d.clone()), d.id))
        },
    )
    .await
}

/// Read one domain.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/domains/{did}", tag = "rules",
    params(("id" = i64, Path, description = "Tenant id"), ("did" = i64, Path, description = "Domain id")),
    responses((status = 200, description = "The domain", body = DomainJson)),
    security(("bearer" = [])))]
pub async fn show_domain(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, actix_web::Error> {
    shown::<Rules, _, DomainJson>(&req, &user, &state, &path, Domain::find).await
}

/// Change a domain's name or application. Binding it to another application is
/// refused (409, naming how many) while current rules name it with an application
/// other than the new one; unbinding (`null`) is always allowed.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}/domains/{did}", tag = "rules",
    params(("id" = i64, Path, description = "Tenant id"), ("did" = i64, Path, description = "Domain id")),
    request_body(content = DomainPatch, content_type = "application/json"),
    responses((status = 200, description = "The changed domain", body = DomainJson)),
    security(("bearer" = [])))]
pub async fn update_domain(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    changed(&req, &user, &state, &path, async |conn, c, id| {
        let data: DomainPatch = parse_json(&req, &body)?;
        // Rights and lock before the row: a reader is told 403 whatever the id.
        service::may_change(conn, &user, c.tenant).await?;
        let old = Domain::find(conn, c.tenant.id, id)
            .await
            .map_err(AppError::from)?;
        let name = data.name.as_ref().and_then(|n| n.as_deref());
        let input = refuse_nulls(
            DomainInput::parse(
                name.unwrap_or(&old.name),
                data.application_id.unwrap_or(old.application_id),
            ),
            &[("name", is_null(&data.name))],
        );
        let d = service::update_domain(conn, c, id, input).await?;
        Ok(json(StatusCode::OK, &DomainJson::from(d)))
    })
    .await
}

/// Delete a domain no current rule uses (else 409).
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/domains/{did}", tag = "rules",
    params(("id" = i64, Path, description = "Tenant id"), ("did" = i64, Path, description = "Domain id")),
    responses((status = 204, description = "Deleted")),
    security(("bearer" = [])))]
pub async fn delete_domain(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, actix_web::Error> {
    changed(&req, &user, &state, &path, async |conn, c, id| {
        service::delete_domain(conn, c, id).await?;
        Ok(HttpResponse::NoContent().finish())
    })
    .await
}

// ---------------------------------------------------------------- rules

/// List the tenant's current rules, by id.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/rules", tag = "rules",
    params(("id" = i64, Path, description = "Tenant id"), PageParams),
    responses((status = 200, description = "One page of rules", body = RulePage)),
    security(("bearer" = [])))]
pub async fn list_rules(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<PageParams>,
) -> Result<HttpResponse, actix_web::Error> {
    let (items, next_cursor) = listed::<Rules, _, _>(
        &req,
        &user,
        &state,
        &path,
        &params,
        async |conn, tenant, after, limit| Ok(RuleRow::page(conn, tenant.id, after, limit).await?),
        |r: &RuleRow| r.rule_id,
    )
    .await?;
    Ok(json(StatusCode::OK, &RulePage { items, next_cursor }))
}

/// Create a rule (one new version). Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/rules", tag = "rules",
    params(("id" = i64, Path, description = "Tenant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, 1–255 visible ASCII characters")),
    request_body(content = RuleBody, content_type = "application/json"),
    responses((status = 201, description = "Created", body = RuleJson)),
    security(("bearer" = [])))]
pub async fn create_rule(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    created(
        &req,
        &user,
        &state,
        &path,
        &body,
        "rules",
        async |conn, c, data: RuleBody| {
            let row = service::create_rule(conn, c, data.to_input()).await?;
            Ok((RuleJson::from(row.clone()), row.rule_id))
        },
    )
    .await
}

/// Create up to 1,000 rules in one new version of the rule set, answered per rule
/// in order (`201` with the rule's `id`, or the rule's problem); the valid ones are
/// created even when others are refused. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/rules/batch", tag = "rules",
    params(("id" = i64, Path, description = "Tenant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, 1–255 visible ASCII characters")),
    request_body(content = RuleBatch, content_type = "application/json"),
    responses((status = 200, description = "Per-rule results, in order", body = BatchResponse)),
    security(("bearer" = [])))]
pub async fn batch_rules(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    let (_, tenant) = path_tenant(&req, &user, &state, &path).await?;
    let data: RuleBatch = parse_json(&req, &body)?;
    if data.rules.is_empty() {
        return Err(AppError::problem(
            ProblemKind::InvalidBody,
            "A batch holds at least one rule.",
        )
        .into());
    }
    if data.rules.len() > MAX_OPERATIONS {
        return Err(AppError::problem(
            ProblemKind::TooManyOperations,
            format!(
                "A batch holds at most {MAX_OPERATIONS} rules; this one has {}.",
                data.rules.len()
            ),
        )
        .into());
    }
    let actor = user.actor(&req);
    let c = Change::new(&user, &actor, &tenant, state.clock.now());
    Ok(idempotency::run(&state, &req, &user, &body, async |conn| {
        let inputs = data.rules.iter().map(RuleBody::to_input).collect();
        let results: Vec<BatchResult> = service::create_rules(conn, &c, inputs)
            .await?
            .into_iter()
            .map(|r| match r {
                Ok(row) => BatchResult::ok(StatusCode::CREATED, row.rule_id),
                Err(e) => BatchResult::failed(&e),
            })
            .collect();
        // As the tenants batch says it: `false` when nothing was kept (every rule
        // refused, so no version either).
        let applied = results.iter().any(|r| r.id.is_some());
        Answer::json(StatusCode::OK, &BatchResponse { applied, results })
    })
    .await?)
}

/// Read one current rule.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/rules/{rid}", tag = "rules",
    params(("id" = i64, Path, description = "Tenant id"), ("rid" = i64, Path, description = "Rule id")),
    responses((status = 200, description = "The rule", body = RuleJson)),
    security(("bearer" = [])))]
pub async fn show_rule(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, actix_web::Error> {
    shown::<Rules, _, RuleJson>(&req, &user, &state, &path, RuleRow::find_current).await
}

/// Change a rule (one new version; the rule keeps its id).
#[utoipa::path(patch, path = "/api/v1/tenants/{id}/rules/{rid}", tag = "rules",
    params(("id" = i64, Path, description = "Tenant id"), ("rid" = i64, Path, description = "Rule id")),
    request_body(content = RulePatch, content_type = "application/json"),
    responses((status = 200, description = "The changed rule", body = RuleJson)),
    security(("bearer" = [])))]
pub async fn update_rule(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    changed(&req, &user, &state, &path, async |conn, c, id| {
        let data: RulePatch = parse_json(&req, &body)?;
        service::may_change(conn, &user, c.tenant).await?;
        let old = RuleRow::find_current(conn, c.tenant.id, id)
            .await
            .map_err(AppError::from)?;
        let row = service::update_rule(conn, c, id, data.to_input(&old)).await?;
        Ok(json(StatusCode::OK, &RuleJson::from(row)))
    })
    .await
}

/// Delete a rule (one new version; older versions keep it).
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/rules/{rid}", tag = "rules",
    params(("id" = i64, Path, description = "Tenant id"), ("rid" = i64, Path, description = "Rule id")),
    responses((status = 204, description = "Deleted")),
    security(("bearer" = [])))]
pub async fn delete_rule(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, actix_web::Error> {
    changed(&req, &user, &state, &path, async |conn, c, id| {
        service::delete_rule(conn, c, id).await?;
        Ok(HttpResponse::NoContent().finish())
    })
    .await
}

// ---------------------------------------------------------------- ruleset

/// The rule set as nodes fetch it: the enabled current rules (application and
/// domain by name) and the credential-stuffing settings, with `ETag:
/// "<tenant>-<version>"`. `If-None-Match` holding that tag (also weak, `W/"…"`, or
/// in a list) or `*` answers 304 without the rules. No query parameters. 423 while
/// a migration holds the tenant: nodes keep their last rule set.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/ruleset", tag = "rules",
    params(("id" = i64, Path, description = "Tenant id"),
        ("If-None-Match" = Option<String>, Header, description = "The ETag of the rule set held (weak comparison: `W/\"…\"` matches too), a list of tags, or `*`")),
    responses((status = 200, description = "The rule set", body = RuleSetJson,
        headers(("ETag" = String, description = "\"<tenant>-<version>\""))),
        (status = 304, description = "Unchanged since the ETag sent")),
    security(("bearer" = [])))]
pub async fn ruleset(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _none: Query<NoParams>,
) -> Result<HttpResponse, actix_web::Error> {
    let (mut conn, tenant) = path_tenant(&req, &user, &state, &path).await?;
    service::read(&mut conn, &user, &tenant).await?;
    let version = head_version(&mut conn, tenant.id)
        .await
        .map_err(AppError::from)?;
    let etag = format!("\"{}-{version}\"", tenant.id);
    let sent: Vec<&str> = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .collect();
    if none_match(&sent, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    let rules = RuleRow::at_version(&mut conn, tenant.id, version)
        .await
        .map_err(AppError::from)?;
    let apps: std::collections::HashMap<i64, String> = Application::all(&mut conn, tenant.id)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let domains: std::collections::HashMap<i64, String> = Domain::all(&mut conn, tenant.id)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    // The rows valid at `version` and its settings snapshot: one version's rule set
    // even if a change commits meanwhile (it closes rows at a later version).
    let s: CredentialStuffing =
        crate::services::rules::versions::settings_at(&mut conn, tenant.id, version).await?;
    let body = RuleSetJson {
        tenant_id: tenant.id,
        version,
        rules: rules
            .into_iter()
            .filter(|r| r.enabled)
            .map(|r| NodeRule {
                id: r.rule_id,
                kind: r.kind,
                application: r.application_id.and_then(|a| apps.get(&a).cloned()),
                domain: r.domain_id.and_then(|d| domains.get(&d).cloned()),
                path: r.path,
                value: r.value,
                action: r.action,
            })
            .collect(),
        credential_stuffing: NodeCredentialStuffing {
            enabled: s.enabled,
            threshold: s.threshold,
            window_minutes: s.window_minutes,
            login_paths: s.login_paths,
        },
    };
    let mut response = json(StatusCode::OK, &body);
    if let Ok(v) = header::HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::none_match;

    #[test]
    fn if_none_match_compares_weakly_in_lists_and_star() {
        let etag = "\"7-3\"";
        for sent in [
            &["\"7-3\""][..],
            &["W/\"7-3\""],
            &["\"7-2\", W/\"7-3\""],
            &["\"a,b\", \"7-3\""],
            &["\"7-1\"", "\"7-3\""],
            &["*"],
        ] {
            assert!(none_match(sent, etag), "{sent:?}");
        }
        for sent in [
            &[][..],
            &["\"7-2\""],
            &["\"7-3"],
            &["7-3"],
            &["\"7-3, 8\""],
            &["w/\"7-3\""],
            &[""],
        ] {
            assert!(!none_match(sent, etag), "{sent:?}");
        }
    }
}
