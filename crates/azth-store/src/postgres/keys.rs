//! Signing keys in PostgreSQL (global, `system()` transactions only).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PgTx;
use crate::{KeyRepo, StoreError, StoredKey};

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    algorithm: String,
    public_key: Vec<u8>,
    private_key_sealed: Vec<u8>,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
}

#[async_trait]
impl KeyRepo for PgTx {
    async fn signing_keys(&mut self) -> Result<Vec<StoredKey>, StoreError> {
        let rows: Vec<KeyRow> = sqlx::query_as(
            "select kid, algorithm, public_key, private_key_sealed, created_at, retired_at, expires_at
             from signing_keys where expires_at is null or expires_at > now()
             order by created_at desc, kid desc",
        )
        .fetch_all(self.conn())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| StoredKey {
                kid: r.kid,
                algorithm: r.algorithm,
                public_key: r.public_key,
                private_key_sealed: r.private_key_sealed,
                created_at: r.created_at,
                retired_at: r.retired_at,
                expires_at: r.expires_at,
            })
            .collect())
    }

    async fn insert_signing_key(&mut self, key: &StoredKey) -> Result<(), StoreError> {
        sqlx::query(
            "insert into signing_keys (id, kid, algorithm, public_key, private_key_sealed, created_at)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(&key.kid)
        .bind(&key.algorithm)
        .bind(&key.public_key)
        .bind(&key.private_key_sealed)
        .bind(key.created_at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn retire_signing_keys_except(&mut self, kid: &str, expires_at: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "update signing_keys set retired_at = now(), expires_at = $2 where kid <> $1 and retired_at is null",
        )
        .bind(kid)
        .bind(expires_at)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }
}
