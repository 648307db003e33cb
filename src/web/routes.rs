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
    ($method:ident $path:expr => $handler:path) => {
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

/// The routes of a list of things edited through one form (`$list`, and each item
/// at `$list/{$item}`): the list, the create form (posted to the list or to
/// `/new`), the edit form, its save and the delete, to the handlers `index`,
/// `new_form`, `create`, `edit_form`, `update` and `delete` of the calling module.
macro_rules! form_routes {
    ($list:literal, $item:literal) => {
        vec![
            $crate::web::routes::route!(GET $list => index),
            $crate::web::routes::route!(POST $list => create),
            $crate::web::routes::route!(GET concat!($list, "/new") => new_form),
            $crate::web::routes::route!(POST concat!($list, "/new") => create),
            $crate::web::routes::route!(GET concat!($list, "/", $item) => edit_form),
            $crate::web::routes::route!(POST concat!($list, "/", $item) => update),
            $crate::web::routes::route!(POST concat!($list, "/", $item, "/delete") => delete),
        ]
    };
}
pub(crate) use form_routes;
