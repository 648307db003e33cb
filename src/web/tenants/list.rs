//! The tenant list: filter, sort and page the tenants below the acting one.

use crate::auth::{authz, CurrentUser};
use crate::db::models::tenant::{ListQuery, SortKey, COUNT_CAP};
use crate::db::models::{Tenant, TenantListRow};
use crate::domain::{Feature, Level};
use crate::error::AppError;
use crate::web::page::{render, wants_fragment, PageCtx};
use crate::web::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

pub const PER_PAGE_DEFAULT: i64 = 50;
pub const PER_PAGE_MAX: i64 = 200;

#[derive(serde::Deserialize, Default, Debug)]
#[serde(default)]
pub struct ListParams {
    q: String,
    sort: String,
    dir: String,
    page: String,
    per_page: String,
}

pub struct Column {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
    pub numeric: bool,
}

/// The list and everything its links need.
pub struct TenantList {
    pub rows: Vec<TenantListRow>,
    pub total: i64,
    /// More than `total` match; the exact number was not counted.
    pub capped: bool,
    pub page: i64,
    pub pages: i64,
    pub per_page: i64,
    pub q: String,
    pub sort: &'static str,
    pub dir: &'static str,
    pub within_name: String,
}

impl TenantList {
    fn href(&self, sort: &str, dir: &str, page: i64) -> String {
        let query = serde_urlencoded::to_string([
            ("q", self.q.as_str()),
            ("sort", sort),
            ("dir", dir),
            ("page", &page.to_string()),
            ("per_page", &self.per_page.to_string()),
        ])
        .unwrap_or_default();
        format!("/tenants?{query}")
    }

    pub fn page_href(&self, page: i64) -> String {
        self.href(self.sort, self.dir, page)
    }

    pub fn columns(&self) -> Vec<Column> {
        [
            ("Name", "name", false),
            ("Role", "role", false),
            ("Total Instances", "instances", true),
            ("Total Users", "users", true),
            ("Created", "created", false),
        ]
        .into_iter()
        .map(|(label, key, numeric)| {
            let current = self.sort == key;
            let dir = if current && self.dir == "asc" {
                "desc"
            } else {
                "asc"
            };
            Column {
                label,
                href: self.href(key, dir, 1),
                current,
                numeric,
            }
        })
        .collect()
    }
}

/// Parses list parameters leniently: anything odd falls back to the default.
pub fn list_query(
    params: &ListParams,
    within: Tenant,
    visibility: crate::db::models::Visibility,
) -> ListQuery {
    let per_page = match params.per_page.trim().parse::<i64>() {
        Ok(n) if n >= 1 => n.min(PER_PAGE_MAX),
        _ => PER_PAGE_DEFAULT,
    };
    ListQuery {
        within,
        visibility,
        name_filter: Some(
            params
                .q
                .trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(100)
                .collect::<String>(),
        )
        .filter(|q| !q.is_empty()),
        sort: SortKey::parse(Some(params.sort.as_str())),
        descending: params.dir == "desc",
        page: params.page.parse().unwrap_or(1).clamp(1, 1_000_000),
        per_page,
    }
}

/// Runs the list query; shared by the Tenants page and the benchmark's bare page.
pub async fn load_list(
    conn: &mut AsyncPgConnection,
    query: ListQuery,
) -> Result<TenantList, AppError> {
    let (rows, total) = Tenant::list(conn, &query).await?;
    let capped = total > COUNT_CAP;
    // Past the cap the last page is unknown; "Next" stays while full pages come back.
    let pages = if capped {
        query.page + i64::from(rows.len() as i64 == query.per_page)
    } else {
        ((total + query.per_page - 1) / query.per_page).max(1)
    };
    Ok(TenantList {
        rows,
        total: total.min(COUNT_CAP),
        capped,
        page: query.page,
        pages,
        per_page: query.per_page,
        q: query.name_filter.clone().unwrap_or_default(),
        sort: query.sort.as_str(),
        dir: if query.descending { "desc" } else { "asc" },
        within_name: query.within.name,
    })
}

#[derive(Template)]
#[template(path = "tenants/index.html")]
struct IndexPage {
    page: PageCtx,
    list: TenantList,
    can_create: bool,
}

#[derive(Template)]
#[template(path = "tenants/_table.html")]
pub struct TableFragment {
    pub list: TenantList,
}

pub(super) async fn index(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    authz::require(&user, &user.acting, Feature::Tenants, Level::Read)?;
    let mut conn = state.pool.get().await?;
    let query = list_query(&params, user.acting.clone(), authz::visibility(&user));
    let mut list = load_list(&mut conn, query.clone()).await?;
    // A page past the end (an old link, a filter that now matches less) shows the
    // last page, numbered as such, as its links do.
    if !list.capped && list.page > list.pages {
        let last = ListQuery {
            page: list.pages,
            ..query
        };
        list = load_list(&mut conn, last).await?;
    }
    if wants_fragment(&req) {
        return render(&TableFragment { list });
    }
    let can_create =
        user.acting.can_have_subtenants && authz::can_manage_children(&user, &user.acting);
    render(&IndexPage {
        page: PageCtx::new(&user, &mut conn, "tenants").await?,
        list,
        can_create,
    })
}
