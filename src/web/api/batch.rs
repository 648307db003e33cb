//! `POST /api/v1/tenants/batch`: up to 1,000 tenant operations in one request,
//! answered per item in order. `"atomic": true` applies all of them in one
//! transaction or none; otherwise each applies (or fails) on its own.

use super::idempotency::{self, Answer};
use super::parse_json;
use super::tenants::{
    apply_create, apply_delete, apply_move, apply_update, integral_i64, CreateTenant, UpdateTenant,
};
use crate::auth::{authz, ApiUser, Principal};
use crate::db::models::Tenant;
use crate::domain::domain_name::ConsoleHosts;
use crate::error::{AppError, ProblemKind};
use crate::services::plans::Warned;
use crate::services::tenants::{self as service, NewTenant};
use crate::services::Actor;
use crate::web::error_response::ProblemDocument;
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

pub fn routes() -> Vec<Route> {
    vec![route!(POST "/api/v1/tenants/batch" => batch)]
}

/// At most this many operations per batch.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// All or nothing (one transaction); default `false`: each operation on its own.
    #[serde(default)]
    pub atomic: bool,
    /// 1 to 1,000 operations, applied in order.
    #[schema(min_items = 1, max_items = 1000)]
    pub operations: Vec<Operation>,
}

/// One operation: `create`, `update`, `move` or `delete`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum Operation {
    Create {
        data: CreateTenant,
    },
    Update {
        #[serde(deserialize_with = "integral_i64")]
        id: i64,
        data: UpdateTenant,
    },
    Move {
        #[serde(deserialize_with = "integral_i64")]
        id: i64,
        #[serde(deserialize_with = "integral_i64")]
        parent_id: i64,
    },
    Delete {
        #[serde(deserialize_with = "integral_i64")]
        id: i64,
        #[serde(default)]
        force: bool,
    },
}

/// Each operation's fields with their types, read first: the tagged [`Operation`]
/// reads through a buffer that hides a wrong field's path, so a body of the wrong
/// shape is told here which field it is (`operations[2].data.name`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read only to be checked
struct BatchShape {
    #[serde(default)]
    atomic: bool,
    operations: Vec<OperationShape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct OperationShape {
    op: OpName,
    #[serde(default, deserialize_with = "super::tenants::integral_opt_i64")]
    id: Option<i64>,
    #[serde(default, deserialize_with = "super::tenants::integral_opt_i64")]
    parent_id: Option<i64>,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

/// The operations of [`Operation`], by name.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum OpName {
    Create,
    Update,
    Move,
    Delete,
}

impl BatchShape {
    /// The `data` of each create and update read as its type, an error naming the
    /// field by its path.
    fn check_data(self) -> Result<(), AppError> {
        for (i, op) in self.operations.into_iter().enumerate() {
            let Some(data) = op.data else { continue };
            let at = format!("operations[{i}].data");
            match op.op {
                OpName::Create => {
                    let _: CreateTenant = super::parse_part(data, &at)?;
                }
                OpName::Update => {
                    let _: UpdateTenant = super::parse_part(data, &at)?;
                }
                OpName::Move | OpName::Delete => {}
            }
        }
        Ok(())
    }
}

/// The outcome of one operation: its HTTP status, and the tenant's id or a problem.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BatchResult {
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ProblemDocument>,
    /// A successful `update` or `move`: what it warns of, as `PATCH` and `…/move`
    /// answer it (`[]` when there is nothing to say); absent for other operations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    /// Whether the successful operations were kept (always, unless an atomic batch
    /// failed and was rolled back).
    pub applied: bool,
    pub results: Vec<BatchResult>,
}

impl BatchResult {
    pub(super) fn ok(status: StatusCode, id: i64) -> Self {
        BatchResult {
            status: status.as_u16(),
            id: Some(id),
            error: None,
            warnings: None,
        }
    }

    /// A change done with what it warns of (`update`, `move`).
    fn warned(saved: Warned<Tenant>) -> Self {
        BatchResult {
            warnings: Some(saved.warnings),
            ..Self::ok(StatusCode::OK, saved.value.id)
        }
    }

    pub(super) fn failed(e: &AppError) -> Self {
        let doc = e.problem_document();
        BatchResult {
            status: doc.status,
            id: None,
            error: Some(doc),
            warnings: None,
        }
    }

    fn rolled_back() -> Self {
        Self::failed(&AppError::problem(
            ProblemKind::BatchRolledBack,
            "Another operation of this atomic batch failed; nothing was applied.",
        ))
    }
}

async fn apply(
    p: &Principal,
    actor: &Actor,
    conn: &mut AsyncPgConnection,
    hosts: &ConsoleHosts,
    op: Operation,
    now: DateTime<Utc>,
) -> Result<BatchResult, AppError> {
    Ok(match op {
        Operation::Create { data } => BatchResult::ok(
            StatusCode::CREATED,
            apply_create(p, actor, conn, hosts, &data).await?.id,
        ),
        Operation::Update { id, data } => {
            BatchResult::warned(apply_update(p, actor, conn, hosts, id, &data, now).await?)
        }
        Operation::Move { id, parent_id } => {
            BatchResult::warned(apply_move(p, actor, conn, id, parent_id, now).await?)
        }
        Operation::Delete { id, force } => {
            apply_delete(p, actor, conn, id, force, now).await?;
            BatchResult::ok(StatusCode::NO_CONTENT, id)
        }
    })
}

/// The operations in order, consecutive creates taken together: a run of creates is
/// one set-based `create_many` instead of a transaction per tenant.
enum Step {
    Creates(Vec<CreateTenant>),
    // Boxed: an update carries every tenant field, far more than a run's `Vec`.
    One(Box<Operation>),
}

fn steps(operations: Vec<Operation>) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    for op in operations {
        match (op, out.last_mut()) {
            (Operation::Create { data }, Some(Step::Creates(run))) => run.push(data),
            (Operation::Create { data }, _) => out.push(Step::Creates(vec![data])),
            (op, _) => out.push(Step::One(Box::new(op))),
        }
    }
    out
}

/// Applies a run of creates, answered per item. With `all_or_nothing` it stops at
/// the first failure (the caller rolls everything back). If the set-based insert
/// fails as a whole (a concurrent request took a subdomain between check and
/// insert, say), each create runs on its own instead, so each gets its own answer.
async fn apply_creates(
    p: &Principal,
    actor: &Actor,
    conn: &mut AsyncPgConnection,
    hosts: &ConsoleHosts,
    run: Vec<CreateTenant>,
    all_or_nothing: bool,
) -> Result<Vec<Result<BatchResult, AppError>>, AppError> {
    let mut parents = HashMap::new();
    let mut prepared = Vec::with_capacity(run.len());
    for data in &run {
        let item = check_create(p, conn, hosts, data, &mut parents).await;
        match item {
            Err(e) if fatal(&e) => return Err(e),
            Err(e) if all_or_nothing => {
                // The caller rolls back everything: what came before is moot.
                let mut out: Vec<_> = prepared
                    .iter()
                    .map(|_| Ok(BatchResult::rolled_back()))
                    .collect();
                out.push(Err(e));
                return Ok(out);
            }
            item => {
                // An item refused before the locks (a field that cannot be read) fails
                // in the locked checks too, with their errors: the first failure of an
                // all-or-nothing batch, so the items after it are not prepared.
                let fails = all_or_nothing && item.as_ref().is_ok_and(|i| !i.unread.is_empty());
                prepared.push(item);
                if fails {
                    break;
                }
            }
        }
    }
    let items: Vec<_> = prepared
        .iter()
        .filter_map(|r| r.as_ref().ok().cloned())
        .collect();
    match service::create_many(conn, p, actor, items).await {
        Ok(created) => {
            let mut created = created.into_iter();
            Ok(prepared
                .into_iter()
                .map(|r| {
                    r.and_then(|_| created.next().unwrap_or(Err(AppError::NotFound)))
                        .map(|t| BatchResult::ok(StatusCode::CREATED, t.id))
                })
                .collect())
        }
        Err(e) if fatal(&e) => Err(e),
        Err(_) => {
            let mut out = Vec::with_capacity(run.len());
            for data in run {
                let r = apply_create(p, actor, conn, hosts, &data)
                    .await
                    .map(|t| BatchResult::ok(StatusCode::CREATED, t.id));
                let failed = r.is_err();
                out.push(r);
                if failed && all_or_nothing {
                    break;
                }
            }
            Ok(out)
        }
    }
}

/// `apply_create` before anything is locked, for a set-based `create_many`;
/// `parents` keeps the parents already read, with their governing plans (a batch
/// often creates many tenants under one).
async fn check_create(
    p: &Principal,
    conn: &mut AsyncPgConnection,
    hosts: &ConsoleHosts,
    data: &CreateTenant,
    parents: &mut HashMap<i64, (Tenant, Option<i64>)>,
) -> Result<NewTenant, AppError> {
    let (parent, plan) = match parents.get(&data.parent_id) {
        Some(known) => known.clone(),
        None => {
            let parent = authz::visible_tenant(p, data.parent_id, conn).await?;
            let plan = crate::services::plans::plan_of(conn, &parent)
                .await?
                .map(|p| p.id);
            parents.insert(parent.id, (parent.clone(), plan));
            (parent, plan)
        }
    };
    service::check_create(p, Some(&parent), plan, data.to_input(&parent, hosts))
}

/// Why an atomic batch stopped.
enum Abort {
    Op(usize, AppError),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Abort::Db(e)
    }
}

/// Errors that end the whole request rather than one item (retry it as a whole).
fn fatal(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Busy | AppError::Unavailable(_) | AppError::Unexpected(_)
    )
}

pub async fn run_batch(
    p: &Principal,
    actor: &Actor,
    conn: &mut AsyncPgConnection,
    hosts: &ConsoleHosts,
    request: BatchRequest,
    now: DateTime<Utc>,
) -> Result<BatchResponse, AppError> {
    let total = request.operations.len();
    let steps = steps(request.operations);
    if !request.atomic {
        let mut results = Vec::with_capacity(total);
        for step in steps {
            match step {
                Step::Creates(run) => {
                    let n = run.len();
                    match apply_creates(p, actor, conn, hosts, run, false).await {
                        Ok(rs) => results.extend(rs.into_iter().map(|r| match r {
                            Ok(r) => r,
                            Err(e) => BatchResult::failed(&e),
                        })),
                        Err(e) => results.extend((0..n).map(|_| BatchResult::failed(&e))),
                    }
                }
                Step::One(op) => results.push(match apply(p, actor, conn, hosts, *op, now).await {
                    Ok(r) => r,
                    Err(e) => BatchResult::failed(&e),
                }),
            }
        }
        return Ok(BatchResponse {
            applied: true,
            results,
        });
    }
    let mut done = Vec::with_capacity(total);
    let outcome = super::in_transaction(conn, async |conn| {
        for step in steps {
            let at = done.len();
            match step {
                Step::Creates(run) => {
                    let rs = apply_creates(p, actor, conn, hosts, run, true)
                        .await
                        .map_err(|e| Abort::Op(at, e))?;
                    for (k, r) in rs.into_iter().enumerate() {
                        match r {
                            Ok(r) => done.push(r),
                            Err(e) => return Err(Abort::Op(at + k, e)),
                        }
                    }
                }
                Step::One(op) => match apply(p, actor, conn, hosts, *op, now).await {
                    Ok(r) => done.push(r),
                    Err(e) => return Err(Abort::Op(at, e)),
                },
            }
        }
        Ok::<(), Abort>(())
    })
    .await;
    match outcome {
        Ok(()) => Ok(BatchResponse {
            applied: true,
            results: done,
        }),
        Err(Abort::Db(e)) => Err(e.into()),
        Err(Abort::Op(_, e)) if fatal(&e) => Err(e),
        Err(Abort::Op(failed, e)) => Ok(BatchResponse {
            applied: false,
            results: (0..total)
                .map(|i| {
                    if i == failed {
                        BatchResult::failed(&e)
                    } else {
                        BatchResult::rolled_back()
                    }
                })
                .collect(),
        }),
    }
}

/// Apply up to 1,000 create/update/move/delete operations, answered per item in
/// order. Accepts `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/batch",
    tag = "tenants",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key, 1–255 visible ASCII characters")),
    request_body(content = BatchRequest, content_type = "application/json"),
    responses((status = 200, description = "Per-operation results, in order", body = BatchResponse)),
    security(("bearer" = []))
)]
pub async fn batch(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    parse_json::<BatchShape>(&req, &body)?.check_data()?;
    let request: BatchRequest = parse_json(&req, &body)?;
    if request.operations.is_empty() {
        return Err(AppError::problem(
            ProblemKind::InvalidBody,
            "A batch holds at least one operation.",
        ));
    }
    if request.operations.len() > MAX_OPERATIONS {
        return Err(AppError::problem(
            ProblemKind::TooManyOperations,
            format!(
                "A batch holds at most {MAX_OPERATIONS} operations; this one has {}.",
                request.operations.len()
            ),
        ));
    }
    let actor = user.actor(&req);
    let hosts = state.settings.console_hosts();
    idempotency::run(&state, &req, &user, &body, async |conn| {
        let response = run_batch(&user, &actor, conn, &hosts, request, state.clock.now()).await?;
        Answer::json(StatusCode::OK, &response)
    })
    .await
}
