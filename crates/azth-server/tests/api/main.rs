//! Black-box API tests: a real server on 127.0.0.1:0 against a fresh
//! PostgreSQL database and a real Redis (per-test key prefix), driven over
//! HTTP. One test binary, a module per resource.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_support;
mod db;
mod support;

mod admin_users;
mod audit;
mod auth;
mod cross_tenant;
mod jwt_attacks;
mod notifications_api;
mod notify;
mod openapi;
mod permission_matrix;
mod recovery;
mod roles;
mod service;
mod tenants;
