//! What the session holds, and the helpers that read and write it.

use super::tokens::random_token;
use actix_session::Session;

pub const USER_ID: &str = "uid";
pub const EPOCH: &str = "epoch";
pub const ACTING_TENANT: &str = "acting";
pub const CSRF: &str = "csrf";

/// The session's CSRF token, created on first use.
pub fn csrf_token(session: &Session) -> String {
    match session.get::<String>(CSRF) {
        Ok(Some(t)) => t,
        _ => {
            let t = random_token();
            // Insert only fails on serialisation, which a String cannot fail.
            let _ = session.insert(CSRF, &t);
            t
        }
    }
}

/// Starts an authenticated session under a new id (defeats session fixation).
pub fn log_in(
    session: &Session,
    user_id: i64,
    epoch: i32,
    acting_tenant: i64,
) -> Result<(), actix_session::SessionInsertError> {
    session.renew();
    session.clear();
    session.insert(USER_ID, user_id)?;
    session.insert(EPOCH, epoch)?;
    session.insert(ACTING_TENANT, acting_tenant)?;
    session.insert(CSRF, random_token())?;
    Ok(())
}
