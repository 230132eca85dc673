//! PostgreSQL schema migrations: `migrations/postgres/`, embedded in the binary.

use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub use crate::migrations::MigrationStatus;
use crate::{StoreError, migrations};

/// The embedded PostgreSQL migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Applies every pending migration.
pub async fn up(pool: &PgPool) -> Result<(), StoreError> {
    migrations::up(&MIGRATOR, pool).await
}

/// Reverts down to version `to` (exclusive), or only the newest migration.
pub async fn down(pool: &PgPool, to: Option<i64>) -> Result<Vec<i64>, StoreError> {
    migrations::down(&MIGRATOR, pool, to).await
}

/// Every known migration, with whether it is applied, oldest first.
pub async fn status(pool: &PgPool) -> Result<Vec<MigrationStatus>, StoreError> {
    migrations::status(&MIGRATOR, pool).await
}
