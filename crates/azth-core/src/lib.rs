//! azth-core: the domain of azth — error codes, request context, rules and
//! cryptographic primitives.
//!
//! Nothing here performs I/O, so everything is cheap to unit-test and is
//! shared by the store, the services and the HTTP layer.

pub mod context;
pub mod crypto;
pub mod cursor;
pub mod error;
pub mod model;
pub mod password;
pub mod rbac;

pub use context::{Actor, AuditContext};
pub use crypto::CryptoError;
pub use error::{ErrorCode, FieldError};
pub use password::{PasswordPolicy, check_password, is_common};
