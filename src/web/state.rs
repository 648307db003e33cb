//! What every request handler shares: built once by `startup`, reached through
//! `web::Data<AppState>`. Layers below `web` take the single pieces they need
//! (a pool, the settings) instead.

use crate::auth::PasswordHasher;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::DbPool;

/// Shared by every request.
pub struct AppState {
    pub pool: DbPool,
    pub settings: Settings,
    pub hasher: PasswordHasher,
    /// Handlers read the time here and pass it down.
    pub clock: Clock,
    pub latest_migration: String,
    /// Wakes this process's outbox worker after mail was queued.
    pub outbox_wake: std::sync::Arc<tokio::sync::Notify>,
}
