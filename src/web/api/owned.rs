//! What the API's tenant-owned collections share
//! (`/api/v1/tenants/{id}/<items>[/{item}]`: applications, domains, rules, clouds,
//! instances, resolvers, devices, subnets; the policies next): the paging
//! parameters and the prologue and answer of a list, a create, a read and a change.
//! A `web::owned::Family` says which right a read and a change need. Every
//! helper reads the path's tenant first (404 for one the caller may not see).

use super::idempotency::{self, Answer};
use super::tenants::{
    decode_tenant_cursor, integral_opt_i64, integral_opt_vec, page_limit, paged_in, path_tenant,
    query_limit, ListOf, NOT_A_CURSOR, NOT_NULL,
};
use super::{json, parse_json};
use crate::auth::ApiUser;
use crate::db::models::Tenant;
use crate::error::{AppError, FieldErrors};
use crate::services::change::Change;
use crate::web::form::{bad_param, parse_id};
use crate::web::owned::Family;
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel_async::AsyncPgConnection;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::IntoParams;

/// Paging of the lists.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// `next_cursor` of the previous page.
    #[param(max_length = 100)]
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, deserialize_with = "query_limit")]
    pub limit: Option<i64>,
}

/// A field a patch may set to `null`: absent is `None`, `null` is `Some(None)`.
pub(super) fn nullable_id<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<i64>>, D::Error> {
    integral_opt_i64(d).map(Some)
}

/// A PATCH list of ids (integral numbers), or `null` (a field error where a list
/// cannot be cleared).
pub(super) fn nullable_ids<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<Vec<i64>>>, D::Error> {
    integral_opt_vec(d).map(Some)
}

/// A PATCH field sent as `null` where `null` means nothing (leaving it out keeps it).
pub(super) fn is_null<T>(sent: &Option<Option<T>>) -> bool {
    matches!(sent, Some(None))
}

/// The value a PATCH field was sent with (`None`: left out, or `null`).
pub(super) fn sent<T>(field: &Option<Option<T>>) -> Option<&T> {
    field.as_ref().and_then(Option::as_ref)
}

/// `parsed`, or its errors with `NOT_NULL` at each field sent as `null` (`nulls`:
/// field, whether null): a PATCH with such a field changes nothing.
pub(super) fn refuse_nulls<T>(
    parsed: Result<T, FieldErrors>,
    nulls: &[(&'static str, bool)],
) -> Result<T, FieldErrors> {
    let mut errors: FieldErrors = nulls
        .iter()
        .filter(|(_, null)| *null)
        .map(|(field, _)| (*field, NOT_NULL.to_string()))
        .collect();
    if errors.is_empty() {
        return parsed;
    }
    if let Err(others) = parsed {
        for (field, e) in others {
            errors.entry(field).or_insert(e);
        }
    }
    Err(errors)
}

/// A cursor of `list` (a list inside one tenant): 400 naming it when it is none
/// or was read in another kind of list, 422 when it was read in another tenant's.
pub(super) fn cursor(params: &PageParams, list: ListOf) -> Result<Option<i64>, AppError> {
    if params
        .cursor
        .as_ref()
        .is_some_and(|c| c.chars().count() > 100)
    {
        return Err(bad_param("cursor", NOT_A_CURSOR));
    }
    params
        .cursor
        .as_deref()
        .map(|c| decode_tenant_cursor(c, list))
        .transpose()
}

/// The second id of a path (`{aid}`, `{did}`, `{rid}`): not a number names no item,
/// and `super::miss` answers (404, or 405 where the path is another resource:
/// `GET …/rules/batch`).
pub(super) fn item_id(req: &HttpRequest, raw: &str) -> Result<i64, actix_web::Error> {
    parse_id(raw).map_err(|_| {
        actix_web::error::InternalError::from_response("no such resource", super::miss(req)).into()
    })
}

/// A list's prologue and paging: the tenant (404), the page size and cursor (400),
/// the family's read (403, 423); then one row more than the page from `load`, and
/// the page with the cursor after its last row (`id`) when more follow.
pub(super) async fn listed<F: Family, T, J: From<T>>(
    req: &HttpRequest,
    user: &ApiUser,
    state: &AppState,
    raw: &str,
    params: &PageParams,
    load: impl AsyncFnOnce(
        &mut AsyncPgConnection,
        &Tenant,
        Option<i64>,
        i64,
    ) -> Result<Vec<T>, AppError>,
    id: impl Fn(&T) -> i64,
) -> Result<(Vec<J>, Option<String>), actix_web::Error> {
    let (mut conn, tenant) = path_tenant(req, user, state, raw).await?;
    let limit = page_limit(params.limit)?;
    let list = ListOf::of(req, tenant.id);
    let after = cursor(params, list)?;
    F::read(&mut conn, user, &tenant).await?;
    let rows = load(&mut conn, &tenant, after, limit + 1).await?;
    let (rows, next) = paged_in(list, rows, limit, id);
    Ok((rows.into_iter().map(J::from).collect(), next))
}

/// A create's prologue and answer: the tenant (404), the body (400), then `make`
/// with the change under `Idempotency-Key`; 201 with the item and its `Location`
/// (`…/{collection}/{id}`).
pub(super) async fn created<B: DeserializeOwned, J: Serialize>(
    req: &HttpRequest,
    user: &ApiUser,
    state: &AppState,
    raw: &str,
    body: &web::Bytes,
    collection: &str,
    make: impl AsyncFnOnce(&mut AsyncPgConnection, &Change<'_>, B) -> Result<(J, i64), AppError>,
) -> Result<HttpResponse, actix_web::Error> {
    let (_, tenant) = path_tenant(req, user, state, raw).await?;
    let data: B = parse_json(req, body)?;
    let actor = user.actor(req);
    let c = Change::new(user, &actor, &tenant, state.clock.now());
    Ok(idempotency::run(state, req, user, body, async |conn| {
        let (item, id) = make(conn, &c, data).await?;
        let mut answer = Answer::json(StatusCode::CREATED, &item)?;
        answer.location = Some(format!("/api/v1/tenants/{}/{collection}/{id}", tenant.id));
        Ok(answer)
    })
    .await?)
}

/// One item read: the tenant (404), the item's id (404, or 405 for another
/// resource's path), the family's read (403, 423), then the item by
/// `find(tenant, id)` (404).
pub(super) async fn shown<F: Family, T, J: From<T> + Serialize>(
    req: &HttpRequest,
    user: &ApiUser,
    state: &AppState,
    path: &(String, String),
    find: impl AsyncFnOnce(&mut AsyncPgConnection, i64, i64) -> diesel::QueryResult<T>,
) -> Result<HttpResponse, actix_web::Error> {
    shown_in::<F, J>(req, user, state, path, async |conn, tenant, id| {
        Ok(J::from(find(conn, tenant.id, id).await?))
    })
    .await
}

/// [`shown`] where finding the item takes the whole tenant (its path: an item
/// the tenant inherits) and answers its JSON.
pub(super) async fn shown_in<F: Family, J: Serialize>(
    req: &HttpRequest,
    user: &ApiUser,
    state: &AppState,
    path: &(String, String),
    find: impl AsyncFnOnce(&mut AsyncPgConnection, &Tenant, i64) -> Result<J, AppError>,
) -> Result<HttpResponse, actix_web::Error> {
    let (mut conn, tenant) = path_tenant(req, user, state, &path.0).await?;
    // The id first: `GET …/rules/migrate` names no item, and its 405 must not turn
    // into a 423 or 403 by the tenant's lock or the reader's rights.
    let id = item_id(req, &path.1)?;
    F::read(&mut conn, user, &tenant).await?;
    let item = find(&mut conn, &tenant, id).await?;
    Ok(json(StatusCode::OK, &item))
}

/// A change to one item: the tenant (404), the item's id (404), then `change` with
/// the change and the id (which checks the rights and parses the body, so a bad
/// one is a 400 after those).
pub(super) async fn changed(
    req: &HttpRequest,
    user: &ApiUser,
    state: &AppState,
    path: &(String, String),
    change: impl AsyncFnOnce(
        &mut AsyncPgConnection,
        &Change<'_>,
        i64,
    ) -> Result<HttpResponse, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    let (mut conn, tenant) = path_tenant(req, user, state, &path.0).await?;
    let id = item_id(req, &path.1)?;
    let actor = user.actor(req);
    change(
        &mut conn,
        &Change::new(user, &actor, &tenant, state.clock.now()),
        id,
    )
    .await
}

/// A change of one item as it is: [`changed`], then the family's change right
/// (403, whatever the id), then `change` with the item found by `find(tenant, id)`
/// (404).
pub(super) async fn changed_found<F: Family, T>(
    req: &HttpRequest,
    user: &ApiUser,
    state: &AppState,
    path: &(String, String),
    find: impl AsyncFnOnce(&mut AsyncPgConnection, i64, i64) -> diesel::QueryResult<T>,
    change: impl AsyncFnOnce(
        &mut AsyncPgConnection,
        &Change<'_>,
        T,
    ) -> Result<HttpResponse, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    changed_found_in::<F, T>(
        req,
        user,
        state,
        path,
        async |conn, tenant, id| Ok(find(conn, tenant.id, id).await?),
        change,
    )
    .await
}

/// [`changed_found`] where finding the item takes the whole tenant (its path:
/// an inherited item is found, and refused by `find`).
pub(super) async fn changed_found_in<F: Family, T>(
    req: &HttpRequest,
    user: &ApiUser,
    state: &AppState,
    path: &(String, String),
    find: impl AsyncFnOnce(&mut AsyncPgConnection, &Tenant, i64) -> Result<T, AppError>,
    change: impl AsyncFnOnce(
        &mut AsyncPgConnection,
        &Change<'_>,
        T,
    ) -> Result<HttpResponse, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    changed(req, user, state, path, async |conn, c, id| {
        F::may_change(conn, c.p, c.tenant).await?;
        let old = find(conn, c.tenant, id).await?;
        change(conn, c, old).await
    })
    .await
}
