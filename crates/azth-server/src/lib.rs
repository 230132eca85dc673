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
pub mod maintenance;
pub mod notify;
pub mod services;
pub mod state;
pub mod telemetry;
pub mod tls;

pub use app::{Application, StartError};
pub use config::Config;

/// Installs ring as rustls' process-wide crypto provider (the HTTP client of
/// the webhook sender needs one). Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
