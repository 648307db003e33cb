//! The OpenAPI 3.1 document of the API, generated from the handlers' annotations and
//! the DTOs (utoipa), served at `GET /api/v1/openapi.json` without a token.

use super::batch::{BatchRequest, BatchResponse, BatchResult, Operation};
use super::tenants::{
    ApproveDomain, CreateTenant, MoveTenant, TenantJson, TenantPage, UpdateTenant,
};
use crate::domain::domain_name::DomainStatus;
use crate::error::Blocker;
use crate::web::error_response::ProblemDocument;
use crate::web::routes::{route, Route};
use actix_web::HttpResponse;
use utoipa::openapi::path::{HttpMethod, Operation as Op};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

pub fn routes() -> Vec<Route> {
    vec![route!(GET "/api/v1/openapi.json" => document)]
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tenantry Manage Tenants API",
        description = "Manage the tenant tree: list, read, create, update, move and delete tenants, \
                       one by one or in batches. Authenticate with a personal API token \
                       (`Authorization: Bearer …`, created at /profile/tokens). Errors are \
                       `application/problem+json` (RFC 9457) with a stable `type` per kind.",
        version = "1"
    ),
    paths(
        super::tenants::list,
        super::tenants::create,
        super::tenants::show,
        super::tenants::update,
        super::tenants::delete,
        super::tenants::move_tenant,
        super::tenants::verify_domain,
        super::tenants::approve_domain,
        super::batch::batch,
    ),
    components(schemas(
        TenantJson, TenantPage, CreateTenant, UpdateTenant, MoveTenant, BatchRequest,
        Operation, BatchResult, BatchResponse, ProblemDocument, Blocker, DomainStatus,
        ApproveDomain
    )),
    modifiers(&Security, &Problems),
    tags((name = "tenants", description = "The tenant tree"))
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Adds the problem answers every operation may give, so clients (and schema
/// checkers) know each status and its `application/problem+json` body.
struct Problems;

impl Modify for Problems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ProblemDocument")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let ops: [(HttpMethod, &mut Option<Op>); 4] = [
                (HttpMethod::Get, &mut item.get),
                (HttpMethod::Post, &mut item.post),
                (HttpMethod::Patch, &mut item.patch),
                (HttpMethod::Delete, &mut item.delete),
            ];
            for (method, op) in ops {
                let Some(op) = op.as_mut() else { continue };
                let mut codes = vec![
                    ("400", "Bad request: a malformed parameter, body or cursor"),
                    ("401", "No usable token (missing, unknown, expired, revoked, or its user or tenant disabled)"),
                    ("403", "Visible, but the token's user may not do this (or a read-only token)"),
                    ("404", "No such tenant, or one the token's user may not see"),
                    ("405", "Method not allowed on this resource"),
                    ("409", "Conflict: try again (another change holds the tenants), or the delete is blocked"),
                    ("500", "Internal error (logged)"),
                    ("503", "The database cannot be reached"),
                ];
                if method != HttpMethod::Get {
                    codes.push(("413", "The body is too large"));
                    codes.push(("415", "The body is not JSON"));
                    codes.push(("422", "Invalid values (see `errors`), a cycle, too many operations, or a reused Idempotency-Key"));
                }
                for (code, description) in codes {
                    op.responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| problem(description).into());
                }
            }
        }
    }
}

/// The OpenAPI document (JSON).
pub async fn document() -> HttpResponse {
    match ApiDoc::openapi().to_json() {
        Ok(body) => HttpResponse::Ok()
            .content_type("application/json")
            .insert_header(("Cache-Control", "no-cache"))
            .body(body),
        Err(e) => crate::error::AppError::Unexpected(anyhow::Error::new(e)).problem_response(),
    }
}
