//! Storage errors, driver-independent. Services map them to API errors; a
//! database outage is always [`StoreError::Unavailable`] (answered 503),
//! never an internal error.

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or refused the connection.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness rule was violated; `field` names the API field when known.
    #[error("conflict on {}", field.as_deref().unwrap_or("a unique value"))]
    Conflict { field: Option<String> },
    /// A referenced row does not exist (foreign key).
    #[error("a referenced row does not exist ({constraint})")]
    MissingReference { constraint: String },
    /// The row asked for does not exist (or is invisible to this tenant).
    #[error("not found")]
    NotFound,
    /// Anything else: a bug or a schema mismatch.
    #[error("database error: {0}")]
    Internal(String),
}

impl StoreError {
    /// Whether retrying the same operation later may succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// Maps a unique index or constraint name to the API field it protects.
pub(crate) fn constraint_field(constraint: &str) -> Option<&'static str> {
    const FIELDS: &[(&str, &str)] = &[
        ("email", "email"),
        ("username", "username"),
        ("slug", "slug"),
        ("domain", "domain"),
        ("roles_tenant_name", "name"),
        // SQLite names the columns instead: "UNIQUE constraint failed: roles.tenant_id, roles.name".
        ("roles.name", "name"),
        ("kid", "kid"),
    ];
    FIELDS.iter().find(|(needle, _)| constraint.contains(needle)).map(|(_, field)| *field)
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match err {
            E::RowNotFound => Self::NotFound,
            E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::WorkerCrashed => {
                Self::Unavailable(err.to_string())
            }
            E::Database(ref db) if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() => {
                let code: i64 = db.code().and_then(|c| c.parse().ok()).unwrap_or_default();
                match db.kind() {
                    // SQLite has no constraint names in errors, only its message.
                    sqlx::error::ErrorKind::UniqueViolation => {
                        Self::Conflict { field: constraint_field(db.message()).map(str::to_owned) }
                    }
                    sqlx::error::ErrorKind::ForeignKeyViolation => {
                        Self::MissingReference { constraint: "foreign key".to_owned() }
                    }
                    // The primary result code (low byte): 5 BUSY, 6 LOCKED, 10 IOERR,
                    // 13 FULL, 14 CANTOPEN: the file cannot serve now.
                    _ if matches!(code & 0xff, 5 | 6 | 10 | 13 | 14) => Self::Unavailable(err.to_string()),
                    _ => Self::Internal(err.to_string()),
                }
            }
            E::Database(ref db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                match code.as_str() {
                    "23505" => Self::Conflict { field: db.constraint().and_then(constraint_field).map(str::to_owned) },
                    "23503" => Self::MissingReference { constraint: db.constraint().unwrap_or_default().to_owned() },
                    // Class 08: connection exception; 57P0x: the server is
                    // shutting down or starting; 53300: too many connections.
                    c if c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03" | "53300") => {
                        Self::Unavailable(err.to_string())
                    }
                    _ => Self::Internal(err.to_string()),
                }
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        match err {
            sqlx::migrate::MigrateError::Execute(e) => e.into(),
            other => Self::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_names_map_to_fields() {
        assert_eq!(constraint_field("idx_users_tenant_email"), Some("email"));
        assert_eq!(constraint_field("idx_users_tenant_username"), Some("username"));
        assert_eq!(constraint_field("tenants_slug_key"), Some("slug"));
        assert_eq!(constraint_field("idx_roles_tenant_name"), Some("name"));
        assert_eq!(constraint_field("something_else"), None);
        assert_eq!(constraint_field("UNIQUE constraint failed: users.tenant_id, users.email"), Some("email"));
        assert_eq!(constraint_field("UNIQUE constraint failed: index 'idx_users_tenant_username'"), Some("username"));
        assert_eq!(constraint_field("UNIQUE constraint failed: roles.tenant_id, roles.name"), Some("name"));
        assert_eq!(constraint_field("UNIQUE constraint failed: tenants.slug"), Some("slug"));
    }

    #[test]
    fn pool_failures_are_unavailable() {
        assert!(StoreError::from(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(StoreError::from(sqlx::Error::PoolClosed).is_unavailable());
        assert!(matches!(StoreError::from(sqlx::Error::RowNotFound), StoreError::NotFound));
    }
}
