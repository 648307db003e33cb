//! Static files, embedded in the binary so a deployment is one file.

use actix_web::{http::header, web, HttpResponse};

const APP_CSS: &str = include_str!("../../static/css/app.css");
const PRINT_CSS: &str = include_str!("../../static/css/print.css");
const HTMX_JS: &str = include_str!("../../static/js/htmx.min.js");
const APP_JS: &str = include_str!("../../static/js/app.js");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/static/css/app.css",
        web::get().to(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
    )
    .route(
        "/static/css/print.css",
        web::get().to(|| async { asset("text/css; charset=utf-8", PRINT_CSS) }),
    )
    .route(
        "/static/js/htmx.min.js",
        web::get().to(|| async { asset("text/javascript; charset=utf-8", HTMX_JS) }),
    )
    .route(
        "/static/js/app.js",
        web::get().to(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
    );
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}
