//! The SQLite store against a real SQLite file: schema, tenant isolation by
//! the store, audit rows written in the same transaction with secrets removed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use azth_core::{Actor, AuditContext};
use azth_store::testing::{TestSqlite, sqlite_audit_actions};
use azth_store::{NewTenant, Store, StoredKey, TenantRepo};
use uuid::Uuid;

fn new_tenant(slug: &str) -> NewTenant {
    NewTenant {
        name: format!("Tenant {slug}"),
        slug: slug.to_owned(),
        domain: Some(format!("{slug}.example.com")),
        plan: "free".into(),
        settings: serde_json::json!({"allow_registration": true}),
    }
}

async fn tenant(db: &TestSqlite, slug: &str) -> azth_core::model::Tenant {
    let mut tx = db.store.system("test").await.unwrap();
    let t = tx.insert_tenant(&new_tenant(slug)).await.unwrap();
    tx.commit().await.unwrap();
    t
}

#[tokio::test]
async fn tenants_round_trip_with_their_system_roles_and_audit_rows() {
    let db = TestSqlite::migrated().await;
    let t = tenant(&db, "acme").await;
    let mut tx = db.store.system_tx("test");
    let found = tx.tenant_by_slug("acme").await.unwrap().unwrap();
    assert_eq!(found.id, t.id);
    assert_eq!(found.created_at, t.created_at);
    assert_eq!(tx.tenant_by_domain("ACME.example.com").await.unwrap().unwrap().id, t.id);
    let roles: Vec<(String, i64)> = sqlx::query_as(
        "select r.name, count(rp.id) from roles r left join role_permissions rp on rp.role_id = r.id
         where r.tenant_id = $1 group by r.name order by r.name",
    )
    .bind(t.id.hyphenated())
    .fetch_all(tx.read().await.unwrap())
    .await
    .unwrap();
    assert_eq!(roles, vec![("admin".to_owned(), 16), ("member".to_owned(), 0), ("owner".to_owned(), 17)]);
    let actions = sqlite_audit_actions(&mut tx, t.id).await;
    assert_eq!(actions.iter().filter(|a| *a == "INSERT").count(), 1 + 3 + 33, "{actions:?}");
    let dup = NewTenant { domain: None, ..new_tenant("acme") };
    let dup = db.store.system("test").await.unwrap().insert_tenant(&dup).await.unwrap_err();
    assert!(matches!(dup, azth_store::StoreError::Conflict { field: Some(ref f) } if f == "slug"), "{dup:?}");
}

#[tokio::test]
async fn the_system_tenant_gets_super_admin() {
    let db = TestSqlite::migrated().await;
    let t = tenant(&db, "system").await;
    let mut tx = db.store.system_tx("test");
    let n: i64 = sqlx::query_scalar(
        "select count(*) from role_permissions rp join roles r on r.id = rp.role_id
         where r.tenant_id = $1 and r.name = 'super_admin'",
    )
    .bind(t.id.hyphenated())
    .fetch_one(tx.read().await.unwrap())
    .await
    .unwrap();
    assert_eq!(n, 21);
}

#[tokio::test]
async fn a_tenant_transaction_sees_only_its_tenant() {
    let db = TestSqlite::migrated().await;
    let a = tenant(&db, "a").await;
    let b = tenant(&db, "b").await;
    let mut tx = db.store.tenant(&AuditContext::new(a.id, Actor::System)).await.unwrap();
    assert!(tx.tenant_by_id(a.id).await.unwrap().is_some());
    assert!(tx.tenant_by_id(b.id).await.unwrap().is_none());
    assert!(tx.tenant_by_slug("b").await.unwrap().is_none());
    assert_eq!(tx.count_tenants().await.unwrap(), 1);
    assert!(tx.set_tenant_status(b.id, azth_core::model::TenantStatus::Suspended).await.is_err());
}

#[tokio::test]
async fn audit_rows_carry_the_actor_and_roll_back_with_their_transaction() {
    let db = TestSqlite::migrated().await;
    let t = tenant(&db, "acme").await;
    let user = Uuid::now_v7();
    let ctx = AuditContext {
        tenant_id: t.id,
        actor: Actor::User(user),
        ip: Some("203.0.113.9".parse().unwrap()),
        user_agent: Some("test-agent".into()),
    };
    // Rolled back: neither the change nor its audit row remains.
    let mut tx = db.store.tenant(&ctx).await.unwrap();
    tx.set_tenant_status(t.id, azth_core::model::TenantStatus::Suspended).await.unwrap();
    drop(tx);
    let mut tx = db.store.tenant(&ctx).await.unwrap();
    assert_eq!(tx.tenant_by_id(t.id).await.unwrap().unwrap().status, azth_core::model::TenantStatus::Active);
    tx.set_tenant_status(t.id, azth_core::model::TenantStatus::Suspended).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = db.store.system_tx("test");
    let row: (String, String, String, String, String, String) = sqlx::query_as(
        "select user_id, ip_address, user_agent, actor, json_extract(old_values, '$.status'),
                json_extract(new_values, '$.status')
         from audit_logs where tenant_id = $1 and action = 'UPDATE' and resource_type = 'tenants'",
    )
    .bind(t.id.hyphenated())
    .fetch_one(tx.read().await.unwrap())
    .await
    .unwrap();
    assert_eq!(
        row,
        (
            user.hyphenated().to_string(),
            "203.0.113.9".into(),
            "test-agent".into(),
            "user".into(),
            "active".into(),
            "suspended".into()
        )
    );
    let left: i64 =
        sqlx::query_scalar("select count(*) from audit_context").fetch_one(tx.read().await.unwrap()).await.unwrap();
    assert_eq!(left, 0, "the context does not outlive its transaction");
}

#[tokio::test]
async fn signing_keys_survive_reopening_the_file() {
    let db = TestSqlite::migrated().await;
    let mut tx = db.store.system("test").await.unwrap();
    let key = StoredKey {
        kid: "k1".into(),
        algorithm: "EdDSA".into(),
        public_key: vec![1, 2, 3],
        private_key_sealed: vec![4, 5, 6],
        created_at: chrono::Utc::now(),
        retired_at: None,
        expires_at: None,
    };
    tx.insert_signing_key(&key).await.unwrap();
    tx.commit().await.unwrap();
    let reopened =
        azth_store::sqlite::SqliteStore::open(&azth_store::sqlite::SqliteConfig::new(&db.path)).await.unwrap();
    let keys = reopened.system("test").await.unwrap().signing_keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].public_key, vec![1, 2, 3]);
    assert_eq!(keys[0].created_at.timestamp_micros(), key.created_at.timestamp_micros());
}
