//! Test support: every test gets its own PostgreSQL database.
//!
//! A template database is migrated once per set of migrations (under an
//! advisory lock, so parallel test processes agree) and each test clones it
//! with `CREATE DATABASE … TEMPLATE`, which takes milliseconds. Databases
//! are dropped when the [`TestDb`] is dropped; ones left behind by killed
//! runs are swept after an hour.
//!
//! The application connects as `azth_test`, a plain role with CREATEDB and
//! CREATEROLE but no superuser rights, so row-level security is exercised
//! exactly as in production. `AZTH_TEST_PG_ADMIN_URL` names the cluster's
//! administrative connection (default `postgres://postgres@127.0.0.1:5432/postgres`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{SystemTime, UNIX_EPOCH};

use secrecy::SecretString;
use sqlx::{Column, Connection, Executor, PgConnection, Row};

use crate::postgres::{PgConfig, migrate::MIGRATOR};

const APP_ROLE: &str = "azth_test";
const APP_PASSWORD: &str = "azth_test";

/// The administrative URL of the test cluster.
pub fn admin_url() -> String {
    std::env::var("AZTH_TEST_PG_ADMIN_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Host and port of the test cluster, from the admin URL.
pub fn cluster_address() -> (String, u16) {
    let url = admin_url();
    let after = url.split_once("://").map(|(_, r)| r).unwrap_or(&url);
    let authority = after.split('/').next().unwrap_or(after);
    let hostport = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_owned(), p.parse().unwrap_or(5432)),
        None => (hostport.to_owned(), 5432),
    }
}

/// The URL through which the application reaches database `db`.
pub fn app_url(db: &str) -> String {
    let (host, port) = cluster_address();
    format!("postgres://{APP_ROLE}:{APP_PASSWORD}@{host}:{port}/{db}")
}

/// A fresh database that lives as long as this value.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// A fresh database with every migration applied.
    pub async fn migrated() -> Self {
        let template = ensure_template().await;
        Self::create(Some(&template)).await
    }

    /// A fresh, empty database (no migrations applied).
    pub async fn empty() -> Self {
        let mut admin = admin_conn().await;
        ensure_app_role(&mut admin).await;
        drop(admin);
        Self::create(None).await
    }

    async fn create(template: Option<&str>) -> Self {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let name = format!("azth_t_{secs}_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut admin = admin_conn().await;
        let sql = match template {
            Some(t) => format!("create database {name} owner {APP_ROLE} template {t}"),
            None => format!("create database {name} owner {APP_ROLE}"),
        };
        // A clone fails while another session briefly touches the template; retry.
        let mut tries = 0;
        loop {
            match exec(&mut admin, sql.clone()).await {
                Ok(_) => break,
                Err(e) if tries < 50 && e.to_string().contains("being accessed by other users") => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("creating test database {name}: {e}"),
            }
        }
        let _ = admin.close().await;
        let url = app_url(&name);
        Self { name, url }
    }

    /// Store settings pointing at this database.
    pub fn pg_config(&self) -> PgConfig {
        pg_config_for(&self.url)
    }

    /// Connects a pool to this database as the application role.
    pub async fn pool(&self) -> sqlx::PgPool {
        sqlx::PgPool::connect(&self.url).await.expect("connecting to the test database")
    }
}

/// Test-sized pool settings for `url`.
pub fn pg_config_for(url: &str) -> PgConfig {
    PgConfig {
        url: SecretString::from(url.to_owned()),
        max_connections: 5,
        min_connections: 0,
        acquire_timeout: std::time::Duration::from_secs(5),
        idle_timeout: None,
        max_lifetime: None,
        statement_timeout: std::time::Duration::from_secs(30),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop needs its own runtime: the test's runtime may be shutting down.
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&admin_url()).await {
                    let _ = exec(&mut admin, format!("drop database if exists {name} with (force)")).await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = handle.join();
    }
}

async fn admin_conn() -> PgConnection {
    PgConnection::connect(&admin_url()).await.unwrap_or_else(|e| {
        panic!("connecting to the test cluster ({}): {e}", crate::postgres::redact_url(&admin_url()))
    })
}

async fn ensure_app_role(admin: &mut PgConnection) {
    admin.execute("select pg_advisory_lock(7216021)").await.expect("advisory lock");
    let exists: bool = sqlx::query_scalar("select exists(select 1 from pg_roles where rolname = $1)")
        .bind(APP_ROLE)
        .fetch_one(&mut *admin)
        .await
        .expect("looking up the test role");
    if !exists {
        exec(
            &mut *admin,
            format!("create role {APP_ROLE} login nosuperuser createdb createrole password '{APP_PASSWORD}'"),
        )
        .await
        .expect("creating the test role");
    }
    admin.execute("select pg_advisory_unlock(7216021)").await.expect("advisory unlock");
}

/// Creates (once) the migrated template database and returns its name.
async fn ensure_template() -> String {
    // The template's name follows the migrations' checksums, so a changed
    // migration gets a new template instead of a stale one.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for m in MIGRATOR.iter() {
        for b in m.checksum.iter().chain(m.version.to_le_bytes().iter()) {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    let template = format!("azth_tpl_{hash:016x}");
    let mut admin = admin_conn().await;
    ensure_app_role(&mut admin).await;
    admin.execute("select pg_advisory_lock(7216022)").await.expect("advisory lock");
    let exists: bool = sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
        .bind(&template)
        .fetch_one(&mut admin)
        .await
        .expect("looking up the template");
    if !exists {
        sweep(&mut admin).await;
        let building = format!("{template}_building");
        exec(&mut admin, format!("drop database if exists {building} with (force)"))
            .await
            .expect("dropping a half-built template");
        exec(&mut admin, format!("create database {building} owner {APP_ROLE}")).await.expect("creating the template");
        let pool = sqlx::PgPool::connect(&app_url(&building)).await.expect("connecting to the template");
        MIGRATOR.run(&pool).await.unwrap_or_else(|e| panic!("migrating the template: {e}"));
        pool.close().await;
        exec(&mut admin, format!("alter database {building} rename to {template}"))
            .await
            .expect("publishing the template");
    }
    admin.execute("select pg_advisory_unlock(7216022)").await.expect("advisory unlock");
    let _ = admin.close().await;
    template
}

/// Drops test databases older than an hour (left by killed runs).
async fn sweep(admin: &mut PgConnection) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let names: Vec<String> = sqlx::query_scalar("select datname from pg_database where datname like 'azth\\_t\\_%'")
        .fetch_all(&mut *admin)
        .await
        .unwrap_or_default();
    for name in names {
        // Templates are never swept: another checkout running its suite on
        // the same cluster may be cloning its own (other migrations, other name).
        let stale = match name.strip_prefix("azth_t_").and_then(|r| r.split('_').next()) {
            Some(secs) => secs.parse::<u64>().map(|s| now.saturating_sub(s) > 3600).unwrap_or(false),
            None => false,
        };
        if stale {
            let _ = exec(&mut *admin, format!("drop database if exists {name} with (force)")).await;
        }
    }
}

/// Runs one statement built at run time (identifiers only: test database names).
async fn exec(conn: &mut PgConnection, sql: String) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(conn).await.map(|_| ())
}

/// The audit actions of `tenant`, oldest first (for tests asserting events).
pub async fn audit_actions(tx: &mut crate::postgres::PgTx, tenant: uuid::Uuid) -> Vec<String> {
    sqlx::query_scalar("select action from audit_logs where tenant_id = $1 order by created_at, id")
        .bind(tenant)
        .fetch_all(tx.conn())
        .await
        .expect("reading audit actions")
}

/// A fresh, migrated SQLite database in its own temporary directory,
/// removed when this value is dropped.
pub struct TestSqlite {
    pub dir: std::path::PathBuf,
    pub path: std::path::PathBuf,
    pub store: crate::sqlite::SqliteStore,
}

impl TestSqlite {
    /// A new migrated database file.
    pub async fn migrated() -> Self {
        let dir = std::env::temp_dir().join(format!("azth-sqlite-{}", uuid::Uuid::new_v4().simple()));
        let path = dir.join("azth.db");
        let store = crate::sqlite::SqliteStore::open(&crate::sqlite::SqliteConfig::new(&path))
            .await
            .expect("opening the test SQLite file");
        crate::sqlite::migrate::up(store.pool()).await.expect("migrating the test SQLite file");
        Self { dir, path, store }
    }
}

impl Drop for TestSqlite {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The audit actions of `tenant` in a SQLite store, oldest first.
pub async fn sqlite_audit_actions(tx: &mut crate::sqlite::SqliteTx, tenant: uuid::Uuid) -> Vec<String> {
    sqlx::query_scalar("select action from audit_logs where tenant_id = $1 order by created_at, id")
        .bind(tenant.hyphenated())
        .fetch_all(tx.read().await.expect("a connection"))
        .await
        .expect("reading audit actions")
}

/// A test's database on the backend this run of the suite uses:
/// `AZTH_TEST_BACKEND=sqlite` for the embedded store, PostgreSQL otherwise.
pub enum TestStorage {
    /// Its own PostgreSQL database, dropped with this value.
    Postgres(TestDb),
    /// Its own SQLite file in a temporary directory, removed with this value.
    Sqlite { dir: std::path::PathBuf, path: std::path::PathBuf },
}

/// Whether this run uses the embedded SQLite store.
pub fn on_sqlite() -> bool {
    std::env::var("AZTH_TEST_BACKEND").is_ok_and(|b| b == "sqlite")
}

impl TestStorage {
    /// A database with every migration applied.
    pub async fn migrated() -> Self {
        if on_sqlite() {
            let dir = std::env::temp_dir().join(format!("azth-sqlite-{}", uuid::Uuid::new_v4().simple()));
            let path = dir.join("azth.db");
            let store = crate::sqlite::SqliteStore::open(&crate::sqlite::SqliteConfig::new(&path))
                .await
                .expect("creating the test SQLite file");
            crate::sqlite::migrate::up(store.pool()).await.expect("migrating the test SQLite file");
            store.pool().close().await;
            Self::Sqlite { dir, path }
        } else {
            Self::Postgres(TestDb::migrated().await)
        }
    }

    /// A database with no migration applied (for SQLite: no file yet).
    pub async fn empty() -> Self {
        if on_sqlite() {
            let dir = std::env::temp_dir().join(format!("azth-sqlite-{}", uuid::Uuid::new_v4().simple()));
            let path = dir.join("azth.db");
            Self::Sqlite { dir, path }
        } else {
            Self::Postgres(TestDb::empty().await)
        }
    }

    /// A SQLite file at `path` (the caller owns its directory).
    pub fn sqlite_at(path: std::path::PathBuf) -> Self {
        Self::Sqlite { dir: std::path::PathBuf::new(), path }
    }

    /// The `database.url` that names this database.
    pub fn url(&self) -> String {
        match self {
            Self::Postgres(db) => db.url.clone(),
            Self::Sqlite { path, .. } => format!("sqlite:{}", path.display()),
        }
    }
}

impl Drop for TestStorage {
    fn drop(&mut self) {
        if let Self::Sqlite { dir, .. } = self
            && !dir.as_os_str().is_empty()
        {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A value bound to `$n`.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    OptText(Option<String>),
    Uuid(uuid::Uuid),
    OptUuid(Option<uuid::Uuid>),
    Time(chrono::DateTime<chrono::Utc>),
    OptTime(Option<chrono::DateTime<chrono::Utc>>),
    Int(i64),
    Json(serde_json::Value),
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

fn pg_time(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    t
}
fn pg_uuid(u: uuid::Uuid) -> uuid::Uuid {
    u
}
fn pg_json(v: serde_json::Value) -> sqlx::types::Json<serde_json::Value> {
    sqlx::types::Json(v)
}
fn lite_time(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_micros()
}
fn lite_uuid(u: uuid::Uuid) -> String {
    u.hyphenated().to_string()
}
fn lite_json(v: serde_json::Value) -> String {
    v.to_string()
}

impl TestStorage {
    /// Runs one statement as the store's system role; returns the rows changed.
    pub async fn exec(&self, sql: &str, args: &[Arg]) -> u64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Self::Postgres(db) => {
                let mut tx = pg_admin(db).await;
                let q = bind_all!(sqlx::query(sql), args, pg_time, pg_uuid, pg_json);
                let done = q.execute(tx.conn()).await.unwrap();
                crate::Tx::commit(Box::new(tx)).await.unwrap();
                done.rows_affected()
            }
            Self::Sqlite { path, .. } => {
                let store = open_sqlite(path).await;
                let mut tx = store.system_tx("test: exec");
                let q = bind_all!(sqlx::query(sql), args, lite_time, lite_uuid, lite_json);
                let done = q.execute(tx.write().await.unwrap()).await.unwrap();
                crate::Tx::commit(Box::new(tx)).await.unwrap();
                done.rows_affected()
            }
        }
    }

    /// Runs one statement once per argument list, in one transaction.
    pub async fn exec_many(&self, sql: &str, batches: &[Vec<Arg>]) {
        match self {
            Self::Postgres(db) => {
                let mut tx = pg_admin(db).await;
                for args in batches {
                    let q =
                        bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), args, pg_time, pg_uuid, pg_json);
                    q.execute(tx.conn()).await.unwrap();
                }
                crate::Tx::commit(Box::new(tx)).await.unwrap();
            }
            Self::Sqlite { path, .. } => {
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
                crate::Tx::commit(Box::new(tx)).await.unwrap();
            }
        }
    }

    /// Runs one query; every column as text (uuids hyphenated, JSON as JSON
    /// text, numbers in decimal), `None` for NULL.
    pub async fn rows(&self, sql: &str, args: &[Arg]) -> Vec<Vec<Option<String>>> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Self::Postgres(db) => {
                let mut tx = pg_admin(db).await;
                let q = bind_all!(sqlx::query(sql), args, pg_time, pg_uuid, pg_json);
                let rows = q.fetch_all(tx.conn()).await.unwrap();
                rows.iter()
                    .map(|row| {
                        (0..row.columns().len())
                            .map(|i| {
                                if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                                    v
                                } else if let Ok(v) = row.try_get::<Option<uuid::Uuid>, _>(i) {
                                    v.map(|u| u.to_string())
                                } else if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                                    v.map(|n| n.to_string())
                                } else if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
                                    v.map(|n| n.to_string())
                                } else if let Ok(v) = row.try_get::<Option<serde_json::Value>, _>(i) {
                                    v.map(|j| j.to_string())
                                } else {
                                    panic!("column {} has a type the test helper does not read", row.column(i).name())
                                }
                            })
                            .collect()
                    })
                    .collect()
            }
            Self::Sqlite { path, .. } => {
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
async fn pg_admin(db: &TestDb) -> crate::postgres::PgTx {
    let store = crate::postgres::PgStore::connect_lazy(&db.pg_config()).unwrap();
    store.system_tx("test: direct SQL").await.unwrap()
}

async fn open_sqlite(path: &std::path::Path) -> crate::sqlite::SqliteStore {
    crate::sqlite::SqliteStore::open(&crate::sqlite::SqliteConfig::new(path)).await.unwrap()
}
