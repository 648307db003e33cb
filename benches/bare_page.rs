//! The comparison page for `make bench`: the same 50 Tenants rows with the same
//! stack (actix-web, askama, diesel-async pool) but no session, CSRF or authorization.

use actix_web::{web, App, HttpResponse, HttpServer};
use askama::Template;
use tenantry::db::models::{Tenant, Visibility};
use tenantry::web::tenants::{list_query, load_list, ListParams, TableFragment};

#[derive(Template)]
#[template(
    source = "<!doctype html><html><head><title>bare</title></head><body>{{ table|safe }}</body></html>",
    ext = "html"
)]
struct BarePage {
    table: String,
}

struct State {
    pool: tenantry::db::DbPool,
    root: Tenant,
}

async fn bare(
    state: web::Data<State>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, tenantry::error::AppError> {
    let mut conn = state.pool.get().await?;
    let list = load_list(
        &mut conn,
        list_query(&params, state.root.clone(), Visibility::All),
    )
    .await?;
    let table = TableFragment { list }
        .render()
        .map_err(|e| anyhow::anyhow!(e))?;
    let body = BarePage { table }
        .render()
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL")?;
    let listen = std::env::var("TENANTRY_LISTEN").unwrap_or_else(|_| "127.0.0.1:18081".into());
    let size = std::env::var("TENANTRY_DB_POOL_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let pool = tenantry::db::pool(&url, size)?;
    let root = {
        let mut conn = pool.get().await?;
        Tenant::root(&mut conn)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no root tenant"))?
    };
    let state = web::Data::new(State { pool, root });
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/bare/tenants", web::get().to(bare))
    })
    .bind(listen)?
    .run()
    .await?;
    Ok(())
}
