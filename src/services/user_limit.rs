//! The user limits (`tenants.max_users`): a tenant's limit covers its whole subtree,
//! so a new user counts against the limit of its home tenant and of every tenant
//! above it. Checked inside every transaction that creates a user homed in a tenant
//! (`services::users::create`, `services::invitations::accept_new`) before its
//! insert, on locked rows (`db::models::user_limit::lock_limits` says why the count
//! is then exact): parallel creates never end above a limit.

use crate::db::models::user_limit::{lock_limits, Limited};
use crate::db::models::Tenant;
use crate::domain::user_limit::reached;
use crate::error::AppError;
use diesel_async::AsyncPgConnection;

/// The field a refusal is reported on (forms show it above their fields).
pub const FIELD: &str = "limit";

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
    // The path as it is now (a move may have changed it since `home` was read).
    let path = Tenant::paths_of(conn, &[home.id])
        .await?
        .pop()
        .map_or_else(|| home.path.clone(), |(_, p)| p);
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
    let place = if l.id == home.id {
        l.name.clone()
    } else if seen(&l.path) {
        format!("{} (its limit covers every tenant below it)", l.name)
    } else {
        "a tenant above this one (its limit covers every tenant below it)".to_string()
    };
    reached(l.users, l.max_users, &place)
}
