//! Rows and the queries that read and write them.

pub mod api_token;
pub mod audit;
pub mod grant;
pub mod idempotency;
pub mod invitation;
pub mod outbox;
pub mod principal;
pub mod role;
pub mod session;
pub mod tenant;
pub mod throttle;
pub mod user;

pub use audit::AuditEvent;
pub use grant::Grant;
pub use tenant::{Tenant, TenantListRow, Visibility};
pub use user::User;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);
diesel::define_sql_function!(fn array_length(a: diesel::sql_types::Array<diesel::sql_types::BigInt>, dim: diesel::sql_types::Integer) -> diesel::sql_types::Nullable<diesel::sql_types::Integer>);

/// Escapes LIKE wildcards so user input matches literally.
pub fn like_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
