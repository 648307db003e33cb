//! The user limits (`tenants.max_users`): a tenant's limit covers its whole subtree,
//! so a new user counts against the limit of its home tenant and of every tenant
//! above it. Checked inside every transaction that creates a user homed in a tenant
//! (`services::users::create`, `services::invitations::accept_new`) before its
//! insert, on locked rows (`db::models::user_limit::lock_limits` says why the count
//! is then exact): parallel creates never end above a limit. The home's path is
//! taken FOR KEY SHARE first (the tree protocol's "create under", as an instance
//! create takes it), so no move above it runs meanwhile: a move counts against the
//! same limits (`services::tenants::move_limits`), in the same order.

use super::tenants::tree::lock_paths;
use crate::db::models::user_limit::{lock_limits, Limited};
use crate::db::models::Tenant;
use crate::domain::user_limit::reached;
use crate::error::AppError;
use diesel_async::AsyncPgConnection;

/// The field a refusal is reported on (forms show it above their fields).
pub const FIELD: &str = crate::domain::resources::FORM_LEVEL;

/// Room for `adding` more users homed in `home`, else the refusal naming the first
/// limit (top-down) they would exceed: "Users 50 of 50 used in Acme". `seen` says
/// whether the one asking may see a tenant (by its path): a limit set higher up, on
/// a tenant they cannot see, is not named. Call inside the creating transaction,
/// before the insert.
pub async fn make_room(
    conn: &mut AsyncPgConnection,
    home: &Tenant,
    adding: i64,
    seen: &(dyn Fn(&[i64]) -> bool + Sync),
) -> Result<(), AppError> {
    // The tree protocol's "create under" the home (its path FOR KEY SHARE, as an
    // instance create takes it): no move of a tenant above it is in flight, and none
    // starts before the commit, so a move counting this subtree's users counts this
    // one too. The path is read as it is now, held.
    let path = lock_paths(conn, &[home.id], None)
        .await?
        .remove(&home.id)
        .ok_or(AppError::NotFound)?
        .path;
    let limits = lock_limits(conn, &path).await?;
    match limits
        .iter()
        .find(|l| l.users + adding > i64::from(l.max_users))
    {
        Some(l) => Err(AppError::field(FIELD, refusal(l, home, seen))),
        None => Ok(()),
    }
}

fn refusal(l: &Limited, home: &Tenant, seen: &(dyn Fn(&[i64]) -> bool + Sync)) -> String {
    let shown = l.id == home.id || seen(&l.path);
    let place = if l.id == home.id {
        l.name.clone()
    } else if shown {
        format!("{} (its limit covers every tenant below it)", l.name)
    } else {
        "a tenant above this one (its limit covers every tenant below it)".to_string()
    };
    // The plan whose limit it is, of a tenant that may be named.
    reached(
        l.users,
        l.max_users,
        &place,
        l.origin.as_ref().filter(|_| shown),
    )
}
