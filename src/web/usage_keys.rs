//! The usage ingestion keys at `/usage/keys`: root Owners and Administrators list,
//! create and revoke the keys that post usage (`POST /api/v1/usage`). A new key's
//! secret is shown once, in the answer to the create form, and never stored (only
//! its hash). Everyone else is answered 404 (`authz::can_manage_ingestion_keys`).

use crate::auth::CurrentUser;
use crate::db::models::usage::IngestionKey;
use crate::domain::TenantName;
use crate::error::{AppError, FieldErrors};
use crate::services::usage as service;
use crate::web::confirm::{ask, Confirm, Question};
use crate::web::page::{flash, render, render_created, see_other, timestamp, PageCtx};
use crate::web::routes::{route, Route};
use crate::web::AppState;
use crate::web::{actor, parse_id};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;

/// The routes of this module (see `web::routes`).
pub fn routes() -> Vec<Route> {
    vec![
        route!(GET "/usage/keys" => index),
        route!(POST "/usage/keys" => create),
        route!(POST "/usage/keys/{key_id}/revoke" => revoke),
    ]
}

/// The new-key form as sent.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct KeyForm {
    pub name: String,
}

/// One key as the list shows it.
pub struct KeyRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created: String,
    pub created_by: String,
    pub last_used: String,
    pub revoked: Option<String>,
}

impl KeyRow {
    fn new((k, creator): (IngestionKey, Option<String>)) -> Self {
        KeyRow {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            created: timestamp(k.created_at),
            created_by: creator.unwrap_or_else(|| "(deleted user)".into()),
            last_used: k.last_used_at.map_or_else(|| "never".into(), timestamp),
            revoked: k.revoked_at.map(timestamp),
        }
    }
}

#[derive(Template)]
#[template(path = "usage/keys.html")]
struct KeysPage {
    page: PageCtx,
    keys: Vec<KeyRow>,
    form: KeyForm,
    errors: FieldErrors,
    /// The name and secret of the key just created: shown this once.
    created: Option<(String, String)>,
}

async fn page(
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    form: KeyForm,
    errors: FieldErrors,
    created: Option<(String, String)>,
) -> Result<KeysPage, AppError> {
    // The right first: the frame is not rendered for whom the page does not exist.
    let keys = service::keys(conn, user).await?;
    Ok(KeysPage {
        page: PageCtx::new(user, conn, "usage-keys").await?,
        keys: keys.into_iter().map(KeyRow::new).collect(),
        form,
        errors,
        created,
    })
}

async fn index(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    render(
        &page(
            &user,
            &mut conn,
            KeyForm::default(),
            FieldErrors::new(),
            None,
        )
        .await?,
    )
}

async fn create(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    form: web::Form<KeyForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut conn = state.pool.get().await?;
    crate::auth::authz::require_ingestion_keys(&user)?;
    let (form, errors, created) = match TenantName::parse(&form.name) {
        Ok(name) => match service::create_key(&mut conn, &user, &actor(&user, &req), &name).await {
            Ok((key, secret)) => (
                KeyForm::default(),
                FieldErrors::new(),
                Some((key.name, secret)),
            ),
            Err(AppError::Validation(errors)) => (form, errors, None),
            Err(e) => return Err(e),
        },
        Err(e) => (form, FieldErrors::from([("name", e)]), None),
    };
    let shown = created.is_some();
    render_created(&page(&user, &mut conn, form, errors, created).await?, shown)
}

async fn revoke(
    req: HttpRequest,
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    confirm: Confirm,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let mut conn = state.pool.get().await?;
    if !confirm.confirmed {
        let key = service::key(&mut conn, &user, id).await?;
        let question = Question {
            title: format!("Revoke the ingestion key {}?", key.name),
            detail: "Every resolver or service that posts usage with it is refused from now on; \
                     this cannot be undone (a new key can be created)."
                .into(),
            button: "Revoke key".into(),
            action: format!("/usage/keys/{}/revoke", key.id),
            cancel: "/usage/keys".into(),
            ..Question::default()
        };
        return ask(&req, &user, &mut conn, "usage-keys", question).await;
    }
    let now = state.clock.now();
    let key = service::revoke_key(&mut conn, &user, &actor(&user, &req), id, now).await?;
    flash(
        &user.session.0,
        format!(
            "Revoked the ingestion key {}. It no longer works.",
            key.name
        ),
    );
    Ok(see_other(&req, "/usage/keys"))
}
