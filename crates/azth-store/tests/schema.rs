//! The PostgreSQL schema against a real database: migrations both ways,
//! row-level security, triggers and audit partitions. Each test gets its
//! own database; the application role is not a superuser.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::IpAddr;

use azth_core::{Actor, AuditContext};
use azth_store::postgres::{PgStore, PgTx, migrate};
use azth_store::testing::TestDb;
use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, PgConnection, Row};
use uuid::Uuid;

/// Every tenant-aware table (RLS enabled and forced), besides `tenants`.
const TENANT_TABLES: &[&str] =
    &["users", "roles", "user_roles", "role_permissions", "sessions", "otp_codes", "notifications", "audit_logs"];

fn store(db: &TestDb) -> PgStore {
    PgStore::connect_lazy(&db.pg_config()).unwrap()
}

fn ctx(tenant: Uuid, actor: Option<Uuid>) -> AuditContext {
    AuditContext {
        tenant_id: tenant,
        actor: actor.map(Actor::User).unwrap_or(Actor::Anonymous),
        ip: Some("203.0.113.7".parse::<IpAddr>().unwrap()),
        user_agent: Some("schema-test/1.0".into()),
    }
}

async fn count(conn: &mut PgConnection, sql: String) -> i64 {
    sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql)).fetch_one(conn).await.unwrap()
}

async fn commit(tx: PgTx) {
    azth_store::Tx::commit(Box::new(tx)).await.unwrap();
}

/// A tenant with its system roles, created the way the application does.
async fn new_tenant(store: &PgStore, slug: &str) -> Uuid {
    let mut tx = store.system_tx("test: create tenant").await.unwrap();
    let id: Uuid = sqlx::query_scalar("insert into tenants (name, slug) values ($1, $1) returning id")
        .bind(slug)
        .fetch_one(tx.conn())
        .await
        .unwrap();
    sqlx::query("select create_tenant_system_roles($1)").bind(id).execute(tx.conn()).await.unwrap();
    commit(tx).await;
    id
}

/// One row in every tenant-aware table for `tenant`, written as the tenant.
async fn populate(store: &PgStore, tenant: Uuid, tag: &str) -> Uuid {
    let mut tx = store.tenant_tx(&ctx(tenant, None)).await.unwrap();
    let c = tx.conn();
    let email = format!("{tag}@example.com");
    let user: Uuid = sqlx::query_scalar(
        "insert into users (tenant_id, email, username, password_hash) values ($1, $2, $3, 'phc') returning id",
    )
    .bind(tenant)
    .bind(&email)
    .bind(tag)
    .fetch_one(&mut *c)
    .await
    .unwrap();
    let role: Uuid = sqlx::query_scalar("select id from roles where tenant_id = $1 and name = 'member'")
        .bind(tenant)
        .fetch_one(&mut *c)
        .await
        .unwrap();
    sqlx::query("insert into user_roles (tenant_id, user_id, role_id) values ($1, $2, $3)")
        .bind(tenant)
        .bind(user)
        .bind(role)
        .execute(&mut *c)
        .await
        .unwrap();
    sqlx::query(
        "insert into sessions (tenant_id, user_id, token_hash, expires_at) values ($1, $2, $3, now() + interval '1 day')",
    )
    .bind(tenant)
    .bind(user)
    .bind(format!("hash-{tag}"))
    .execute(&mut *c)
    .await
    .unwrap();
    sqlx::query(
        "insert into otp_codes (tenant_id, user_id, code_hash, type, purpose, target, expires_at)
         values ($1, $2, 'h', 'email', 'login', $3, now() + interval '10 minutes')",
    )
    .bind(tenant)
    .bind(user)
    .bind(&email)
    .execute(&mut *c)
    .await
    .unwrap();
    sqlx::query(
        "insert into notifications (tenant_id, user_id, type, template, recipient, content)
         values ($1, $2, 'email', 'verification', $3, 'body')",
    )
    .bind(tenant)
    .bind(user)
    .bind(&email)
    .execute(&mut *c)
    .await
    .unwrap();
    commit(tx).await;
    user
}

#[tokio::test]
async fn migrations_go_up_down_to_zero_and_up_again_with_data() {
    let db = TestDb::empty().await;
    let store = store(&db);
    let pool = store.pool();

    let before = migrate::status(pool).await.unwrap();
    assert!(before.len() >= 2);
    assert!(before.iter().all(|m| !m.applied), "{before:?}");

    migrate::up(pool).await.unwrap();
    let after = migrate::status(pool).await.unwrap();
    assert!(after.iter().all(|m| m.applied), "{after:?}");

    let tenant = new_tenant(&store, "acme").await;
    populate(&store, tenant, "alice").await;

    // One step down reverts only the newest migration.
    let newest = after.last().unwrap().version;
    let reverted = migrate::down(pool, None).await.unwrap();
    assert_eq!(reverted, vec![newest]);
    let status = migrate::status(pool).await.unwrap();
    assert!(!status.last().unwrap().applied);
    assert!(status[..status.len() - 1].iter().all(|m| m.applied));

    // Down to zero on a database holding data, then up again.
    let reverted = migrate::down(pool, Some(0)).await.unwrap();
    assert_eq!(reverted.len(), after.len() - 1);
    assert!(migrate::status(pool).await.unwrap().iter().all(|m| !m.applied));
    let tables: i64 = sqlx::query_scalar(
        "select count(*) from pg_tables where schemaname = 'public' and tablename <> '_sqlx_migrations'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(tables, 0, "down to zero leaves no table behind");

    migrate::up(pool).await.unwrap();
    assert!(migrate::status(pool).await.unwrap().iter().all(|m| m.applied));
    let tenant = new_tenant(&store, "acme").await;
    populate(&store, tenant, "alice").await;
}

#[tokio::test]
async fn row_level_security_isolates_tenants() {
    let db = TestDb::migrated().await;
    let store = store(&db);
    let a = new_tenant(&store, "tenant-a").await;
    let b = new_tenant(&store, "tenant-b").await;
    populate(&store, a, "alice").await;
    populate(&store, b, "bob").await;

    let mut tx = store.tenant_tx(&ctx(a, None)).await.unwrap();
    for table in TENANT_TABLES {
        let foreign = count(tx.conn(), format!("select count(*) from {table} where tenant_id = '{b}'")).await;
        assert_eq!(foreign, 0, "{table}: tenant A sees tenant B's rows");
        let own = count(tx.conn(), format!("select count(*) from {table}")).await;
        assert!(own > 0, "{table}: tenant A sees its own rows");
    }
    let tenants = count(tx.conn(), "select count(*) from tenants".to_owned()).await;
    assert_eq!(tenants, 1, "a tenant sees only its own tenants row");
    drop(tx);

    // Writing a row for tenant B while acting as tenant A is refused.
    let mut tx = store.tenant_tx(&ctx(a, None)).await.unwrap();
    let err = sqlx::query("insert into users (tenant_id, email) values ($1, 'mallory@example.com')")
        .bind(b)
        .execute(tx.conn())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    drop(tx);

    // Moving one's own row into another tenant is refused too.
    let mut tx = store.tenant_tx(&ctx(a, None)).await.unwrap();
    let err = sqlx::query("update users set tenant_id = $1").bind(b).execute(tx.conn()).await.unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
}

#[tokio::test]
async fn with_no_tenant_set_every_table_reads_empty() {
    let db = TestDb::migrated().await;
    let store = store(&db);
    let a = new_tenant(&store, "tenant-a").await;
    populate(&store, a, "alice").await;

    let mut tx = store.pool().begin().await.unwrap();
    sqlx::query("set local role app_user").execute(&mut *tx).await.unwrap();
    for table in TENANT_TABLES.iter().chain(&["tenants"]) {
        let n = count(&mut tx, format!("select count(*) from {table}")).await;
        assert_eq!(n, 0, "{table} is readable without a tenant");
    }
    let err = sqlx::query("insert into users (tenant_id, email) values ($1, 'x@example.com')")
        .bind(a)
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    drop(tx);

    // The owner role itself (no policy, FORCE RLS) sees nothing either.
    let n: i64 = sqlx::query_scalar("select count(*) from users").fetch_one(store.pool()).await.unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn app_user_cannot_rewrite_the_audit_log_but_app_admin_sees_all() {
    let db = TestDb::migrated().await;
    let store = store(&db);
    let a = new_tenant(&store, "tenant-a").await;
    let b = new_tenant(&store, "tenant-b").await;
    populate(&store, a, "alice").await;
    populate(&store, b, "bob").await;

    for sql in ["update audit_logs set action = 'forged'", "delete from audit_logs"] {
        let mut tx = store.tenant_tx(&ctx(a, None)).await.unwrap();
        let err = sqlx::query(sql).execute(tx.conn()).await.unwrap_err();
        assert!(err.to_string().contains("permission denied"), "{sql}: {err}");
    }

    // app_user may insert its own tenant's audit rows and read them back.
    let mut tx = store.tenant_tx(&ctx(a, None)).await.unwrap();
    sqlx::query("insert into audit_logs (tenant_id, action, resource_type) values ($1, 'auth.login.failed', 'users')")
        .bind(a)
        .execute(tx.conn())
        .await
        .unwrap();
    commit(tx).await;

    let mut tx = store.system_tx("test: read everything").await.unwrap();
    for table in TENANT_TABLES {
        let tenants = count(tx.conn(), format!("select count(distinct tenant_id) from {table}")).await;
        assert_eq!(tenants, 2, "{table}: app_admin sees both tenants");
    }
}

#[tokio::test]
async fn updated_at_moves_on_update() {
    let db = TestDb::migrated().await;
    let store = store(&db);
    let a = new_tenant(&store, "tenant-a").await;
    let user = populate(&store, a, "alice").await;

    let mut tx = store.tenant_tx(&ctx(a, None)).await.unwrap();
    let (created, updated): (DateTime<Utc>, DateTime<Utc>) =
        sqlx::query_as("select created_at, updated_at from users where id = $1")
            .bind(user)
            .fetch_one(tx.conn())
            .await
            .unwrap();
    assert_eq!(created, updated);
    drop(tx);

    // The trigger overrides whatever the statement writes into updated_at.
    for (table, col) in [("users", "tenant_id"), ("tenants", "id"), ("roles", "tenant_id")] {
        let mut tx = store.system_tx("test: touch").await.unwrap();
        let (before, after): (DateTime<Utc>, DateTime<Utc>) = sqlx::query_as(AssertSqlSafe(format!(
            "with old as (select id, updated_at from {table} where {col} = $1 limit 1)
             update {table} t set updated_at = '2000-01-01' from old where t.id = old.id
             returning old.updated_at, t.updated_at"
        )))
        .bind(a)
        .fetch_one(tx.conn())
        .await
        .unwrap();
        assert!(after > before, "{table}: updated_at did not move ({before} -> {after})");
    }
}

#[tokio::test]
async fn audit_trigger_records_actor_tenant_ip_and_no_secrets() {
    let db = TestDb::migrated().await;
    let store = store(&db);
    let a = new_tenant(&store, "tenant-a").await;
    let operator = populate(&store, a, "operator").await;

    let mut tx = store.tenant_tx(&ctx(a, Some(operator))).await.unwrap();
    let user: Uuid = sqlx::query_scalar(
        "insert into users (tenant_id, email, password_hash, mfa_secret, backup_codes,
                            email_verification_token, password_reset_token)
         values ($1, 'carol@example.com', '$argon2id$v=19$secret-hash', 'TOTPSECRET', array['bc-1','bc-2'],
                 'verify-token-x', 'reset-token-y')
         returning id",
    )
    .bind(a)
    .fetch_one(tx.conn())
    .await
    .unwrap();
    sqlx::query("update users set first_name = 'Carol', password_hash = '$argon2id$v=19$new-hash' where id = $1")
        .bind(user)
        .execute(tx.conn())
        .await
        .unwrap();
    sqlx::query("delete from users where id = $1").bind(user).execute(tx.conn()).await.unwrap();
    commit(tx).await;

    let mut tx = store.tenant_tx(&ctx(a, None)).await.unwrap();
    let rows = sqlx::query(
        "select action, tenant_id, user_id, host(ip_address) as ip, user_agent, resource_type, resource_id,
                coalesce(old_values::text, '') || coalesce(new_values::text, '') as vals
         from audit_logs where resource_id = $1",
    )
    .bind(user)
    .fetch_all(tx.conn())
    .await
    .unwrap();
    let actions: Vec<String> = rows.iter().map(|r| r.get("action")).collect();
    assert_eq!(actions.len(), 3, "{actions:?}");
    for action in ["INSERT", "UPDATE", "DELETE"] {
        assert!(actions.iter().any(|a| a == action), "{action} missing from {actions:?}");
    }
    for row in &rows {
        assert_eq!(row.get::<Option<Uuid>, _>("tenant_id"), Some(a));
        assert_eq!(row.get::<Option<Uuid>, _>("user_id"), Some(operator));
        assert_eq!(row.get::<Option<String>, _>("ip").as_deref(), Some("203.0.113.7"));
        assert_eq!(row.get::<Option<String>, _>("user_agent").as_deref(), Some("schema-test/1.0"));
        assert_eq!(row.get::<String, _>("resource_type"), "users");
        let vals: String = row.get("vals");
        for secret in ["secret-hash", "new-hash", "TOTPSECRET", "bc-1", "verify-token-x", "reset-token-y"] {
            assert!(!vals.contains(secret), "audit row leaks {secret}: {vals}");
        }
        for key in ["password_hash", "mfa_secret", "backup_codes", "token"] {
            assert!(!vals.contains(key), "audit row names {key}: {vals}");
        }
    }
    let update = rows.iter().find(|r| r.get::<String, _>("action") == "UPDATE").unwrap();
    assert!(update.get::<String, _>("vals").contains("Carol"), "the non-secret change is recorded");
}

#[tokio::test]
async fn audit_rows_land_in_monthly_partitions_and_the_function_is_idempotent() {
    let db = TestDb::migrated().await;
    let store = store(&db);
    let a = new_tenant(&store, "tenant-a").await;

    let mut tx = store.system_tx("test: partitions").await.unwrap();
    // The migration created this month and the next three already.
    let created: i32 = sqlx::query_scalar("select create_audit_partitions(3)").fetch_one(tx.conn()).await.unwrap();
    assert_eq!(created, 0, "idempotent");

    let insert = |at: &str| {
        format!(
            "insert into audit_logs (tenant_id, action, resource_type, created_at)
             values ($1, 'x', 'users', {at}) returning tableoid::regclass::text"
        )
    };
    let now_part: String =
        sqlx::query_scalar(AssertSqlSafe(insert("now()"))).bind(a).fetch_one(tx.conn()).await.unwrap();
    let expected: String =
        sqlx::query_scalar("select 'audit_logs_' || to_char(now(), 'YYYY_MM')").fetch_one(tx.conn()).await.unwrap();
    assert_eq!(now_part, expected);

    // Beyond the created months, rows fall into the default partition…
    let later: String = sqlx::query_scalar(AssertSqlSafe(insert("now() + interval '5 months'")))
        .bind(a)
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert!(later.ends_with("default"), "{later}");
    // …and move into their month's partition when it is created.
    let created: i32 = sqlx::query_scalar("select create_audit_partitions(6)").fetch_one(tx.conn()).await.unwrap();
    assert_eq!(created, 3);
    let moved: String = sqlx::query_scalar(
        "select tableoid::regclass::text from audit_logs where created_at > now() + interval '4 months'",
    )
    .fetch_one(tx.conn())
    .await
    .unwrap();
    let expected: String =
        sqlx::query_scalar("select 'audit_logs_' || to_char(now() + interval '5 months', 'YYYY_MM')")
            .fetch_one(tx.conn())
            .await
            .unwrap();
    assert_eq!(moved, expected);
    let in_default: i64 =
        sqlx::query_scalar("select count(*) from audit_logs where tableoid = 'audit_logs_default'::regclass")
            .fetch_one(tx.conn())
            .await
            .unwrap();
    assert_eq!(in_default, 0);
    let again: i32 = sqlx::query_scalar("select create_audit_partitions(6)").fetch_one(tx.conn()).await.unwrap();
    assert_eq!(again, 0, "idempotent");
}

#[tokio::test]
async fn every_tenant_gets_its_system_roles_and_the_catalog_is_seeded() {
    let db = TestDb::migrated().await;
    let store = store(&db);
    let a = new_tenant(&store, "tenant-a").await;
    let system = new_tenant(&store, "system").await;

    let mut tx = store.system_tx("test: roles").await.unwrap();
    let tenant_scope: i64 = sqlx::query_scalar("select count(*) from permissions where scope = 'tenant'")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    let system_scope: i64 = sqlx::query_scalar("select count(*) from permissions where scope = 'system'")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!((tenant_scope, system_scope), (17, 4));

    let perms = |tenant: Uuid, role: &'static str| {
        sqlx::query_scalar::<_, String>(
            "select p.name from roles r join role_permissions rp on rp.role_id = r.id
             join permissions p on p.id = rp.permission_id
             where r.tenant_id = $1 and r.name = $2 and r.is_system order by p.name",
        )
        .bind(tenant)
        .bind(role)
    };
    let owner = perms(a, "owner").fetch_all(tx.conn()).await.unwrap();
    let admin = perms(a, "admin").fetch_all(tx.conn()).await.unwrap();
    let member = perms(a, "member").fetch_all(tx.conn()).await.unwrap();
    assert_eq!(owner.len(), 17);
    assert_eq!(admin.len(), 16);
    assert!(owner.contains(&"tenant:update".to_owned()) && !admin.contains(&"tenant:update".to_owned()));
    assert!(member.is_empty());
    assert!(perms(a, "super_admin").fetch_all(tx.conn()).await.unwrap().is_empty());
    assert_eq!(perms(system, "super_admin").fetch_all(tx.conn()).await.unwrap().len(), 21);

    // Calling it again changes nothing.
    sqlx::query("select create_tenant_system_roles($1)").bind(a).execute(tx.conn()).await.unwrap();
    let roles: i64 = sqlx::query_scalar("select count(*) from roles where tenant_id = $1")
        .bind(a)
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(roles, 3);
}

/// The hot-path read `read_own_user` builds its context statement by
/// formatting: it must read exactly what a tenant transaction reads (every
/// column decoded alike, RLS applied) and leave nothing behind on the pooled
/// connection.
#[tokio::test]
async fn fast_reads_match_a_tenant_transaction_and_leave_no_context_behind() {
    use azth_store::{Store, UserRepo};
    let db = TestDb::migrated().await;
    // One connection: whatever a read leaves on it, the next use sees.
    let store =
        PgStore::connect_lazy(&azth_store::postgres::PgConfig { max_connections: 1, ..db.pg_config() }).unwrap();
    let a = new_tenant(&store, "tenant-a").await;
    let b = new_tenant(&store, "tenant-b").await;
    let alice = populate(&store, a, "alice").await;
    // Every optional column set, and a name with quotes and non-ASCII text.
    let mut tx = store.tenant_tx(&ctx(a, None)).await.unwrap();
    sqlx::query(
        "update users set first_name = 'O''Brien \"Zoë\"', last_name = 'Ω', avatar = 'https://x.example/a.png',
                phone = '+15550100', email_verified = true, mfa_enabled = true, last_login_at = now() where id = $1",
    )
    .bind(alice)
    .execute(tx.conn())
    .await
    .unwrap();
    commit(tx).await;

    let mut tx = store.tenant_tx(&ctx(a, Some(alice))).await.unwrap();
    let expected = tx.user_by_id(a, alice).await.unwrap().unwrap();
    drop(tx);
    assert_eq!(store.read_own_user(a, alice).await.unwrap().as_ref(), Some(&expected));

    // RLS: the user is invisible from tenant B.
    assert_eq!(store.read_own_user(b, alice).await.unwrap(), None);

    // Nothing lingers on the (only) connection: role and tenant are back to none.
    let (role, tenant): (String, Option<String>) =
        sqlx::query_as("select current_user::text, nullif(current_setting('app.current_tenant_id', true), '')")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_ne!(role, "app_user");
    assert_eq!(tenant, None);

    // A deleted user is gone for the fast read too.
    let mut tx = store.tenant_tx(&ctx(a, None)).await.unwrap();
    sqlx::query("update users set deleted_at = now() where id = $1").bind(alice).execute(tx.conn()).await.unwrap();
    commit(tx).await;
    assert_eq!(store.read_own_user(a, alice).await.unwrap(), None);
}

/// Under RLS only leakproof functions may run before the policy, so a
/// look-up written `lower(column) = …` cannot use an index (it filters every
/// row of the tenant instead). Sign-in by username and tenant by domain
/// compare stored lowercase copies: their index is searched on the value.
#[tokio::test]
async fn case_insensitive_lookups_are_index_conditions_under_rls() {
    let db = TestDb::migrated().await;
    let store = store(&db);
    let a = new_tenant(&store, "tenant-a").await;
    populate(&store, a, "Alice").await;
    let mut tx = store.tenant_tx(&ctx(a, None)).await.unwrap();
    let by_username = explain(
        tx.conn(),
        format!("select id from users where tenant_id = '{a}' and deleted_at is null and username_lower = lower($1)"),
        "ALICE",
    )
    .await;
    assert!(
        by_username.lines().any(|l| l.contains("Index Cond") && l.contains("username_lower")),
        "the username is an index condition:\n{by_username}"
    );
    let found: Option<Uuid> = sqlx::query_scalar(
        "select id from users where tenant_id = $1 and deleted_at is null and username_lower = lower($2)",
    )
    .bind(a)
    .bind("aLiCe")
    .fetch_optional(tx.conn())
    .await
    .unwrap();
    assert!(found.is_some(), "any case finds the user");
    drop(tx);

    let mut tx = store.system_tx("test: domain").await.unwrap();
    sqlx::query("update tenants set domain = 'Auth.Example.COM' where id = $1")
        .bind(a)
        .execute(tx.conn())
        .await
        .unwrap();
    commit(tx).await;
    let mut tx = store.tenant_tx(&ctx(a, None)).await.unwrap();
    let by_domain = explain(
        tx.conn(),
        "select id from tenants where domain_lower = lower($1) and deleted_at is null".to_owned(),
        "auth.example.com",
    )
    .await;
    assert!(
        by_domain.lines().any(|l| l.contains("Index Cond") && l.contains("domain_lower")),
        "the domain is an index condition:\n{by_domain}"
    );
}

/// The plan of `sql` (one text parameter) with sequential scans off, so an
/// index that can serve the condition is used.
async fn explain(conn: &mut PgConnection, sql: String, arg: &str) -> String {
    sqlx::query("set local enable_seqscan = off").execute(&mut *conn).await.unwrap();
    let lines: Vec<String> =
        sqlx::query_scalar(AssertSqlSafe(format!("explain {sql}"))).bind(arg).fetch_all(&mut *conn).await.unwrap();
    lines.join("\n")
}
