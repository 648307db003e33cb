//! `/api/v1/tenants/{id}/activity`: a tenant's audit events (or its subtree's),
//! newest first, with the activity page's filters and the tenants list's paging.

use super::json;
use super::tenants::{invalid_cursor, paged_tenant, query_limit};
use crate::auth::ApiUser;
use crate::domain::activity::{
    action_label, changes, Action, ActivityFilter, ActivityText, PageStart, CHOICES,
};
use crate::domain::SearchText;
use crate::error::AppError;
use crate::services::activity::{self, Event};
use crate::web::extract::Query;
use crate::web::form::{bad_param, refuse_choices};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

pub fn routes() -> Vec<Route> {
    vec![route!(GET "/api/v1/tenants/{id}/activity" => list)]
}

/// One changed field of an event.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ActivityChange {
    pub field: String,
    /// The old value as text; `null` when the field was absent.
    pub before: Option<String>,
    /// The new value as text; `null` when the field is gone.
    pub after: Option<String>,
}

/// One audit event.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ActivityEvent {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    /// Who: `subdomain\username` (kept after the user is gone), or `system:…`;
    /// `a user of a tenant you cannot see` (and a `null` `actor_user_id`) where the
    /// acting tenant is hidden from the reader (except on their own events).
    pub actor: String,
    pub actor_user_id: Option<i64>,
    /// The tenant the actor acted in, and its name then; one the reader cannot see
    /// (now) has a `null` id and the name `a tenant you cannot see`.
    pub acting_tenant_id: Option<i64>,
    pub acting_tenant_name: Option<String>,
    /// The actor acted in another tenant than their home (switched in).
    pub acted_elsewhere: bool,
    /// The tenant the event is about, and its name then (kept after it is deleted);
    /// one the reader cannot see has a `null` id and the name `a tenant you cannot see`.
    pub tenant_id: Option<i64>,
    pub tenant_name: Option<String>,
    /// What, e.g. `tenant.disable` …
    pub action: String,
    /// … and what the console calls it: a sentence ("Disabled the tenant",
    /// "Created an instance"), naming the item where it is known by its name
    /// ("Changed plan Basic").
    pub action_label: String,
    /// From which address.
    pub client_addr: Option<String>,
    /// The changed fields, before → after, as the console shows them: a tenant or
    /// tenant role named by id (`parent_id`, `tenant_role_id`, …) reads `Acme (id 42)`
    /// where the reader may see it.
    pub changes: Vec<ActivityChange>,
    /// The raw before/after; tenant ids in them the reader cannot see (`parent_id`,
    /// `tenant_id`) read `a tenant you cannot see`, and a `path` keeps its visible part.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

impl From<Event> for ActivityEvent {
    fn from(
        Event {
            row: e,
            acted_elsewhere,
            readable: (before, after),
        }: Event,
    ) -> Self {
        ActivityEvent {
            acted_elsewhere,
            action_label: action_label(&e.action, e.before.as_ref(), e.after.as_ref()),
            changes: changes(before.as_ref(), after.as_ref())
                .into_iter()
                .map(|c| ActivityChange {
                    field: c.field,
                    before: c.before,
                    after: c.after,
                })
                .collect(),
            id: e.id,
            occurred_at: e.occurred_at,
            actor: e.actor_username,
            actor_user_id: e.actor_user_id,
            acting_tenant_id: e.acting_tenant_id,
            acting_tenant_name: e.acting_tenant_name,
            tenant_id: e.tenant_id,
            tenant_name: e.tenant_name,
            action: e.action,
            client_addr: e.client_addr,
            before: e.before,
            after: e.after,
        }
    }
}

/// One page of events, newest first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ActivityEventPage {
    pub items: Vec<ActivityEvent>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Pass as `cursor` for the previous (newer) page; `null` on the first page, and
    /// once paging back has reached the newest event.
    pub prev_cursor: Option<String>,
}

fn action_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Action::filterable().map(Action::as_str)))
}

fn scope_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["tenant", "subtree"]))
}

/// Filters and paging of `GET /api/v1/tenants/{id}/activity`.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityParams {
    /// Only events whose actor's login (`subdomain\username`) contains this
    /// (case-insensitive). Search text: no control characters.
    #[param(max_length = 100, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub actor: Option<String>,
    /// Only events of this action (every action recorded about a tenant).
    #[param(schema_with = action_schema)]
    pub action: Option<String>,
    /// Only events on or after this day (UTC), `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Only events on or before this day (UTC), `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    /// `tenant` (default): events about this tenant; `subtree`: about it and every
    /// tenant below it whose own activity the caller could open (seen, Audit not
    /// capped away; the others are left out).
    #[param(schema_with = scope_schema)]
    pub scope: Option<String>,
    /// `next_cursor` (older events) or `prev_cursor` (newer events) of a page.
    #[param(max_length = 41, pattern = "^(newer_)?[0-9]{1,16}_[0-9]{1,18}$")]
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, deserialize_with = "query_limit")]
    pub limit: Option<i64>,
}

/// A tenant's audit events: those about it (changes made from above and switch-ins
/// included), or with `scope=subtree` about its whole subtree. Needs Audit read there.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}/activity",
    tag = "tenants",
    params(("id" = i64, Path, description = "Tenant id"), ActivityParams),
    responses(
        (status = 200, description = "One page of events, newest first", body = ActivityEventPage),
        (status = 400, description = "A parameter that is not of its form: an `action` or `scope` outside its list, a malformed limit"),
        (status = 422, description = "A filter that is not valid (e.g. `to` before `from`), the message under `errors`; or a `cursor` that is no page's `next_cursor` or `prev_cursor` (`errors.cursor`)"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<ActivityParams>,
) -> Result<HttpResponse, actix_web::Error> {
    let params = params.into_inner();
    let (mut conn, tenant, limit) = paged_tenant(&req, &user, &state, &path, params.limit).await?;
    // The page takes empty fields as "any"; the API says so by leaving them out.
    for (name, value) in [
        ("action", &params.action),
        ("scope", &params.scope),
        ("from", &params.from),
        ("to", &params.to),
    ] {
        if value
            .as_ref()
            .is_some_and(|v| v.is_empty() || v.trim() != v)
        {
            return Err(bad_param(name, "must not be empty or have blanks around it").into());
        }
    }
    // Search text, refused as the tenants list's `q` is.
    if let Some(Err(e)) = params.actor.as_deref().map(SearchText::parse) {
        return Err(bad_param("actor", &e.expects()).into());
    }
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let (actor, action, from, to, scope) = (
        text(&params.actor),
        text(&params.action),
        text(&params.from),
        text(&params.to),
        text(&params.scope),
    );
    let filter = ActivityFilter::parse(&ActivityText {
        actor: &actor,
        action: &action,
        from: &from,
        to: &to,
        scope: &scope,
    })
    .map_err(|errors| match refuse_choices(&errors, &CHOICES) {
        Err(refused) => refused,
        Ok(()) => AppError::Validation(errors),
    })?;
    let start = params
        .cursor
        .as_deref()
        .map(|c| {
            Some(c)
                .filter(|c| c.chars().count() <= 100)
                .and_then(PageStart::parse)
                .ok_or_else(invalid_cursor)
        })
        .transpose()?;
    let page = activity::page(&mut conn, &user, &tenant, &filter, start, limit).await?;
    let next_cursor = page.next.map(|c| PageStart::Before(c).to_text());
    let prev_cursor = page.prev.map(|c| PageStart::After(c).to_text());
    let items = page.events.into_iter().map(ActivityEvent::from).collect();
    Ok(json(
        StatusCode::OK,
        &ActivityEventPage {
            items,
            next_cursor,
            prev_cursor,
        },
    ))
}
