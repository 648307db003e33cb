//! tenantry: a self-hosted multi-tenant administration console.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod dns;
pub mod domain;
pub mod error;
pub mod failpoints;
pub mod mail;
pub mod services;
pub mod startup;
pub mod telemetry;
pub mod web;
