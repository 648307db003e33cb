//! The route table: every console route is declared once, as data, so the router
//! and the authorization matrix test are built from the same list.

use actix_web::http::Method;
use actix_web::web::ServiceConfig;

/// One route: method, path pattern and how to register its handler.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub register: fn(&mut ServiceConfig),
}

/// `route!(GET "/tenants" => index)`
macro_rules! route {
    ($method:ident $path:literal => $handler:path) => {
        $crate::web::routes::Route {
            method: actix_web::http::Method::$method,
            path: $path,
            register: |cfg| {
                cfg.route(
                    $path,
                    actix_web::web::method(actix_web::http::Method::$method).to($handler),
                );
            },
        }
    };
}
pub(crate) use route;
