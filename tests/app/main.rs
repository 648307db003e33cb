//! The integration test binary: the real app over HTTP against real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod availability;
mod csrf;
mod health;
mod helpers;
mod login;
mod matrix;
mod smoke;
mod tenants;
