//! actix-session storage in PostgreSQL, so every app process shares sessions and
//! logout or disabling a user takes effect everywhere at once.
//!
//! Loading a session also loads the user it names, in the same statement: every
//! logged-in request needs both. The user waits in a per-request slot for
//! `CurrentUser`, and the expiry read lets an unchanged session skip its write.
//!
//! The store has a pool of its own (`db::pool_sizes`), whose connections are each
//! held for one statement. A load comes before the request's work and, like the
//! request's own checkout, gives up after the pool's wait (503: nothing done). A
//! write (`save`, `update`, `update_ttl`, `delete`) comes after it — a committed
//! create's flash message — and waits as long as it takes: it holds nothing while
//! it waits, and failing it would answer 503 for work that was done.

use super::current_user::SessionUser;
use crate::clock::Clock;
use crate::db::{
    models::{principal, session},
    DbPool,
};
use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::body::MessageBody;
use actix_web::cookie::time::Duration;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use chrono::{DateTime, Utc};
use rand::distributions::{Alphanumeric, DistString};
use std::cell::RefCell;
use std::collections::HashMap;

type State = HashMap<String, String>;

/// What loading the request's session read.
struct Loaded {
    key_hash: String,
    expires_at: DateTime<Utc>,
    principal: Option<SessionUser>,
}

/// A request's slot: the tenant its page is about, set before the session loads,
/// and what the load read.
struct Slot {
    page_tenant: Option<i64>,
    loaded: Option<Loaded>,
}

tokio::task_local! {
    static LOADED: RefCell<Slot>;
}

/// Middleware around the session layer: a slot per request for what its session
/// load read. Without it everything still works, with more statements.
pub async fn request_slot(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let slot = Slot {
        page_tenant: page_tenant(req.path()),
        loaded: None,
    };
    LOADED.scope(RefCell::new(slot), next.call(req)).await
}

/// The tenant a `/tenants/{id}…` page path names, read before routing: the session
/// load fetches its path for the breadcrumb. A guess the page may not confirm (it
/// checks the id it routed), never a right.
fn page_tenant(path: &str) -> Option<i64> {
    let rest = path.strip_prefix("/tenants/")?;
    let id = rest.split('/').next()?;
    if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

/// The user the request's session named when it was loaded, if it is `user_id`.
/// Taken, not copied: a second load in the same request reads the database again,
/// so it sees what the request changed.
pub fn take_principal(user_id: i64) -> Option<SessionUser> {
    LOADED
        .try_with(|slot| {
            let mut slot = slot.borrow_mut();
            let loaded = slot.loaded.as_mut()?;
            match &loaded.principal {
                Some(p) if p.principal.user.id == user_id => loaded.principal.take(),
                _ => None,
            }
        })
        .ok()
        .flatten()
}

/// The expiry the session with this key had when the request loaded it.
fn loaded_expiry(key_hash: &str) -> Option<DateTime<Utc>> {
    LOADED
        .try_with(|slot| {
            slot.borrow()
                .loaded
                .as_ref()
                .filter(|l| l.key_hash == key_hash)
                .map(|l| l.expires_at)
        })
        .ok()
        .flatten()
}

#[derive(Clone)]
pub struct PgSessionStore {
    pool: DbPool,
    clock: Clock,
}

impl PgSessionStore {
    pub fn new(pool: DbPool, clock: Clock) -> Self {
        Self { pool, clock }
    }

    /// A connection for a write, however long it takes to free one (module comment).
    async fn for_write(&self) -> Result<crate::db::DbConn, crate::db::PoolError> {
        let timeouts = deadpool::managed::Timeouts {
            wait: None,
            ..self.pool.timeouts()
        };
        self.pool.timeout_get(&timeouts).await
    }

    /// The expiry of a session given `ttl` from now.
    fn expires(&self, ttl: &Duration) -> DateTime<Utc> {
        self.clock.now() + chrono::Duration::seconds(ttl.whole_seconds())
    }
}

/// Only a hash of the session key is stored: a leaked table does not hand out sessions.
fn key_hash(key: &SessionKey) -> String {
    super::tokens::stored_hash(key.as_ref())
}

/// The user id kept in its own column so a user's sessions can be found.
fn user_id(state: &State) -> Option<i64> {
    state
        .get(super::session_keys::USER_ID)
        .and_then(|v| v.parse().ok())
}

fn new_key() -> Result<SessionKey, anyhow::Error> {
    SessionKey::try_from(Alphanumeric.sample_string(&mut rand::rngs::OsRng, 64))
        .map_err(anyhow::Error::new)
}

impl SessionStore for PgSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        let mut conn = self
            .pool
            .get()
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        let hash = key_hash(key);
        let page_tenant = LOADED
            .try_with(|slot| slot.borrow().page_tenant)
            .ok()
            .flatten();
        let loaded = principal::by_session(&mut conn, &hash, self.clock.now(), page_tenant)
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        let Some(loaded) = loaded else {
            return Ok(None);
        };
        let state = serde_json::from_value(loaded.state)
            .map_err(|e| LoadError::Deserialization(e.into()))?;
        let _ = LOADED.try_with(|slot| {
            slot.borrow_mut().loaded = Some(Loaded {
                key_hash: hash,
                expires_at: loaded.expires_at,
                principal: loaded.principal.map(Into::into),
            })
        });
        Ok(Some(state))
    }

    async fn save(&self, state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        let key = new_key().map_err(SaveError::Other)?;
        let uid = user_id(&state);
        let value = serde_json::to_value(state).map_err(|e| SaveError::Serialization(e.into()))?;
        let mut conn = self
            .for_write()
            .await
            .map_err(|e| SaveError::Other(e.into()))?;
        session::upsert(&mut conn, &key_hash(&key), value, uid, self.expires(ttl))
            .await
            .map_err(|e| SaveError::Other(e.into()))?;
        Ok(key)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: State,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let uid = user_id(&state);
        let value =
            serde_json::to_value(state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let mut conn = self
            .for_write()
            .await
            .map_err(|e| UpdateError::Other(e.into()))?;
        session::upsert(&mut conn, &key_hash(&key), value, uid, self.expires(ttl))
            .await
            .map_err(|e| UpdateError::Other(e.into()))?;
        Ok(key)
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> Result<(), anyhow::Error> {
        let hash = key_hash(key);
        let expires_at = self.expires(ttl);
        // The same test `touch` makes, on the expiry just read: no statement at all
        // while the session needs no extension.
        if loaded_expiry(&hash).is_some_and(|e| e >= expires_at - session::TOUCH_SLACK) {
            return Ok(());
        }
        let mut conn = self.for_write().await?;
        session::touch(&mut conn, &hash, expires_at).await?;
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        let mut conn = self.for_write().await?;
        session::delete(&mut conn, &key_hash(key)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::page_tenant;

    #[test]
    fn the_page_tenant_is_the_number_after_tenants() {
        assert_eq!(page_tenant("/tenants/42"), Some(42));
        assert_eq!(page_tenant("/tenants/42/users/7"), Some(42));
        assert_eq!(page_tenant("/tenants/007/activity"), Some(7));
        for path in [
            "/tenants",
            "/tenants/",
            "/tenants/new",
            "/tenants/4x2",
            "/tenants/-1",
            "/tenants/+1",
            "/tenants/99999999999999999999",
            "/api/v1/tenants/42",
            "/dashboard",
        ] {
            assert_eq!(page_tenant(path), None, "{path}");
        }
    }
}
