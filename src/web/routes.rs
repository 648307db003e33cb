//! The route table: every console route is declared once, as data, so the router
//! and the authorization matrix test are built from the same list.

use actix_web::guard;
use actix_web::http::Method;
use actix_web::web::{self, ServiceConfig};

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
                    $crate::web::routes::method(actix_web::http::Method::$method).to($handler),
                );
            },
        }
    };
}
pub(crate) use route;

/// A route answering `method`; a GET route answers HEAD too (the same handler, the
/// server leaves out the body), as HTTP asks of every resource that answers GET.
pub fn method(method: Method) -> actix_web::Route {
    if method == Method::GET {
        web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
    } else {
        web::method(method)
    }
}
