//! The integration test binary: the real app over HTTP against real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod activity;
mod api;
mod availability;
mod bulk;
mod confirmations;
mod context;
mod csrf;
mod custom_domains;
mod dashboard;
mod dominance;
mod grant_picker;
mod health;
mod helpers;
mod invitations;
mod invite_token_security;
mod login;
mod login_security;
mod matrix;
// Kills real processes at failpoints: only in builds with the feature (`make test`).
#[cfg(feature = "failpoints")]
mod migration_crash;
mod migration_mappings;
mod people;
mod query_strings;
mod review_gaps;
mod roles;
mod rule_migrations;
mod rules;
mod service_rights;
mod smoke;
mod statements;
mod subtree_dominance;
mod subtree_totals;
mod tenant_list;
mod tenants;
mod tree_model;
mod tree_ops;
mod usage_ingest;
mod usage_mail;
mod usage_stats;
mod users;
