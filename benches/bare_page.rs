//! The comparison pages for `make bench`, on the same stack (actix-web, askama,
//! diesel-async pool) with no session, CSRF or authorization:
//! - `/bare/tenants`: the Tenants page's own list query and table template;
//! - `/bare/rows`: the smallest page showing the same 50 rows — one plain query, a
//!   plain table — which is what a page costs at all on this stack.

use actix_web::{web, App, HttpResponse, HttpServer};
use askama::Template;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use tenantry::db::models::{Tenant, Visibility};
use tenantry::db::schema::{tenant_roles, tenants};
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

#[derive(Template)]
#[template(
    source = "<!doctype html><html><head><title>rows</title></head><body><table>\
{% for t in rows %}<tr><td>{{ t.name }}</td><td>{{ t.subdomain }}</td><td>{{ t.role_name }}</td>\
<td>{{ t.instance_count }}</td><td>{{ t.user_count }}</td><td>{{ t.created_at }}</td></tr>{% endfor %}\
</table></body></html>",
    ext = "html"
)]
struct RowsPage {
    rows: Vec<RowsRow>,
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

#[derive(Queryable)]
struct RowsRow {
    name: String,
    subdomain: String,
    role_name: String,
    instance_count: i32,
    user_count: i32,
    created_at: chrono::DateTime<chrono::Utc>,
}

/// The first 50 tenants by name, as the Tenants page shows them to the root administrator.
async fn rows(state: web::Data<State>) -> Result<HttpResponse, tenantry::error::AppError> {
    let mut conn = state.pool.get().await?;
    let rows = tenants::table
        .inner_join(tenant_roles::table)
        .filter(tenants::id.ne(state.root.id))
        .order((lower(tenants::name).asc(), tenants::id.asc()))
        .limit(50)
        .select((
            tenants::name,
            tenants::subdomain,
            tenant_roles::name,
            tenants::instance_count,
            tenants::user_count,
            tenants::created_at,
        ))
        .load::<RowsRow>(&mut conn)
        .await?;
    let body = RowsPage { rows }.render().map_err(|e| anyhow::anyhow!(e))?;
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
            .route("/bare/rows", web::get().to(rows))
    })
    .bind(listen)?
    .run()
    .await?;
    Ok(())
}
