//! `/api/v1/tenants/{id}/resolvers`, `/devices` and `/subnets`: a tenant's DNS
//! configuration. The handlers call the same `services::network` functions as the
//! pages: Resources read to read, Resources full to write, 404 for a tenant the
//! caller may not see and for another tenant's item.

use super::owned::{
    changed_found, created, draft_refusing_nulls, is_null, listed_sorted, nullable_id, sent, shown,
    sorted_params,
};
use super::tenants::{integral_i64, integral_opt_i64, nullable};
use super::{json, parse_json};
use crate::auth::ApiUser;
use crate::db::models::network::{Device, Resolver, Subnet};
use crate::domain::sorting::{DeviceSort, ResolverSort, SubnetSort};
use crate::services::network::{
    self as service, DeviceInput, PolicyPick, ResolverInput, SubnetInput,
};
use crate::web::extract::Query;
use crate::web::owned::Resources;
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/api/v1/tenants/{id}/resolvers" => list_resolvers),
        route!(POST "/api/v1/tenants/{id}/resolvers" => create_resolver),
        route!(GET "/api/v1/tenants/{id}/resolvers/{rid}" => show_resolver),
        route!(PATCH "/api/v1/tenants/{id}/resolvers/{rid}" => update_resolver),
        route!(DELETE "/api/v1/tenants/{id}/resolvers/{rid}" => delete_resolver),
        route!(GET "/api/v1/tenants/{id}/devices" => list_devices),
        route!(POST "/api/v1/tenants/{id}/devices" => create_device),
        route!(GET "/api/v1/tenants/{id}/devices/{did}" => show_device),
        route!(PATCH "/api/v1/tenants/{id}/devices/{did}" => update_device),
        route!(DELETE "/api/v1/tenants/{id}/devices/{did}" => delete_device),
        route!(GET "/api/v1/tenants/{id}/subnets" => list_subnets),
        route!(POST "/api/v1/tenants/{id}/subnets" => create_subnet),
        route!(GET "/api/v1/tenants/{id}/subnets/{sid}" => show_subnet),
        route!(PATCH "/api/v1/tenants/{id}/subnets/{sid}" => update_subnet),
        route!(DELETE "/api/v1/tenants/{id}/subnets/{sid}" => delete_subnet),
    ]
}

// ---------------------------------------------------------------- DTOs

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Resolver)]
pub struct ResolverJson {
    pub id: i64,
    /// The tenant it belongs to.
    pub tenant_id: i64,
    pub name: String,
    /// An IPv4 or IPv6 address.
    pub address: String,
    /// The policy it uses: one its tenant sees (`/api/v1/tenants/{id}/policies`);
    /// `null`: it follows its tenant's effective policy.
    pub policy_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Resolver> for ResolverJson {
    fn from(r: Resolver) -> Self {
        ResolverJson {
            id: r.id,
            tenant_id: r.tenant_id,
            name: r.name,
            address: r.address.addr().to_string(),
            policy_id: r.policy_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A new resolver: a name (1–100 characters once trimmed, no control characters,
/// unique in the tenant in any case) and one IPv4 or IPv6 address (no prefix
/// length). `policy_id` (optional): a policy the tenant sees that no lock above
/// forbids (422 on `policy_id` otherwise); `null` or left out: it follows the
/// tenant's effective policy. Choosing one takes Policies read in the tenant, after
/// its tenant role's cap (else 403).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolverBody {
    pub name: String,
    pub address: String,
    #[serde(default, deserialize_with = "integral_opt_i64")]
    pub policy_id: Option<i64>,
}

/// Changes to a resolver: only the fields sent change; `policy_id: null` removes
/// the policy, any other field sent as `null` is a field error. Changing
/// `policy_id` takes Policies read in the tenant (else 403); left out or sent as it
/// is, it is kept.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolverPatch {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable_id")]
    #[schema(value_type = Option<i64>)]
    pub policy_id: Option<Option<i64>>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Device)]
pub struct DeviceJson {
    pub id: i64,
    /// The tenant it belongs to.
    pub tenant_id: i64,
    pub name: String,
    pub identifier: String,
    pub resolver_id: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Device> for DeviceJson {
    fn from(d: Device) -> Self {
        DeviceJson {
            id: d.id,
            tenant_id: d.tenant_id,
            name: d.name,
            identifier: d.identifier,
            resolver_id: d.resolver_id,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// A new device: a name, its identifier (1–100 characters without spaces or
/// control characters, unique in the tenant in any case) and one of the tenant's
/// resolvers (another tenant's or an unknown id: 422 "unknown resolver").
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceBody {
    pub name: String,
    pub identifier: String,
    #[serde(deserialize_with = "integral_i64")]
    pub resolver_id: i64,
}

/// Changes to a device: only the fields sent change; a field sent as `null` is a
/// field error (leave it out to keep it).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevicePatch {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub identifier: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable_id")]
    #[schema(value_type = i64)]
    pub resolver_id: Option<Option<i64>>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Subnet)]
pub struct SubnetJson {
    pub id: i64,
    /// The tenant it belongs to.
    pub tenant_id: i64,
    /// A network in CIDR notation (`10.0.0.0/24`, `2001:db8::/48`).
    pub cidr: String,
    pub resolver_id: i64,
    /// The policy it uses: one its tenant sees (`/api/v1/tenants/{id}/policies`);
    /// `null`: it follows its tenant's effective policy.
    pub policy_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Subnet> for SubnetJson {
    fn from(s: Subnet) -> Self {
        SubnetJson {
            id: s.id,
            tenant_id: s.tenant_id,
            cidr: s.cidr.to_string(),
            resolver_id: s.resolver_id,
            policy_id: s.policy_id,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A new subnet: an IPv4 or IPv6 network in CIDR notation without host bits
/// (`10.0.0.5/24` is refused, naming `10.0.0.0/24`), overlapping none of the
/// tenant's subnets (422 naming the one it overlaps), served by one of the
/// tenant's resolvers. `policy_id` (optional): a policy the tenant sees that no lock
/// above forbids (422 on `policy_id` otherwise); `null` or left out: it follows the
/// tenant's effective policy. Choosing one takes Policies read in the tenant, after
/// its tenant role's cap (else 403).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubnetBody {
    pub cidr: String,
    #[serde(deserialize_with = "integral_i64")]
    pub resolver_id: i64,
    #[serde(default, deserialize_with = "integral_opt_i64")]
    pub policy_id: Option<i64>,
}

/// Changes to a subnet: only the fields sent change; `policy_id: null` removes the
/// policy, any other field sent as `null` is a field error. Changing `policy_id`
/// takes Policies read in the tenant (else 403); left out or sent as it is, it is
/// kept.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubnetPatch {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub cidr: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable_id")]
    #[schema(value_type = i64)]
    pub resolver_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable_id")]
    #[schema(value_type = Option<i64>)]
    pub policy_id: Option<Option<i64>>,
}

sorted_params!(
    /// Paging and order of the resolvers list.
    ResolverParams,
    ResolverSort
);
sorted_params!(
    /// Paging and order of the devices list.
    DeviceParams,
    DeviceSort
);
sorted_params!(
    /// Paging and order of the subnets list.
    SubnetParams,
    SubnetSort
);

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ResolverPage {
    pub items: Vec<ResolverJson>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DevicePage {
    pub items: Vec<DeviceJson>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SubnetPage {
    pub items: Vec<SubnetJson>,
    pub next_cursor: Option<String>,
}

// ---------------------------------------------------------------- resolvers

/// List the tenant's resolvers: by id, or sorted by a column (`sort`, `dir`).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/resolvers", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), ResolverParams),
    responses((status = 200, description = "One page of resolvers", body = ResolverPage)),
    security(("bearer" = [])))]
pub async fn list_resolvers(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<ResolverParams>,
) -> Result<HttpResponse, actix_web::Error> {
    let (items, next_cursor) = listed_sorted::<Resources, ResolverSort, _>(
        &req,
        &user,
        &state,
        &path,
        params.sorting(),
        async |conn, tenant, order, after, limit| {
            let rows = Resolver::sorted(conn, tenant.id, order, after, limit).await?;
            Ok(rows
                .into_iter()
                .map(|r| (r.after(order.key), ResolverJson::from(r)))
                .collect())
        },
    )
    .await?;
    Ok(json(StatusCode::OK, &ResolverPage { items, next_cursor }))
}

/// Create a resolver. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/resolvers", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, 1–255 visible ASCII characters")),
    request_body(content = ResolverBody, content_type = "application/json"),
    responses((status = 201, description = "Created", body = ResolverJson)),
    security(("bearer" = [])))]
pub async fn create_resolver(
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
        "resolvers",
        async |conn, c, data: ResolverBody| {
            let input =
                ResolverInput::parse(&data.name, &data.address, PolicyPick::Set(data.policy_id));
            let r = service::create_resolver(conn, c, input).await?;
            Ok((ResolverJson::from(r.clone()), r.id))
        },
    )
    .await
}

/// Read one resolver.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/resolvers/{rid}", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), ("rid" = i64, Path, description = "Resolver id")),
    responses((status = 200, description = "The resolver", body = ResolverJson)),
    security(("bearer" = [])))]
pub async fn show_resolver(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, actix_web::Error> {
    shown::<Resources, _, ResolverJson>(&req, &user, &state, &path, Resolver::find).await
}

/// Change a resolver's name or address.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}/resolvers/{rid}", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), ("rid" = i64, Path, description = "Resolver id")),
    request_body(content = ResolverPatch, content_type = "application/json"),
    responses((status = 200, description = "The changed resolver", body = ResolverJson)),
    security(("bearer" = [])))]
pub async fn update_resolver(
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
        Resolver::find,
        async |conn, c, old| {
            let data: ResolverPatch = parse_json(&req, &body)?;
            let address = old.address.addr().to_string();
            let input = draft_refusing_nulls(
                ResolverInput::parse(
                    sent(&data.name).unwrap_or(&old.name),
                    sent(&data.address).unwrap_or(&address),
                    data.policy_id.map_or(PolicyPick::Keep, PolicyPick::Set),
                ),
                &[
                    ("name", is_null(&data.name)),
                    ("address", is_null(&data.address)),
                ],
            );
            let r = service::update_resolver(conn, c, old.id, input).await?;
            Ok(json(StatusCode::OK, &ResolverJson::from(r)))
        },
    )
    .await
}

/// Delete a resolver no device or subnet uses (else 409 naming them).
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/resolvers/{rid}", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), ("rid" = i64, Path, description = "Resolver id")),
    responses((status = 204, description = "Deleted")),
    security(("bearer" = [])))]
pub async fn delete_resolver(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, actix_web::Error> {
    changed_found::<Resources, _>(
        &req,
        &user,
        &state,
        &path,
        Resolver::find,
        async |conn, c, old| {
            service::delete_resolver(conn, c, old.id).await?;
            Ok(HttpResponse::NoContent().finish())
        },
    )
    .await
}

// ---------------------------------------------------------------- devices

/// List the tenant's devices: by id, or sorted by a column (`sort`, `dir`).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/devices", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), DeviceParams),
    responses((status = 200, description = "One page of devices", body = DevicePage)),
    security(("bearer" = [])))]
pub async fn list_devices(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<DeviceParams>,
) -> Result<HttpResponse, actix_web::Error> {
    let (items, next_cursor) = listed_sorted::<Resources, DeviceSort, _>(
        &req,
        &user,
        &state,
        &path,
        params.sorting(),
        async |conn, tenant, order, after, limit| {
            let rows = Device::sorted(conn, tenant.id, order, after, limit).await?;
            Ok(rows
                .into_iter()
                .map(|r| (r.after(order.key), DeviceJson::from(r)))
                .collect())
        },
    )
    .await?;
    Ok(json(StatusCode::OK, &DevicePage { items, next_cursor }))
}

/// Create a device. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/devices", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, 1–255 visible ASCII characters")),
    request_body(content = DeviceBody, content_type = "application/json"),
    responses((status = 201, description = "Created", body = DeviceJson)),
    security(("bearer" = [])))]
pub async fn create_device(
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
        "devices",
        async |conn, c, data: DeviceBody| {
            let input = DeviceInput::parse(&data.name, &data.identifier, Some(data.resolver_id));
            let d = service::create_device(conn, c, input).await?;
            Ok((DeviceJson::from(d.clone()), d.id))
        },
    )
    .await
}

/// Read one device.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/devices/{did}", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), ("did" = i64, Path, description = "Device id")),
    responses((status = 200, description = "The device", body = DeviceJson)),
    security(("bearer" = [])))]
pub async fn show_device(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, actix_web::Error> {
    shown::<Resources, _, DeviceJson>(&req, &user, &state, &path, Device::find).await
}

/// Change a device's name, identifier or resolver.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}/devices/{did}", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), ("did" = i64, Path, description = "Device id")),
    request_body(content = DevicePatch, content_type = "application/json"),
    responses((status = 200, description = "The changed device", body = DeviceJson)),
    security(("bearer" = [])))]
pub async fn update_device(
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
        Device::find,
        async |conn, c, old| {
            let data: DevicePatch = parse_json(&req, &body)?;
            let input = draft_refusing_nulls(
                DeviceInput::parse(
                    sent(&data.name).unwrap_or(&old.name),
                    sent(&data.identifier).unwrap_or(&old.identifier),
                    Some(sent(&data.resolver_id).copied().unwrap_or(old.resolver_id)),
                ),
                &[
                    ("name", is_null(&data.name)),
                    ("identifier", is_null(&data.identifier)),
                    ("resolver_id", is_null(&data.resolver_id)),
                ],
            );
            let d = service::update_device(conn, c, old.id, input).await?;
            Ok(json(StatusCode::OK, &DeviceJson::from(d)))
        },
    )
    .await
}

/// Delete a device.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/devices/{did}", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), ("did" = i64, Path, description = "Device id")),
    responses((status = 204, description = "Deleted")),
    security(("bearer" = [])))]
pub async fn delete_device(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, actix_web::Error> {
    changed_found::<Resources, _>(
        &req,
        &user,
        &state,
        &path,
        Device::find,
        async |conn, c, old| {
            service::delete_device(conn, c, old.id).await?;
            Ok(HttpResponse::NoContent().finish())
        },
    )
    .await
}

// ---------------------------------------------------------------- subnets

/// List the tenant's subnets: by id, or sorted by a column (`sort`, `dir`).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/subnets", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), SubnetParams),
    responses((status = 200, description = "One page of subnets", body = SubnetPage)),
    security(("bearer" = [])))]
pub async fn list_subnets(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<SubnetParams>,
) -> Result<HttpResponse, actix_web::Error> {
    let (items, next_cursor) = listed_sorted::<Resources, SubnetSort, _>(
        &req,
        &user,
        &state,
        &path,
        params.sorting(),
        async |conn, tenant, order, after, limit| {
            let rows = Subnet::sorted(conn, tenant.id, order, after, limit).await?;
            Ok(rows
                .into_iter()
                .map(|r| (r.after(order.key), SubnetJson::from(r)))
                .collect())
        },
    )
    .await?;
    Ok(json(StatusCode::OK, &SubnetPage { items, next_cursor }))
}

/// Create a subnet. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/subnets", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, 1–255 visible ASCII characters")),
    request_body(content = SubnetBody, content_type = "application/json"),
    responses((status = 201, description = "Created", body = SubnetJson)),
    security(("bearer" = [])))]
pub async fn create_subnet(
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
        "subnets",
        async |conn, c, data: SubnetBody| {
            let input = SubnetInput::parse(
                &data.cidr,
                Some(data.resolver_id),
                PolicyPick::Set(data.policy_id),
            );
            let s = service::create_subnet(conn, c, input).await?;
            Ok((SubnetJson::from(s.clone()), s.id))
        },
    )
    .await
}

/// Read one subnet.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/subnets/{sid}", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), ("sid" = i64, Path, description = "Subnet id")),
    responses((status = 200, description = "The subnet", body = SubnetJson)),
    security(("bearer" = [])))]
pub async fn show_subnet(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, actix_web::Error> {
    shown::<Resources, _, SubnetJson>(&req, &user, &state, &path, Subnet::find).await
}

/// Change a subnet's network or resolver.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}/subnets/{sid}", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), ("sid" = i64, Path, description = "Subnet id")),
    request_body(content = SubnetPatch, content_type = "application/json"),
    responses((status = 200, description = "The changed subnet", body = SubnetJson)),
    security(("bearer" = [])))]
pub async fn update_subnet(
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
        Subnet::find,
        async |conn, c, old| {
            let data: SubnetPatch = parse_json(&req, &body)?;
            let cidr = old.cidr.to_string();
            let input = draft_refusing_nulls(
                SubnetInput::parse(
                    sent(&data.cidr).unwrap_or(&cidr),
                    Some(sent(&data.resolver_id).copied().unwrap_or(old.resolver_id)),
                    data.policy_id.map_or(PolicyPick::Keep, PolicyPick::Set),
                ),
                &[
                    ("cidr", is_null(&data.cidr)),
                    ("resolver_id", is_null(&data.resolver_id)),
                ],
            );
            let s = service::update_subnet(conn, c, old.id, input).await?;
            Ok(json(StatusCode::OK, &SubnetJson::from(s)))
        },
    )
    .await
}

/// Delete a subnet.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/subnets/{sid}", tag = "resources",
    params(("id" = i64, Path, description = "Tenant id"), ("sid" = i64, Path, description = "Subnet id")),
    responses((status = 204, description = "Deleted")),
    security(("bearer" = [])))]
pub async fn delete_subnet(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, actix_web::Error> {
    changed_found::<Resources, _>(
        &req,
        &user,
        &state,
        &path,
        Subnet::find,
        async |conn, c, old| {
            service::delete_subnet(conn, c, old.id).await?;
            Ok(HttpResponse::NoContent().finish())
        },
    )
    .await
}
