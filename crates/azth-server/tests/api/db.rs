//! The test's own look into the database (as the store's system role), on either backend: a few tests
//! arrange states the API cannot reach (an expired token, a seeded audit
//! trail) or inspect rows directly. The SQL is written once, in the dialect
//! both databases share: no casts, no PostgreSQL-only functions; values are
//! bound as [`Arg`]s, which each backend encodes its own way.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Column, Row};
use uuid::Uuid;

use crate::support::{Storage, TestApp};

/// A value bound to `$n`.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    OptText(Option<String>),
    Uuid(Uuid),
    OptUuid(Option<Uuid>),
    Time(DateTime<Utc>),
    OptTime(Option<DateTime<Utc>>),
    Int(i64),
    Json(Value),
}

/// Binds each argument the way the backend stores it.
macro_rules! bind_all {
    ($query:expr, $args:expr, $time:expr, $uuid:expr, $json:expr) => {{
        let mut q = $query;
        for arg in $args {
            q = match arg.clone() {
                Arg::Text(s) => q.bind(s),
                Arg::OptText(s) => q.bind(s),
                Arg::Uuid(u) => q.bind($uuid(u)),
                Arg::OptUuid(u) => q.bind(u.map($uuid)),
                Arg::Time(t) => q.bind($time(t)),
                Arg::OptTime(t) => q.bind(t.map($time)),
                Arg::Int(i) => q.bind(i),
                Arg::Json(v) => q.bind($json(v)),
            };
        }
        q
    }};
}

fn pg_time(t: DateTime<Utc>) -> DateTime<Utc> {
    t
}
fn pg_uuid(u: Uuid) -> Uuid {
    u
}
fn pg_json(v: Value) -> sqlx::types::Json<Value> {
    sqlx::types::Json(v)
}
fn lite_time(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}
fn lite_uuid(u: Uuid) -> String {
    u.hyphenated().to_string()
}
fn lite_json(v: Value) -> String {
    v.to_string()
}

impl TestApp {
    /// Runs one statement as the store's system role; returns the rows changed.
    pub async fn exec(&self, sql: &str, args: &[Arg]) -> u64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.db {
            Storage::Postgres(db) => {
                let mut tx = pg_admin(db).await;
                let q = bind_all!(sqlx::query(sql), args, pg_time, pg_uuid, pg_json);
                let done = q.execute(tx.conn()).await.unwrap();
                azth_store::Tx::commit(Box::new(tx)).await.unwrap();
                done.rows_affected()
            }
            Storage::Sqlite(path) => {
                let store = open_sqlite(path).await;
                let mut tx = store.system_tx("test: exec");
                let q = bind_all!(sqlx::query(sql), args, lite_time, lite_uuid, lite_json);
                let done = q.execute(tx.write().await.unwrap()).await.unwrap();
                azth_store::Tx::commit(Box::new(tx)).await.unwrap();
                done.rows_affected()
            }
        }
    }

    /// Runs one statement once per argument list, in one transaction.
    pub async fn exec_many(&self, sql: &str, batches: &[Vec<Arg>]) {
        match &self.db {
            Storage::Postgres(db) => {
                let mut tx = pg_admin(db).await;
                for args in batches {
                    let q =
                        bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), args, pg_time, pg_uuid, pg_json);
                    q.execute(tx.conn()).await.unwrap();
                }
                azth_store::Tx::commit(Box::new(tx)).await.unwrap();
            }
            Storage::Sqlite(path) => {
                let store = open_sqlite(path).await;
                let mut tx = store.system_tx("test: exec many");
                for args in batches {
                    let q = bind_all!(
                        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())),
                        args,
                        lite_time,
                        lite_uuid,
                        lite_json
                    );
                    q.execute(tx.write().await.unwrap()).await.unwrap();
                }
                azth_store::Tx::commit(Box::new(tx)).await.unwrap();
            }
        }
    }

    /// Runs one query; every column as text (uuids hyphenated, JSON as JSON
    /// text, numbers in decimal), `None` for NULL.
    pub async fn rows(&self, sql: &str, args: &[Arg]) -> Vec<Vec<Option<String>>> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.db {
            Storage::Postgres(db) => {
                let mut tx = pg_admin(db).await;
                let q = bind_all!(sqlx::query(sql), args, pg_time, pg_uuid, pg_json);
                let rows = q.fetch_all(tx.conn()).await.unwrap();
                rows.iter()
                    .map(|row| {
                        (0..row.columns().len())
                            .map(|i| {
                                if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                                    v
                                } else if let Ok(v) = row.try_get::<Option<Uuid>, _>(i) {
                                    v.map(|u| u.to_string())
                                } else if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                                    v.map(|n| n.to_string())
                                } else if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
                                    v.map(|n| n.to_string())
                                } else if let Ok(v) = row.try_get::<Option<Value>, _>(i) {
                                    v.map(|j| j.to_string())
                                } else {
                                    panic!("column {} has a type the test helper does not read", row.column(i).name())
                                }
                            })
                            .collect()
                    })
                    .collect()
            }
            Storage::Sqlite(path) => {
                let store = open_sqlite(path).await;
                let mut tx = store.system_tx("test: rows");
                let q = bind_all!(sqlx::query(sql), args, lite_time, lite_uuid, lite_json);
                let rows = q.fetch_all(tx.read().await.unwrap()).await.unwrap();
                rows.iter()
                    .map(|row| {
                        (0..row.columns().len())
                            .map(|i| {
                                if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                                    v
                                } else if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                                    v.map(|n| n.to_string())
                                } else {
                                    panic!("column {} has a type the test helper does not read", row.column(i).name())
                                }
                            })
                            .collect()
                    })
                    .collect()
            }
        }
    }

    /// The first column of the first row.
    pub async fn scalar(&self, sql: &str, args: &[Arg]) -> Option<String> {
        self.rows(sql, args).await.into_iter().next().and_then(|r| r.into_iter().next()).flatten()
    }
}

/// A transaction as `app_admin` (row-level security lets it see every tenant).
async fn pg_admin(db: &azth_store::testing::TestDb) -> azth_store::postgres::PgTx {
    let store = azth_store::postgres::PgStore::connect_lazy(&db.pg_config()).unwrap();
    store.system_tx("test: direct SQL").await.unwrap()
}

async fn open_sqlite(path: &std::path::Path) -> azth_store::sqlite::SqliteStore {
    azth_store::sqlite::SqliteStore::open(&azth_store::sqlite::SqliteConfig::new(path)).await.unwrap()
}
