//! Signing keys in SQLite (global, `system()` transactions only).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{SqliteTx, at, at_opt, id, now, ts};
use crate::{KeyRepo, StoreError, StoredKey};

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    algorithm: String,
    public_key: Vec<u8>,
    private_key_sealed: Vec<u8>,
    created_at: i64,
    retired_at: Option<i64>,
    expires_at: Option<i64>,
}

#[async_trait]
impl KeyRepo for SqliteTx {
    async fn signing_keys(&mut self) -> Result<Vec<StoredKey>, StoreError> {
        let rows: Vec<KeyRow> = sqlx::query_as(
            "select kid, algorithm, public_key, private_key_sealed, created_at, retired_at, expires_at
             from signing_keys where expires_at is null or expires_at > $1
             order by created_at desc, kid desc",
        )
        .bind(now())
        .fetch_all(self.read().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| StoredKey {
                kid: r.kid,
                algorithm: r.algorithm,
                public_key: r.public_key,
                private_key_sealed: r.private_key_sealed,
                created_at: at(r.created_at),
                retired_at: at_opt(r.retired_at),
                expires_at: at_opt(r.expires_at),
            })
            .collect())
    }

    async fn insert_signing_key(&mut self, key: &StoredKey) -> Result<(), StoreError> {
        sqlx::query(
            "insert into signing_keys (id, kid, algorithm, public_key, private_key_sealed, created_at)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id(uuid::Uuid::now_v7()))
        .bind(&key.kid)
        .bind(&key.algorithm)
        .bind(&key.public_key)
        .bind(&key.private_key_sealed)
        .bind(ts(key.created_at))
        .execute(self.write().await?)
        .await?;
        Ok(())
    }

    async fn retire_signing_keys_except(&mut self, kid: &str, expires_at: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "update signing_keys set retired_at = $3, expires_at = $2 where kid <> $1 and retired_at is null",
        )
        .bind(kid)
        .bind(ts(expires_at))
        .bind(now())
        .execute(self.write().await?)
        .await?;
        Ok(done.rows_affected())
    }
}
