//! HTTP: one module per resource, each with its routes.

pub mod access;
pub mod api;
pub mod assets;
pub mod dashboard;
pub mod health;
pub mod invitations;
pub mod login;
pub mod page;
pub mod profile;
pub mod role_form;
pub mod roles;
pub mod routes;
pub mod switch;
pub mod tenant_roles;
pub mod tenants;
pub mod tokens;
pub mod user_tokens;
pub mod users;

use crate::auth::CurrentUser;
use crate::services::Actor;
use actix_web::{web, HttpRequest};

/// Routes that need no session: probes, static files and the JSON API (which
/// authenticates with bearer tokens, not cookies).
pub fn configure_public(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    assets::configure(cfg);
    api::configure(cfg);
}

/// Every route: the console's and the API's, in one place (for the authorization matrix).
pub fn routes() -> Vec<routes::Route> {
    let mut all = console_routes();
    all.extend(api::routes());
    all
}

/// Every route of the console (behind sessions and CSRF), in one place, in order.
pub fn console_routes() -> Vec<routes::Route> {
    [
        login::routes(),
        dashboard::routes(),
        switch::routes(),
        tenants::routes(),
        roles::routes(),
        tenant_roles::routes(),
        access::routes(),
        invitations::routes(),
        users::routes(),
        user_tokens::routes(),
        profile::routes(),
        tokens::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    for route in console_routes() {
        (route.register)(cfg);
    }
}

/// The audit actor for a request.
pub fn actor(user: &CurrentUser, req: &HttpRequest) -> Actor {
    Actor {
        user_id: Some(user.user.id),
        login: format!("{}\\{}", user.home.subdomain, user.user.username),
        acting_tenant_id: Some(user.acting.id),
        client_addr: req.peer_addr().map(|a| a.ip().to_string()),
    }
}

/// Ids in paths are numbers; anything else names nothing: 404.
pub fn parse_id(raw: &str) -> Result<i64, crate::error::AppError> {
    raw.trim()
        .parse()
        .map_err(|_| crate::error::AppError::NotFound)
}
