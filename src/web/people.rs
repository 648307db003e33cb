//! Finding people: `/users?q=` lists the users of every tenant the user may see
//! whose Users they may read (`authz::people_scope`), with each user's tenant;
//! `/users/search?q=` is the same search as a fragment for the user pickers, and
//! with `grant_on={tenant id}` the grant form's: the users one may give a grant on
//! that tenant to (`services::grants::find_grantees`).

use crate::auth::{authz, CurrentUser};
use crate::db::models::user::PersonRow;
use crate::error::AppError;
use crate::services::grants;
use crate::services::users as service;
use crate::web::form::parse_id;
use crate::web::page::{render, PageCtx};
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
}

impl Params {
    fn q(&self) -> String {
        self.q.trim().chars().take(100).collect()
    }

    fn page_no(&self) -> i64 {
        self.page.trim().parse().unwrap_or(1).clamp(1, 1_000_000)
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
    q: String,
}

impl PeoplePage {
    fn page_href(&self, page: i64) -> String {
        let query =
            serde_urlencoded::to_string([("q", self.q.as_str()), ("page", &page.to_string())])
                .unwrap_or_default();
        format!("/users?{query}")
    }
}

async fn index(
    user: CurrentUser,
    state: web::Data<AppState>,
    params: web::Query<Params>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let (q, page_no) = (params.q(), params.page_no());
    let (rows, total) = service::find_people(&mut conn, &user, &q, page_no, PER_PAGE).await?;
    render(&PeoplePage {
        page: PageCtx::new(&user, &mut conn, "people").await?,
        pages: ((total + PER_PAGE - 1) / PER_PAGE).max(1),
        rows,
        total,
        page_no,
        q,
    })
}

#[derive(Template)]
#[template(path = "users/_picker_results.html")]
struct PickerResults {
    rows: Vec<PersonRow>,
    total: i64,
    q: String,
}

/// The picker's results for what was typed (nothing for an empty query). With
/// `grant_on`, only for those who may give grants on that tenant (404 unless visible,
/// else 403).
async fn search(
    user: CurrentUser,
    state: web::Data<AppState>,
    params: web::Query<Params>,
) -> Result<HttpResponse, AppError> {
    let q = params.q();
    let (rows, total) = match params.grant_on.trim() {
        "" if q.is_empty() => (Vec::new(), 0),
        "" => {
            let mut conn = state.pool.get().await?;
            service::find_people(&mut conn, &user, &q, 1, PICKER).await?
        }
        tenant_id => {
            let mut conn = state.pool.get().await?;
            let tenant = authz::visible_tenant(&user, parse_id(tenant_id)?, &mut conn).await?;
            grants::require_giver(&user, &tenant)?;
            if q.is_empty() {
                (Vec::new(), 0)
            } else {
                grants::find_grantees(&mut conn, &user, &tenant, &q, PICKER).await?
            }
        }
    };
    render(&PickerResults { rows, total, q })
}
