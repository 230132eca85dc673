//! Running the embedded migrations of either driver: numbered
//! `.up.sql`/`.down.sql` pairs, each applied in its own transaction.

use sqlx::migrate::{Migrate, MigrationType, Migrator};
use sqlx::{Database, Pool};

use crate::StoreError;

/// One migration and whether it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub version: i64,
    pub description: String,
    pub applied: bool,
}

/// Applies every pending migration of `migrator`.
pub async fn up<DB>(migrator: &Migrator, pool: &Pool<DB>) -> Result<(), StoreError>
where
    DB: Database,
    DB::Connection: Migrate,
{
    migrator.run(pool).await?;
    Ok(())
}

/// Reverts applied migrations down to version `to` (exclusive), or only the
/// newest one when `to` is `None`. Returns the versions reverted.
pub async fn down<DB>(migrator: &Migrator, pool: &Pool<DB>, to: Option<i64>) -> Result<Vec<i64>, StoreError>
where
    DB: Database,
    DB::Connection: Migrate,
{
    let applied = applied_versions(pool).await?;
    let target = match to {
        Some(t) => t,
        None => {
            let mut newest_first = applied.iter().rev();
            match newest_first.next() {
                None => return Ok(Vec::new()),
                Some(_) => newest_first.next().copied().unwrap_or(0),
            }
        }
    };
    let reverted: Vec<i64> = applied.iter().rev().copied().filter(|v| *v > target).collect();
    migrator.undo(pool, target).await?;
    Ok(reverted)
}

/// Every known migration, with whether it is applied, oldest first.
pub async fn status<DB>(migrator: &Migrator, pool: &Pool<DB>) -> Result<Vec<MigrationStatus>, StoreError>
where
    DB: Database,
    DB::Connection: Migrate,
{
    let applied = applied_versions(pool).await?;
    Ok(migrator
        .iter()
        .filter(|m| m.migration_type != MigrationType::ReversibleDown)
        .map(|m| MigrationStatus {
            version: m.version,
            description: m.description.to_string(),
            applied: applied.contains(&m.version),
        })
        .collect())
}

async fn applied_versions<DB>(pool: &Pool<DB>) -> Result<Vec<i64>, StoreError>
where
    DB: Database,
    DB::Connection: Migrate,
{
    let mut conn = pool.acquire().await?;
    conn.ensure_migrations_table("_sqlx_migrations").await?;
    let mut versions: Vec<i64> =
        conn.list_applied_migrations("_sqlx_migrations").await?.into_iter().map(|m| m.version).collect();
    versions.sort_unstable();
    Ok(versions)
}
