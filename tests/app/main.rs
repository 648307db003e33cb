//! The integration test binary: the real app over HTTP against real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod api;
mod availability;
mod csrf;
mod health;
mod helpers;
mod invitations;
mod login;
mod login_security;
mod matrix;
mod roles;
mod smoke;
mod tenants;
mod tree_model;
mod tree_ops;
mod users;
