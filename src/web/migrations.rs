//! Rule-set migrations in the console (issue #13, part B): `/migrations` (those the
//! user may see, newest first, 50 a page), `/migrations/{mid}` (who, when, source →
//! target, state, the progress bar; the notice once done; the error with Rollback
//! and Retry once failed), `/migrations/{mid}/progress` (the bar alone: htmx polls
//! it every 2 s while the migration runs, and the locked pages show it), and the
//! Rollback and Retry posts, each confirmed first (`web::confirm`).

use crate::auth::CurrentUser;
use crate::domain::rules::MigrationProgress;
use crate::error::AppError;
use crate::services::migration_plan::{self as plan, Seen};
use crate::services::rule_migrations;
use crate::web::confirm::{ask, Confirm, Question};
use crate::web::extract::Query;
use crate::web::form::query_id;
use crate::web::page::{done, render, timestamp, wants_fragment, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::{actor, parse_id, AppState};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/migrations" => index),
        route!(GET "/migrations/{mid}" => show),
        route!(GET "/migrations/{mid}/progress" => progress),
        route!(POST "/migrations/{mid}/rollback" => rollback),
        route!(POST "/migrations/{mid}/retry" => retry),
    ]
}

const PER_PAGE: usize = 50;

/// One migration as the pages show it.
pub struct Line {
    pub id: i64,
    pub source_name: String,
    /// Linked when it still exists.
    pub source_id: Option<i64>,
    pub target_name: String,
    pub target_id: Option<i64>,
    pub started_by: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub attempts: i32,
    pub error: Option<String>,
    pub progress: MigrationProgress,
}

impl Line {
    fn of(s: &Seen) -> Self {
        let m = &s.migration;
        Line {
            id: m.id,
            source_name: s.source_name.clone(),
            source_id: s.source.as_ref().map(|t| t.id),
            target_name: m.target_name.clone(),
            target_id: s.target.as_ref().map(|t| t.id),
            started_by: s.started_by.clone(),
            started_at: timestamp(m.created_at),
            finished_at: m.finished_at.map(timestamp),
            attempts: m.attempts,
            error: m.error.clone(),
            progress: m.progress(),
        }
    }
}

#[derive(Template)]
#[template(path = "migrations/index.html")]
struct IndexPage {
    page: PageCtx,
    rows: Vec<Line>,
    /// The next (older) page's `before`, when there is one.
    next: Option<i64>,
    /// Whether this is a later page (a link back to the newest).
    later: bool,
}

#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListParams {
    pub before: String,
}

async fn index(
    user: CurrentUser,
    state: web::Data<AppState>,
    params: Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let before = query_id("before", &params.into_inner().before)?;
    let mut conn = state.pool.get().await?;
    let (seen, next) = plan::page(&mut conn, &user, before, PER_PAGE).await?;
    let page = IndexPage {
        page: PageCtx::new(&user, &mut conn, "migrations").await?,
        rows: seen.iter().map(Line::of).collect(),
        next,
        later: before.is_some(),
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "migrations/show.html")]
struct ShowPage {
    page: PageCtx,
    m: Line,
    /// The Rollback form is offered (failed, and the user may).
    can_roll_back: bool,
    /// The Retry form is offered (failed, both tenants there, and the user may).
    can_retry: bool,
    /// The progress fragment's name in the shared template.
    migration_progress: MigrationProgress,
}

async fn show(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let mut conn = state.pool.get().await?;
    let seen = plan::find(&mut conn, &user, id).await?;
    let m = Line::of(&seen);
    let page = ShowPage {
        page: PageCtx::new(&user, &mut conn, "migrations").await?,
        can_roll_back: m.progress.state == "failed" && seen.can_roll_back(&user),
        can_retry: m.progress.state == "failed" && seen.can_retry(&user),
        migration_progress: m.progress.clone(),
        m,
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "migrations/_progress.html")]
struct ProgressFragment {
    progress: MigrationProgress,
}

async fn progress(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let mut conn = state.pool.get().await?;
    let progress = plan::progress(&mut conn, &user, id).await?;
    let finished = !progress.running();
    let mut response = render(&ProgressFragment { progress })?;
    // The polling page (the migration's, a locked page) reloads once it ends: its
    // notice or error, and the unlocked page, replace the bar.
    if finished && wants_fragment(&req) {
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("hx-refresh"),
            actix_web::http::header::HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}

/// Rollback or Retry: found (404), allowed (403) and failed (409) before the
/// confirmation; confirmed, the service's operation, then back to the migration.
async fn act(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    confirm: Confirm,
    rollback: bool,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let mut conn = state.pool.get().await?;
    let seen = plan::find(&mut conn, &user, id).await?;
    let (action, done_word) = if rollback {
        (plan::Action::Rollback, "Rolled back")
    } else {
        (plan::Action::Retry, "Queued again")
    };
    plan::require_actionable(&user, &seen, action)?;
    let m = &seen.migration;
    let href = format!("/migrations/{id}");
    if !confirm.confirmed {
        let q = if rollback {
            Question {
                title: format!("Roll back migration #{id}?"),
                detail: format!(
                    "The rules and credential-stuffing settings of {} become exactly what they were before the migration (version {}, as a new version), and {} is unlocked. The copy is discarded.",
                    m.target_name, m.target_version_before, m.target_name
                ),
                action: format!("{href}/rollback"),
                button: "Roll back".into(),
                cancel: href,
                ..Question::default()
            }
        } else {
            Question {
                title: format!("Retry migration #{id}?"),
                detail: format!(
                    "{} is locked again and the copy to {} resumes where it stopped (no rule is copied twice); both are unlocked when it is done.",
                    m.source_name, m.target_name
                ),
                action: format!("{href}/retry"),
                button: "Retry".into(),
                cancel: href,
                ..Question::default()
            }
        };
        return ask(&req, &user, &mut conn, "migrations", q).await;
    }
    let actor = actor(&user, &req);
    let now = state.clock.now();
    if rollback {
        rule_migrations::rollback(&mut conn, &user, &actor, id, now).await?;
    } else {
        rule_migrations::retry(&mut conn, &user, &actor, id, now).await?;
    }
    done(&req, &user, format!("{done_word} migration #{id}."), &href)
}

async fn rollback(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    act(req, user, state, path, confirm, true).await
}

async fn retry(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    act(req, user, state, path, confirm, false).await
}
