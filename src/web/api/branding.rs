//! `/api/v1/tenants/{id}/branding` and `…/branding/logo`: a tenant's branding, each
//! field with its effective value and where it comes from; its own fields set at
//! once (`null`: inherit) and its logo uploaded or removed. The handlers call
//! `services::branding` as the page does: Settings read to read, the branding
//! right (`authz::require_branding_change`) to change, 404 for a tenant the caller
//! may not see.

use super::tenants::path_tenant;
use super::{json, parse_json};
use crate::auth::{authz, ApiUser};
use crate::db::models::branding::Inherited;
use crate::db::models::Tenant;
use crate::domain::branding::BrandingFields;
use crate::domain::logo::Logo;
use crate::error::{AppError, FieldErrors};
use crate::services::branding::{self as service, BrandingChange, BrandingView, Field};
use crate::services::change::Change;
use crate::web::branding::{contrast_warning, sees_source};
use crate::web::routes::{route, Route};
use crate::web::upload::read_upload;
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/api/v1/tenants/{id}/branding" => show),
        route!(PUT "/api/v1/tenants/{id}/branding" => update),
        route!(PUT "/api/v1/tenants/{id}/branding/logo" => put_logo),
        route!(DELETE "/api/v1/tenants/{id}/branding/logo" => delete_logo),
    ]
}

/// Where a field's value comes from.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = BrandingSource)]
pub struct BrandingSourceJson {
    /// The tenant that sets it; `null` for a tenant above that the caller may not see.
    pub tenant_id: Option<i64>,
    pub name: String,
}

/// One field: its effective value, whether this tenant sets it, and from where.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = BrandingField)]
pub struct BrandingFieldJson {
    /// The value in effect (`null`: set nowhere on the path, the installation's default).
    pub value: Option<String>,
    /// This tenant sets it (else it is inherited, or unset).
    pub set_here: bool,
    /// The tenant it comes from (`null` when unset everywhere).
    pub source: Option<BrandingSourceJson>,
    /// This tenant's own value (the logo's: its ETag), kept but not in effect while
    /// its plan lacks custom branding, with the reason; `null` otherwise.
    pub kept: Option<BrandingKeptJson>,
}

/// An own value its plan keeps from taking effect.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = BrandingKept)]
pub struct BrandingKeptJson {
    pub value: String,
    /// "Not in plan Basic."
    pub reason: String,
}

/// A tenant's branding as it is in effect.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Branding)]
pub struct BrandingJson {
    pub tenant_id: i64,
    pub product_name: BrandingFieldJson,
    /// `#rrggbb`.
    pub primary_color: BrandingFieldJson,
    pub support_email: BrandingFieldJson,
    pub support_url: BrandingFieldJson,
    /// `value` is the logo's URL (`/branding/{tenant_id}/logo?v=…`).
    pub logo: BrandingFieldJson,
    /// What reads badly: the colour's contrast against white below 4.5:1.
    pub warnings: Vec<String>,
}

impl BrandingJson {
    fn new(p: &ApiUser, tenant: &Tenant, view: &BrandingView) -> Self {
        let e = &view.effective;
        let field = |f: &Inherited, value: Option<String>, name: Field| BrandingFieldJson {
            kept: view.kept(name).map(|(value, reason)| BrandingKeptJson {
                value: value.to_string(),
                reason: reason.to_string(),
            }),
            value,
            set_here: f.from.as_ref().is_some_and(|(id, _)| *id == tenant.id),
            source: f.from.as_ref().map(|(id, name)| {
                let seen = sees_source(p, tenant, *id);
                BrandingSourceJson {
                    tenant_id: seen.then_some(*id),
                    name: if seen {
                        name.clone()
                    } else {
                        crate::domain::HIDDEN_TENANT.to_string()
                    },
                }
            }),
        };
        let brand = e.brand();
        BrandingJson {
            tenant_id: tenant.id,
            product_name: field(
                &e.product_name,
                e.product_name.value.clone(),
                Field::ProductName,
            ),
            primary_color: field(
                &e.primary_color,
                e.primary_color.value.clone(),
                Field::PrimaryColor,
            ),
            support_email: field(
                &e.support_email,
                e.support_email.value.clone(),
                Field::SupportEmail,
            ),
            support_url: field(
                &e.support_url,
                e.support_url.value.clone(),
                Field::SupportUrl,
            ),
            logo: field(&e.logo, brand.logo_url(), Field::Logo),
            warnings: contrast_warning(e).into_iter().collect(),
        }
    }
}

/// A field that must be sent, as a value or `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

/// A tenant's own branding, every field: a value sets it here, `null` inherits it
/// from the nearest tenant above that sets it.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandingBody {
    /// 1–60 characters once trimmed, no control or invisible characters.
    #[serde(deserialize_with = "present")]
    #[schema(required = true)]
    pub product_name: Option<String>,
    /// `#rrggbb`.
    #[serde(deserialize_with = "present")]
    #[schema(required = true)]
    pub primary_color: Option<String>,
    #[serde(deserialize_with = "present")]
    #[schema(required = true)]
    pub support_email: Option<String>,
    /// An `http://` or `https://` address with a host, at most 300 characters.
    #[serde(deserialize_with = "present")]
    #[schema(required = true)]
    pub support_url: Option<String>,
}

impl BrandingBody {
    /// The fields, parsed; an empty string is an error (send `null` to inherit).
    fn to_input(&self) -> Result<BrandingChange, FieldErrors> {
        let mut errors = FieldErrors::new();
        for (name, value) in [
            ("product_name", &self.product_name),
            ("primary_color", &self.primary_color),
            ("support_email", &self.support_email),
            ("support_url", &self.support_url),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                errors.insert(name, "Send a value, or null to inherit.".into());
            }
        }
        let fields = BrandingFields::parse(
            self.product_name.as_deref(),
            self.primary_color.as_deref(),
            self.support_email.as_deref(),
            self.support_url.as_deref(),
        );
        match fields {
            Ok(fields) if errors.is_empty() => Ok(BrandingChange::Fields(fields)),
            Ok(_) => Err(errors),
            Err(mut more) => {
                more.extend(errors);
                Err(more)
            }
        }
    }
}

/// Read a tenant's branding: each field's value in effect and where it comes from.
#[utoipa::path(get, path = "/api/v1/tenants/{id}/branding", tag = "branding",
    params(("id" = i64, Path, description = "Tenant id")),
    responses((status = 200, description = "The branding in effect", body = BrandingJson)),
    security(("bearer" = [])))]
pub async fn show(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, actix_web::Error> {
    let (mut conn, tenant) = path_tenant(&req, &user, &state, &path).await?;
    let view = service::view(&mut conn, &user, &tenant).await?;
    Ok(json(
        StatusCode::OK,
        &BrandingJson::new(&user, &tenant, &view),
    ))
}

/// The prologue and answer of every change: the tenant (404), the branding right
/// (403), then `input` (read after the rights) applied by `services::branding::change`.
async fn changed(
    req: &HttpRequest,
    user: &ApiUser,
    state: &AppState,
    raw: &str,
    input: impl AsyncFnOnce() -> Result<Result<BrandingChange, FieldErrors>, AppError>,
) -> Result<HttpResponse, actix_web::Error> {
    let (mut conn, tenant) = path_tenant(req, user, state, raw).await?;
    authz::require_branding_change(user, &tenant)?;
    let input = input().await?;
    let actor = user.actor(req);
    let c = Change::new(user, &actor, &tenant, state.clock.now());
    let view = service::change(&mut conn, &c, input).await?;
    Ok(json(
        StatusCode::OK,
        &BrandingJson::new(user, &tenant, &view),
    ))
}

/// Set a tenant's own branding: every field, `null` to inherit it.
#[utoipa::path(put, path = "/api/v1/tenants/{id}/branding", tag = "branding",
    params(("id" = i64, Path, description = "Tenant id")),
    request_body(content = BrandingBody, content_type = "application/json"),
    responses((status = 200, description = "The branding in effect after the change", body = BrandingJson)),
    security(("bearer" = [])))]
pub async fn update(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    changed(&req, &user, &state, &path, async || {
        let data: BrandingBody = parse_json(&req, &body)?;
        Ok(data.to_input())
    })
    .await
}

/// A logo upload's body: the image file's bytes as they are (`format: binary`).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct LogoFile(pub Vec<u8>);

/// Upload a tenant's logo: the body is the image (PNG, JPEG or SVG, at most
/// 256 KiB), judged by its content whatever its `Content-Type`. Raster images are
/// encoded again; an SVG with script, event handlers, references outside itself,
/// `foreignObject`, a DOCTYPE or entities is refused (422, `errors.logo`).
#[utoipa::path(put, path = "/api/v1/tenants/{id}/branding/logo", tag = "branding",
    params(("id" = i64, Path, description = "Tenant id")),
    request_body(description = "The image file", content(
        (LogoFile = "image/png"), (LogoFile = "image/jpeg"), (LogoFile = "image/svg+xml"),
        (LogoFile = "application/octet-stream"))),
    responses(
        (status = 200, description = "The branding in effect with the new logo", body = BrandingJson),
        (status = 413, description = "The body is larger than 8 MiB (the problem's detail: \"A logo has at most 256 KiB.\")"),
        (status = 422, description = "Not a PNG, JPEG or SVG image, larger than 256 KiB, or an SVG that cannot be made safe (`errors.logo`)"),
    ),
    security(("bearer" = [])))]
pub async fn put_logo(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    changed(&req, &user, &state, &path, async || {
        let upload = read_upload(payload.into_inner()).await?;
        let logo = if upload.cut {
            Err(crate::domain::logo::too_large())
        } else {
            Logo::parse(&upload.body)
        };
        Ok(logo
            .map(BrandingChange::Logo)
            .map_err(|e| FieldErrors::from([("logo", e)])))
    })
    .await
}

/// Remove a tenant's own logo: the nearest tenant above with one shows.
#[utoipa::path(delete, path = "/api/v1/tenants/{id}/branding/logo", tag = "branding",
    params(("id" = i64, Path, description = "Tenant id")),
    responses((status = 200, description = "The branding in effect without this tenant's logo", body = BrandingJson)),
    security(("bearer" = [])))]
pub async fn delete_logo(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, actix_web::Error> {
    changed(&req, &user, &state, &path, async || {
        Ok(Ok(BrandingChange::Reset(Field::Logo)))
    })
    .await
}
