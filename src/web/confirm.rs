//! The confirmation step of destructive actions (deleting a user, revoking a grant,
//! an invitation or an API token, disabling a tenant). The action's form posts to
//! its usual URL; without `confirm=yes` the handler, after the same authorization
//! as the action, answers with a confirmation (a full page, or for htmx the
//! fragment shown in the page's `#dialog`) and changes nothing. The confirmation's
//! own form repeats the POST with `confirm=yes`. The JSON API needs no confirmation.

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::web::page::{render_status, wants_fragment, PageCtx};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use askama::Template;
use diesel_async::AsyncPgConnection;
use futures_util::future::LocalBoxFuture;

/// What a destructive action's form sent besides its CSRF token: `confirm=yes`
/// once confirmed, and the `scope` chosen on the confirmation, if it offers one.
/// Read from any body (an empty POST without a content type is "not confirmed").
#[derive(Debug, Default, Clone)]
pub struct Confirm {
    pub confirmed: bool,
    pub scope: Option<String>,
    /// Every other field sent (not the CSRF token), for an action that reads more
    /// (where to return to, `Question::hidden`); each action validates what it reads.
    pub fields: Vec<(String, String)>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Fields {
    confirm: String,
    scope: Option<String>,
}

impl Confirm {
    /// The fields of a urlencoded body; anything unreadable is "not confirmed".
    pub fn parse(body: &[u8]) -> Self {
        let fields: Fields = serde_urlencoded::from_bytes(body).unwrap_or_default();
        let all: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        Self {
            confirmed: fields.confirm == "yes",
            scope: fields.scope.filter(|s| !s.is_empty()),
            fields: all
                .into_iter()
                .filter(|(k, _)| !["csrf_token", "confirm", "scope"].contains(&k.as_str()))
                .collect(),
        }
    }
}

impl FromRequest for Confirm {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move { Ok(Self::parse(&body.await?)) })
    }
}

/// A choice offered on the confirmation (a radio button of the field `scope`).
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: &'static str,
    pub label: String,
    /// What choosing it means, in words.
    pub detail: String,
    pub checked: bool,
}

/// What the confirmation asks.
#[derive(Debug, Clone, Default)]
pub struct Question {
    /// The heading: "Delete user alice?"
    pub title: String,
    /// Exactly what will happen.
    pub detail: String,
    /// Where the confirmed form posts (the action's own URL).
    pub action: String,
    /// The confirm button's label ("Delete user").
    pub button: String,
    /// Where Cancel leads.
    pub cancel: String,
    /// Radio choices of `scope`, if any.
    pub choices: Vec<Choice>,
    /// Fields the confirmed form sends again as they came (where to return to).
    pub hidden: Vec<(String, String)>,
    /// Why a confirmed post was not taken (no choice made where one is needed): the
    /// confirmation is asked again with it, as a form with a field error (422).
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "components/confirm.html")]
struct ConfirmPage {
    page: PageCtx,
    q: Question,
}

#[derive(Template)]
#[template(path = "components/confirm.html", block = "content")]
struct ConfirmFragment {
    page: PageCtx,
    q: Question,
}

/// The confirmation of `q`: the dialog's fragment for htmx, else a full page (200;
/// 422 when it is asked again with `q.error`).
pub async fn ask(
    req: &HttpRequest,
    user: &CurrentUser,
    conn: &mut AsyncPgConnection,
    active: &'static str,
    q: Question,
) -> Result<HttpResponse, AppError> {
    let page = PageCtx::new(user, conn, active).await?;
    let status = if q.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    if wants_fragment(req) {
        render_status(&ConfirmFragment { page, q }, status)
    } else {
        render_status(&ConfirmPage { page, q }, status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_yes_confirms() {
        assert!(Confirm::parse(b"confirm=yes&csrf_token=x").confirmed);
        assert!(!Confirm::parse(b"confirm=no").confirmed);
        assert!(!Confirm::parse(b"").confirmed);
        assert!(!Confirm::parse(b"\xff\xfe=%%").confirmed);
        assert_eq!(
            Confirm::parse(b"scope=subtree&confirm=yes")
                .scope
                .as_deref(),
            Some("subtree")
        );
        assert_eq!(Confirm::parse(b"scope=").scope, None);
        assert_eq!(
            Confirm::parse(b"csrf_token=x&confirm=yes&return=list&q=a%26b").fields,
            [
                ("return".to_string(), "list".to_string()),
                ("q".to_string(), "a&b".to_string())
            ]
        );
    }
}
