//! Finding people: `/users?q=` lists the users of every tenant the user may see
//! whose Users they may read (`authz::people_scope`), with each user's tenant
//! (`within={tenant id}`: those homed in that tenant or below it);
//! `/users/search?q=` is the same search as a fragment for the user pickers, and
//! with `grant_on={tenant id}` the grant form's: the users one may give a grant on
//! that tenant to (`services::grants::find_grantees`).

use crate::auth::{authz, CurrentUser};
use crate::db::models::user::PersonRow;
use crate::db::models::Tenant;
use crate::error::AppError;
use crate::services::grants;
use crate::services::users as service;
use crate::web::extract::Query;
use crate::web::form::{page_param, query_id, SearchBox};
use crate::web::page::{render, render_status, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use actix_web::{web, HttpResponse};
use askama::Template;

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/users" => index),
        route!(GET "/users/search" => search),
    ]
}

const PER_PAGE: i64 = 50;
/// Results of a picker: enough to choose from while typing.
const PICKER: i64 = 10;

#[derive(serde::Deserialize, Default, Debug)]
#[serde(default)]
pub struct Params {
    /// The search; `user` for the pickers' inputs, which are named for their form.
    #[serde(alias = "user")]
    q: String,
    page: String,
    /// The grant form's picker: the tenant the grant is for.
    grant_on: String,
    /// Only the people homed in this tenant or below it (the dashboard's Users card).
    within: String,
}

impl Params {
    fn page_no(&self) -> Result<i64, AppError> {
        page_param(&self.page)
    }
}

#[derive(Template)]
#[template(path = "users/people.html")]
struct PeoplePage {
    page: PageCtx,
    rows: Vec<PersonRow>,
    total: i64,
    page_no: i64,
    pages: i64,
    search: SearchBox,
    /// The tenant whose subtree the list is narrowed to.
    within: Option<Tenant>,
}

impl PeoplePage {
    fn page_href(&self, page: i64) -> String {
        let within = self.within.as_ref().map(|t| t.id.to_string());
        let query = serde_urlencoded::to_string([
            ("q", self.search.shown.as_str()),
            ("within", within.as_deref().unwrap_or("")),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default();
        format!("/users?{query}")
    }
}

async fn index(
    user: CurrentUser,
    state: web::Data<AppState>,
    params: Query<Params>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (search, page_no) = (SearchBox::read(&params.q), params.page_no()?);
    // A tenant one may not see is one that does not exist (404).
    let within = match query_id("within", &params.within)? {
        None => None,
        Some(id) => Some(authz::visible_tenant(&user, id, &mut conn).await?),
    };
    let (rows, total) = if search.error.is_some() {
        (Vec::new(), 0)
    } else {
        let q = search.text.as_str();
        service::find_people(&mut conn, &user, q, within.as_ref(), page_no, PER_PAGE).await?
    };
    let status = search.status();
    let page = PeoplePage {
        page: PageCtx::new(&user, &mut conn, "people").await?,
        pages: ((total + PER_PAGE - 1) / PER_PAGE).max(1),
        rows,
        total,
        page_no,
        search,
        within,
    };
    render_status(&page, status)
}

#[derive(Template)]
#[template(path = "users/_picker_results.html")]
struct PickerResults {
    rows: Vec<PersonRow>,
    total: i64,
    search: SearchBox,
}

/// The picker's results for what was typed (nothing for an empty query). With
/// `grant_on`, only for those who may give grants on that tenant (404 unless visible,
/// else 403).
async fn search(
    user: CurrentUser,
    state: web::Data<AppState>,
    params: Query<Params>,
) -> Result<HttpResponse, AppError> {
    let search = SearchBox::read(&params.q);
    // A refused text searches nothing; the fragment shows why (200, for htmx).
    let q = search.query().unwrap_or("").to_string();
    let (rows, total) = match params.grant_on.trim() {
        "" if q.is_empty() => (Vec::new(), 0),
        "" => {
            let mut conn = state.pool.get().await?;
            service::find_people(&mut conn, &user, &q, None, 1, PICKER).await?
        }
        tenant_id => {
            let mut conn = state.pool.get().await?;
            // A malformed id is a 400 naming the parameter; an unseen one a 404.
            let id = query_id("grant_on", tenant_id)?.ok_or(AppError::NotFound)?;
            let tenant = authz::visible_tenant(&user, id, &mut conn).await?;
            grants::require_giver(&user, &tenant)?;
            if q.is_empty() {
                (Vec::new(), 0)
            } else {
                grants::find_grantees(&mut conn, &user, &tenant, &q, PICKER).await?
            }
        }
    };
    render(&PickerResults {
        rows,
        total,
        search,
    })
}
