//! Where tenants may move: the destinations a user may move tenants under, found by
//! search as one types (the move page's picker, the Tenants page's bulk move), and a
//! typed subdomain or name resolved to one of them for a form sent without
//! JavaScript.
//!
//! A destination is offered or accepted only when `authz::can_manage_children` says
//! the user manages its sub-tenants, and it may have sub-tenants (its switch, and
//! its governing plan's `sub_tenants`); whether each
//! selected tenant may go there is still the move's own decision.

use crate::auth::{authz, Principal};
use crate::db::models::plan::Plan;
use crate::db::models::Tenant;
use crate::domain::SearchText;
use crate::error::AppError;
use crate::services::plans;
use diesel_async::AsyncPgConnection;

/// How many tenants a typed name that fits several offers to choose from.
pub const CHOICES: i64 = 20;

/// Matches read per destination offered: the right to manage sub-tenants is decided
/// here, after the search, so the search reads more than it shows.
const READ_AHEAD: i64 = 5;

/// The destinations `p` may move tenants under whose name or subdomain contains `q`,
/// up to `limit`, nearest the root first; with `moving`, not that tenant's current
/// parent, nor it or a tenant below it.
pub async fn find(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    q: &SearchText,
    moving: Option<&Tenant>,
    limit: i64,
) -> Result<Vec<Tenant>, AppError> {
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let found = Tenant::search_destinations(
        conn,
        &authz::visibility(p),
        q.as_str(),
        moving.map(|t| t.id),
        limit * READ_AHEAD,
    )
    .await?;
    let ids: Vec<i64> = found.iter().map(|t| t.id).collect();
    let governing = Plan::governing(conn, &ids).await?;
    Ok(found
        .into_iter()
        .filter(|t| moving.is_none_or(|m| Some(t.id) != m.parent_id))
        .filter(|t| authz::can_manage_children(p, t))
        .filter(|t| plans::sub_tenants_refusal(t, governing.get(&t.id)).is_none())
        .take(usize::try_from(limit).unwrap_or(0))
        .collect())
}

/// A destination as a form named it.
#[derive(Clone, Debug)]
pub enum Destination {
    /// This tenant, which `p` may move tenants under.
    One(Box<Tenant>),
    /// Nothing yet: why (the field's message), and the tenants to choose from when
    /// the text fits several.
    Unresolved {
        message: String,
        choices: Vec<Tenant>,
    },
}

impl Destination {
    fn refused(message: impl Into<String>) -> Self {
        Destination::Unresolved {
            message: message.into(),
            choices: Vec::new(),
        }
    }
}

/// The destination a form names: `typed` (a subdomain or a name, or part of one) and
/// `picked` (an id: picked from the matches, chosen from the choices, or sent alone
/// by a form of before the picker).
///
/// * Nothing typed: the picked id as it is.
/// * A picked id whose tenant fits what is typed (its name or subdomain contains
///   it): that tenant. Otherwise the text decides, as what the user sees.
/// * A subdomain, whole and in any case: that tenant; a whole name: that tenant, or
///   a choice when several have it.
/// * Otherwise a choice of the destinations containing the text, or the message that
///   none does.
///
/// A tenant the user may not see is not found, like one that does not exist; one
/// they see but may not move tenants under (or that may not have sub-tenants) is
/// refused by name.
pub async fn resolve(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    typed: &str,
    picked: &str,
) -> Result<Destination, AppError> {
    // Typed text is search text: refused as every search box refuses it.
    let text = match SearchText::parse(typed) {
        Ok(text) => text,
        Err(e) => return Ok(Destination::refused(e.message())),
    };
    let picked = picked.trim();
    if !picked.is_empty() {
        let Ok(id) = picked.parse::<i64>() else {
            return Ok(Destination::refused(format!(
                "“{picked}” is not a tenant id."
            )));
        };
        let tenant = match authz::visible_tenant(p, id, conn).await {
            Ok(t) => t,
            Err(AppError::NotFound) if text.is_empty() => {
                return Ok(Destination::refused(format!("There is no tenant {id}.")))
            }
            Err(AppError::NotFound) => return by_text(conn, p, &text).await,
            Err(e) => return Err(e),
        };
        if text.is_empty() || fits(&tenant, text.as_str()) {
            return accepted(conn, p, tenant).await;
        }
    }
    if text.is_empty() {
        return Ok(Destination::refused(
            "Enter the new parent: its subdomain or name.",
        ));
    }
    by_text(conn, p, &text).await
}

/// The destination `search` names (see [`resolve`]).
async fn by_text(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    search: &SearchText,
) -> Result<Destination, AppError> {
    let text = search.as_str();
    let named = Tenant::named_exactly(conn, &authz::visibility(p), text, CHOICES).await?;
    let ids: Vec<i64> = named.iter().map(|t| t.id).collect();
    let governing = Plan::governing(conn, &ids).await?;
    let lower = text.to_lowercase();
    if let Some(t) = named.iter().find(|t| t.subdomain.to_lowercase() == lower) {
        return accepted(conn, p, t.clone()).await;
    }
    let (mut allowed, refused): (Vec<Tenant>, Vec<Tenant>) = named
        .into_iter()
        .partition(|t| refusal(p, t, governing.get(&t.id)).is_none());
    if allowed.len() > 1 {
        return Ok(Destination::Unresolved {
            message: format!("Several tenants are named “{text}”: choose one."),
            choices: allowed,
        });
    }
    if let Some(t) = allowed.pop() {
        return Ok(Destination::One(Box::new(t)));
    }
    // Named exactly, but not one to move tenants under: say so by name.
    if let Some(t) = refused.into_iter().next() {
        return accepted(conn, p, t).await;
    }
    let near = find(conn, p, search, None, CHOICES).await?;
    Ok(if near.is_empty() {
        Destination::refused(format!(
            "No tenant you may move tenants under matches “{text}”."
        ))
    } else {
        Destination::Unresolved {
            message: format!("No tenant is called “{text}”: choose one of those that match."),
            choices: near,
        }
    })
}

/// `t` when `p` may move tenants under it, else why not.
async fn accepted(
    conn: &mut AsyncPgConnection,
    p: &Principal,
    t: Tenant,
) -> Result<Destination, AppError> {
    let plan = plans::plan_of(conn, &t).await?;
    Ok(match refusal(p, &t, plan.as_ref()) {
        Some(message) => Destination::refused(message),
        None => Destination::One(Box::new(t)),
    })
}

/// Why `p` may not move tenants under `t`, if so.
fn refusal(p: &Principal, t: &Tenant, plan: Option<&Plan>) -> Option<String> {
    if !t.can_have_subtenants {
        Some(format!("{} may not have sub-tenants.", t.name))
    } else if let Some(message) = plans::sub_tenants_refusal(t, plan) {
        Some(message)
    } else if !authz::can_manage_children(p, t) {
        Some(format!(
            "You may not move tenants under {}: that takes managing its sub-tenants.",
            t.name
        ))
    } else {
        None
    }
}

/// Does `t`'s name or subdomain contain `text` (in any case)?
fn fits(t: &Tenant, text: &str) -> bool {
    let text = text.to_lowercase();
    t.name.to_lowercase().contains(&text) || t.subdomain.to_lowercase().contains(&text)
}
