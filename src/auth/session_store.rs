//! actix-session storage in PostgreSQL, so every app process shares sessions and
//! logout or disabling a user takes effect everywhere at once.

use crate::db::{models::session, DbPool};
use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use rand::distributions::{Alphanumeric, DistString};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

type State = HashMap<String, String>;

#[derive(Clone)]
pub struct PgSessionStore {
    pool: DbPool,
}

impl PgSessionStore {
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

/// Only a hash of the session key is stored: a leaked table does not hand out sessions.
fn key_hash(key: &SessionKey) -> String {
    hex::encode(Sha256::digest(key.as_ref().as_bytes()))
}

fn expires(ttl: &Duration) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::seconds(ttl.whole_seconds())
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
        let value = session::load(&mut conn, &key_hash(key))
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        match value {
            None => Ok(None),
            Some(v) => serde_json::from_value(v)
                .map(Some)
                .map_err(|e| LoadError::Deserialization(e.into())),
        }
    }

    async fn save(&self, state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        let key = new_key().map_err(SaveError::Other)?;
        let uid = user_id(&state);
        let value = serde_json::to_value(state).map_err(|e| SaveError::Serialization(e.into()))?;
        let mut conn = self
            .pool
            .get()
            .await
            .map_err(|e| SaveError::Other(e.into()))?;
        session::upsert(&mut conn, &key_hash(&key), value, uid, expires(ttl))
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
            .pool
            .get()
            .await
            .map_err(|e| UpdateError::Other(e.into()))?;
        session::upsert(&mut conn, &key_hash(&key), value, uid, expires(ttl))
            .await
            .map_err(|e| UpdateError::Other(e.into()))?;
        Ok(key)
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> Result<(), anyhow::Error> {
        let mut conn = self.pool.get().await?;
        session::touch(&mut conn, &key_hash(key), expires(ttl)).await?;
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        let mut conn = self.pool.get().await?;
        session::delete(&mut conn, &key_hash(key)).await?;
        Ok(())
    }
}
