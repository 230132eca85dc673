//! azth-server: services, the HTTP API, the cache and background workers.
//!
//! `Application::build(config)` prepares a server and
//! `run_until_stopped(signal)` serves it; the binary crate only parses the
//! command line and calls these.

pub mod app;
pub mod cache;
pub mod config;
pub mod hashing;
pub mod http;
pub mod keys;
pub mod notify;
pub mod services;
pub mod state;
pub mod telemetry;

pub use app::{Application, StartError};
pub use config::Config;
