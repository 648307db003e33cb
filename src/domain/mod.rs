//! Pure domain types: valid by construction, no I/O.

pub mod account;
pub mod activity;
pub mod branding;
pub mod csv_text;
pub mod domain_name;
pub mod email;
pub mod invitation;
pub mod label;
pub mod logo;
pub mod network;
pub mod number;
pub mod permission;
pub mod plan;
pub mod policy;
pub mod resources;
pub mod rules;
pub mod search;
pub mod sorting;
pub mod stats;
pub mod subdomain;
pub mod text;
pub mod text_enum;
pub mod usage;
pub mod user_limit;

pub use account::{login_name, token_login, without_token, UserSource};
pub use permission::{Feature, GrantRole, Level, Permissions, Scope};
pub use search::{SearchError, SearchText};
pub use subdomain::Subdomain;
pub use text::{Description, RoleName, TenantName, Username};

/// How a page, an export or the API names a tenant the reader may not see.
pub const HIDDEN_TENANT: &str = "a tenant you cannot see";
