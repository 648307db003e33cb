//! The data layer: connection pool, embedded migrations, models.

pub mod models;
pub mod prepared;
pub mod schema;
pub mod statements;
pub mod transaction;

pub use transaction::set_lock_timeout;

use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::AsyncPgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::time::Duration;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;
pub type PoolError = diesel_async::pooled_connection::deadpool::PoolError;

/// How long a request waits for a connection before answering 503. Together with
/// the connect timeout it keeps "database down" answers well under 5 seconds.
const POOL_WAIT: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT_SECS: u64 = 2;

/// Adds a connect timeout (unless the URL sets one) so an unreachable database fails fast.
pub fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}connect_timeout={CONNECT_TIMEOUT_SECS}")
}

/// How a process's connections (`TENANTRY_DB_POOL_SIZE`, `total`) are split: the
/// pool of requests and background jobs, and the session store's own (a quarter,
/// 1 to 8). The session store writes a request's session after its work, a
/// committed change included: in a pool of its own, holding connections for one
/// statement each, that write never queues behind requests waiting to start theirs
/// (`auth::session_store`).
pub fn pool_sizes(total: usize) -> (usize, usize) {
    let sessions = (total / 4).clamp(1, 8);
    (total.saturating_sub(sessions).max(1), sessions)
}

/// Builds the pool. Connections are made lazily, so this succeeds with the database down.
pub fn pool(database_url: &str, size: usize) -> anyhow::Result<DbPool> {
    let mut config = ManagerConfig::default();
    // Fast recycling trusts `is_broken` (closed socket or broken transaction)
    // instead of a round trip per checkout.
    config.recycling_method = RecyclingMethod::Fast;
    // Every connection turns JIT off and reports its statements to the request it
    // serves (`statements`).
    config.custom_setup = Box::new(|url| {
        Box::pin(async move {
            use diesel_async::{AsyncConnection, SimpleAsyncConnection};
            let mut conn = AsyncPgConnection::establish(url).await?;
            // The console's statements are short and indexed; PostgreSQL's JIT,
            // triggered by cost estimates, added 130–190 ms to pages that do ~5 ms
            // of work (docs/PERFORMANCE.md). Set before instrumentation, so it is
            // not counted against the request.
            conn.batch_execute("SET jit = off")
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            conn.set_instrumentation(statements::record);
            Ok(conn)
        })
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
        with_connect_timeout(database_url),
        config,
    );
    Ok(Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(POOL_WAIT))
        .create_timeout(Some(Duration::from_secs(CONNECT_TIMEOUT_SECS + 1)))
        .recycle_timeout(Some(Duration::from_secs(1)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()?)
}

/// Applies pending embedded migrations. Runs the synchronous harness on a blocking thread.
pub async fn run_migrations(database_url: &str) -> anyhow::Result<Vec<String>> {
    let url = with_connect_timeout(database_url);
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        use diesel::Connection;
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)?;
        // Serialise concurrent `migrate`/`serve` starts of several processes.
        diesel::RunQueryDsl::execute(
            diesel::sql_query("SELECT pg_advisory_lock(7226512001)"),
            &mut conn,
        )?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|v| v.iter().map(|m| m.to_string()).collect())
            .map_err(|e| anyhow::anyhow!("migration failed: {e}"));
        diesel::RunQueryDsl::execute(
            diesel::sql_query("SELECT pg_advisory_unlock(7226512001)"),
            &mut conn,
        )?;
        applied
    })
    .await?
}

/// The newest migration version compiled into this binary.
pub fn latest_migration_version() -> String {
    use diesel::migration::MigrationSource;
    let migrations: Vec<_> =
        MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS).unwrap_or_default();
    migrations
        .iter()
        .map(|m| m.name().version().to_string())
        .max()
        .unwrap_or_default()
}

/// Ready means: the database answers and has every migration this binary knows.
pub async fn is_ready(pool: &DbPool, latest: &str) -> bool {
    use diesel::dsl::max;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    diesel::table! { __diesel_schema_migrations (version) { version -> VarChar, } }
    let Ok(mut conn) = pool.get().await else {
        return false;
    };
    let newest: Result<Option<String>, _> = __diesel_schema_migrations::table
        .select(max(__diesel_schema_migrations::version))
        .get_result(&mut conn)
        .await;
    matches!(newest, Ok(Some(v)) if v.as_str() >= latest)
}
