//! Rule-set migrations for automation (issue #13, part B): `POST
//! /api/v1/tenants/{id}/rules/migrate` starts one (202, `Location` of the
//! migration), `GET /api/v1/migrations` and `/api/v1/migrations/{id}` read them,
//! `POST /api/v1/migrations/{id}/rollback|retry` act on a failed one. The same
//! service functions as the pages (`services::rule_migrations`,
//! `services::migration_plan`), the same rights: 404 for a tenant or migration the
//! caller may not see, 403 without the right, 423 while a tenant is locked, 409 for
//! a migration in another state.

use super::idempotency::{self, Answer};
use super::json;
use super::owned::PageParams;
use super::parse_json;
use super::tenants::{
    decode_cursor, encode_cursor, integral_i64, integral_opt_i64, page_limit, path_tenant,
};
use crate::auth::{authz, ApiUser};
use crate::domain::{Feature, Level};
use crate::error::AppError;
use crate::services::migration_plan::{self as plan, Seen};
use crate::services::rule_migrations::{self as service, Mappings};
use crate::services::rules as rules_service;
use crate::web::error_response::ProblemDocument;
use crate::web::extract::Query;
use crate::web::form::parse_id;
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::de::{Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub fn routes() -> Vec<Route> {
    vec![
        route!(POST "/api/v1/tenants/{id}/rules/migrate" => start),
        route!(GET "/api/v1/migrations" => list),
        route!(GET "/api/v1/migrations/{id}" => show),
        route!(POST "/api/v1/migrations/{id}/rollback" => rollback),
        route!(POST "/api/v1/migrations/{id}/retry" => retry),
    ]
}

/// Source applications (domains) per start, at most.
pub const MAX_MAPPED: usize = 10_000;

/// A rule-set migration.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Migration)]
pub struct MigrationJson {
    pub id: i64,
    /// `queued`, `copying`, `swapping`, `done`, `failed` or `rolled_back`.
    pub state: String,
    /// `null` once the tenant is deleted.
    pub source_tenant_id: Option<i64>,
    /// Once the source is deleted, its name only to global administrators and the
    /// starter; "a tenant you cannot see" to anyone else (they see the migration
    /// through its target).
    pub source_name: String,
    pub target_tenant_id: Option<i64>,
    pub target_name: String,
    /// Who started it: their login (with the API token used, to themself only)
    /// when the reader may find them (`/users`), else "a user you cannot see"
    /// ("a user since deleted" once gone).
    pub started_by: String,
    /// Rules to copy: the source's current rules, counted when it is queued (at
    /// the start, and again on a retry).
    pub total: i64,
    pub copied: i64,
    pub attempts: i32,
    /// Why it failed.
    pub error: Option<String>,
    /// `{"applications": {"<source id>": <target id or null>}, "domains": {…}}`.
    #[schema(value_type = Object)]
    pub mappings: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<&Seen> for MigrationJson {
    fn from(s: &Seen) -> Self {
        let m = &s.migration;
        MigrationJson {
            id: m.id,
            state: m.state.clone(),
            source_tenant_id: m.source_tenant_id,
            source_name: s.source_name.clone(),
            target_tenant_id: m.target_tenant_id,
            target_name: m.target_name.clone(),
            started_by: s.started_by.clone(),
            total: m.total,
            copied: m.copied,
            attempts: m.attempts,
            error: m.error.clone(),
            mappings: m.mappings.clone(),
            created_at: m.created_at,
            updated_at: m.updated_at,
            finished_at: m.finished_at,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MigrationPage {
    pub items: Vec<MigrationJson>,
    pub next_cursor: Option<String>,
}

/// What to migrate: the target tenant, and where each source application and
/// domain goes (a target id, or `null`: unbound). Sources left out stay unbound.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartMigration {
    #[serde(deserialize_with = "integral_i64")]
    #[schema(minimum = 1)]
    pub target: i64,
    /// Source application id → target application id or `null` (at most 10,000;
    /// each key a source id written plainly: `"12"`, not `"012"` or `" 12"`).
    #[serde(default, deserialize_with = "mapping")]
    pub applications: BTreeMap<String, Option<i64>>,
    /// Source domain id → target domain id or `null` (as `applications`).
    #[serde(default, deserialize_with = "mapping")]
    pub domains: BTreeMap<String, Option<i64>>,
}

/// A mapping's keys as the document states them: a source id written plainly, at
/// most 18 digits (as the ids of cursors).
pub const SOURCE_ID_PATTERN: &str = "^[1-9][0-9]{0,17}$";

/// A mapping as sent: each value an id (`3`, or `3.0` as JSON Schema counts
/// integers) or `null`, each key once — JSON allows a key twice, and which of the
/// two would win is refused instead (400), as a field given twice is.
fn mapping<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Option<i64>>, D::Error> {
    struct Target(Option<i64>);
    impl<'de> Deserialize<'de> for Target {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            integral_opt_i64(d).map(Target)
        }
    }
    struct Entries;
    impl<'de> Visitor<'de> for Entries {
        type Value = BTreeMap<String, Option<i64>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of source ids to target ids or null")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Self::Value, A::Error> {
            let mut map = BTreeMap::new();
            while let Some((key, Target(to))) = entries.next_entry::<String, Target>()? {
                if map.contains_key(&key) {
                    return Err(A::Error::custom(format!(
                        "duplicate key `{}` in a mapping: give each source once",
                        shortened(&key)
                    )));
                }
                map.insert(key, to);
            }
            Ok(map)
        }
    }
    d.deserialize_map(Entries)
}

/// A key as a message repeats it: at most 40 characters.
fn shortened(key: &str) -> String {
    match key.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &key[..at]),
        None => key.to_string(),
    }
}

/// A mapping key's source id: digits without a sign, space or leading zero, at
/// most 18 of them ([`SOURCE_ID_PATTERN`]); anything else names no id.
fn source_id(key: &str) -> Option<i64> {
    let plain = (1..=18).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_digit())
        && !key.starts_with('0');
    plain.then(|| key.parse().ok()).flatten()
}

/// The ids of a mapping's keys, or the field's error naming the first bad key.
fn ids(
    field: &'static str,
    raw: &BTreeMap<String, Option<i64>>,
) -> Result<BTreeMap<i64, Option<i64>>, AppError> {
    if raw.len() > MAX_MAPPED {
        return Err(AppError::field(
            field,
            format!("At most {MAX_MAPPED} entries."),
        ));
    }
    raw.iter()
        .map(|(k, v)| match source_id(k) {
            Some(id) => Ok((id, *v)),
            None => Err(AppError::field(
                field,
                format!(
                    "“{}” is not a source id: the keys are the source's ids, written as whole \
                     numbers without signs, spaces or leading zeros.",
                    shortened(k)
                ),
            )),
        })
        .collect()
}

/// A migration's path id: not a number names none (404).
fn migration_id(raw: &str) -> Result<i64, AppError> {
    parse_id(raw)
}

/// Start migrating the tenant's rules and credential-stuffing settings to another
/// tenant (Owner or Administrator with Rules full over both). It runs in the
/// background: follow it at the `Location` answered.
#[utoipa::path(post, path = "/api/v1/tenants/{id}/rules/migrate", tag = "rules",
    params(("id" = i64, Path, description = "Source tenant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, 1–255 visible ASCII characters")),
    request_body(content = StartMigration, content_type = "application/json"),
    responses(
        (status = 202, description = "Queued; `Location` is the migration", body = MigrationJson),
        (status = 409, description = "A tenant was locked meanwhile, or another change holds it: nothing started", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "No such target (or not visible), the source itself, or a mapping id not the target's", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 423, description = "The source or the target is locked by a migration", body = ProblemDocument, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn start(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, actix_web::Error> {
    let (mut conn, source) = path_tenant(&req, &user, &state, &path).await?;
    let data: StartMigration = parse_json(&req, &body)?;
    plan::require_source(&user, &source)?;
    authz::require(&user, &source, Feature::Rules, Level::Read)?;
    let mappings = Mappings {
        applications: ids("applications", &data.applications)?,
        domains: ids("domains", &data.domains)?,
    };
    let target = match authz::visible_tenant(&user, data.target, &mut conn).await {
        Ok(t) if t.id == source.id => {
            return Err(AppError::field("target", "Choose another tenant than the source.").into())
        }
        Ok(t) => t,
        Err(AppError::NotFound) => {
            return Err(AppError::field(
                "target",
                "No tenant you may migrate these rules to has this id.",
            )
            .into())
        }
        Err(e) => return Err(e.into()),
    };
    if !authz::can_migrate_rules(&user, &source, &target) {
        return Err(AppError::Forbidden.into());
    }
    drop(conn);
    let actor = user.actor(&req);
    let now = state.clock.now();
    // Under `Idempotency-Key` like every API POST: a retry of a started migration
    // gets its 202 again instead of a second job (or a 409 from its own lock).
    // The locks are checked inside: a replay answers even once they are taken.
    Ok(idempotency::run(&state, &req, &user, &body, async |conn| {
        rules_service::read(conn, &user, &source).await?;
        rules_service::lock::check(conn, &user, target.id).await?;
        let m = service::start(conn, &user, &actor, &source, &target, &mappings, now).await?;
        let seen = plan::find(conn, &user, m.id).await?;
        let mut answer = Answer::json(StatusCode::ACCEPTED, &MigrationJson::from(&seen))?;
        answer.location = Some(format!("/api/v1/migrations/{}", m.id));
        Ok(answer)
    })
    .await?)
}

/// The migrations the caller may see (Rules read over both tenants; over the
/// target once the source is deleted), newest first.
#[utoipa::path(get, path = "/api/v1/migrations", tag = "rules",
    params(PageParams),
    responses((status = 200, description = "One page of migrations", body = MigrationPage)),
    security(("bearer" = [])))]
pub async fn list(
    user: ApiUser,
    state: web::Data<AppState>,
    params: Query<PageParams>,
) -> Result<HttpResponse, actix_web::Error> {
    let params = params.into_inner();
    let limit = page_limit(params.limit)?;
    let before = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut conn = state.pool.get().await.map_err(AppError::from)?;
    let (seen, next) = plan::page(&mut conn, &user, before, limit as usize).await?;
    Ok(json(
        StatusCode::OK,
        &MigrationPage {
            items: seen.iter().map(MigrationJson::from).collect(),
            next_cursor: next.map(encode_cursor),
        },
    ))
}

/// One migration, with its progress.
#[utoipa::path(get, path = "/api/v1/migrations/{id}", tag = "rules",
    params(("id" = i64, Path, description = "Migration id")),
    responses((status = 200, description = "The migration", body = MigrationJson)),
    security(("bearer" = [])))]
pub async fn show(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, actix_web::Error> {
    let id = migration_id(&path)?;
    let mut conn = state.pool.get().await.map_err(AppError::from)?;
    let seen = plan::find(&mut conn, &user, id).await?;
    Ok(json(StatusCode::OK, &MigrationJson::from(&seen)))
}

async fn act(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    rollback: bool,
) -> Result<HttpResponse, actix_web::Error> {
    let id = migration_id(&path)?;
    let mut conn = state.pool.get().await.map_err(AppError::from)?;
    let seen = plan::find(&mut conn, &user, id).await?;
    plan::require_actionable(
        &user,
        &seen,
        if rollback {
            plan::Action::Rollback
        } else {
            plan::Action::Retry
        },
    )?;
    let actor = user.actor(&req);
    let now = state.clock.now();
    if rollback {
        service::rollback(&mut conn, &user, &actor, id, now).await?;
    } else {
        service::retry(&mut conn, &user, &actor, id, now).await?;
    }
    let seen = plan::find(&mut conn, &user, id).await?;
    Ok(json(StatusCode::OK, &MigrationJson::from(&seen)))
}

/// Roll a failed migration back: the target's rules and settings exactly as
/// before it, the target unlocked.
#[utoipa::path(post, path = "/api/v1/migrations/{id}/rollback", tag = "rules",
    params(("id" = i64, Path, description = "Migration id")),
    responses(
        (status = 200, description = "Rolled back", body = MigrationJson),
        (status = 409, description = "Not a failed migration, or a tenant of it was deleted", body = ProblemDocument, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn rollback(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, actix_web::Error> {
    act(req, user, state, path, true).await
}

/// Queue a failed migration again: the copy resumes without duplicates.
#[utoipa::path(post, path = "/api/v1/migrations/{id}/retry", tag = "rules",
    params(("id" = i64, Path, description = "Migration id")),
    responses(
        (status = 200, description = "Queued again", body = MigrationJson),
        (status = 409, description = "Not a failed migration, or a tenant deleted", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 423, description = "The source is locked by another migration (named); nothing changed", body = ProblemDocument, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn retry(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, actix_web::Error> {
    act(req, user, state, path, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_key_is_a_source_id_written_plainly_as_the_pattern_says() {
        let pattern = regex::Regex::new(SOURCE_ID_PATTERN).unwrap();
        for key in [
            "1",
            "42",
            "999999999999999999",
            "1000000000000000000",
            "01",
            "0",
            " 1",
            "1 ",
            "+1",
            "-1",
            "1.0",
            "١",
            "",
            "abc",
        ] {
            assert_eq!(source_id(key).is_some(), pattern.is_match(key), "{key:?}");
        }
        assert_eq!(source_id("42"), Some(42));
        let refused = ids("applications", &BTreeMap::from([("01".to_string(), None)]));
        match refused {
            Err(AppError::Validation(errors)) => {
                assert!(errors["applications"].contains("“01”"), "{errors:?}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_start_takes_integral_numbers_and_each_key_once() {
        let start: StartMigration = serde_json::from_str(
            r#"{"target": 3.0, "applications": {"1": 2.0, "2": null}, "domains": {"5": 6}}"#,
        )
        .unwrap();
        assert_eq!(start.target, 3);
        assert_eq!(
            start.applications,
            BTreeMap::from([("1".into(), Some(2)), ("2".into(), None)])
        );
        assert_eq!(start.domains, BTreeMap::from([("5".into(), Some(6))]));
        for bad in [
            r#"{"target": 3.5}"#,
            r#"{"target": 3, "applications": {"1": 2.5}}"#,
            r#"{"target": 3, "applications": {"1": 2, "1": 3}}"#,
            r#"{"target": 3, "domains": null}"#,
        ] {
            assert!(
                serde_json::from_str::<StartMigration>(bad).is_err(),
                "{bad}"
            );
        }
    }
}
