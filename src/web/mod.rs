//! HTTP: one module per resource, each with its routes.

pub mod access;
pub mod activity;
pub mod api;
pub mod assets;
pub mod branding;
pub mod confirm;
pub mod csrf;
pub mod csv_export;
pub mod dashboard;
pub mod error_response;
pub mod extract;
pub mod form;
pub mod health;
pub mod invitations;
pub mod login;
pub mod migrations;
pub mod network;
pub mod owned;
pub mod page;
pub mod people;
pub mod plans;
mod policies;
pub mod profile;
pub mod reports;
pub mod resources;
pub mod role_form;
pub mod roles;
pub mod routes;
pub mod rules;
pub mod sort;
pub mod state;
pub mod stats;
pub mod switch;
pub mod tenant_roles;
pub mod tenants;
pub mod tokens;
pub mod upload;
pub mod usage_keys;
pub mod user_tokens;
pub mod users;

use crate::auth::CurrentUser;
use crate::services::Actor;
use actix_web::{web, HttpRequest, HttpResponse};

pub use state::AppState;

/// Only our own scripts, styles and forms; never framed.
pub const CSP: &str =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                             frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

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
        plans::routes(),
        access::routes(),
        activity::routes(),
        stats::routes(),
        reports::routes(),
        invitations::routes(),
        users::routes(),
        people::routes(),
        user_tokens::routes(),
        profile::routes(),
        tokens::routes(),
        usage_keys::routes(),
        rules::routes(),
        resources::routes(),
        migrations::routes(),
        network::routes(),
        policies::routes(),
        branding::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    let routes = console_routes();
    routes::refuse_other_methods(cfg, &routes, unmatched);
    for route in routes {
        (route.register)(cfg);
    }
    // Every request no route takes (404, or 405 with `Allow`): inside the session
    // layer, so that a logged-in user's error page has the console's frame.
    cfg.default_service(web::to(unmatched));
}

/// The answer for a request no handler serves (`api::miss`), in the console's frame
/// for a logged-in session as the routed errors: the session is read for the frame
/// (`CurrentUser` keeps it for the error page); the frame names only the acting
/// tenant, never one the path names. The API and static files keep their plain answer.
async fn unmatched(req: HttpRequest) -> HttpResponse {
    let path = req.path();
    if !path.starts_with("/api/") && !path.starts_with("/static/") {
        use actix_web::FromRequest;
        let _ = CurrentUser::extract(&req).await;
    }
    api::miss(&req)
}

/// The audit actor for a request.
pub fn actor(user: &CurrentUser, req: &HttpRequest) -> Actor {
    Actor::user(user, user.acting.id, client_addr(req))
}

/// The client's address: the peer's, or, when the peer is a trusted proxy
/// (`TENANTRY_TRUSTED_PROXIES`), the nearest address in `X-Forwarded-For` that is
/// not itself a trusted proxy. Addresses further left are the client's own claims
/// and are never believed.
pub fn client_addr(req: &HttpRequest) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.trusted_proxies.as_slice())
        .unwrap_or_default();
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    Some(forwarded_client(peer, &forwarded, trusted).to_string())
}

/// `client_addr` on plain values, for tests.
pub fn forwarded_client(
    peer: std::net::IpAddr,
    forwarded: &[&str],
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    // Right to left: each hop was appended by the proxy in front of it.
    for hop in forwarded.iter().flat_map(|v| v.split(',')).rev() {
        match hop.trim().parse::<std::net::IpAddr>() {
            Ok(ip) if is_trusted(&ip) => client = ip,
            Ok(ip) => return ip,
            Err(_) => return client,
        }
    }
    client
}

pub use form::parse_id;

#[cfg(test)]
mod tests {
    use super::forwarded_client;

    #[test]
    fn the_client_is_the_nearest_untrusted_hop() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let trusted: Vec<ipnet::IpNet> = vec![
            "10.0.0.0/8".parse().unwrap(),
            "127.0.0.1/32".parse().unwrap(),
        ];
        // An untrusted peer's header is ignored: anyone can send one.
        assert_eq!(
            forwarded_client(ip("203.0.113.9"), &["198.51.100.1"], &trusted),
            ip("203.0.113.9")
        );
        // Behind a trusted proxy: the address it appended.
        assert_eq!(
            forwarded_client(ip("127.0.0.1"), &["198.51.100.1"], &trusted),
            ip("198.51.100.1")
        );
        // A client's forged entries on the left are not believed; trusted hops are skipped.
        assert_eq!(
            forwarded_client(
                ip("127.0.0.1"),
                &["1.2.3.4, 198.51.100.1", "10.1.2.3"],
                &trusted
            ),
            ip("198.51.100.1")
        );
        // Garbage stops the walk at the last address known good.
        assert_eq!(
            forwarded_client(ip("127.0.0.1"), &["not-an-ip"], &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(
            forwarded_client(ip("127.0.0.1"), &[], &trusted),
            ip("127.0.0.1")
        );
        // Without trusted proxies, always the peer.
        assert_eq!(
            forwarded_client(ip("127.0.0.1"), &["198.51.100.1"], &[]),
            ip("127.0.0.1")
        );
    }
}
