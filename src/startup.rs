//! Building and running the HTTP server.

use crate::auth::{session_store::PgSessionStore, PasswordHasher};
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::error::AppError;
use crate::web::{self, csrf, AppState, CSP};
use actix_session::config::{
    BrowserSession, CookieContentSecurity, SessionLifecycle, TtlExtensionPolicy,
};
use actix_session::SessionMiddleware;
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Condition, DefaultHeaders, Next};
use actix_web::{web as aweb, App, HttpServer};
use secrecy::ExposeSecret;
use std::net::TcpListener;
use std::time::Duration;

pub struct Application {
    port: u16,
    server: Server,
    clock: Clock,
}

/// Sessions end 12 hours after they were last changed (login, switch).
const SESSION_TTL_HOURS: i64 = 12;

impl Application {
    /// Binds the listener (port 0 picks a free one) and prepares the server.
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        let (requests, _) = db::pool_sizes(settings.pool_size);
        let pool = db::pool(settings.database_url(), requests)?;
        Self::build_with_pool(settings, pool)
    }

    /// As [`Application::build`], with `pool` for the requests and background jobs
    /// (tests hold its connections); the session store gets a pool of its own
    /// (`db::pool_sizes`).
    pub fn build_with_pool(settings: Settings, pool: DbPool) -> anyhow::Result<Self> {
        let (_, sessions) = db::pool_sizes(settings.pool_size);
        let session_pool = db::pool(settings.database_url(), sessions)?;
        let listener = TcpListener::bind(&settings.listen)?;
        let port = listener.local_addr()?.port();
        let key = Key::derive_from(settings.secret_key.expose_secret().as_bytes());
        let secure = settings.cookies_secure();
        let count_statements = settings.dev;
        let outbox_wake = std::sync::Arc::new(tokio::sync::Notify::new());
        let clock = Clock::system();
        let outbox = crate::mail::worker::Worker {
            pool: pool.clone(),
            clock: clock.clone(),
            mailer: crate::mail::Mailer::from_settings(&settings)?,
            urls: settings.console_urls(),
            secret_key: settings.secret_key.clone(),
            poll: Duration::from_millis(settings.outbox_poll_ms),
            backoff: Duration::from_millis(settings.outbox_backoff_ms),
            wake: outbox_wake.clone(),
        };
        let state = aweb::Data::new(AppState {
            hasher: PasswordHasher::new(settings.hash_concurrency)?,
            pool: pool.clone(),
            clock: clock.clone(),
            settings,
            latest_migration: db::latest_migration_version(),
            outbox_wake,
        });
        let job = |name: &'static str, interval: Duration, job: Job| {
            every(
                name,
                interval,
                pool.clone(),
                clock.clone(),
                state.outbox_wake.clone(),
                job,
            )
        };
        tokio::spawn(outbox.run());
        tokio::spawn(job("cleanup", Duration::from_secs(600), cleanup_job));
        if state.settings.report_poll_secs > 0 {
            let poll = Duration::from_secs(state.settings.report_poll_secs);
            tokio::spawn(job("reports", poll, reports_job));
        }
        let fold = Duration::from_millis(state.settings.usage_fold_interval_ms);
        tokio::spawn(job("usage-fold", fold, usage_fold_job));
        tokio::spawn(rule_migrations(
            pool.clone(),
            clock.clone(),
            Duration::from_millis(state.settings.migration_poll_ms),
            Duration::from_secs(state.settings.migration_lease_secs),
            state.settings.migration_batch,
            state.outbox_wake.clone(),
        ));

        let server =
            HttpServer::new(move || {
                let sessions = SessionMiddleware::builder(
                    PgSessionStore::new(session_pool.clone(), state.clock.clone()),
                    key.clone(),
                )
                .cookie_name("tenantry_session".into())
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Lax)
                .cookie_secure(secure)
                .cookie_content_security(CookieContentSecurity::Private)
                .session_lifecycle(SessionLifecycle::BrowserSession(
                    // Sliding: a session lasts SESSION_TTL_HOURS after the last request.
                    BrowserSession::default()
                        .state_ttl(actix_web::cookie::time::Duration::hours(SESSION_TTL_HOURS))
                        .state_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
                ))
                .build();
                App::new()
                    .app_data(state.clone())
                    .app_data(aweb::FormConfig::default().limit(256 * 1024).error_handler(
                        |e, _| {
                            AppError::BadRequest(format!("The form could not be read: {e}")).into()
                        },
                    ))
                    // Raw bodies (the API's JSON, read as bytes so idempotency can hash them).
                    .app_data(aweb::PayloadConfig::new(web::api::BODY_LIMIT))
                    .app_data(
                        aweb::QueryConfig::default()
                            .error_handler(|e, _| web::form::query_refusal(&e).into()),
                    )
                    .app_data(
                        aweb::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()),
                    )
                    // Probes and static files stay outside the session layer: liveness must
                    // not depend on the database, and assets need no session row.
                    .configure(web::configure_public)
                    .service(
                        aweb::scope("")
                            .wrap(from_fn(csrf::guard))
                            .wrap(from_fn(web::page::banner_slot))
                            .wrap(sessions)
                            .wrap(from_fn(crate::auth::session_store::request_slot))
                            .configure(web::configure),
                    )
                    // 404 (405 for an API path that exists for other methods). The console
                    // scope answers unmatched paths itself (`web::configure`, in the
                    // frame); this stays the answer of last resort.
                    .default_service(aweb::to(web::api::unmatched))
                    // Development mode: every answer, the API's too, says how many
                    // statements it took (`X-Db-Statements`).
                    .wrap(Condition::new(
                        count_statements,
                        from_fn(db::statements::header),
                    ))
                    .wrap(from_fn(storage_unavailable))
                    // Error answers under /api/ become problem documents (RFC 9457).
                    .wrap(from_fn(web::api::problems))
                    .wrap(
                        DefaultHeaders::new()
                            .add(("X-Content-Type-Options", "nosniff"))
                            .add(("X-Frame-Options", "DENY"))
                            .add(("Referrer-Policy", "same-origin"))
                            .add(("Content-Security-Policy", CSP)),
                    )
                    // Not `%r`: the request line would log invitation tokens.
                    .wrap(crate::telemetry::request_logger())
                    // Outermost: the access log line and everything inside carry the id.
                    .wrap(from_fn(crate::telemetry::request_id))
            })
            .listen(listener)?
            .shutdown_timeout(10)
            .run();
        Ok(Self {
            port,
            server,
            clock,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The time this app runs on; tests advance it to reach expiry.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// A handle to stop the server (tests stop theirs to give back connections).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The session layer fails with a bare 500 when its store (PostgreSQL) is down;
/// that is an outage, not a bug: answer the plain 503 page instead.
async fn storage_unavailable(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    match next.call(req).await {
        Ok(res) => Ok(res.map_into_boxed_body()),
        Err(e) if e.as_response_error().status_code() == StatusCode::INTERNAL_SERVER_ERROR => {
            Err(AppError::Unavailable(anyhow::anyhow!("session storage: {e}")).into())
        }
        Err(e) => Err(e),
    }
}

/// A background job: what it did (how many mails it queued) or why it failed.
type JobRun = std::pin::Pin<Box<dyn std::future::Future<Output = Result<usize, AppError>> + Send>>;
type Job = fn(db::DbConn, chrono::DateTime<chrono::Utc>) -> JobRun;

/// Runs `job` every `interval` in this process with a pooled connection and the
/// clock's time. Every process runs every job; each job makes that safe itself (rows
/// claimed, a lock taken). Queued mails wake the outbox; failures (a database away)
/// are logged at most once a minute, and the next tick tries again.
async fn every(
    name: &'static str,
    interval: Duration,
    pool: DbPool,
    clock: Clock,
    outbox_wake: std::sync::Arc<tokio::sync::Notify>,
    job: Job,
) {
    let mut tick = tokio::time::interval(interval);
    // A slow run delays the next one rather than running a burst to catch up.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_warning: Option<std::time::Instant> = None;
    loop {
        tick.tick().await;
        let run = match pool.get().await {
            Ok(conn) => job(conn, clock.now()).await,
            Err(e) => Err(e.into()),
        };
        match run {
            Ok(mails) if mails > 0 => {
                tracing::info!(job = name, mails, "mail queued");
                outbox_wake.notify_one();
            }
            Ok(_) => {}
            Err(error) => {
                if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                    tracing::warn!(job = name, %error, "background job failed; it runs again");
                    last_warning = Some(std::time::Instant::now());
                }
            }
        }
    }
}

/// The monthly report job: claims the due subscriptions' rows, so processes never send
/// a report twice.
fn reports_job(mut conn: db::DbConn, now: chrono::DateTime<chrono::Utc>) -> JobRun {
    Box::pin(async move {
        let done = crate::services::reports::run_due(&mut conn, now).await?;
        Ok(done.mails)
    })
}

/// Folds pending usage deltas into the monthly subtree totals (`services::usage::fold`;
/// docs/USAGE.md): the stats read totals at most about one interval behind; a fold
/// queues the quota alerts it crosses. The fold lock makes processes take turns.
fn usage_fold_job(mut conn: db::DbConn, now: chrono::DateTime<chrono::Utc>) -> JobRun {
    Box::pin(async move {
        let done = crate::services::usage::fold_and_reclaim(&mut conn, now).await?;
        Ok(done.mails)
    })
}

/// Removes expired sessions, stale login counters and idempotency keys.
fn cleanup_job(mut conn: db::DbConn, now: chrono::DateTime<chrono::Utc>) -> JobRun {
    Box::pin(async move {
        db::models::session::delete_expired(&mut conn, now).await?;
        db::models::throttle::delete_stale(&mut conn, now).await?;
        db::models::idempotency::delete_expired(&mut conn, now).await?;
        Ok(0)
    })
}

/// Runs rule-set migrations (`services::rule_migrations`): every `interval` each
/// process claims at most one job (`FOR UPDATE SKIP LOCKED`) and runs it under a
/// lease of `lease` that a heartbeat renews every third of it; any number of
/// processes may run this. Not an `every` job: the runner keeps its process's
/// lease identity, takes a second connection for the heartbeat, and looks again
/// at once after a run.
async fn rule_migrations(
    pool: DbPool,
    clock: Clock,
    interval: Duration,
    lease: Duration,
    batch: i64,
    outbox_wake: std::sync::Arc<tokio::sync::Notify>,
) {
    let runner = crate::services::rule_migrations::Runner {
        batch,
        ..crate::services::rule_migrations::Runner::new(lease)
    };
    let mut last_warning: Option<std::time::Instant> = None;
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match runner.tick(&pool, || clock.now()).await {
            Ok(crate::services::rule_migrations::Ran::Idle) => {}
            Ok(ran) => {
                tracing::info!(?ran, "rule migrations: a job ran");
                outbox_wake.notify_one();
                // More may be waiting: look again at once.
                tick.reset_immediately();
            }
            Err(error) => {
                // A database away fails every tick: say so at most once a minute.
                if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                    tracing::warn!(%error, "rule migrations: the runner failed; it runs again");
                    last_warning = Some(std::time::Instant::now());
                }
            }
        }
    }
}
