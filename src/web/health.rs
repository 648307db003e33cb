//! Liveness and readiness for load balancers and orchestrators.

use crate::web::AppState;
use actix_web::{web, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}

/// 200 while the process runs.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

/// 200 only when the database answers and carries every migration of this binary.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let ready = tokio::time::timeout(
        std::time::Duration::from_secs(4),
        crate::db::is_ready(&state.pool, &state.latest_migration),
    )
    .await
    .unwrap_or(false);
    if ready {
        HttpResponse::Ok()
            .content_type("text/plain")
            .body("ready\n")
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("not ready: database unreachable or not migrated\n")
    }
}
