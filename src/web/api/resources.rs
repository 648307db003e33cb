//! `/api/v1/tenants/{id}/clouds` and `/instances` (issue #14): the same
//! `services::clouds` and `services::instances` as the pages. Resources read to
//! read, Resources full to write, 404 for a tenant (or cloud, or instance) the
//! caller may not see; a cloud shared with the tenant is read-only (403 naming its
//! owner). Lists page by `limit`/`cursor` into `{"items", "next_cursor"}`.

use super::owned::{
    changed, changed_found, created, draft_refusing_nulls, is_null, item_id, listed_sorted,
    nullable_id, sent, shown, sorted_params, Sorting,
};
use super::tenants::{integral_i64, integral_opt_i64, nullable, path_tenant, query_limit};
use super::{json, parse_json};
use crate::auth::ApiUser;
use crate::db::models::cloud::SeenCloud;
use crate::db::models::instance::{Instance, InstanceFilter};
use crate::domain::resources::{size, CloudProvider, CloudVisibility, InstanceStatus};
use crate::domain::sorting::{CloudSort, InstanceSort};
use crate::domain::{Feature, Level, SearchText, TenantName};
use crate::error::{AppError, FieldErrors};
use crate::services::clouds::{self, CloudInput, CloudView};
use crate::services::draft::Draft;
use crate::services::instances::{self, InstanceFieldsSent, InstanceInput};
use crate::web::extract::Query;
use crate::web::form::bad_param;
use crate::web::owned::Resources;
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/api/v1/tenants/{id}/clouds" => list_clouds),
        route!(POST "/api/v1/tenants/{id}/clouds" => create_cloud),
        route!(GET "/api/v1/tenants/{id}/clouds/{rid}" => show_cloud),
        route!(PATCH "/api/v1/tenants/{id}/clouds/{rid}" => update_cloud),
        route!(DELETE "/api/v1/tenants/{id}/clouds/{rid}" => delete_cloud),
        route!(GET "/api/v1/tenants/{id}/instances" => list_instances),
        route!(POST "/api/v1/tenants/{id}/instances" => create_instance),
        route!(GET "/api/v1/tenants/{id}/instances/{rid}" => show_instance),
        route!(PATCH "/api/v1/tenants/{id}/instances/{rid}" => update_instance),
        route!(DELETE "/api/v1/tenants/{id}/instances/{rid}" => delete_instance),
        route!(GET "/api/v1/tenants/{id}/usage" => show_usage),
    ]
}

// ---------------------------------------------------------------- DTOs

/// A cloud as the tenant of the path sees it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Cloud)]
pub struct CloudJson {
    pub id: i64,
    /// The tenant that owns it (the path's tenant, or an ancestor that shares it).
    pub tenant_id: i64,
    pub name: String,
    pub provider: CloudProvider,
    pub visibility: CloudVisibility,
    /// Shared with the path's tenant from above: read-only here.
    pub shared: bool,
    /// The owner's name when shared ("shared by").
    pub shared_by: Option<String>,
    /// The tenants an assigned cloud is shared with that the caller sees (its
    /// owner's view only: `null` on a cloud shared with the path's tenant, whose
    /// other receivers it is not told; empty for a private or public cloud).
    pub assigned_tenant_ids: Option<Vec<i64>>,
    /// How many more tenants an assigned cloud is shared with that the caller does
    /// not see (not listed in `assigned_tenant_ids`), so that a cloud assigned only
    /// to such tenants never reads as assigned to nobody (its owner's view only:
    /// `null` where `assigned_tenant_ids` is; 0 for a private or public cloud).
    pub assigned_hidden_count: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CloudJson {
    fn new(seen: SeenCloud, tenant_id: i64, assigned: clouds::Assignees) -> Self {
        let shared = seen.cloud.tenant_id != tenant_id;
        let ids = assigned.seen.iter().map(|(id, _)| *id).collect();
        CloudJson {
            id: seen.cloud.id,
            tenant_id: seen.cloud.tenant_id,
            name: seen.cloud.name,
            provider: seen.cloud.provider,
            visibility: seen.cloud.visibility,
            shared,
            shared_by: shared.then_some(seen.owner_name),
            assigned_tenant_ids: (!shared).then_some(ids),
            assigned_hidden_count: (!shared).then_some(assigned.hidden),
            created_at: seen.cloud.created_at,
            updated_at: seen.cloud.updated_at,
        }
    }

    fn of(view: CloudView, tenant_id: i64) -> Self {
        let assigned = clouds::Assignees {
            seen: view.assigned,
            hidden: view.assigned_hidden,
        };
        Self::new(view.seen, tenant_id, assigned)
    }
}

/// A new cloud. `name`: 1–100 characters once trimmed, no control characters,
/// unique in the tenant (any case). `visibility` `public` or `assigned` only for the
/// root and tenants that may have sub-tenants (else 422); `assigned_tenant_ids` only
/// for `assigned`: tenants below this one that the caller sees (else 422).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloudBody {
    pub name: String,
    pub provider: CloudProvider,
    /// `private` by default.
    #[serde(default)]
    pub visibility: Option<CloudVisibility>,
    #[serde(default, deserialize_with = "super::tenants::integral_vec")]
    #[schema(max_items = 1000)]
    pub assigned_tenant_ids: Vec<i64>,
}

/// Changes to a cloud: only the fields sent change (`assigned_tenant_ids` sent
/// replaces the list). The same constraints as [`CloudBody`]; a field sent as
/// `null` is a field error (leave it out to keep it).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloudPatch {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = CloudProvider)]
    pub provider: Option<Option<CloudProvider>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = CloudVisibility)]
    pub visibility: Option<Option<CloudVisibility>>,
    #[serde(default, deserialize_with = "super::owned::nullable_ids")]
    #[schema(value_type = Vec<i64>, max_items = 1000)]
    pub assigned_tenant_ids: Option<Option<Vec<i64>>>,
}

/// The service's input, with a stand-in name when it cannot be taken (its error
/// reported with the service's own checks: `services::draft`).
fn cloud_input(
    name: &str,
    provider: CloudProvider,
    visibility: CloudVisibility,
    assigned_tenant_ids: Vec<i64>,
) -> Draft<CloudInput> {
    let mut errors = FieldErrors::new();
    let name = TenantName::parse(name).unwrap_or_else(|e| {
        errors.insert("name", e);
        TenantName::stand_in()
    });
    let input = CloudInput {
        name,
        provider,
        visibility,
        assigned_tenant_ids,
    };
    Draft::new(input, errors)
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CloudPage {
    pub items: Vec<CloudJson>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Instance)]
pub struct InstanceJson {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    /// `null` only for instances from before clouds existed.
    pub cloud_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub storage_gb: i32,
    pub memory_gb: i32,
    pub status: InstanceStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Instance> for InstanceJson {
    fn from(i: Instance) -> Self {
        InstanceJson {
            id: i.id,
            tenant_id: i.tenant_id,
            name: i.name,
            cloud_id: i.cloud_id,
            owner_id: i.owner_id,
            storage_gb: i.storage_gb,
            memory_gb: i.memory_gb,
            status: i.status,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

/// A new instance. `name`: 1–100 characters once trimmed, no control characters;
/// `cloud_id`: a cloud the tenant sees, its own or shared with it (else 422
/// "unknown cloud"); `owner_id`: a user homed in the tenant (else 422);
/// `storage_gb`, `memory_gb`: 0 to 1,000,000,000 (negative: 422). Refused with 422
/// when it would exceed a storage, memory or instance limit of the tenant, of a
/// tenant above it, or of its owner (the message names the limit and its use).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstanceBody {
    pub name: String,
    #[serde(deserialize_with = "integral_i64")]
    pub cloud_id: i64,
    #[serde(default, deserialize_with = "integral_opt_i64")]
    pub owner_id: Option<i64>,
    #[serde(deserialize_with = "integral_i64")]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub storage_gb: i64,
    #[serde(deserialize_with = "integral_i64")]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub memory_gb: i64,
    /// `running` by default.
    #[serde(default)]
    pub status: Option<InstanceStatus>,
}

/// Changes to an instance: only the fields sent change; `owner_id: null` removes
/// the owner, any other field sent as `null` is a field error (leave it out to keep
/// it). The same constraints and limits as [`InstanceBody`].
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstancePatch {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable_id")]
    #[schema(value_type = i64)]
    pub cloud_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable_id")]
    #[schema(value_type = Option<i64>)]
    pub owner_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable_id")]
    #[schema(value_type = i64, minimum = 0, maximum = 1_000_000_000)]
    pub storage_gb: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable_id")]
    #[schema(value_type = i64, minimum = 0, maximum = 1_000_000_000)]
    pub memory_gb: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = InstanceStatus)]
    pub status: Option<Option<InstanceStatus>>,
}

/// The service's input from the fields, each checked, with a stand-in for each
/// field that cannot be taken (`services::draft`: the service's own checks — the
/// cloud, the owner — are reported with these errors, all at once; no cloud: only
/// an instance from before clouds existed has none).
fn instance_input(
    name: &str,
    cloud_id: Option<i64>,
    owner_id: Option<i64>,
    storage_gb: i64,
    memory_gb: i64,
    status: InstanceStatus,
) -> Draft<InstanceInput> {
    InstanceInput::draft(InstanceFieldsSent {
        name: TenantName::parse(name),
        cloud_id: cloud_id.ok_or_else(|| instances::UNKNOWN_CLOUD.to_string()),
        owner_id: Ok(owner_id),
        storage_gb: size(storage_gb),
        memory_gb: size(memory_gb),
        status: Ok(status),
    })
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct InstancePage {
    pub items: Vec<InstanceJson>,
    pub next_cursor: Option<String>,
}

sorted_params!(
    /// Paging and order of the clouds list.
    CloudParams,
    CloudSort
);

/// Filters, paging and order of the instances list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InstanceParams {
    /// `next_cursor` of the previous page, read in the same order (`sort` and
    /// `dir`) and with the same filters.
    #[param(max_length = 1000)]
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, deserialize_with = "query_limit")]
    pub limit: Option<i64>,
    /// The column to sort by; left out, by id. Rows with the same value follow by
    /// id.
    #[param(value_type = Option<InstanceSort>)]
    pub sort: Option<String>,
    /// `asc` (the default) or `desc`, for the column and the ids alike.
    #[param(value_type = Option<crate::domain::sorting::SortDir>)]
    pub dir: Option<String>,
    pub status: Option<InstanceStatus>,
    pub cloud_id: Option<i64>,
    pub owner_id: Option<i64>,
    /// Part of the name, any case; at most 100 characters, no control characters.
    #[param(max_length = 100, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub q: Option<String>,
}

// ---------------------------------------------------------------- clouds

/// List the clouds the tenant sees: its own, its ancestors' public ones (the root's
/// only if its tenant role allows them) and those assigned to it; by id, or sorted
/// by a column (`sort`, `dir`).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/clouds", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), CloudParams),
    responses((status = 200, description = "One page of clouds", body = CloudPage),
        (status = 400, description = "A parameter cannot be read"),
        (status = 403, description = "No Resources read here"),
        (status = 404, description = "No such tenant, or not visible")),
    security(("bearer" = [])))]
pub async fn list_clouds(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<CloudParams>,
) -> Result<HttpResponse, actix_web::Error> {
    let (items, next_cursor) = listed_sorted::<Resources, CloudSort, _>(
        &req,
        &user,
        &state,
        &path,
        params.sorting(),
        async |conn, tenant, order, after, limit| {
            let rows = clouds::list(conn, &user, tenant, order, after, limit).await?;
            // The owner's view lists where its assigned clouds are shared, as one cloud's does.
            let mut assigned = clouds::assigned_of(conn, &user, tenant, &rows).await?;
            Ok(rows
                .into_iter()
                .map(|seen| {
                    let assignees = assigned.remove(&seen.cloud.id).unwrap_or_default();
                    let after = seen.after(order.key);
                    (after, CloudJson::new(seen, tenant.id, assignees))
                })
                .collect())
        },
    )
    .await?;
    Ok(json(StatusCode::OK, &CloudPage { items, next_cursor }))
}

/// Create a cloud of the tenant. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/clouds", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, 1–255 visible ASCII characters")),
    request_body(content = CloudBody, content_type = "application/json"),
    responses((status = 201, description = "Created", body = CloudJson),
        (status = 400, description = "The body cannot be read"),
        (status = 403, description = "No Resources full here"),
        (status = 404, description = "No such tenant, or not visible"),
        (status = 422, description = "Invalid fields: name, sharing, assigned tenants")),
    security(("bearer" = [])))]
pub async fn create_cloud(
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
        "clouds",
        async |conn, c, data: CloudBody| {
            let input = cloud_input(
                &data.name,
                data.provider,
                data.visibility.unwrap_or(CloudVisibility::Private),
                data.assigned_tenant_ids,
            );
            let cloud = clouds::create(conn, c.p, c.actor, c.tenant, input).await?;
            let view = clouds::read(conn, c.p, c.tenant, cloud.id).await?;
            Ok((CloudJson::of(view, c.tenant.id), cloud.id))
        },
    )
    .await
}

/// Read one cloud the tenant sees (its own or shared with it).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/clouds/{rid}", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), ("rid" = i64, Path, description = "Cloud id")),
    responses((status = 200, description = "The cloud", body = CloudJson),
        (status = 403, description = "No Resources read here"),
        (status = 404, description = "No such cloud here, or not visible")),
    security(("bearer" = [])))]
pub async fn show_cloud(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, actix_web::Error> {
    let (mut conn, tenant) = path_tenant(&req, &user, &state, &path.0).await?;
    let id = item_id(&req, &path.1)?;
    let view = clouds::read(&mut conn, &user, &tenant, id).await?;
    Ok(json(StatusCode::OK, &CloudJson::of(view, tenant.id)))
}

/// Change a cloud of the tenant. A cloud shared with it is read-only: 403.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}/clouds/{rid}", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), ("rid" = i64, Path, description = "Cloud id")),
    request_body(content = CloudPatch, content_type = "application/json"),
    responses((status = 200, description = "The changed cloud", body = CloudJson),
        (status = 400, description = "The body cannot be read"),
        (status = 403, description = "No Resources full here, or the cloud is shared with this tenant (read-only)"),
        (status = 404, description = "No such cloud here, or not visible"),
        (status = 422, description = "Invalid fields: name, sharing, assigned tenants")),
    security(("bearer" = [])))]
pub async fn update_cloud(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    changed(&req, &user, &state, &path, async |conn, c, id| {
        let old = clouds::require_changeable(conn, c.p, c.tenant, id).await?;
        let data: CloudPatch = parse_json(&req, &body)?;
        let view = clouds::read(conn, c.p, c.tenant, id).await?;
        let visibility = sent(&data.visibility)
            .copied()
            .unwrap_or(old.cloud.visibility);
        let assigned = match sent(&data.assigned_tenant_ids) {
            Some(ids) => ids.clone(),
            None if visibility == CloudVisibility::Assigned => {
                view.assigned.iter().map(|(id, _)| *id).collect()
            }
            None => Vec::new(),
        };
        let input = draft_refusing_nulls(
            cloud_input(
                sent(&data.name).unwrap_or(&old.cloud.name),
                sent(&data.provider).copied().unwrap_or(old.cloud.provider),
                visibility,
                assigned,
            ),
            &[
                ("name", is_null(&data.name)),
                ("provider", is_null(&data.provider)),
                ("visibility", is_null(&data.visibility)),
                ("assigned_tenant_ids", is_null(&data.assigned_tenant_ids)),
            ],
        );
        clouds::update(conn, c.p, c.actor, c.tenant, id, input).await?;
        let view = clouds::read(conn, c.p, c.tenant, id).await?;
        Ok(json(StatusCode::OK, &CloudJson::of(view, c.tenant.id)))
    })
    .await
}

/// Delete a cloud of the tenant that no instance runs on (else 409). A cloud shared
/// with it: 403.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/clouds/{rid}", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), ("rid" = i64, Path, description = "Cloud id")),
    responses((status = 204, description = "Deleted"),
        (status = 403, description = "No Resources full here, or the cloud is shared with this tenant (read-only)"),
        (status = 404, description = "No such cloud here, or not visible"),
        (status = 409, description = "Instances run on it")),
    security(("bearer" = [])))]
pub async fn delete_cloud(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, actix_web::Error> {
    changed(&req, &user, &state, &path, async |conn, c, id| {
        clouds::delete(conn, c.p, c.actor, c.tenant, id).await?;
        Ok(HttpResponse::NoContent().finish())
    })
    .await
}

// ---------------------------------------------------------------- instances

/// List the tenant's instances, filtered by status, cloud, owner and name: by id,
/// or sorted by a column (`sort`, `dir`).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/instances", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), InstanceParams),
    responses((status = 200, description = "One page of instances", body = InstancePage),
        (status = 400, description = "A parameter cannot be read"),
        (status = 403, description = "No Resources read here"),
        (status = 404, description = "No such tenant, or not visible")),
    security(("bearer" = [])))]
pub async fn list_instances(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<InstanceParams>,
) -> Result<HttpResponse, actix_web::Error> {
    let sorting = Sorting {
        cursor: params.cursor.as_deref(),
        limit: params.limit,
        sort: params.sort.as_deref(),
        dir: params.dir.as_deref(),
    };
    let (items, next_cursor) = listed_sorted::<Resources, InstanceSort, _>(
        &req,
        &user,
        &state,
        &path,
        sorting,
        async |conn, tenant, order, after, limit| {
            let q = match params.q.as_deref() {
                Some(raw) => SearchText::parse(raw)
                    .map_err(|e| bad_param("q", &e.expects()))?
                    .as_str()
                    .to_string(),
                None => String::new(),
            };
            let filter = InstanceFilter {
                status: params.status,
                cloud_id: params.cloud_id,
                owner_id: params.owner_id,
                q: Some(q).filter(|q| !q.is_empty()),
            };
            let rows = Instance::list(conn, tenant.id, &filter, order, after, 0, limit).await?;
            Ok(rows
                .into_iter()
                .map(|r| (r.instance.after(order.key), r.instance.into()))
                .collect())
        },
    )
    .await?;
    Ok(json(StatusCode::OK, &InstancePage { items, next_cursor }))
}

/// Create an instance in the tenant, within every limit. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/instances", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, 1–255 visible ASCII characters")),
    request_body(content = InstanceBody, content_type = "application/json"),
    responses((status = 201, description = "Created", body = InstanceJson),
        (status = 400, description = "The body cannot be read"),
        (status = 403, description = "No Resources full here"),
        (status = 404, description = "No such tenant, or not visible"),
        (status = 409, description = "Another change holds the same rows: try again"),
        (status = 422, description = "Invalid fields: name, unknown cloud, owner not of this tenant, negative size, a limit exceeded")),
    security(("bearer" = [])))]
pub async fn create_instance(
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
        "instances",
        async |conn, c, data: InstanceBody| {
            let input = instance_input(
                &data.name,
                Some(data.cloud_id),
                data.owner_id,
                data.storage_gb,
                data.memory_gb,
                data.status.unwrap_or(InstanceStatus::Running),
            );
            let instance = instances::create(conn, c.p, c.actor, c.tenant, input).await?;
            let id = instance.id;
            Ok((InstanceJson::from(instance), id))
        },
    )
    .await
}

/// Read one instance of the tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/instances/{rid}", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), ("rid" = i64, Path, description = "Instance id")),
    responses((status = 200, description = "The instance", body = InstanceJson),
        (status = 403, description = "No Resources read here"),
        (status = 404, description = "No such instance here, or not visible")),
    security(("bearer" = [])))]
pub async fn show_instance(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, actix_web::Error> {
    shown::<Resources, _, InstanceJson>(&req, &user, &state, &path, Instance::find).await
}

/// Change an instance of the tenant; growing it is checked against every limit.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}/instances/{rid}", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), ("rid" = i64, Path, description = "Instance id")),
    request_body(content = InstancePatch, content_type = "application/json"),
    responses((status = 200, description = "The changed instance", body = InstanceJson),
        (status = 400, description = "The body cannot be read"),
        (status = 403, description = "No Resources full here"),
        (status = 404, description = "No such instance here, or not visible"),
        (status = 409, description = "Another change holds the same rows: try again"),
        (status = 422, description = "Invalid fields: name, unknown cloud, owner not of this tenant, negative size, a limit exceeded")),
    security(("bearer" = [])))]
pub async fn update_instance(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    changed_found::<Resources, _>(
        &req,
        &user,
        &state,
        &path,
        Instance::find,
        async |conn, c, old| {
            let data: InstancePatch = parse_json(&req, &body)?;
            let nulls = [
                ("name", is_null(&data.name)),
                ("cloud_id", is_null(&data.cloud_id)),
                ("storage_gb", is_null(&data.storage_gb)),
                ("memory_gb", is_null(&data.memory_gb)),
                ("status", is_null(&data.status)),
            ];
            let input = draft_refusing_nulls(
                instance_input(
                    sent(&data.name).unwrap_or(&old.name),
                    sent(&data.cloud_id).copied().or(old.cloud_id),
                    data.owner_id.unwrap_or(old.owner_id),
                    sent(&data.storage_gb)
                        .copied()
                        .unwrap_or(old.storage_gb.into()),
                    sent(&data.memory_gb)
                        .copied()
                        .unwrap_or(old.memory_gb.into()),
                    sent(&data.status).copied().unwrap_or(old.status),
                ),
                &nulls,
            );
            let instance = instances::update(conn, c.p, c.actor, c.tenant, old.id, input).await?;
            Ok(json(StatusCode::OK, &InstanceJson::from(instance)))
        },
    )
    .await
}

/// Delete an instance of the tenant.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/instances/{rid}", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), ("rid" = i64, Path, description = "Instance id")),
    responses((status = 204, description = "Deleted"),
        (status = 403, description = "No Resources full here"),
        (status = 404, description = "No such instance here, or not visible")),
    security(("bearer" = [])))]
pub async fn delete_instance(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, actix_web::Error> {
    changed(&req, &user, &state, &path, async |conn, c, id| {
        instances::delete(conn, c.p, c.actor, c.tenant, id).await?;
        Ok(HttpResponse::NoContent().finish())
    })
    .await
}

// ---------------------------------------------------------------- usage

/// Where a measure's binding limit comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LimitSource {
    /// The tenant's own limit.
    Own,
    /// The plan the tenant is on or follows (lower than its own, or its own unset).
    Plan,
    /// A tenant above, whose limit covers its whole subtree and leaves less room.
    Ancestor,
}

/// One measure of a tenant's use against the limit that binds it first (the
/// tenant page's usage bar).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = UsageMeasure)]
pub struct UsageMeasureJson {
    /// What the tenant and its whole subtree use (GB, or a count).
    pub used: i64,
    /// The limit that binds first: the tenant's effective one (its own or its
    /// plan's, the lower), or an ancestor's when that leaves less room; `null`:
    /// unlimited.
    pub limit: Option<i64>,
    /// Where `limit` comes from; `null` without a limit.
    pub source: Option<LimitSource>,
    /// The ancestor whose limit binds (`source` `ancestor`), when the caller sees
    /// it; `null` otherwise.
    pub tenant_id: Option<i64>,
    /// The plan the limit is set by, when it is a plan's (the tenant's, or the
    /// ancestor's); `null` otherwise.
    pub plan: Option<String>,
    /// The use `limit` counts: `used`, or the ancestor's whole subtree's.
    pub limit_used: i64,
    /// How much more fits under `limit` (0 when at or over it); `null`: unlimited.
    pub room: Option<i64>,
}

impl UsageMeasureJson {
    fn of(bar: &crate::domain::resources::UsageBar) -> Self {
        use crate::domain::resources::LimitOrigin;
        let plan = |o: &Option<LimitOrigin>| match o {
            Some(LimitOrigin::Plan(name)) => Some(name.clone()),
            _ => None,
        };
        let (limit, limit_used, source, tenant_id, plan) = match &bar.above {
            Some(a) => (
                Some(a.limit),
                a.used,
                Some(LimitSource::Ancestor),
                a.tenant_id,
                plan(&a.origin),
            ),
            None => (
                bar.limit,
                bar.used,
                bar.origin.as_ref().map(|o| match o {
                    LimitOrigin::Own => LimitSource::Own,
                    LimitOrigin::Plan(_) => LimitSource::Plan,
                }),
                None,
                plan(&bar.origin),
            ),
        };
        UsageMeasureJson {
            used: bar.used,
            limit,
            source,
            tenant_id,
            plan,
            limit_used,
            room: limit.map(|l| (l - limit_used).max(0)),
        }
    }
}

/// A tenant's use and limits, per measure.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = TenantUsage)]
pub struct TenantUsageJson {
    pub tenant_id: i64,
    pub storage_gb: UsageMeasureJson,
    pub memory_gb: UsageMeasureJson,
    pub instances: UsageMeasureJson,
    pub users: UsageMeasureJson,
}

/// Read what a tenant and its subtree use of storage, memory, instances and users,
/// each against the limit that binds it first (its own, its plan's, or an
/// ancestor's on its whole subtree): the tenant page's usage bars.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/usage", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id")),
    responses((status = 200, description = "The tenant's use and limits", body = TenantUsageJson),
        (status = 403, description = "No Resources read here"),
        (status = 404, description = "No such tenant, or not visible")),
    security(("bearer" = [])))]
pub async fn show_usage(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, actix_web::Error> {
    use crate::domain::resources::Measure;
    let (mut conn, tenant) = path_tenant(&req, &user, &state, &path).await?;
    crate::auth::authz::require(&user, &tenant, Feature::Resources, Level::Read)?;
    let bars = instances::usage(&mut conn, &user, &tenant).await?;
    let of = |m: Measure| {
        bars.iter()
            .find(|b| b.measure == m)
            .map(UsageMeasureJson::of)
            .ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("no usage bar for {m:?}")))
    };
    Ok(json(
        StatusCode::OK,
        &TenantUsageJson {
            tenant_id: tenant.id,
            storage_gb: of(Measure::Storage)?,
            memory_gb: of(Measure::Memory)?,
            instances: of(Measure::Instances)?,
            users: of(Measure::Users)?,
        },
    ))
}
