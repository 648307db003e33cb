//! Pure domain types: valid by construction, no I/O.

pub mod domain_name;
pub mod permission;
pub mod subdomain;
pub mod text;

pub use permission::{Feature, GrantRole, Level, Permissions, Scope};
pub use subdomain::Subdomain;
pub use text::{Description, RoleName, TenantName, Username};
