//! `/api/v1/tenants/{id}/stats`: the stats page's rows (per tenant the user may see
//! in the subtree, and month: own and subtree counts, the quota), paged like the
//! tenants list.

use super::json;
use super::tenants::{paged_tenant, query_limit};
use crate::auth::ApiUser;
use crate::db::models::usage_stats::StatsRow;
use crate::domain::stats::{quota_percent, Listing, Month, Period, RowCursor, StatsSort};
use crate::error::AppError;
use crate::services::usage_stats::StatsReader;
use crate::web::extract::Query;
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

pub fn routes() -> Vec<Route> {
    vec![route!(GET "/api/v1/tenants/{id}/stats" => list)]
}

/// One tenant's month.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct StatsItem {
    pub tenant_id: i64,
    pub subdomain: String,
    pub name: String,
    /// `null` for the root, and where the caller may not see the parent.
    pub parent_id: Option<i64>,
    /// `YYYY-MM` (UTC).
    #[schema(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: String,
    /// The tenant's own queries and blocked queries that month.
    #[schema(minimum = 0)]
    pub queries: i64,
    #[schema(minimum = 0)]
    pub blocked: i64,
    /// Its own and every tenant's below it (also those the caller cannot see, and
    /// those deleted since).
    #[schema(minimum = 0)]
    pub subtree_queries: i64,
    #[schema(minimum = 0)]
    pub subtree_blocked: i64,
    /// The tenant's monthly query quota; `null` for none.
    #[schema(minimum = 0)]
    pub quota: Option<i64>,
    /// Its own queries in percent of the quota, rounded down and capped at
    /// 1000000 (ten thousand times the quota or more); `null` without a quota. A
    /// quota of 0: 0 without queries, 1000000 (the cap: over it) with any.
    #[schema(minimum = 0, maximum = 1000000)]
    pub quota_percent: Option<i64>,
}

impl From<StatsRow> for StatsItem {
    fn from(r: StatsRow) -> Self {
        StatsItem {
            quota_percent: quota_percent(r.queries, r.quota),
            month: Month::of(r.month).text(),
            tenant_id: r.tenant_id,
            subdomain: r.subdomain,
            name: r.name,
            parent_id: r.parent_id,
            queries: r.queries,
            blocked: r.blocked,
            subtree_queries: r.subtree_queries,
            subtree_blocked: r.subtree_blocked,
            quota: r.quota,
        }
    }
}

/// One page of rows.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct StatsPage {
    pub items: Vec<StatsItem>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

// Empty is listed: it is the default, so a schema-valid value (schemathesis's
// negative mode would otherwise count its acceptance as a missed refusal).
fn sort_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(
            std::iter::once("").chain(StatsSort::ALL.iter().map(|s| s.as_str())),
        ))
}

fn dir_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["", "asc", "desc"]))
}

/// Period, order and paging of `GET /api/v1/tenants/{id}/stats`.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// First month, `YYYY-MM` (default: eleven months before `to`; both absent: the
    /// last 12 months, the current one included). With a `cursor`, absent or empty
    /// means the cursor's: a page goes on in the period its cursor was read in.
    #[param(pattern = "^([2-9][0-9]{3}-(0[1-9]|1[0-2]))?$")]
    pub from: Option<String>,
    /// Last month, `YYYY-MM` (default: eleven months after `from`, but not past the
    /// current month; without `from`, the current month); at most 36 months after
    /// `from`. Tenant-months without usage in the tenant's subtree have no row. With
    /// a `cursor`, absent or empty means the cursor's.
    #[param(pattern = "^([2-9][0-9]{3}-(0[1-9]|1[0-2]))?$")]
    pub to: Option<String>,
    /// Order of the rows (default `name`, also when empty, as on the page); the
    /// tenant and month break ties.
    #[param(schema_with = sort_schema)]
    pub sort: Option<String>,
    /// `asc` (the default, also when empty) or `desc`.
    #[param(schema_with = dir_schema)]
    pub dir: Option<String>,
    /// `next_cursor` of the previous page. It carries the tenant and period it was
    /// read in (`from` and `to` default to its period, so a default period's next
    /// page continues across a month change) and must be used with the same tenant,
    /// `sort` and `dir`; another tenant, period or order than its own, or any other
    /// value, is refused with 422 and `errors.cursor`.
    // Its own pattern (unpadded URL-safe base64 of the row's keys), not the id lists'
    // `after:<id>` one that `constrain_parameters` gives a cursor without a pattern.
    #[param(pattern = "^[A-Za-z0-9_-]+$", min_length = 1, max_length = 2000)]
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50, when left out). An empty `limit=` is no number:
    /// 400, as on every list of the API.
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, deserialize_with = "query_limit")]
    pub limit: Option<i64>,
}

/// Usage statistics of a tenant and of every tenant below it whose own statistics the
/// caller could open (seen, Usage not capped away): per tenant and month (UTC), its own queries and blocked queries and its subtree's,
/// and its quota. Only tenant-months with usage in the tenant's subtree have a row.
/// Needs Usage read on the tenant (Viewers have it).
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{id}/stats",
    tag = "usage",
    params(("id" = i64, Path, description = "Tenant id"), StatsParams),
    responses(
        (status = 200, description = "One page of tenant-months", body = StatsPage),
        (status = 400, description = "A parameter that is not of its form (sort, dir, limit)"),
        (status = 422, description = "A period that is not valid (a month that does not exist, `to` before `from`, more than 36 months: `errors.from`/`errors.to`), or a `cursor` that is no earlier page's `next_cursor` or was read for another tenant or in another period or order (`errors.cursor`)"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    req: HttpRequest,
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    params: Query<StatsParams>,
) -> Result<HttpResponse, actix_web::Error> {
    let params = params.into_inner();
    let (mut conn, tenant, limit) = paged_tenant(&req, &user, &state, &path, params.limit).await?;
    let bad = |m: &str| AppError::BadRequest(m.to_string());
    // Empty is the default, as on the page (whose links leave it empty).
    let sort = match params.sort.as_deref() {
        None | Some("") => StatsSort::Name,
        Some(s) => StatsSort::parse(s)
            .filter(|_| s.trim() == s)
            .ok_or_else(|| {
                bad("sort must be one of name, subdomain, month, queries, subtree_queries.")
            })?,
    };
    let descending = match params.dir.as_deref() {
        None | Some("" | "asc") => false,
        Some("desc") => true,
        Some(_) => return Err(bad("dir must be asc or desc.").into()),
    };
    // Opaque, so a schema cannot tell a real one: a field error, as on every list.
    let cursor = params
        .cursor
        .as_deref()
        .map(|c| RowCursor::parse(c).ok_or_else(super::tenants::invalid_cursor))
        .transpose()?;
    // A cursor carries its period: a month left out is the cursor's, so the next
    // page of a default period read just before a month change continues that
    // listing rather than one that moved on.
    let month_or = |given: &Option<String>, bound: fn(&Listing) -> Month| match (
        given.as_deref().filter(|m| !m.trim().is_empty()),
        &cursor,
    ) {
        (Some(m), _) => m.to_string(),
        (None, Some((_, listing))) => bound(listing).text(),
        (None, None) => String::new(),
    };
    let (from, to) = (
        month_or(&params.from, |l| l.period.from),
        month_or(&params.to, |l| l.period.to),
    );
    let today = state.clock.now().date_naive();
    let period = Period::parse(&from, &to, today).map_err(AppError::Validation)?;
    let listing = Listing {
        tenant: tenant.id,
        sort,
        descending,
        period,
    };
    // A cursor pages on only in the tenant, order and period it was read in. Another
    // tenant's is refused without naming it (it may be one the caller cannot see).
    let after = match cursor {
        Some((after, bound)) if bound == listing => Some(after),
        Some((_, bound)) if bound.tenant != listing.tenant => {
            return Err(
                super::tenants::refused_cursor(super::tenants::ANOTHER_TENANTS_CURSOR).into(),
            )
        }
        Some((_, bound)) => {
            return Err(super::tenants::refused_cursor(&other_listing(&bound)).into())
        }
        None => None,
    };
    let reader = StatsReader::new(&user, &tenant, period, sort, descending)?;
    let (rows, next) = reader.read(&mut conn, after.as_ref(), limit).await?;
    Ok(json(
        StatusCode::OK,
        &StatsPage {
            items: rows.into_iter().map(StatsItem::from).collect(),
            next_cursor: next.map(|c| c.to_text(&listing)),
        },
    ))
}

/// The refusal of a cursor read in another period or order than asked for.
fn other_listing(bound: &Listing) -> String {
    format!(
        "This cursor continues the rows of {} to {} sorted by {} {}: ask with that \
         period (or leave from and to out) and that sort and dir, or without a cursor \
         for the first page.",
        bound.period.from.text(),
        bound.period.to.text(),
        bound.sort.as_str(),
        bound.dir()
    )
}
