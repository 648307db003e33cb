//! HTTP: one module per resource, each with its routes.

pub mod assets;
pub mod dashboard;
pub mod health;
pub mod login;
pub mod page;
pub mod switch;
pub mod tenants;

use crate::auth::CurrentUser;
use crate::services::Actor;
use actix_web::{web, HttpRequest};

/// Routes that need no session: probes and static files.
pub fn configure_public(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    assets::configure(cfg);
}

/// Every route of the console (behind sessions and CSRF), in one place.
pub fn configure(cfg: &mut web::ServiceConfig) {
    login::configure(cfg);
    dashboard::configure(cfg);
    switch::configure(cfg);
    tenants::configure(cfg);
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
