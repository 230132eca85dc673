//! azth-core: the domain of azth — error codes, request context and rules.
//!
//! Nothing here performs I/O, so everything is cheap to unit-test and is
//! shared by the store, the services and the HTTP layer.

pub mod context;
pub mod error;

pub use context::{Actor, AuditContext};
pub use error::{ErrorCode, FieldError};
