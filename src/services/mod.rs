//! Operations that span several rows in one transaction, each audited.

pub mod activity;
pub mod actor;
pub mod api_tokens;
pub mod bootstrap;
pub mod branding;
pub mod change;
pub mod clouds;
pub mod demo;
pub mod draft;
pub mod grants;
pub mod instances;
pub mod invitations;
pub mod migration_plan;
pub mod network;
pub mod plans;
pub mod policies;
pub mod quota_alerts;
pub mod reports;
pub mod roles;
pub mod rule_migrations;
pub mod rules;
pub mod tenants;
pub mod usage;
pub mod usage_stats;
pub mod user_limit;
pub mod users;

pub use actor::Actor;
