//! The integration test binary: the real app over HTTP against real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod api;
mod availability;
mod confirmations;
mod csrf;
mod custom_domains;
mod dominance;
mod health;
mod helpers;
mod invitations;
mod invite_token_security;
mod login;
mod login_security;
mod matrix;
mod people;
mod review_gaps;
mod roles;
mod service_rights;
mod smoke;
mod statements;
mod subtree_dominance;
mod tenants;
mod tree_model;
mod tree_ops;
mod users;
