//! SQLite schema migrations: `migrations/sqlite/`, embedded in the binary.

use sqlx::SqlitePool;
use sqlx::migrate::Migrator;

pub use crate::migrations::MigrationStatus;
use crate::{StoreError, migrations};

/// The embedded SQLite migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// Applies every pending migration.
pub async fn up(pool: &SqlitePool) -> Result<(), StoreError> {
    migrations::up(&MIGRATOR, pool).await
}

/// Reverts down to version `to` (exclusive), or only the newest migration.
pub async fn down(pool: &SqlitePool, to: Option<i64>) -> Result<Vec<i64>, StoreError> {
    migrations::down(&MIGRATOR, pool, to).await
}

/// Every known migration, with whether it is applied, oldest first.
pub async fn status(pool: &SqlitePool) -> Result<Vec<MigrationStatus>, StoreError> {
    migrations::status(&MIGRATOR, pool).await
}
