//! What the API's tenant-owned collections share
//! (`/api/v1/tenants/{id}/<items>[/{item}]`: applications, domains, rules, clouds,
//! instances, resolvers, devices, subnets; the policies next): the paging
//! parameters and the prologue and answer of a list, a create, a read and a change.
//! A `web::owned::Family` says which right a read and a change need. Every
//! helper reads the path's tenant first (404 for one the caller may not see).

use super::idempotency::{self, Answer};
use super::tenants::{
    decode_tenant_cursor, encode_tenant_cursor, integral_opt_i64, integral_opt_vec, invalid_cursor,
    page_limit, paged_in, path_tenant, query_limit, refused_cursor, ListOf, NOT_NULL,
};
use super::{json, parse_json};
use crate::auth::ApiUser;
use crate::db::models::Tenant;
use crate::domain::sorting::{After, Order, SortDir, SortKey};
use crate::error::{AppError, FieldErrors};
use crate::services::change::Change;
use crate::services::draft::Draft;
use crate::web::form::parse_id;
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

/// `NOT_NULL` at each field sent as `null` (`nulls`: field, whether null).
fn null_errors(nulls: &[(&'static str, bool)]) -> FieldErrors {
    nulls
        .iter()
        .filter(|(_, null)| *null)
        .map(|(field, _)| (*field, NOT_NULL.to_string()))
        .collect()
}

/// `parsed`, or its errors with `NOT_NULL` at each field sent as `null` (`nulls`:
/// field, whether null): a PATCH with such a field changes nothing.
pub(super) fn refuse_nulls<T>(
    parsed: Result<T, FieldErrors>,
    nulls: &[(&'static str, bool)],
) -> Result<T, FieldErrors> {
    let mut errors = null_errors(nulls);
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

/// [`refuse_nulls`] for a draft (`services::draft`): `NOT_NULL` at each field sent
/// as `null` (winning over its conversion's error), the value kept to be checked
/// as well, so that the operation reports its own field errors with them.
pub(super) fn draft_refusing_nulls<T>(draft: Draft<T>, nulls: &[(&'static str, bool)]) -> Draft<T> {
    draft.refusing(null_errors(nulls))
}

/// A cursor of `list` (a list inside one tenant), or 422 on `cursor` saying why
/// not (none, another list's, another tenant's).
pub(super) fn cursor(params: &PageParams, list: ListOf) -> Result<Option<i64>, AppError> {
    params
        .cursor
        .as_deref()
        .map(|c| match c.chars().count() {
            0..=100 => decode_tenant_cursor(c, list),
            _ => Err(invalid_cursor()),
        })
        .transpose()
}

/// The order a list's `sort` and `dir` ask for (`sort` left out: by id; `dir`
/// left out: ascending), or 422 on each the list does not take.
pub(super) fn order_of<K: SortKey>(
    sort: Option<&str>,
    dir: Option<&str>,
) -> Result<Order<K>, AppError> {
    let mut errors = FieldErrors::new();
    let key = sort.and_then(|raw| {
        let key = K::parse(raw);
        if key.is_none() {
            errors.insert(
                "sort",
                format!("Sort by one of {} (or leave sort out: by id).", K::listed()),
            );
        }
        key
    });
    let descending = match dir.map(SortDir::parse) {
        None | Some(Some(SortDir::Asc)) => false,
        Some(Some(SortDir::Desc)) => true,
        Some(None) => {
            errors.insert("dir", "Sort asc or desc (or leave dir out: asc).".into());
            false
        }
    };
    if errors.is_empty() {
        Ok(Order { key, descending })
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The longest cursor of a sorted list (a name's value in it included).
pub(super) const SORTED_CURSOR_MAX: usize = 1000;

/// The cursor after `after`, the last row of a page of `list` read in `order`:
/// the list's cursor of its id ([`encode_tenant_cursor`]), and past the order by
/// id ascending `.key.dir.value` (the value in unpadded URL-safe base64), so that
/// the next page starts right after that row in that order.
pub(super) fn encode_sorted<K: SortKey>(list: ListOf, order: Order<K>, after: &After) -> String {
    use base64::Engine;
    let id = encode_tenant_cursor(list, after.id);
    if order == Order::by_id() {
        return id;
    }
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&after.value);
    format!("{id}.{}.{}.{value}", order.key_name(), order.dir())
}

/// Where a page of `list` in `order` starts by `raw` ([`encode_sorted`]), or 422
/// on `cursor`: none of this list's, another tenant's, or read in another order
/// (saying which, and how to ask for it).
pub(super) fn decode_sorted<K: SortKey>(
    raw: &str,
    list: ListOf,
    order: Order<K>,
) -> Result<After, AppError> {
    use base64::Engine;
    if raw.chars().count() > SORTED_CURSOR_MAX {
        return Err(invalid_cursor());
    }
    let raw = raw.trim();
    let (id, rest) = raw
        .split_once('.')
        .map_or((raw, None), |(i, r)| (i, Some(r)));
    let id = decode_tenant_cursor(id, list)?;
    let (read_in, value) = match rest {
        None => (Order::by_id(), String::new()),
        Some(rest) => {
            let mut parts = rest.splitn(3, '.');
            let (key, dir, value) = (parts.next(), parts.next(), parts.next());
            let read_in = key
                .zip(dir)
                .and_then(|(k, d)| Order::<K>::parse(k, d))
                .ok_or_else(invalid_cursor)?;
            let value = value
                .and_then(|v| {
                    base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(v)
                        .ok()
                })
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|v| read_in.fits(v))
                .ok_or_else(invalid_cursor)?;
            (read_in, value)
        }
    };
    if read_in != order {
        let ask = match read_in.key {
            None => format!("sort left out and dir {}", read_in.dir()),
            Some(k) => format!("sort {} and dir {}", k.name(), read_in.dir()),
        };
        return Err(refused_cursor(&format!(
            "This cursor continues the rows of this list sorted by {}: ask with {ask}, or \
             without a cursor for the first page.",
            read_in.describe()
        )));
    }
    Ok(After { id, value })
}

/// [`listed`] of a sortable list (`K`'s columns): the tenant (404), the page size
/// (400), the order (422 on `sort`, `dir`), the cursor (422), the family's read
/// (403); then one row more than the page from `load` in that order, each with
/// where the next page starts after it, and the page with the cursor after its last
/// row when more follow.
pub(super) async fn listed_sorted<F: Family, K: SortKey, J>(
    req: &HttpRequest,
    user: &ApiUser,
    state: &AppState,
    raw: &str,
    params: Sorting<'_>,
    load: impl AsyncFnOnce(
        &mut AsyncPgConnection,
        &Tenant,
        Order<K>,
        Option<&After>,
        i64,
    ) -> Result<Vec<(After, J)>, AppError>,
) -> Result<(Vec<J>, Option<String>), actix_web::Error> {
    let (mut conn, tenant) = path_tenant(req, user, state, raw).await?;
    let limit = page_limit(params.limit)?;
    let order = order_of::<K>(params.sort, params.dir)?;
    let list = ListOf::of(req, tenant.id);
    let start = params
        .cursor
        .map(|c| decode_sorted(c, list, order))
        .transpose()?;
    F::read(&mut conn, user, &tenant).await?;
    let mut rows = load(&mut conn, &tenant, order, start.as_ref(), limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = rows
        .last()
        .filter(|_| more)
        .map(|(after, _)| encode_sorted(list, order, after));
    Ok((rows.into_iter().map(|(_, item)| item).collect(), next))
}

/// A sortable list's paging and order as the query string gives them.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Sorting<'a> {
    pub cursor: Option<&'a str>,
    pub limit: Option<i64>,
    pub sort: Option<&'a str>,
    pub dir: Option<&'a str>,
}

/// The query parameters of a sortable list `$name` over the sort keys `$key`
/// (`domain::sorting`): paging as [`PageParams`], with `sort` and `dir`.
macro_rules! sorted_params {
    ($(#[$meta:meta])* $name:ident, $key:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// `next_cursor` of the previous page, read in the same order (`sort`
            /// and `dir`).
            #[param(max_length = 1000)]
            pub cursor: Option<String>,
            /// Page size, 1–500 (default 50).
            #[param(minimum = 1, maximum = 500)]
            #[serde(default, deserialize_with = "crate::web::api::tenants::query_limit")]
            pub limit: Option<i64>,
            /// The column to sort by; left out, by id. Rows with the same value
            /// follow by id.
            #[param(value_type = Option<$key>)]
            pub sort: Option<String>,
            /// `asc` (the default) or `desc`, for the column and the ids alike.
            #[param(value_type = Option<crate::domain::sorting::SortDir>)]
            pub dir: Option<String>,
        }

        impl $name {
            pub(super) fn sorting(&self) -> super::owned::Sorting<'_> {
                super::owned::Sorting {
                    cursor: self.cursor.as_deref(),
                    limit: self.limit,
                    sort: self.sort.as_deref(),
                    dir: self.dir.as_deref(),
                }
            }
        }
    };
}
pub(super) use sorted_params;

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
