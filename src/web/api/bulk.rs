//! `POST /api/v1/tenants/bulk`: one action (disable, enable, move, add or remove a
//! label) on up to 1,000 tenants, chosen by id or as every tenant `GET
//! /api/v1/tenants` lists for a filter; previewed with `dry_run`, answered per
//! tenant in order. The JSON body converts into `services::tenants::bulk`'s input,
//! the same operation as the Tenants page's bulk bar.

use super::idempotency::{self, Answer};
use super::parse_json;
use super::tenants::{integral_i64, integral_opt_i64, KindParam, StatusParam};
use crate::auth::{authz, ApiUser, Principal};
use crate::domain::{label, Feature, Level, SearchText};
use crate::error::{AppError, FieldErrors, ProblemKind};
use crate::services::tenants::bulk::{
    self as service, ActionRequest, BulkAction, Counts, ItemOutcome, Listed, Outcome, Selection,
};
use crate::services::tenants::{parse_filter, FilterText};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Vec<Route> {
    vec![route!(POST "/api/v1/tenants/bulk" => bulk)]
}

/// A tenant id in `ids`: an integer (`42.0` too, as JSON Schema counts integers).
#[derive(Clone, Copy, Debug)]
pub struct IdItem(i64);

impl<'de> Deserialize<'de> for IdItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        integral_i64(d).map(IdItem)
    }
}

/// A list that may be left out but not sent as `null`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The filter of `GET /api/v1/tenants`, as a body: the tenants it lists are the
/// tenants selected.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkFilter {
    /// Name or subdomain contains this (case-insensitive), at most 100 characters
    /// and no control characters (search text, as the list's `q`).
    #[serde(default)]
    #[schema(max_length = 100, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub q: Option<String>,
    #[serde(default)]
    pub status: Option<StatusParam>,
    #[serde(default)]
    pub kind: Option<KindParam>,
    /// Direct children of this tenant.
    #[serde(default, deserialize_with = "integral_opt_i64")]
    pub parent: Option<i64>,
    /// The tenants below this one (not itself).
    #[serde(default, deserialize_with = "integral_opt_i64")]
    pub within: Option<i64>,
    /// Tenants with this label.
    #[serde(default)]
    pub label: Option<String>,
}

/// `scope` of `disable` and `enable`: the tenant only (default) or its whole subtree.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BulkScope {
    Tenant,
    Subtree,
}

/// One action on the selected tenants: `ids` (1–1,000 tenant ids) or `filter`
/// (every tenant `GET /api/v1/tenants` lists for it, at most 1,000), exactly one of
/// them; `dry_run: true` answers what would happen and changes nothing.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum BulkRequest {
    Disable {
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Vec<i64>)]
        ids: Option<Vec<IdItem>>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = BulkFilter)]
        filter: Option<BulkFilter>,
        #[serde(default)]
        scope: Option<BulkScope>,
        #[serde(default)]
        dry_run: bool,
    },
    Enable {
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Vec<i64>)]
        ids: Option<Vec<IdItem>>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = BulkFilter)]
        filter: Option<BulkFilter>,
        #[serde(default)]
        scope: Option<BulkScope>,
        #[serde(default)]
        dry_run: bool,
    },
    Move {
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Vec<i64>)]
        ids: Option<Vec<IdItem>>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = BulkFilter)]
        filter: Option<BulkFilter>,
        /// The new parent.
        #[serde(deserialize_with = "integral_i64")]
        parent_id: i64,
        #[serde(default)]
        dry_run: bool,
    },
    AddLabel {
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Vec<i64>)]
        ids: Option<Vec<IdItem>>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = BulkFilter)]
        filter: Option<BulkFilter>,
        /// One label, in its exact form; a `key:value` label replaces the tenant's
        /// label of the same key (a tenant has one value per key).
        label: String,
        #[serde(default)]
        dry_run: bool,
    },
    RemoveLabel {
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = Vec<i64>)]
        ids: Option<Vec<IdItem>>,
        #[serde(default, deserialize_with = "present")]
        #[schema(value_type = BulkFilter)]
        filter: Option<BulkFilter>,
        label: String,
        #[serde(default)]
        dry_run: bool,
    },
}

/// Every field any action takes, each with its type: read first, so that a body
/// of the wrong shape is told which field is wrong (`errors`), and an unknown
/// field is named beside all the known ones — the tagged [`BulkRequest`] reads
/// through a buffer that hides the field from the error. What each action needs
/// and refuses is then [`BulkRequest`]'s.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read only to be checked
struct BulkShape {
    action: ActionName,
    #[serde(default, deserialize_with = "present")]
    ids: Option<Vec<IdItem>>,
    #[serde(default, deserialize_with = "present")]
    filter: Option<BulkFilter>,
    #[serde(default)]
    scope: Option<BulkScope>,
    #[serde(default, deserialize_with = "integral_opt_i64")]
    parent_id: Option<i64>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

/// The actions of [`BulkRequest`], by name.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ActionName {
    Disable,
    Enable,
    Move,
    AddLabel,
    RemoveLabel,
}

/// The parts every action has.
struct Parts<'a> {
    ids: Option<&'a [IdItem]>,
    filter: Option<&'a BulkFilter>,
    dry_run: bool,
    action: ActionRequest<'a>,
}

impl BulkRequest {
    fn parts<'a>(&'a self, parent_id: &'a str) -> Parts<'a> {
        let (ids, filter, dry_run) = match self {
            BulkRequest::Disable {
                ids,
                filter,
                dry_run,
                ..
            }
            | BulkRequest::Enable {
                ids,
                filter,
                dry_run,
                ..
            }
            | BulkRequest::Move {
                ids,
                filter,
                dry_run,
                ..
            }
            | BulkRequest::AddLabel {
                ids,
                filter,
                dry_run,
                ..
            }
            | BulkRequest::RemoveLabel {
                ids,
                filter,
                dry_run,
                ..
            } => (ids.as_deref(), filter.as_ref(), *dry_run),
        };
        let action = match self {
            BulkRequest::Disable { scope, .. } | BulkRequest::Enable { scope, .. } => {
                ActionRequest {
                    action: if matches!(self, BulkRequest::Disable { .. }) {
                        "disable"
                    } else {
                        "enable"
                    },
                    scope: match scope {
                        Some(BulkScope::Subtree) => "subtree",
                        _ => "tenant",
                    },
                    ..ActionRequest::default()
                }
            }
            BulkRequest::Move { .. } => ActionRequest {
                action: "move",
                parent_id,
                ..ActionRequest::default()
            },
            BulkRequest::AddLabel { label, .. } => ActionRequest {
                action: "add_label",
                label,
                ..ActionRequest::default()
            },
            BulkRequest::RemoveLabel { label, .. } => ActionRequest {
                action: "remove_label",
                label,
                ..ActionRequest::default()
            },
        };
        Parts {
            ids,
            filter,
            dry_run,
            action,
        }
    }

    fn parent_id(&self) -> Option<i64> {
        match self {
            BulkRequest::Move { parent_id, .. } => Some(*parent_id),
            _ => None,
        }
    }
}

/// What happened to one selected tenant.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BulkOutcome {
    /// Changed (with `dry_run`: would change).
    Changed,
    /// Already as asked: nothing to change.
    Unchanged,
    /// Not done; `message` says why (what the single operation would answer).
    Refused,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BulkItem {
    pub id: i64,
    /// `null` for an id that names no tenant the caller may see.
    pub subdomain: Option<String>,
    pub outcome: BulkOutcome,
    /// Why it was refused; for another outcome, what else there is to say (the
    /// selected tenant whose subtree includes it, the label an added `key:value`
    /// replaces: `replacing tier:gold`); `null` otherwise.
    pub message: Option<String>,
}

/// The outcome of every selected tenant, in order (`ids` as sent, a repeated id
/// once; a filter's tenants by id), with the counts.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BulkResponse {
    pub dry_run: bool,
    pub changed: usize,
    pub unchanged: usize,
    pub refused: usize,
    pub items: Vec<BulkItem>,
}

impl BulkResponse {
    fn new(dry_run: bool, items: Vec<ItemOutcome>) -> Self {
        let counts = Counts::of(&items);
        BulkResponse {
            dry_run,
            changed: counts.changed,
            unchanged: counts.unchanged,
            refused: counts.refused,
            items: items
                .into_iter()
                .map(|i| BulkItem {
                    id: i.id,
                    subdomain: i.tenant.map(|t| t.subdomain),
                    outcome: match i.outcome {
                        Outcome::Changed => BulkOutcome::Changed,
                        Outcome::Unchanged => BulkOutcome::Unchanged,
                        Outcome::Refused => BulkOutcome::Refused,
                    },
                    message: i.message,
                })
                .collect(),
        }
    }
}

/// The selection a body names. A filter is read as `GET /api/v1/tenants` reads its
/// query: a malformed value is a 400, a `parent` or `within` the caller may not see
/// a 404 (and one they may not read a 403).
async fn selection(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    parts: &Parts<'_>,
) -> Result<Selection, AppError> {
    match (parts.ids, parts.filter) {
        (Some(ids), None) => {
            // As sent, repeats included: what the document's `maxItems` counts.
            if ids.len() > service::MAX_SELECTION {
                return Err(AppError::field(
                    "ids",
                    format!(
                        "At most {} ids at once; this request has {}.",
                        service::MAX_SELECTION,
                        ids.len()
                    ),
                ));
            }
            // Ids below 1 are refused by the service, as for the page.
            Ok(Selection::Ids(ids.iter().map(|i| i.0).collect()))
        }
        (None, Some(f)) => {
            if let Some(Err(e)) = f.q.as_deref().map(SearchText::parse) {
                return Err(AppError::BadRequest(format!("filter.q {}.", e.expects())));
            }
            if let Some(l) = &f.label {
                label::parse_exact(std::slice::from_ref(l)).map_err(AppError::BadRequest)?;
            }
            let (parent, within) = (
                f.parent.map(|p| p.to_string()).unwrap_or_default(),
                f.within.map(|w| w.to_string()).unwrap_or_default(),
            );
            let spec = parse_filter(FilterText {
                q: f.q.as_deref().unwrap_or(""),
                status: match f.status {
                    Some(StatusParam::Enabled) => "enabled",
                    Some(StatusParam::Disabled) => "disabled",
                    None => "",
                },
                kind: match f.kind {
                    Some(KindParam::Reseller) => "reseller",
                    Some(KindParam::Customer) => "customer",
                    None => "",
                },
                parent: &parent,
                within: &within,
                label: f.label.as_deref().unwrap_or(""),
            })
            .map_err(|errors| {
                let messages: Vec<String> = errors.into_values().collect();
                AppError::BadRequest(messages.join(" "))
            })?;
            for id in [spec.filter.parent, spec.within].into_iter().flatten() {
                let t = authz::visible_tenant(p, id, conn).await?;
                authz::require(p, &t, Feature::Tenants, Level::Read)?;
            }
            Ok(Selection::Matching(spec, Listed::Api))
        }
        _ => Err(AppError::problem(
            ProblemKind::InvalidBody,
            "Send either `ids` or `filter`: exactly one of them.",
        )),
    }
}

/// Field errors of the body: the service's, and `label` exactly as the document's
/// pattern says (no blanks around it, lowercase).
async fn action(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    parts: &Parts<'_>,
) -> Result<BulkAction, AppError> {
    let mut errors = FieldErrors::new();
    if matches!(parts.action.action, "add_label" | "remove_label") {
        if let Err(e) = label::parse_exact(&[parts.action.label.to_string()]) {
            errors.insert("label", e);
        }
    }
    match service::parse_action(conn, p, parts.action).await? {
        Ok(action) if errors.is_empty() => Ok(action),
        Ok(_) => Err(AppError::Validation(errors)),
        Err(mut more) => {
            more.append(&mut errors);
            Err(AppError::Validation(more))
        }
    }
}

/// Disable, enable, move, or add or remove a label on up to 1,000 tenants at once,
/// each as the single operation would (the same rights, rules and audit events),
/// answered per tenant. With `dry_run: true` nothing changes: the answer says what
/// would (an apply decides again, and may refuse what changed meanwhile). Accepts
/// `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/bulk",
    tag = "tenants",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, 1–255 visible ASCII characters")),
    request_body(content = BulkRequest, content_type = "application/json"),
    responses((status = 200, description = "Per-tenant outcomes, in order", body = BulkResponse)),
    security(("bearer" = []))
)]
pub async fn bulk(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let _: BulkShape = parse_json(&req, &body)?;
    let request: BulkRequest = parse_json(&req, &body)?;
    let actor = user.actor(&req);
    let hosts = state.settings.console_hosts();
    let parent_id = request
        .parent_id()
        .map(|id| id.to_string())
        .unwrap_or_default();
    let parts = request.parts(&parent_id);
    idempotency::run(&state, &req, &user, &body, async |conn| {
        let selection = selection(conn, &user, &parts).await?;
        let action = action(conn, &user, &parts).await?;
        let items = service::bulk(
            conn,
            &user,
            &actor,
            &hosts,
            selection,
            &action,
            state.clock.now(),
            !parts.dry_run,
        )
        .await?;
        Answer::json(StatusCode::OK, &BulkResponse::new(parts.dry_run, items))
    })
    .await
}
