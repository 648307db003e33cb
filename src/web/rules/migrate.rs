//! `/tenants/{id}/rules/migrate`: a source tenant's migration form (issue #13, part
//! B). GET picks the target: `?q=` searches without JavaScript (the search box asks
//! `/rules/migrate/targets` for its results as you type), `?target=` shows the
//! mapping of applications and domains. A POST previews: the summary (rules copied,
//! the target's rules replaced, the settings replaced, the mapping) with the mapping
//! kept in hidden fields; posted again with `confirm=yes` it starts the migration
//! (`rule_migrations::start`) and answers 303 to `/migrations/{mid}`. Bad input
//! re-renders the form with field errors (422).

use super::{id_choices, Choice};
use crate::auth::CurrentUser;
use crate::db::models::migration_view::RuleCounts;
use crate::db::models::Tenant;
use crate::domain::rules::CredentialStuffing;
use crate::domain::{Feature, Level};
use crate::error::{AppError, ProblemKind};
use crate::services::migration_plan::{self as plan, Plan, PlanErrors};
use crate::services::rule_migrations;
use crate::services::rules as rules_service;
use crate::web::confirm::Confirm;
use crate::web::extract::{path_tenant, Query};
use crate::web::form::SearchBox;
use crate::web::page::{done, render, render_status, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::switch::{labelled, SwitchResult};
use crate::web::{actor, AppState};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;
use std::collections::{BTreeMap, BTreeSet};

pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/tenants/{id}/rules/migrate" => form),
        route!(POST "/tenants/{id}/rules/migrate" => submit),
        route!(GET "/tenants/{id}/rules/migrate/targets" => targets),
    ]
}

/// Search results shown.
const RESULTS: usize = 20;

/// What a field sent more than once is told.
const TWICE: &str = "This field was sent more than once: choose one value.";

/// The names of the fields `fields` holds more than once.
fn sent_twice(fields: &[(String, String)]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    fields
        .iter()
        .filter(|(name, _)| !seen.insert(name.as_str()))
        .map(|(name, _)| name.clone())
        .collect()
}

/// The form's query string (and its search box's): any other parameter is refused
/// (400 naming it), as the rules list refuses one.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FormQuery {
    pub q: String,
    pub target: String,
}

/// The source a form's path names: 404 unless visible, 403 unless the user may
/// migrate its rules, 423 while it is locked.
async fn source(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    raw: &str,
) -> Result<Tenant, AppError> {
    let tenant = path_tenant(user, conn, raw, Feature::Rules, Level::Read).await?;
    plan::require_source(user, &tenant)?;
    rules_service::read(conn, user, &tenant).await?;
    Ok(tenant)
}

/// One source application or domain and the select of its target.
pub struct MapRow {
    pub field: String,
    pub label: String,
    pub choices: Vec<Choice>,
    /// The chosen target's name (`None`: unbound), for the preview.
    pub chosen: Option<String>,
    pub error: Option<String>,
}

/// What the migration does, shown before it starts.
pub struct Summary {
    pub copied: RuleCounts,
    pub lost: RuleCounts,
    pub source_settings: String,
    pub target_settings: String,
}

#[derive(Template)]
#[template(path = "rules/migrate.html")]
struct MigratePage {
    page: PageCtx,
    /// The source (the rules' sub-navigation names it `tenant`).
    tenant: Tenant,
    source_id: i64,
    search: SearchBox,
    found: Vec<SwitchResult>,
    target: Option<Tenant>,
    target_error: Option<String>,
    applications: Vec<MapRow>,
    domains: Vec<MapRow>,
    /// Errors of no field shown: a stale mapping field, a refused start.
    general: Vec<String>,
    /// The preview: the summary, the mapping read-only, the Start button.
    summary: Option<Summary>,
    /// The mapping as sent, kept by the preview's form.
    hidden: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "rules/_migrate_targets.html")]
struct TargetResults {
    source_id: i64,
    search: SearchBox,
    found: Vec<SwitchResult>,
}

/// The form's state: what was searched, the target chosen with its plan, the
/// mapping's values and errors, and whether it is previewed.
#[derive(Default)]
struct FormState {
    search: SearchBox,
    target: Option<(Tenant, Plan)>,
    target_error: Option<String>,
    fields: BTreeMap<String, String>,
    errors: PlanErrors,
    general: Vec<String>,
    preview: bool,
}

impl FormState {
    /// The field errors of `start` (or of its checks, at the preview) into the form.
    fn keep(&mut self, errors: crate::error::FieldErrors) {
        for (field, message) in errors {
            if field == "target" {
                self.target_error = Some(message);
            } else {
                self.errors.insert(field.to_string(), message);
            }
        }
    }
}

/// Credential-stuffing settings in words.
fn settings_text(s: &CredentialStuffing) -> String {
    if !s.enabled {
        return "off".into();
    }
    let paths = if s.login_paths.is_empty() {
        "no login paths".to_string()
    } else {
        s.login_paths.join(", ")
    };
    format!(
        "on: {} failed logins within {} minutes, watching {paths}",
        s.threshold, s.window_minutes
    )
}

/// The select rows of `items` (source id, name) mapped among `targets`.
fn map_rows(
    items: &[(i64, String)],
    targets: &[(i64, String)],
    field: fn(i64) -> String,
    st: &FormState,
) -> Vec<MapRow> {
    items
        .iter()
        .map(|(id, name)| {
            let field = field(*id);
            let chosen = st.fields.get(&field).cloned().unwrap_or_default();
            MapRow {
                choices: id_choices(targets, &chosen, "(keep unbound)"),
                chosen: targets
                    .iter()
                    .find(|(t, _)| chosen.trim() == t.to_string())
                    .map(|(_, n)| n.clone()),
                error: st.errors.get(&field).cloned(),
                label: name.clone(),
                field,
            }
        })
        .collect()
}

async fn show(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    source: Tenant,
    st: FormState,
) -> Result<HttpResponse, AppError> {
    let found = match (st.search.query(), &st.target) {
        (Some(q), None) => {
            let tenants = plan::targets(conn, user, &source, q, RESULTS).await?;
            labelled(user, conn, tenants).await?
        }
        _ => Vec::new(),
    };
    let failed = st.target_error.is_some()
        || !st.errors.is_empty()
        || !st.general.is_empty()
        || st.search.error.is_some();
    // Errors naming a field the form does not show (a stale mapping field).
    let mut general = st.general.clone();
    let (mut applications, mut domains, mut summary, mut hidden, mut target) =
        (Vec::new(), Vec::new(), None, Vec::new(), None);
    if let Some((t, p)) = &st.target {
        let src_apps: Vec<(i64, String)> = p
            .source_applications
            .iter()
            .map(|a| (a.id, a.name.clone()))
            .collect();
        let dst_apps: Vec<(i64, String)> = p
            .target_applications
            .iter()
            .map(|a| (a.id, a.name.clone()))
            .collect();
        let src_domains: Vec<(i64, String)> = p
            .source_domains
            .iter()
            .map(|d| (d.id, d.name.clone()))
            .collect();
        let dst_domains: Vec<(i64, String)> = p
            .target_domains
            .iter()
            .map(|d| (d.id, d.name.clone()))
            .collect();
        applications = map_rows(&src_apps, &dst_apps, plan::application_field, &st);
        domains = map_rows(&src_domains, &dst_domains, plan::domain_field, &st);
        let shown: Vec<&String> = applications
            .iter()
            .chain(domains.iter())
            .map(|r| &r.field)
            .collect();
        // The unknown sources' message names them itself.
        for (field, message) in &st.errors {
            if field == rule_migrations::UNKNOWN_SOURCES {
                general.push(message.clone());
            } else if !shown.contains(&field) {
                general.push(format!("{field}: {message}"));
            }
        }
        if st.preview && !failed {
            summary = Some(Summary {
                copied: p.copied,
                lost: p.lost,
                source_settings: settings_text(&p.source_settings),
                target_settings: settings_text(&p.target_settings),
            });
            hidden = applications
                .iter()
                .chain(domains.iter())
                .map(|r| {
                    let v = st.fields.get(&r.field).cloned().unwrap_or_default();
                    (r.field.clone(), v)
                })
                .collect();
        }
        target = Some(t.clone());
    }
    let page = MigratePage {
        page: PageCtx::new(user, conn, "rules").await?,
        source_id: source.id,
        tenant: source,
        search: st.search,
        found,
        target,
        target_error: st.target_error,
        applications,
        domains,
        general,
        summary,
        hidden,
    };
    let status = if failed {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_status(&page, status)
}

/// The target the user named, with its plan, into the form's state (or its field error).
async fn pick(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    source: &Tenant,
    raw: &str,
    st: &mut FormState,
) -> Result<(), AppError> {
    match plan::target(conn, user, source, raw).await? {
        Ok(t) => {
            let p = plan::plan(conn, user, source, &t).await?;
            st.target = Some((t, p));
        }
        Err(message) => st.target_error = Some(message),
    }
    Ok(())
}

async fn form(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: Query<FormQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let mut conn = state.pool.get().await?;
    let source = source(&user, &mut conn, &path).await?;
    let mut st = FormState {
        search: SearchBox::read(&query.q),
        ..FormState::default()
    };
    if !query.target.trim().is_empty() {
        pick(&user, &mut conn, &source, &query.target, &mut st).await?;
        if let Some((_, p)) = &st.target {
            st.fields = p.suggested();
        }
    }
    show(&user, &mut conn, source, st).await
}

/// The search box's results as you type (a fragment; 200 even when the text is
/// refused: htmx shows its message).
async fn targets(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: Query<FormQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let source = source(&user, &mut conn, &path).await?;
    let search = SearchBox::read(&query.q);
    let found = match search.query() {
        Some(q) => {
            let tenants = plan::targets(&mut conn, &user, &source, q, RESULTS).await?;
            labelled(&user, &mut conn, tenants).await?
        }
        None => Vec::new(),
    };
    render(&TargetResults {
        source_id: source.id,
        search,
        found,
    })
}

async fn submit(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: Confirm,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let source = source(&user, &mut conn, &path).await?;
    let sent: BTreeMap<String, String> = form.fields.iter().cloned().collect();
    // A field sent twice would be decided by whichever came last: refused instead.
    let twice = sent_twice(&form.fields);
    let mut st = FormState::default();
    if twice.contains("target") {
        st.target_error = Some(TWICE.into());
        return show(&user, &mut conn, source, st).await;
    }
    pick(
        &user,
        &mut conn,
        &source,
        sent.get("target").map_or("", String::as_str),
        &mut st,
    )
    .await?;
    let Some((target, p)) = st.target.take() else {
        return show(&user, &mut conn, source, st).await;
    };
    st.fields = sent
        .iter()
        .filter(|(k, _)| k.starts_with("map_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let edit = sent.get("edit").is_some_and(|v| v == "yes");
    let twice: PlanErrors = twice
        .into_iter()
        .filter(|f| f.starts_with("map_"))
        .map(|f| (f, TWICE.to_string()))
        .collect();
    let mapped = match p.mappings(&target, &st.fields) {
        Ok(_) if !twice.is_empty() => Err(twice),
        Ok(m) => Ok(m),
        Err(mut errors) => {
            errors.extend(twice);
            Err(errors)
        }
    };
    let mappings = match mapped {
        Ok(m) if form.confirmed && !edit => m,
        Ok(m) => {
            st.preview = !edit;
            // The preview refuses what Start would refuse: the same checks.
            if st.preview {
                match rule_migrations::check_mappings(&mut conn, &source, &target, &m).await {
                    Ok(()) => {}
                    Err(AppError::Validation(errors)) => st.keep(errors),
                    Err(e) => return Err(e),
                }
            }
            st.target = Some((target, p));
            return show(&user, &mut conn, source, st).await;
        }
        Err(errors) => {
            st.errors = errors;
            st.target = Some((target, p));
            return show(&user, &mut conn, source, st).await;
        }
    };
    let started = rule_migrations::start(
        &mut conn,
        &user,
        &actor(&user, &req),
        &source,
        &target,
        &mappings,
        state.clock.now(),
    )
    .await;
    let names = (source.name.clone(), target.name.clone());
    st.target = Some((target, p));
    match started {
        Ok(m) => done(
            &req,
            &user,
            format!(
                "Migration #{} started: {} and {} are locked until it ends.",
                m.id, names.0, names.1
            ),
            &format!("/migrations/{}", m.id),
        ),
        // A race since the preview: the form again with what changed.
        Err(AppError::Validation(errors)) => {
            st.keep(errors);
            show(&user, &mut conn, source, st).await
        }
        Err(AppError::Conflict(message)) => {
            st.general.push(message);
            show(&user, &mut conn, source, st).await
        }
        Err(AppError::Problem {
            kind: ProblemKind::ValidationFailed,
            detail,
        }) => {
            st.general.push(detail);
            show(&user, &mut conn, source, st).await
        }
        Err(e) => Err(e),
    }
}
