//! Another user's API tokens, for administrators who may change that user: the
//! "API tokens" section of the user's edit page and its revoke buttons. The right is
//! exactly the right to change the user (`users::changeable`): whoever may reset a
//! password or disable someone may also stop their tokens, and nobody else sees them.
//! The secret is never shown (only its first characters), as on the owner's page.

use crate::auth::CurrentUser;
use crate::db::models::api_token::ApiToken;
use crate::db::models::{Tenant, User};
use crate::error::AppError;
use crate::services::api_tokens as service;
use crate::web::confirm::{ask, Confirm};
use crate::web::page::{flash, see_other};
use crate::web::routes::{route, Route};
use crate::web::tokens::{revoke_question, TokenRow};
use crate::web::users::changeable;
use crate::web::AppState;
use crate::web::{actor, parse_id};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    vec![route!(POST "/tenants/{id}/users/{user_id}/tokens/{token_id}/revoke" => revoke)]
}

/// The "API tokens" section of a user's edit page (`users/_tokens.html`).
pub struct TokenSection {
    /// Where the revoke forms post: `/tenants/{id}/users/{user_id}/tokens`.
    pub base: String,
    pub username: String,
    pub tokens: Vec<TokenRow>,
}

/// The token section of `target`'s edit page, shown to those who may change them.
pub(crate) async fn section(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    target: &User,
    now: DateTime<Utc>,
) -> Result<TokenSection, AppError> {
    Ok(TokenSection {
        base: format!("/tenants/{}/users/{}/tokens", tenant.id, target.id),
        username: target.username.clone(),
        tokens: ApiToken::for_user(conn, target.id)
            .await?
            .into_iter()
            .map(|t| TokenRow::new(t, now))
            .collect(),
    })
}

/// Revokes one token of the user: 404 for an unseen tenant or a token that is not
/// this user's, 403 for a user the acting user may not change.
async fn revoke(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    let (tenant_id, user_id, token_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    let (tenant, target) = changeable(&user, &mut conn, &(tenant_id, user_id)).await?;
    let token_id = parse_id(&token_id)?;
    if !confirm.confirmed {
        let token = ApiToken::find_own(&mut conn, target.id, token_id).await?;
        let page = format!("/tenants/{}/users/{}", tenant.id, target.id);
        let question = revoke_question(
            &token,
            Some(&target.username),
            &format!("{page}/tokens"),
            &format!("{page}#api-tokens"),
        );
        return ask(&req, &user, &mut conn, "users", question).await;
    }
    let (token, changed) =
        service::revoke_for_user(&mut conn, &actor(&user, &req), &target, token_id).await?;
    flash(
        &user.session.0,
        if changed {
            format!(
                "Revoked the API token {} of {}. It no longer works.",
                token.name, target.username
            )
        } else {
            format!("The API token {} was already revoked.", token.name)
        },
    );
    Ok(see_other(
        &req,
        &format!("/tenants/{}/users/{}#api-tokens", tenant.id, target.id),
    ))
}
