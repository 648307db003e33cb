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

/// The methods the routes of `path` answer, as `Allow` lists them (empty: no route
/// has the path). Fixed paths (`/tenants/bulk`) win over patterns (`/tenants/{id}`),
/// and a pattern with fewer placeholders over one with more.
pub fn allowed_methods(routes: &[Route], path: &str) -> Vec<String> {
    let matching: Vec<&Route> = routes
        .iter()
        .filter(|r| actix_web::dev::ResourceDef::new(r.path).is_match(path))
        .collect();
    // The most specific patterns win: fewest placeholders (`…/rules/batch` over
    // `…/rules/{rid}`, as `/tenants/bulk` over `/tenants/{id}`).
    let placeholders = |r: &Route| r.path.matches('{').count();
    let fewest = matching.iter().map(|r| placeholders(r)).min().unwrap_or(0);
    let candidates: Vec<&Route> = matching
        .into_iter()
        .filter(|r| placeholders(r) == fewest)
        .collect();
    let mut methods: Vec<String> = Vec::new();
    for r in candidates {
        let m = r.method.to_string();
        if !methods.contains(&m) {
            methods.push(m);
        }
    }
    methods
}

/// Ahead of `routes`, an answer for each fixed path to the methods it does not take
/// (`refuse`: 405 with `Allow`). Without it such a request falls through to a pattern
/// registered later (GET /tenants/bulk to GET /tenants/{id}: a 404 for an id that is
/// no number), and fixed paths must win over patterns.
pub fn refuse_other_methods<F, Fut>(cfg: &mut ServiceConfig, routes: &[Route], refuse: F)
where
    F: Fn(actix_web::HttpRequest) -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = actix_web::HttpResponse> + 'static,
{
    let mut fixed: Vec<(&'static str, Vec<Method>)> = Vec::new();
    for r in routes.iter().filter(|r| !r.path.contains('{')) {
        match fixed.iter_mut().find(|(p, _)| *p == r.path) {
            Some((_, methods)) => methods.push(r.method.clone()),
            None => fixed.push((r.path, vec![r.method.clone()])),
        }
    }
    for (path, methods) in fixed {
        let takes = move |m: &Method| {
            methods.contains(m) || (*m == Method::HEAD && methods.contains(&Method::GET))
        };
        cfg.service(
            web::resource(path)
                .guard(guard::fn_guard(move |ctx| !takes(&ctx.head().method)))
                .to(refuse.clone()),
        );
    }
}
