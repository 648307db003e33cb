//! `/api/v1/plans`: list, read, create, replace (`PUT`, every field), change
//! (`PATCH`, the fields sent) and delete plans, for root Owners and Administrators
//! only (`authz::can_manage_plans`): for everyone else none of
//! these exist (404), as the console's `/plans`.

use super::idempotency::{self, Answer};
use super::owned::{item_id, PageParams};
use super::tenants::{
    decode_cursor, encode_cursor, integral_opt_i64, nullable, nullable_integral, page_limit,
    NOT_NULL,
};
use super::{json, parse_json};
use crate::auth::{authz, ApiUser};
use crate::db::models::plan::Plan;
use crate::domain::plan::{PlanInput, PlanLimits, PlanOptions};
use crate::domain::resources::limit;
use crate::domain::usage::check_quota;
use crate::domain::{user_limit, TenantName};
use crate::error::{AppError, FieldErrors};
use crate::services::plans as service;
use crate::web::extract::Query;
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/api/v1/plans" => list),
        route!(POST "/api/v1/plans" => create),
        route!(GET "/api/v1/plans/{id}" => show),
        route!(PUT "/api/v1/plans/{id}" => replace),
        route!(PATCH "/api/v1/plans/{id}" => patch),
        route!(DELETE "/api/v1/plans/{id}" => delete),
    ]
}

/// A plan: limits (`null`: unlimited) and options of the tenants on it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = Plan)]
pub struct PlanJson {
    pub id: i64,
    pub name: String,
    pub monthly_query_quota: Option<i64>,
    pub max_users: Option<i32>,
    pub max_instances: Option<i64>,
    pub storage_limit_gb: Option<i64>,
    pub memory_limit_gb: Option<i64>,
    pub custom_branding: bool,
    pub custom_domain: bool,
    pub sub_tenants: bool,
    pub api_access: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Plan> for PlanJson {
    fn from(p: Plan) -> Self {
        PlanJson {
            id: p.id,
            name: p.name,
            monthly_query_quota: p.monthly_query_quota,
            max_users: p.max_users,
            max_instances: p.max_instances,
            storage_limit_gb: p.storage_limit_gb,
            memory_limit_gb: p.memory_limit_gb,
            custom_branding: p.custom_branding,
            custom_domain: p.custom_domain,
            sub_tenants: p.sub_tenants,
            api_access: p.api_access,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A plan as a `PUT` saved it, and what the save warns of (saved all the same):
/// limits lowered below what tenants it governs use ("Tenant a1 uses 400 GB of
/// storage, above plan Basic's 100 GB: growth is refused until use falls below
/// it."). Empty when there is nothing to say.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = SavedPlan)]
pub struct SavedPlanJson {
    #[serde(flatten)]
    pub plan: PlanJson,
    pub warnings: Vec<String>,
}

/// A plan as created, or as it replaces the stored one. `name`: 1–100 characters
/// once trimmed, no control characters, unique (any case). Limits are whole
/// numbers, 0 or more; `null`: unlimited. On create a limit left out is unlimited
/// and an option left out is off; a `PUT` names every field (422 naming those left
/// out: `PATCH` changes only the fields sent). Lowering a limit below the own
/// limit of a tenant on the plan is refused (422, naming them); below what a tenant
/// uses, saved with a warning.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    #[schema(min_length = 1)]
    pub name: String,
    #[serde(default, deserialize_with = "integral_opt_i64")]
    #[schema(minimum = 0)]
    pub monthly_query_quota: Option<i64>,
    #[serde(default, deserialize_with = "integral_opt_i64")]
    #[schema(minimum = 0, maximum = 2147483647)]
    pub max_users: Option<i64>,
    #[serde(default, deserialize_with = "integral_opt_i64")]
    #[schema(minimum = 0)]
    pub max_instances: Option<i64>,
    #[serde(default, deserialize_with = "integral_opt_i64")]
    #[schema(minimum = 0)]
    pub storage_limit_gb: Option<i64>,
    #[serde(default, deserialize_with = "integral_opt_i64")]
    #[schema(minimum = 0)]
    pub memory_limit_gb: Option<i64>,
    #[serde(default)]
    pub custom_branding: bool,
    #[serde(default)]
    pub custom_domain: bool,
    #[serde(default)]
    pub sub_tenants: bool,
    #[serde(default)]
    pub api_access: bool,
}

impl PlanBody {
    /// The service's input, or every field error at once.
    pub fn to_input(&self) -> Result<PlanInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = TenantName::parse(&self.name)
            .map_err(|e| errors.insert("name", e))
            .ok();
        let mut limits = PlanLimits::default();
        match self.monthly_query_quota.map(check_quota).transpose() {
            Ok(q) => limits.monthly_query_quota = q,
            Err(e) => {
                errors.insert("monthly_query_quota", e);
            }
        }
        match self.max_users.map(user_limit::check).transpose() {
            Ok(m) => limits.max_users = m,
            Err(e) => {
                errors.insert("max_users", e);
            }
        }
        for (field, sent, slot) in [
            (
                "max_instances",
                self.max_instances,
                &mut limits.max_instances,
            ),
            (
                "storage_limit_gb",
                self.storage_limit_gb,
                &mut limits.storage_limit_gb,
            ),
            (
                "memory_limit_gb",
                self.memory_limit_gb,
                &mut limits.memory_limit_gb,
            ),
        ] {
            match limit(sent) {
                Ok(v) => *slot = v,
                Err(e) => {
                    errors.insert(field, e);
                }
            }
        }
        let options = PlanOptions {
            custom_branding: self.custom_branding,
            custom_domain: self.custom_domain,
            sub_tenants: self.sub_tenants,
            api_access: self.api_access,
        };
        match name {
            Some(name) if errors.is_empty() => Ok(PlanInput {
                name,
                limits,
                options,
            }),
            _ => Err(errors),
        }
    }
}

/// What a `PUT` must name: every field of the plan.
const PUT_FIELDS: [&str; 10] = [
    "name",
    "monthly_query_quota",
    "max_users",
    "max_instances",
    "storage_limit_gb",
    "memory_limit_gb",
    "custom_branding",
    "custom_domain",
    "sub_tenants",
    "api_access",
];

/// The error of a field a `PUT` left out: a limit may be `null` (unlimited), an
/// option is `true` or `false`.
fn put_missing(field: &str) -> String {
    let what = match field {
        "name" => "send it",
        "custom_branding" | "custom_domain" | "sub_tenants" | "api_access" => "send true or false",
        _ => "send it (null for unlimited)",
    };
    format!(
        "Required in a PUT, which replaces the whole plan: {what}, or use PATCH to change \
         only the fields sent."
    )
}

/// The fields of [`PUT_FIELDS`] a JSON object `body` (already read as a
/// [`PlanBody`]) leaves out, each as a field error.
fn missing_fields(body: &[u8]) -> FieldErrors {
    let sent: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).unwrap_or_default();
    PUT_FIELDS
        .into_iter()
        .filter(|f| !sent.contains_key(*f))
        .map(|f| (f, put_missing(f)))
        .collect()
}

/// Changes to a plan: only the fields sent change, each as in a `PUT` (a limit
/// `null`: unlimited). `name` and the options may not be `null` (422 naming them).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanPatch {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, min_length = 1)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable_integral")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub monthly_query_quota: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable_integral")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 2147483647)]
    pub max_users: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable_integral")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub max_instances: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable_integral")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub storage_limit_gb: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable_integral")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub memory_limit_gb: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = bool)]
    pub custom_branding: Option<Option<bool>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = bool)]
    pub custom_domain: Option<Option<bool>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = bool)]
    pub sub_tenants: Option<Option<bool>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = bool)]
    pub api_access: Option<Option<bool>>,
}

impl PlanPatch {
    /// The plan `before` with the fields sent changed, as the service's input: the
    /// same checks as a `PUT` of the whole plan, and a `null` name or option a
    /// field error.
    pub fn apply(&self, before: &Plan) -> Result<PlanInput, FieldErrors> {
        let mut nulls = FieldErrors::new();
        let mut kept = |field: &'static str, sent: Option<Option<bool>>, was: bool| match sent {
            Some(None) => {
                nulls.insert(field, NOT_NULL.into());
                was
            }
            Some(Some(v)) => v,
            None => was,
        };
        let body = PlanBody {
            custom_branding: kept(
                "custom_branding",
                self.custom_branding,
                before.custom_branding,
            ),
            custom_domain: kept("custom_domain", self.custom_domain, before.custom_domain),
            sub_tenants: kept("sub_tenants", self.sub_tenants, before.sub_tenants),
            api_access: kept("api_access", self.api_access, before.api_access),
            name: match &self.name {
                Some(Some(name)) => name.clone(),
                Some(None) => {
                    nulls.insert("name", NOT_NULL.into());
                    before.name.clone()
                }
                None => before.name.clone(),
            },
            monthly_query_quota: self
                .monthly_query_quota
                .unwrap_or(before.monthly_query_quota),
            max_users: self.max_users.unwrap_or(before.max_users.map(i64::from)),
            max_instances: self.max_instances.unwrap_or(before.max_instances),
            storage_limit_gb: self.storage_limit_gb.unwrap_or(before.storage_limit_gb),
            memory_limit_gb: self.memory_limit_gb.unwrap_or(before.memory_limit_gb),
        };
        with_errors(body.to_input(), nulls)
    }
}

/// `input`, unless `more` holds field errors: then all of them, `input`'s too.
fn with_errors(
    input: Result<PlanInput, FieldErrors>,
    more: FieldErrors,
) -> Result<PlanInput, FieldErrors> {
    match input {
        Ok(input) if more.is_empty() => Ok(input),
        Ok(_) => Err(more),
        Err(mut errors) => {
            errors.extend(more);
            Err(errors)
        }
    }
}

/// One page of plans.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PlanPage {
    pub items: Vec<PlanJson>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The plan an `{id}` path names, as `user` may see it: an id that is no number
/// names nothing (404, or 405 for another resource's path), and so does any id for
/// a caller who does not manage plans.
async fn path_plan(
    req: &HttpRequest,
    user: &ApiUser,
    state: &AppState,
    raw: &str,
) -> Result<(crate::db::DbConn, Plan), actix_web::Error> {
    authz::require_plans(user)?;
    let id = item_id(req, raw)?;
    let mut conn = state.pool.get().await.map_err(AppError::from)?;
    let plan = service::find(&mut conn, user, id).await?;
    Ok((conn, plan))
}

/// List the plans, by id.
#[utoipa::path(get, path = "/api/v1/plans", tag = "plans",
    params(PageParams),
    responses((status = 200, description = "One page of plans", body = PlanPage),
        (status = 400, description = "A parameter cannot be read"),
        (status = 404, description = "Not a root Owner or Administrator")),
    security(("bearer" = [])))]
pub async fn list(
    user: ApiUser,
    state: web::Data<AppState>,
    params: Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    authz::require_plans(&user)?;
    let limit = page_limit(params.limit)?;
    let after = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut conn = state.pool.get().await?;
    let mut rows = Plan::page(&mut conn, after, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|p| encode_cursor(p.id)))
        .flatten();
    let items = rows.into_iter().map(PlanJson::from).collect();
    Ok(json(StatusCode::OK, &PlanPage { items, next_cursor }))
}

/// Create a plan. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/plans", tag = "plans",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, 1–255 visible ASCII characters")),
    request_body(content = PlanBody, content_type = "application/json"),
    responses((status = 201, description = "Created", body = PlanJson),
        (status = 400, description = "The body cannot be read"),
        (status = 404, description = "Not a root Owner or Administrator"),
        (status = 422, description = "Invalid fields: name (empty, too long, taken), limits")),
    security(("bearer" = [])))]
pub async fn create(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    authz::require_plans(&user)?;
    let data: PlanBody = parse_json(&req, &body)?;
    let actor = user.actor(&req);
    let now = state.clock.now();
    idempotency::run(&state, &req, &user, &body, async |conn| {
        let plan = service::create(conn, &user, &actor, data.to_input(), now).await?;
        let id = plan.id;
        let mut answer = Answer::json(StatusCode::CREATED, &PlanJson::from(plan))?;
        answer.location = Some(format!("/api/v1/plans/{id}"));
        Ok(answer)
    })
    .await
}

/// Read a plan.
#[utoipa::path(get, path = "/api/v1/plans/{id}", tag = "plans",
    params(("id" = i64, Path, description = "Plan id")),
    responses((status = 200, description = "The plan", body = PlanJson),
        (status = 404, description = "No such plan, or not a root Owner or Administrator")),
    security(("bearer" = [])))]
pub async fn show(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, actix_web::Error> {
    let (_, plan) = path_plan(&req, &user, &state, &path).await?;
    Ok(json(StatusCode::OK, &PlanJson::from(plan)))
}

/// Replace a plan: every field, each named (a limit `null` for unlimited); a field
/// left out is a 422 naming it (`PATCH` changes only the fields sent).
#[utoipa::path(put, path = "/api/v1/plans/{id}", tag = "plans",
    params(("id" = i64, Path, description = "Plan id")),
    request_body(content = PlanBody, content_type = "application/json"),
    responses((status = 200, description = "The saved plan, with `warnings` (limits below what its tenants use, options its tenants lose)", body = SavedPlanJson),
        (status = 400, description = "The body cannot be read"),
        (status = 404, description = "No such plan, or not a root Owner or Administrator"),
        (status = 409, description = "Busy: try again"),
        (status = 422, description = "Invalid or missing fields: name, limits (also a limit below the own limit of a tenant on the plan), any field left out")),
    security(("bearer" = [])))]
pub async fn replace(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    let (mut conn, plan) = path_plan(&req, &user, &state, &path).await?;
    let data: PlanBody = parse_json(&req, &body)?;
    let input = with_errors(data.to_input(), missing_fields(&body));
    saved(&req, &user, &state, &mut conn, plan.id, |_| input).await
}

/// Change some of a plan's fields: those sent, each as in a `PUT` (a limit `null`
/// for unlimited); the others stay. The same checks and warnings as a `PUT`, and
/// one audit event naming the fields that changed.
#[utoipa::path(patch, path = "/api/v1/plans/{id}", tag = "plans",
    params(("id" = i64, Path, description = "Plan id")),
    request_body(content = PlanPatch, content_type = "application/json"),
    responses((status = 200, description = "The saved plan, with `warnings` (limits below what its tenants use, options its tenants lose)", body = SavedPlanJson),
        (status = 400, description = "The body cannot be read"),
        (status = 404, description = "No such plan, or not a root Owner or Administrator"),
        (status = 409, description = "Busy: try again"),
        (status = 422, description = "Invalid fields: name, limits (also a limit below the own limit of a tenant on the plan), `null` for the name or an option")),
    security(("bearer" = [])))]
pub async fn patch(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    let (mut conn, plan) = path_plan(&req, &user, &state, &path).await?;
    let data: PlanPatch = parse_json(&req, &body)?;
    saved(&req, &user, &state, &mut conn, plan.id, |before| {
        data.apply(before)
    })
    .await
}

/// Saves plan `id` with what `input` makes of it (`services::plans::update`):
/// the saved plan and its warnings.
async fn saved(
    req: &HttpRequest,
    user: &ApiUser,
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    id: i64,
    input: impl FnOnce(&Plan) -> Result<PlanInput, FieldErrors> + Send,
) -> Result<HttpResponse, actix_web::Error> {
    let saved = service::update(conn, user, &user.actor(req), id, input, state.clock.now()).await?;
    let answer = SavedPlanJson {
        plan: PlanJson::from(saved.value),
        warnings: saved.warnings,
    };
    Ok(json(StatusCode::OK, &answer))
}

/// Delete a plan no tenant is on.
#[utoipa::path(delete, path = "/api/v1/plans/{id}", tag = "plans",
    params(("id" = i64, Path, description = "Plan id")),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "No such plan, or not a root Owner or Administrator"),
        (status = 409, description = "Tenants are on the plan (the problem says how many)")),
    security(("bearer" = [])))]
pub async fn delete(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, actix_web::Error> {
    let (mut conn, plan) = path_plan(&req, &user, &state, &path).await?;
    service::delete(&mut conn, &user, &user.actor(&req), plan.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_takes_integral_numbers_and_names_every_bad_field() {
        let body: PlanBody = serde_json::from_str(
            r#"{"name": "Basic", "storage_limit_gb": 500.0, "api_access": true}"#,
        )
        .unwrap();
        let input = body.to_input().unwrap();
        assert_eq!(input.limits.storage_limit_gb, Some(500));
        assert!(input.options.api_access);
        let body: PlanBody =
            serde_json::from_str(r#"{"name": " ", "max_users": 4294967296, "max_instances": -1}"#)
                .unwrap();
        let errors = body.to_input().unwrap_err();
        assert_eq!(
            errors.keys().copied().collect::<Vec<_>>(),
            ["max_instances", "max_users", "name"]
        );
        assert!(serde_json::from_str::<PlanBody>(r#"{"name": "A", "extra": 1}"#).is_err());
    }
}
