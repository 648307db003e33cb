//! The request extractors: who is asking, from the session (`CurrentUser`) or from
//! a bearer token (`ApiUser`), loaded with the application's pool; and the query
//! string (`Query`), whose refusals name the parameter.

use crate::auth::{authz, ApiUser, CurrentUser, IngestionCaller, PageRoute, Principal};
use crate::db::models::Tenant;
use crate::db::DbConn;
use crate::domain::{Feature, Level};
use crate::error::AppError;
use crate::services::Actor;
use crate::web::AppState;
use actix_session::SessionExt;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use diesel_async::AsyncPgConnection;
use std::future::{ready, Future, Ready};
use std::pin::Pin;

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("app state missing")))
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let state = state(req);
        let page = page_route(req);
        let next = crate::web::login::return_path(req);
        Box::pin(async move {
            let mut user = CurrentUser::load(&state?.pool, session)
                .await?
                .ok_or(AppError::LoginRequired { next })?;
            user.page = page;
            crate::web::page::keep_banner(&user);
            Ok(user)
        })
    }
}

/// A request's query string read into `T`. Unlike `actix_web::web::Query`, a
/// parameter that cannot be read is named, with what it takes (400, as
/// `web::form::read_query` words it): `?limit=abc` is "The query parameter “limit”
/// must be a whole number.", on a page as in the API.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(super::form::read_query(req.query_string()).map(Query))
    }
}

/// The route a request matched, with the tenant a `/tenants/{id}…` path names.
fn page_route(req: &HttpRequest) -> Option<PageRoute> {
    let pattern = req.match_pattern()?;
    let tenant_id = if pattern == "/tenants/new" {
        // A new tenant's page is about the parent it goes under.
        serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .ok()
            .and_then(|q| q.into_iter().find(|(k, _)| k == "parent_id"))
            .and_then(|(_, v)| v.trim().parse().ok())
    } else {
        pattern
            .starts_with("/tenants/{id}")
            .then(|| req.match_info().get("id")?.trim().parse().ok())
            .flatten()
    };
    Some(PageRoute {
        pattern,
        tenant_id,
        fragment: crate::web::page::wants_fragment(req),
    })
}

/// Extractors of a bearer credential (a personal API token, an ingestion key),
/// each loaded with the application's pool and clock by its own `load`.
macro_rules! bearer_extractor {
    ($($ty:ty),*) => {$(
        impl FromRequest for $ty {
            type Error = AppError;
            type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

            fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
                let req = req.clone();
                Box::pin(async move {
                    let state = state(&req)?;
                    <$ty>::load(&state.pool, &state.clock, &req).await
                })
            }
        }
    )*};
}

bearer_extractor!(ApiUser, IngestionCaller);

impl ApiUser {
    /// The audit actor for a change made with this token.
    pub fn actor(&self, req: &HttpRequest) -> Actor {
        Actor::api_token(self, self.token_id, super::client_addr(req))
    }
}

/// The tenant a path's `{id}` segment names (`raw`), if `p` may see it: 404 for an id
/// that is no number, one that does not exist and one `p` may not see alike. The
/// first step of every handler of one tenant, console page or API
/// (`authz::visible_tenant` decides).
pub async fn visible_path_tenant(
    p: &Principal,
    conn: &mut AsyncPgConnection,
    raw: &str,
) -> Result<Tenant, AppError> {
    authz::visible_tenant(p, super::parse_id(raw)?, conn).await
}

/// A connection, and the tenant `raw` names (`visible_path_tenant`).
pub async fn with_path_tenant(
    p: &Principal,
    state: &AppState,
    raw: &str,
) -> Result<(DbConn, Tenant), AppError> {
    let mut conn = state.pool.get().await?;
    let tenant = visible_path_tenant(p, &mut conn, raw).await?;
    Ok((conn, tenant))
}

/// The tenant a console path names (`visible_path_tenant`), and 403 unless the user
/// holds `level` on `feature` there: the prologue of a tenant's feature pages.
pub async fn path_tenant(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    raw: &str,
    feature: Feature,
    level: Level,
) -> Result<Tenant, AppError> {
    let tenant = visible_path_tenant(user, conn, raw).await?;
    authz::require(user, &tenant, feature, level)?;
    Ok(tenant)
}
