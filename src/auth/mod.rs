//! Who is asking, and what they may do: passwords, sessions, CSRF, authorization.

pub mod api_user;
pub mod authz;
pub mod csrf;
pub mod current_user;
pub mod device;
pub mod ingestion_key;
pub mod password;
pub mod principal;
pub mod session_keys;
pub mod session_store;
pub mod signed;
pub mod tokens;

pub use api_user::ApiUser;
pub use current_user::{CurrentUser, PageRoute};
pub use ingestion_key::IngestionCaller;
pub use password::PasswordHasher;
pub use principal::Principal;
