//! The SQLite repositories of sessions, one-time codes, the outbox,
//! templates, maintenance, audit reading, tenant administration and
//! recovery, against a real SQLite file: the same flows and single-use
//! guarantees as PostgreSQL, and tenant isolation without row-level security.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use azth_core::model::{AuditEvent, Session, SessionMode, Tenant, TenantStatus, UserStatus};
use azth_core::{Actor, AuditContext};
use azth_store::sqlite::SqliteTx;
use azth_store::testing::TestSqlite;
use azth_store::{
    AdminTenantRepo, AuditFilter, AuditLogRepo, AuditRecord, AuditRepo, MaintenanceRepo, NewNotification, NewOtp,
    NewSession, NewTenant, NotificationAdminRepo, NotificationFilter, NotificationRepo, OtpCheck, OtpRepo,
    RecoveryRepo, RefreshOutcome, RetryOutcome, SessionRepo, Store, TemplateRepo, TenantFilter, TenantPatch,
    TenantRepo, Tx,
};
use chrono::{Duration, Utc};
use uuid::Uuid;

// ---------------------------------------------------------------- helpers

async fn tenant(db: &TestSqlite, slug: &str) -> Tenant {
    let mut tx = db.store.system("test").await.unwrap();
    let t = tx
        .insert_tenant(&NewTenant {
            name: format!("Tenant {slug}"),
            slug: slug.to_owned(),
            domain: None,
            plan: "free".into(),
            settings: serde_json::json!({}),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    t
}

async fn commit(tx: SqliteTx) {
    Box::new(tx).commit().await.unwrap();
}

/// A user inserted with raw SQL (UserRepo is ported elsewhere).
async fn user(db: &TestSqlite, tenant: Uuid, email: &str, status: &str) -> Uuid {
    let user = Uuid::now_v7();
    let mut tx = db.store.system_tx("test");
    sqlx::query(
        "insert into users (id, tenant_id, email, status, login_attempts, locked_until, created_at, updated_at)
         values ($1, $2, $3, $4, 2, $5, $6, $6)",
    )
    .bind(user.hyphenated())
    .bind(tenant.hyphenated())
    .bind(email)
    .bind(status)
    .bind((Utc::now() + Duration::minutes(5)).timestamp_micros())
    .bind((Utc::now() - Duration::hours(1)).timestamp_micros())
    .execute(tx.write().await.unwrap())
    .await
    .unwrap();
    commit(tx).await;
    user
}

async fn scalar_i64(db: &TestSqlite, sql: &'static str, id: Uuid) -> i64 {
    let mut tx = db.store.system_tx("test");
    sqlx::query_scalar(sql).bind(id.hyphenated()).fetch_one(tx.read().await.unwrap()).await.unwrap()
}

async fn scalar_text(db: &TestSqlite, sql: &'static str, id: Uuid) -> Option<String> {
    let mut tx = db.store.system_tx("test");
    sqlx::query_scalar(sql).bind(id.hyphenated()).fetch_one(tx.read().await.unwrap()).await.unwrap()
}

fn new_session(tenant: Uuid, user: Uuid, token_hash: &str, expires_in: Duration) -> NewSession {
    NewSession {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        user_id: user,
        token_hash: token_hash.to_owned(),
        ip_address: Some("2001:DB8:0::1".into()),
        user_agent: Some("agent".into()),
        amr: vec!["pwd".into(), "otp".into()],
        mode: SessionMode::Cookie,
        expires_at: Utc::now() + expires_in,
    }
}

async fn session(db: &TestSqlite, tenant: Uuid, user: Uuid, token_hash: &str) -> Session {
    let mut tx = db.store.system_tx("test");
    let s = tx.insert_session(&new_session(tenant, user, token_hash, Duration::hours(1))).await.unwrap();
    commit(tx).await;
    s
}

fn new_otp(tenant: Uuid, user: Option<Uuid>, target: &str, hash: &str) -> NewOtp {
    NewOtp {
        tenant_id: tenant,
        user_id: user,
        code_hash: hash.to_owned(),
        channel: "email".into(),
        purpose: "login".into(),
        target: target.to_owned(),
        max_attempts: 3,
        expires_at: Utc::now() + Duration::minutes(10),
    }
}

fn new_notification(tenant: Uuid, recipient: &str, kind: &str) -> NewNotification {
    NewNotification {
        tenant_id: tenant,
        user_id: None,
        kind: kind.to_owned(),
        template: "otp".into(),
        recipient: recipient.to_owned(),
        subject: Some("Your code".into()),
        content: "123456".into(),
        html_content: Some("<p>123456</p>".into()),
    }
}

async fn notification(db: &TestSqlite, tenant: Uuid, recipient: &str, kind: &str) -> Uuid {
    let mut tx = db.store.system_tx("test");
    let id = tx.insert_notification(&new_notification(tenant, recipient, kind)).await.unwrap();
    commit(tx).await;
    id
}

// ---------------------------------------------------------------- sessions

#[tokio::test]
async fn sessions_are_stored_found_rotated_listed_and_revoked() {
    let db = TestSqlite::migrated().await;
    let a = tenant(&db, "a").await;
    let b = tenant(&db, "b").await;
    let u = user(&db, a.id, "u@a.test", "active").await;

    let mut tx = db.store.system_tx("test");
    let s1 = tx.insert_session(&new_session(a.id, u, "h1", Duration::hours(1))).await.unwrap();
    assert_eq!(s1.ip_address.as_deref(), Some("2001:db8::1"), "stored as host(inet) shows it");
    assert_eq!(s1.amr, vec!["pwd".to_owned(), "otp".to_owned()]);
    assert_eq!(s1.mode, SessionMode::Cookie);
    assert_eq!(s1.last_activity, s1.created_at);
    assert!(s1.revoked_at.is_none());
    let bad_ip = NewSession { ip_address: Some("nowhere".into()), ..new_session(a.id, u, "hx", Duration::hours(1)) };
    assert!(tx.insert_session(&bad_ip).await.is_err(), "an invalid inet is refused like PostgreSQL's cast");
    let s2 = tx
        .insert_session(&NewSession {
            mode: SessionMode::Token,
            ip_address: None,
            ..new_session(a.id, u, "h2", Duration::hours(2))
        })
        .await
        .unwrap();
    let expired = tx.insert_session(&new_session(a.id, u, "h3", -Duration::minutes(1))).await.unwrap();
    commit(tx).await;

    let mut tx = db.store.system_tx("test");
    assert_eq!(tx.session_by_id(a.id, s1.id).await.unwrap(), Some(s1.clone()));
    assert_eq!(tx.session_by_token_hash("h2").await.unwrap().unwrap().id, s2.id);
    assert!(tx.session_by_token_hash("nope").await.unwrap().is_none());
    // Newest first, expired ones left out.
    let live: Vec<Uuid> = tx.sessions_of_user(a.id, u).await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(live, vec![s2.id, s1.id]);
    assert!(!live.contains(&expired.id));

    // Rotation needs the current hash.
    assert!(!tx.rotate_session_token(a.id, s1.id, "wrong", "h1b").await.unwrap());
    assert!(tx.rotate_session_token(a.id, s1.id, "h1", "h1b").await.unwrap());
    assert!(tx.session_by_token_hash("h1").await.unwrap().is_none());
    let rotated = tx.session_by_token_hash("h1b").await.unwrap().unwrap();
    assert!(rotated.last_activity >= s1.last_activity);
    tx.touch_session(a.id, s2.id).await.unwrap();
    assert!(tx.session_by_id(a.id, s2.id).await.unwrap().unwrap().last_activity >= s2.last_activity);

    // The other tenant's id finds and changes nothing.
    assert!(tx.session_by_id(b.id, s1.id).await.unwrap().is_none());
    assert!(tx.sessions_of_user(b.id, u).await.unwrap().is_empty());
    assert!(!tx.rotate_session_token(b.id, s1.id, "h1b", "stolen").await.unwrap());
    assert!(!tx.revoke_session(b.id, s1.id).await.unwrap());
    assert!(tx.revoke_user_sessions(b.id, u, None).await.unwrap().is_empty());

    assert!(tx.revoke_session(a.id, s1.id).await.unwrap());
    assert!(!tx.revoke_session(a.id, s1.id).await.unwrap(), "revoked once");
    assert!(!tx.rotate_session_token(a.id, s1.id, "h1b", "h1c").await.unwrap(), "a revoked session never rotates");
    assert!(tx.session_by_id(a.id, s1.id).await.unwrap().unwrap().revoked_at.is_some());
    commit(tx).await;

    let s4 = session(&db, a.id, u, "h4").await;
    let mut tx = db.store.system_tx("test");
    let mut revoked = tx.revoke_user_sessions(a.id, u, Some(s4.id)).await.unwrap();
    revoked.sort();
    let mut want = vec![s2.id, expired.id];
    want.sort();
    assert_eq!(revoked, want);
    let live: Vec<Uuid> = tx.sessions_of_user(a.id, u).await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(live, vec![s4.id]);
    assert_eq!(tx.revoke_user_sessions(a.id, u, None).await.unwrap(), vec![s4.id]);
    commit(tx).await;
}

#[tokio::test]
async fn a_refresh_token_is_spent_once() {
    let db = TestSqlite::migrated().await;
    let a = tenant(&db, "a").await;
    let u = user(&db, a.id, "u@a.test", "active").await;
    let s = session(&db, a.id, u, "sess").await;
    let mut tx = db.store.system_tx("test");
    tx.insert_refresh_token(a.id, s.id, "r1", Utc::now() + Duration::days(1)).await.unwrap();
    tx.insert_refresh_token(a.id, s.id, "r-old", Utc::now() - Duration::seconds(1)).await.unwrap();
    tx.insert_refresh_token(a.id, s.id, "r2", Utc::now() + Duration::days(1)).await.unwrap();
    commit(tx).await;

    let mut tx = db.store.system_tx("test");
    match tx.spend_refresh_token("r1").await.unwrap() {
        RefreshOutcome::Fresh(found) => assert_eq!(found, s),
        other => panic!("{other:?}"),
    }
    match tx.spend_refresh_token("r1").await.unwrap() {
        RefreshOutcome::Spent { session_id, tenant_id } => assert_eq!((session_id, tenant_id), (s.id, a.id)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(tx.spend_refresh_token("unknown").await.unwrap(), RefreshOutcome::Invalid));
    assert!(matches!(tx.spend_refresh_token("r-old").await.unwrap(), RefreshOutcome::Invalid), "expired");
    commit(tx).await;

    // Two transactions presenting one token: exactly one gets the session.
    let spend = |store: azth_store::sqlite::SqliteStore| async move {
        let mut tx = store.system_tx("test");
        let outcome = tx.spend_refresh_token("r2").await.unwrap();
        commit(tx).await;
        outcome
    };
    let (x, y) = tokio::join!(spend(db.store.clone()), spend(db.store.clone()));
    let fresh = [&x, &y].iter().filter(|o| matches!(o, RefreshOutcome::Fresh(_))).count();
    let spent = [&x, &y].iter().filter(|o| matches!(o, RefreshOutcome::Spent { .. })).count();
    assert_eq!((fresh, spent), (1, 1), "{x:?} {y:?}");
}

// ---------------------------------------------------------------- one-time codes

#[tokio::test]
async fn one_time_codes_count_attempts_and_are_used_once() {
    let db = TestSqlite::migrated().await;
    let a = tenant(&db, "a").await;
    let b = tenant(&db, "b").await;
    let u = user(&db, a.id, "u@a.test", "active").await;
    let since = Utc::now() - Duration::seconds(1);

    let mut tx = db.store.system_tx("test");
    let first = tx.insert_otp(&new_otp(a.id, Some(u), "u@a.test", "c1")).await.unwrap();
    let second = tx.insert_otp(&new_otp(a.id, Some(u), "u@a.test", "c2")).await.unwrap();
    let live = tx.live_otp(a.id, "email", "login", "u@a.test").await.unwrap().unwrap();
    assert_eq!((live.id, live.code_hash.as_str(), live.user_id), (second, "c2", Some(u)));
    assert_eq!((live.attempts, live.max_attempts), (0, 3));
    assert_eq!(tx.check_otp(a.id, first, true).await.unwrap(), OtpCheck::Dead, "a new send kills the old code");
    assert!(tx.live_otp(a.id, "sms", "login", "u@a.test").await.unwrap().is_none());
    assert!(tx.live_otp(a.id, "email", "verification", "u@a.test").await.unwrap().is_none());

    // The other tenant neither sees nor spends it.
    assert!(tx.live_otp(b.id, "email", "login", "u@a.test").await.unwrap().is_none());
    assert_eq!(tx.check_otp(b.id, second, true).await.unwrap(), OtpCheck::Dead);

    assert_eq!(tx.check_otp(a.id, second, false).await.unwrap(), OtpCheck::Rejected);
    assert_eq!(tx.live_otp(a.id, "email", "login", "u@a.test").await.unwrap().unwrap().attempts, 1);
    assert_eq!(tx.check_otp(a.id, second, true).await.unwrap(), OtpCheck::Accepted);
    assert_eq!(tx.check_otp(a.id, second, true).await.unwrap(), OtpCheck::Dead, "used once");
    assert!(tx.live_otp(a.id, "email", "login", "u@a.test").await.unwrap().is_none());

    // Out of attempts.
    let third = tx.insert_otp(&new_otp(a.id, None, "x@a.test", "c3")).await.unwrap();
    for _ in 0..3 {
        assert_eq!(tx.check_otp(a.id, third, false).await.unwrap(), OtpCheck::Rejected);
    }
    assert_eq!(tx.check_otp(a.id, third, false).await.unwrap(), OtpCheck::Dead);
    assert_eq!(tx.check_otp(a.id, third, true).await.unwrap(), OtpCheck::Dead);

    // Expired.
    let old = NewOtp { expires_at: Utc::now() - Duration::seconds(1), ..new_otp(a.id, None, "y@a.test", "c4") };
    let old = tx.insert_otp(&old).await.unwrap();
    assert_eq!(tx.check_otp(a.id, old, true).await.unwrap(), OtpCheck::Dead);

    assert_eq!(tx.count_otp_since(a.id, "email", since).await.unwrap(), 4);
    assert_eq!(tx.count_otp_since(a.id, "sms", since).await.unwrap(), 0);
    assert_eq!(tx.count_otp_since(a.id, "email", Utc::now() + Duration::seconds(1)).await.unwrap(), 0);
    assert_eq!(tx.count_otp_since(b.id, "email", since).await.unwrap(), 0);
    commit(tx).await;
}

// ---------------------------------------------------------------- outbox and templates

#[tokio::test]
async fn the_outbox_is_claimed_under_a_lease_and_finished() {
    let db = TestSqlite::migrated().await;
    let a = tenant(&db, "a").await;
    let n1 = notification(&db, a.id, "one@a.test", "email").await;
    let n2 = notification(&db, a.id, "+15550001", "sms").await;

    let mut tx = db.store.system_tx("test");
    assert!(tx.claim_notifications(-1, Duration::seconds(60)).await.is_err(), "a negative limit is refused");
    let claimed = tx.claim_notifications(1, Duration::seconds(60)).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, n1, "oldest due first");
    assert_eq!(claimed[0].tenant_id, a.id);
    assert_eq!((claimed[0].kind.as_str(), claimed[0].template.as_str()), ("email", "otp"));
    assert_eq!((claimed[0].content.as_str(), claimed[0].html_content.as_deref()), ("123456", Some("<p>123456</p>")));
    assert_eq!((claimed[0].retry_count, claimed[0].max_retries), (0, 3));
    let rest = tx.claim_notifications(10, Duration::seconds(60)).await.unwrap();
    assert_eq!(rest.iter().map(|m| m.id).collect::<Vec<_>>(), vec![n2]);
    assert!(tx.claim_notifications(10, Duration::seconds(60)).await.unwrap().is_empty(), "leased");
    let view = tx.notification_by_id(a.id, n1).await.unwrap().unwrap();
    assert_eq!(view.status, "sending");
    assert!(view.scheduled_at > Utc::now() + Duration::seconds(50));

    tx.mark_notification_sent(n1).await.unwrap();
    let view = tx.notification_by_id(a.id, n1).await.unwrap().unwrap();
    assert_eq!(view.status, "sent");
    assert!(view.sent_at.is_some() && view.error_message.is_none());

    let retry_at = Utc::now() + Duration::minutes(5);
    let long_error = "é".repeat(1500);
    tx.mark_notification_failed(n2, &long_error, Some(retry_at)).await.unwrap();
    let view = tx.notification_by_id(a.id, n2).await.unwrap().unwrap();
    assert_eq!((view.status.as_str(), view.retry_count), ("retrying", 1));
    assert_eq!(view.scheduled_at.timestamp_micros(), retry_at.timestamp_micros());
    assert_eq!(view.error_message.unwrap().chars().count(), 1000, "left(error, 1000) counts characters");
    tx.mark_notification_failed(n2, "gone", None).await.unwrap();
    let view = tx.notification_by_id(a.id, n2).await.unwrap().unwrap();
    assert_eq!((view.status.as_str(), view.retry_count, view.error_message.as_deref()), ("failed", 2, Some("gone")));
    assert_eq!(view.scheduled_at.timestamp_micros(), retry_at.timestamp_micros(), "kept when failing for good");
    commit(tx).await;

    // A lease that ran out makes the row due again.
    let n3 = notification(&db, a.id, "three@a.test", "email").await;
    let mut tx = db.store.system_tx("test");
    assert_eq!(tx.claim_notifications(10, -Duration::seconds(1)).await.unwrap()[0].id, n3);
    assert_eq!(tx.claim_notifications(10, Duration::seconds(60)).await.unwrap()[0].id, n3, "lease expired");
    assert!(tx.claim_notifications(0, Duration::seconds(60)).await.unwrap().is_empty());
    commit(tx).await;
}

#[tokio::test]
async fn templates_are_upserted_read_and_deleted_per_tenant() {
    let db = TestSqlite::migrated().await;
    let a = tenant(&db, "a").await;
    let b = tenant(&db, "b").await;
    let mut tx = db.store.system_tx("test");
    assert!(tx.notification_template(a.id, "otp").await.unwrap().is_none());
    let first = tx.upsert_notification_template(a.id, "otp", "S1", "T1", Some("<p>H1</p>")).await.unwrap();
    assert_eq!(
        (first.name.as_str(), first.subject.as_str(), first.text_body.as_str(), first.html_body.as_deref()),
        ("otp", "S1", "T1", Some("<p>H1</p>"))
    );
    assert_eq!(tx.notification_template(a.id, "otp").await.unwrap(), Some(first.clone()));
    let second = tx.upsert_notification_template(a.id, "otp", "S2", "T2", None).await.unwrap();
    assert_eq!((second.subject.as_str(), second.html_body.as_deref()), ("S2", None));
    assert!(second.updated_at >= first.updated_at);
    let rows: i64 = sqlx::query_scalar("select count(*) from notification_templates")
        .fetch_one(tx.read().await.unwrap())
        .await
        .unwrap();
    assert_eq!(rows, 1, "updated in place");
    assert!(tx.upsert_notification_template(a.id, "nonsense", "S", "T", None).await.is_err(), "closed set of names");

    assert!(tx.notification_template(b.id, "otp").await.unwrap().is_none());
    assert!(!tx.delete_notification_template(b.id, "otp").await.unwrap());
    assert!(tx.delete_notification_template(a.id, "otp").await.unwrap());
    assert!(!tx.delete_notification_template(a.id, "otp").await.unwrap());
    assert!(tx.notification_template(a.id, "otp").await.unwrap().is_none());
    commit(tx).await;
}

#[tokio::test]
async fn maintenance_purges_expired_rows_and_old_audit_rows() {
    let db = TestSqlite::migrated().await;
    let a = tenant(&db, "a").await;
    let u = user(&db, a.id, "u@a.test", "active").await;
    let mut tx = db.store.system_tx("test");
    let gone = tx.insert_session(&new_session(a.id, u, "gone", -Duration::days(3))).await.unwrap();
    tx.insert_refresh_token(a.id, gone.id, "rt-gone", Utc::now() + Duration::days(1)).await.unwrap();
    let revoked = tx.insert_session(&new_session(a.id, u, "revoked", Duration::days(3))).await.unwrap();
    sqlx::query("update sessions set revoked_at = $2 where id = $1")
        .bind(revoked.id.hyphenated())
        .bind((Utc::now() - Duration::days(3)).timestamp_micros())
        .execute(tx.write().await.unwrap())
        .await
        .unwrap();
    let live = tx.insert_session(&new_session(a.id, u, "live", Duration::days(3))).await.unwrap();
    tx.insert_refresh_token(a.id, live.id, "rt-old", Utc::now() - Duration::days(3)).await.unwrap();
    tx.insert_refresh_token(a.id, live.id, "rt-live", Utc::now() + Duration::days(3)).await.unwrap();
    let old = NewOtp { expires_at: Utc::now() - Duration::days(3), ..new_otp(a.id, None, "o@a.test", "c") };
    tx.insert_otp(&old).await.unwrap();
    tx.insert_otp(&new_otp(a.id, None, "p@a.test", "c")).await.unwrap();
    commit(tx).await;

    let mut tx = db.store.system_tx("test");
    let purged = tx.purge_expired(Utc::now() - Duration::days(1)).await.unwrap();
    assert_eq!((purged.refresh_tokens, purged.sessions, purged.otp_codes), (1, 2, 1));
    assert_eq!(tx.session_by_id(a.id, live.id).await.unwrap().map(|s| s.id), Some(live.id));
    assert!(tx.session_by_id(a.id, gone.id).await.unwrap().is_none());
    let tokens: Vec<String> =
        sqlx::query_scalar("select token_hash from refresh_tokens").fetch_all(tx.read().await.unwrap()).await.unwrap();
    assert_eq!(tokens, vec!["rt-live".to_owned()], "cascaded with their session");

    assert_eq!(tx.create_audit_partitions(3).await.unwrap(), 0, "no partitions in SQLite");
    let before: i64 =
        sqlx::query_scalar("select count(*) from audit_logs").fetch_one(tx.read().await.unwrap()).await.unwrap();
    assert!(before > 0);
    assert_eq!(tx.drop_audit_partitions_before(Utc::now() - Duration::days(1)).await.unwrap(), 0);
    assert_eq!(i64::from(tx.drop_audit_partitions_before(Utc::now() + Duration::seconds(1)).await.unwrap()), before);
    let after: i64 =
        sqlx::query_scalar("select count(*) from audit_logs").fetch_one(tx.read().await.unwrap()).await.unwrap();
    assert_eq!(after, 0);
    commit(tx).await;

    // Retention is the operator's: never from a tenant transaction.
    let mut tx = db.store.tenant(&AuditContext::new(a.id, Actor::System)).await.unwrap();
    assert!(tx.create_audit_partitions(3).await.is_err());
    assert!(tx.drop_audit_partitions_before(Utc::now()).await.is_err());
}

// ---------------------------------------------------------------- audit and outbox reading

fn record(tenant: Uuid, user: Option<Uuid>, action: &'static str, resource: Option<Uuid>) -> AuditRecord {
    AuditRecord {
        tenant_id: tenant,
        user_id: user,
        ip_address: Some("198.51.100.7".into()),
        user_agent: Some("ua".into()),
        event: AuditEvent {
            action,
            resource_type: "users",
            resource_id: resource,
            details: Some(serde_json::json!({"n": action, "refresh_token": "secret"})),
        },
    }
}

#[tokio::test]
async fn the_audit_trail_is_filtered_and_paged_newest_first() {
    let db = TestSqlite::migrated().await;
    let a = tenant(&db, "a").await;
    let b = tenant(&db, "b").await;
    let (u1, u2, r) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut tx = db.store.system_tx("test");
    sqlx::query("delete from audit_logs").execute(tx.write().await.unwrap()).await.unwrap();
    tx.insert_audit(&record(a.id, Some(u1), "auth.login", Some(r))).await.unwrap();
    tx.insert_audit(&record(a.id, Some(u2), "auth.login", None)).await.unwrap();
    tx.insert_audit(&record(a.id, Some(u1), "auth.logout", Some(r))).await.unwrap();
    tx.insert_audit(&record(a.id, None, "auth.login.failed", None)).await.unwrap();
    tx.insert_audit(&record(b.id, Some(u1), "auth.login", Some(r))).await.unwrap();
    // Two rows on the same instant: ordered by id, newest (largest) first.
    let stamp = Utc::now().timestamp_micros() + 1_000_000;
    let (low, high) = ("00000000-0000-7000-8000-000000000001", "ffffffff-0000-7000-8000-000000000001");
    for id in [low, high] {
        sqlx::query(
            "insert into audit_logs (id, tenant_id, action, resource_type, old_values, created_at)
             values ($1, $2, 'tie', 'users', '{\"a\":[1,2]}', $3)",
        )
        .bind(id)
        .bind(a.id.hyphenated())
        .bind(stamp)
        .execute(tx.write().await.unwrap())
        .await
        .unwrap();
    }
    commit(tx).await;

    let mut tx = db.store.system_tx("test");
    let all = tx.list_audit(a.id, &AuditFilter { limit: 100, ..AuditFilter::default() }).await.unwrap();
    let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["tie", "tie", "auth.login.failed", "auth.logout", "auth.login", "auth.login"]);
    assert_eq!(all[0].id.to_string(), high);
    assert_eq!(all[1].id.to_string(), low);
    assert_eq!(all[0].old_values, Some(serde_json::json!({"a": [1, 2]})));
    assert!(all.iter().all(|e| e.tenant_id == Some(a.id)));
    let login = &all[5];
    assert_eq!((login.user_id, login.resource_id), (Some(u1), Some(r)));
    assert_eq!(login.new_values, Some(serde_json::json!({"n": "auth.login"})), "redacted JSON, parsed");
    assert_eq!((login.ip_address.as_deref(), login.user_agent.as_deref()), (Some("198.51.100.7"), Some("ua")));
    assert_eq!(login.old_values, None);

    // Keyset paging walks every row once, in order.
    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page = tx.list_audit(a.id, &AuditFilter { limit: 2, before, ..AuditFilter::default() }).await.unwrap();
        if page.is_empty() {
            break;
        }
        before = page.last().map(|e| (e.created_at, e.id));
        paged.extend(page);
    }
    assert_eq!(paged, all);

    let by = |f: AuditFilter| AuditFilter { limit: 100, ..f };
    let ids = |rows: Vec<azth_store::AuditEntry>| rows.into_iter().map(|e| e.action).collect::<Vec<_>>();
    assert_eq!(
        ids(tx.list_audit(a.id, &by(AuditFilter { user_id: Some(u1), ..Default::default() })).await.unwrap()),
        vec!["auth.logout", "auth.login"]
    );
    assert_eq!(
        ids(tx
            .list_audit(a.id, &by(AuditFilter { action: Some("auth.login".into()), ..Default::default() }))
            .await
            .unwrap()),
        vec!["auth.login", "auth.login"]
    );
    assert_eq!(
        ids(tx.list_audit(a.id, &by(AuditFilter { resource_id: Some(r), ..Default::default() })).await.unwrap()),
        vec!["auth.logout", "auth.login"]
    );
    assert_eq!(
        tx.list_audit(a.id, &by(AuditFilter { resource_type: Some("users".into()), ..Default::default() }))
            .await
            .unwrap()
            .len(),
        6
    );
    assert!(
        tx.list_audit(a.id, &by(AuditFilter { resource_type: Some("roles".into()), ..Default::default() }))
            .await
            .unwrap()
            .is_empty()
    );
    let tie_at = all[0].created_at;
    assert_eq!(
        ids(tx.list_audit(a.id, &by(AuditFilter { from: Some(tie_at), ..Default::default() })).await.unwrap()),
        vec!["tie", "tie"]
    );
    assert_eq!(
        tx.list_audit(a.id, &by(AuditFilter { to: Some(tie_at), ..Default::default() })).await.unwrap().len(),
        4
    );
    assert_eq!(tx.list_audit(a.id, &AuditFilter { limit: 0, ..Default::default() }).await.unwrap().len(), 0);
    assert!(tx.list_audit(a.id, &AuditFilter { limit: -1, ..Default::default() }).await.is_err());

    let other = tx.list_audit(b.id, &by(AuditFilter::default())).await.unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].tenant_id, Some(b.id));
}

#[tokio::test]
async fn operators_list_and_retry_notifications() {
    let db = TestSqlite::migrated().await;
    let a = tenant(&db, "a").await;
    let b = tenant(&db, "b").await;
    let n1 = notification(&db, a.id, "Mixed@A.test", "email").await;
    let n2 = notification(&db, a.id, "+15550001", "sms").await;
    let n3 = notification(&db, a.id, "other@a.test", "email").await;
    let nb = notification(&db, b.id, "mixed@a.test", "email").await;

    let mut tx = db.store.system_tx("test");
    tx.mark_notification_failed(n1, "boom", None).await.unwrap();
    tx.mark_notification_sent(n2).await.unwrap();
    commit(tx).await;

    let mut tx = db.store.system_tx("test");
    let list = |f: NotificationFilter| NotificationFilter { limit: 50, ..f };
    let ids = |rows: Vec<azth_store::NotificationView>| rows.into_iter().map(|n| n.id).collect::<Vec<_>>();
    assert_eq!(ids(tx.list_notifications(a.id, &list(NotificationFilter::default())).await.unwrap()), vec![n3, n2, n1]);
    assert_eq!(
        ids(tx
            .list_notifications(a.id, &list(NotificationFilter { status: Some("failed".into()), ..Default::default() }))
            .await
            .unwrap()),
        vec![n1]
    );
    assert_eq!(
        ids(tx
            .list_notifications(a.id, &list(NotificationFilter { channel: Some("sms".into()), ..Default::default() }))
            .await
            .unwrap()),
        vec![n2]
    );
    assert_eq!(
        ids(tx
            .list_notifications(
                a.id,
                &list(NotificationFilter { recipient: Some("mixed@a.TEST".into()), ..Default::default() })
            )
            .await
            .unwrap()),
        vec![n1],
        "recipient compared case-insensitively, within the tenant"
    );
    let first = tx.list_notifications(a.id, &NotificationFilter { limit: 2, ..Default::default() }).await.unwrap();
    assert_eq!(ids(first.clone()), vec![n3, n2]);
    let before = first.last().map(|n| (n.created_at, n.id));
    let rest =
        tx.list_notifications(a.id, &NotificationFilter { limit: 2, before, ..Default::default() }).await.unwrap();
    assert_eq!(ids(rest), vec![n1]);
    assert_eq!(ids(tx.list_notifications(b.id, &list(NotificationFilter::default())).await.unwrap()), vec![nb]);

    let view = tx.notification_by_id(a.id, n1).await.unwrap().unwrap();
    assert_eq!(
        (view.kind.as_str(), view.recipient.as_str(), view.status.as_str()),
        ("email", "Mixed@A.test", "failed")
    );
    assert_eq!((view.retry_count, view.error_message.as_deref()), (1, Some("boom")));
    assert!(tx.notification_by_id(b.id, n1).await.unwrap().is_none());

    match tx.retry_notification(a.id, n1).await.unwrap() {
        RetryOutcome::Queued(v) => {
            assert_eq!((v.id, v.status.as_str(), v.retry_count), (n1, "pending", 0));
            assert!(v.scheduled_at <= Utc::now());
        }
        other => panic!("{other:?}"),
    }
    match tx.retry_notification(a.id, n2).await.unwrap() {
        RetryOutcome::Refused(v) => assert_eq!(v.status, "sent"),
        other => panic!("{other:?}"),
    }
    assert_eq!(tx.retry_notification(b.id, n1).await.unwrap(), RetryOutcome::NotFound);
    assert_eq!(tx.retry_notification(a.id, Uuid::now_v7()).await.unwrap(), RetryOutcome::NotFound);
    commit(tx).await;

    let mut tx = db.store.system_tx("test");
    let claimed: Vec<Uuid> =
        tx.claim_notifications(10, Duration::seconds(60)).await.unwrap().into_iter().map(|m| m.id).collect();
    assert!(claimed.contains(&n1), "a retried message is due again");
    match tx.retry_notification(a.id, n1).await.unwrap() {
        RetryOutcome::Refused(v) => assert_eq!(v.status, "sending", "being delivered: left alone"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------- tenant administration

#[tokio::test]
async fn operators_list_update_and_delete_tenants() {
    let db = TestSqlite::migrated().await;
    let alpha = tenant(&db, "alpha").await;
    let beta = tenant(&db, "beta").await;
    let gamma = tenant(&db, "gamma_1").await;
    let mut tx = db.store.system_tx("test");
    tx.set_tenant_status(beta.id, TenantStatus::Suspended).await.unwrap();
    commit(tx).await;

    let mut tx = db.store.system_tx("test");
    let slugs = |rows: Vec<Tenant>| rows.into_iter().map(|t| t.slug).collect::<Vec<_>>();
    let page = |f: TenantFilter| TenantFilter { limit: 50, ..f };
    assert_eq!(slugs(tx.list_tenants(&page(TenantFilter::default())).await.unwrap()), vec!["alpha", "beta", "gamma_1"]);
    assert_eq!(
        slugs(
            tx.list_tenants(&page(TenantFilter { status: Some(TenantStatus::Suspended), ..Default::default() }))
                .await
                .unwrap()
        ),
        vec!["beta"]
    );
    assert_eq!(
        slugs(tx.list_tenants(&page(TenantFilter { q: Some("TENANT G".into()), ..Default::default() })).await.unwrap()),
        vec!["gamma_1"],
        "name prefix, any case"
    );
    assert_eq!(
        slugs(tx.list_tenants(&page(TenantFilter { q: Some("al".into()), ..Default::default() })).await.unwrap()),
        vec!["alpha"]
    );
    assert!(
        tx.list_tenants(&page(TenantFilter { q: Some("gamma%".into()), ..Default::default() }))
            .await
            .unwrap()
            .is_empty(),
        "wildcards are literal"
    );
    assert_eq!(
        slugs(tx.list_tenants(&page(TenantFilter { q: Some("gamma_".into()), ..Default::default() })).await.unwrap()),
        vec!["gamma_1"]
    );
    let first = tx.list_tenants(&TenantFilter { limit: 2, ..Default::default() }).await.unwrap();
    let after = first.last().map(|t| (t.created_at, t.id));
    assert_eq!(
        slugs(tx.list_tenants(&TenantFilter { limit: 2, after, ..Default::default() }).await.unwrap()),
        vec!["gamma_1"]
    );
    drop(tx);

    // Changes are audited with the operator set as actor.
    let operator = Uuid::now_v7();
    let ctx = AuditContext {
        tenant_id: alpha.id,
        actor: Actor::User(operator),
        ip: Some("192.0.2.1".parse().unwrap()),
        user_agent: Some("ops".into()),
    };
    let mut tx = db.store.system_tx("test");
    tx.set_audit_actor(&ctx).await.unwrap();
    let patch = TenantPatch {
        name: Some("Alpha Inc".into()),
        domain: Some(Some("alpha.example".into())),
        plan: Some("pro".into()),
        settings: Some(serde_json::json!({"mfa_required": true})),
    };
    let updated = tx.update_tenant(alpha.id, &patch).await.unwrap().unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.domain.as_deref(), updated.plan.as_str()),
        ("Alpha Inc", Some("alpha.example"), "pro")
    );
    assert!(updated.settings.mfa_required);
    assert!(updated.updated_at > alpha.updated_at);
    // Leaving fields alone, clearing the domain.
    let cleared = tx.update_tenant(alpha.id, &TenantPatch { domain: Some(None), ..Default::default() }).await.unwrap();
    let cleared = cleared.unwrap();
    assert_eq!((cleared.name.as_str(), cleared.domain, cleared.plan.as_str()), ("Alpha Inc", None, "pro"));
    assert!(cleared.settings.mfa_required);
    let taken = tx.update_tenant(alpha.id, &patch).await.unwrap().unwrap();
    assert_eq!(taken.domain.as_deref(), Some("alpha.example"));
    let clash = TenantPatch { domain: Some(Some("ALPHA.example".into())), ..Default::default() };
    let dup = tx.update_tenant(gamma.id, &clash).await;
    assert!(matches!(dup, Err(azth_store::StoreError::Conflict { field: Some(ref f) }) if f == "domain"), "{dup:?}");

    let deleted = tx.soft_delete_tenant(beta.id).await.unwrap().unwrap();
    assert!(deleted.deleted_at.is_some());
    assert!(deleted.updated_at >= deleted.deleted_at.unwrap());
    assert!(tx.soft_delete_tenant(beta.id).await.unwrap().is_none(), "deleted once");
    assert!(tx.update_tenant(beta.id, &patch).await.unwrap().is_none(), "a deleted tenant is not changed");
    assert!(tx.update_tenant(Uuid::now_v7(), &patch).await.unwrap().is_none());
    commit(tx).await;

    let mut tx = db.store.system_tx("test");
    assert_eq!(slugs(tx.list_tenants(&page(TenantFilter::default())).await.unwrap()), vec!["alpha", "gamma_1"]);
    let row: (String, String, String, String, String) = sqlx::query_as(
        "select user_id, ip_address, user_agent, actor, json_extract(new_values, '$.plan') from audit_logs
         where resource_type = 'tenants' and action = 'UPDATE' and resource_id = $1
         order by created_at limit 1",
    )
    .bind(alpha.id.hyphenated())
    .fetch_one(tx.read().await.unwrap())
    .await
    .unwrap();
    assert_eq!(row, (operator.hyphenated().to_string(), "192.0.2.1".into(), "ops".into(), "user".into(), "pro".into()));
    let deletes: i64 = sqlx::query_scalar(
        "select count(*) from audit_logs where resource_type = 'tenants' and action = 'UPDATE' and resource_id = $1
           and json_extract(new_values, '$.deleted_at') is not null",
    )
    .bind(beta.id.hyphenated())
    .fetch_one(tx.read().await.unwrap())
    .await
    .unwrap();
    assert_eq!(deletes, 1, "the soft delete is audited by the trigger");
}

// ---------------------------------------------------------------- recovery

#[tokio::test]
async fn second_factors_are_enrolled_claimed_once_and_removed() {
    let db = TestSqlite::migrated().await;
    let a = tenant(&db, "a").await;
    let b = tenant(&db, "b").await;
    let u = user(&db, a.id, "u@a.test", "active").await;
    const UPDATED: &str = "select updated_at from users where id = $1";
    let stamp = scalar_i64(&db, UPDATED, u).await;

    let mut tx = db.store.system_tx("test");
    let state = tx.mfa_state(a.id, u).await.unwrap().unwrap();
    assert!(!state.enabled && state.secret_sealed.is_none() && state.last_step.is_none());
    assert!(state.backup_codes.is_empty());
    assert!(tx.mfa_state(b.id, u).await.unwrap().is_none());

    tx.set_mfa_secret(a.id, u, "sealed").await.unwrap();
    let state = tx.mfa_state(a.id, u).await.unwrap().unwrap();
    assert_eq!((state.enabled, state.secret_sealed.as_deref()), (false, Some("sealed")));
    let codes: Vec<String> = vec!["d1".into(), "d2".into(), "d3".into()];
    tx.enable_mfa(a.id, u, &codes, 100).await.unwrap();
    let state = tx.mfa_state(a.id, u).await.unwrap().unwrap();
    assert_eq!((state.enabled, state.last_step, state.backup_codes.clone()), (true, Some(100), codes.clone()));
    commit(tx).await;
    assert!(scalar_i64(&db, UPDATED, u).await > stamp, "updated_at is stamped");

    let mut tx = db.store.system_tx("test");
    assert!(!tx.claim_totp_step(a.id, u, 100).await.unwrap(), "the enrolment step is used");
    assert!(!tx.claim_totp_step(a.id, u, 99).await.unwrap());
    assert!(tx.claim_totp_step(a.id, u, 101).await.unwrap());
    assert!(!tx.claim_totp_step(a.id, u, 101).await.unwrap(), "a step is claimed once");
    assert!(!tx.claim_totp_step(b.id, u, 500).await.unwrap());

    assert!(tx.consume_backup_code(a.id, u, "d2").await.unwrap());
    assert!(!tx.consume_backup_code(a.id, u, "d2").await.unwrap(), "a backup code is spent once");
    assert!(!tx.consume_backup_code(a.id, u, "zz").await.unwrap());
    assert!(!tx.consume_backup_code(b.id, u, "d1").await.unwrap());
    assert_eq!(tx.mfa_state(a.id, u).await.unwrap().unwrap().backup_codes, vec!["d1".to_owned(), "d3".to_owned()]);
    tx.set_backup_codes(a.id, u, &["n1".into(), "n2".into()]).await.unwrap();
    assert!(!tx.consume_backup_code(a.id, u, "d1").await.unwrap(), "replaced codes are dead");
    assert!(tx.consume_backup_code(a.id, u, "n1").await.unwrap());
    assert!(tx.consume_backup_code(a.id, u, "n2").await.unwrap());
    assert!(tx.mfa_state(a.id, u).await.unwrap().unwrap().backup_codes.is_empty());
    commit(tx).await;
    assert_eq!(scalar_text(&db, "select backup_codes from users where id = $1", u).await.as_deref(), Some("[]"));

    let mut tx = db.store.system_tx("test");
    tx.disable_mfa(a.id, u).await.unwrap();
    let state = tx.mfa_state(a.id, u).await.unwrap().unwrap();
    assert!(!state.enabled && state.secret_sealed.is_none() && state.last_step.is_none());
    assert!(state.backup_codes.is_empty());
    assert!(tx.claim_totp_step(a.id, u, 1).await.unwrap(), "a new enrolment starts over");
    assert!(!tx.consume_backup_code(a.id, u, "n1").await.unwrap(), "no codes at all");
    commit(tx).await;

    // Two transactions spending one code: exactly one succeeds.
    let mut tx = db.store.system_tx("test");
    tx.set_backup_codes(a.id, u, &["only".into()]).await.unwrap();
    commit(tx).await;
    let tid = a.id;
    let spend = move |store: azth_store::sqlite::SqliteStore| async move {
        let mut tx = store.system_tx("test");
        let spent = tx.consume_backup_code(tid, u, "only").await.unwrap();
        commit(tx).await;
        spent
    };
    let (x, y) = tokio::join!(spend(db.store.clone()), spend(db.store.clone()));
    assert!(x ^ y, "{x} {y}");
}

#[tokio::test]
async fn email_verification_and_password_reset_tokens_work_once() {
    let db = TestSqlite::migrated().await;
    let a = tenant(&db, "a").await;
    let b = tenant(&db, "b").await;
    let u = user(&db, a.id, "u@a.test", "pending").await;
    let v = user(&db, a.id, "v@a.test", "active").await;

    let mut tx = db.store.system_tx("test");
    tx.set_email_verification(a.id, u, "ev", Utc::now() + Duration::hours(1)).await.unwrap();
    tx.set_email_verification(a.id, v, "ev-old", Utc::now() - Duration::seconds(1)).await.unwrap();
    tx.set_email_verification(b.id, u, "ev-b", Utc::now() + Duration::hours(1)).await.unwrap();
    let verified = tx.verify_email_token("ev").await.unwrap().unwrap();
    assert_eq!((verified.id, verified.email_verified), (u, true));
    assert!(tx.verify_email_token("ev").await.unwrap().is_none(), "used once");
    assert!(tx.verify_email_token("ev-old").await.unwrap().is_none(), "expired");
    assert!(tx.verify_email_token("ev-b").await.unwrap().is_none(), "never stored for another tenant's id");

    tx.set_password_reset(a.id, u, "pr", Utc::now() + Duration::hours(1)).await.unwrap();
    tx.set_password_reset(a.id, v, "pr-old", Utc::now() - Duration::seconds(1)).await.unwrap();
    assert_eq!(tx.password_reset_user("pr").await.unwrap().map(|x| x.id), Some(u));
    assert_eq!(tx.password_reset_user("pr").await.unwrap().map(|x| x.id), Some(u), "not consumed by looking");
    assert!(tx.password_reset_user("pr-old").await.unwrap().is_none());
    assert!(tx.reset_password("pr-old", "hash").await.unwrap().is_none());
    let reset = tx.reset_password("pr", "new-hash").await.unwrap().unwrap();
    assert_eq!((reset.id, reset.status), (u, UserStatus::Active), "an invited user becomes active");
    assert!(tx.reset_password("pr", "again").await.unwrap().is_none(), "used once");
    assert!(tx.password_reset_user("pr").await.unwrap().is_none());
    commit(tx).await;
    let row: (Option<String>, i64, Option<i64>, Option<String>) = {
        let mut tx = db.store.system_tx("test");
        sqlx::query_as(
            "select password_hash, login_attempts, locked_until, password_reset_token from users where id = $1",
        )
        .bind(u.hyphenated())
        .fetch_one(tx.read().await.unwrap())
        .await
        .unwrap()
    };
    assert_eq!(row, (Some("new-hash".into()), 0, None, None));

    let mut tx = db.store.system_tx("test");
    assert_eq!(tx.user_by_email(a.id, "v@a.test").await.unwrap().map(|x| x.id), Some(v));
    assert!(tx.user_by_email(b.id, "v@a.test").await.unwrap().is_none());
    assert!(tx.user_by_verified_phone(a.id, "+15550002").await.unwrap().is_none());
    tx.set_verified_phone(a.id, v, "+15550002").await.unwrap();
    let found = tx.user_by_verified_phone(a.id, "+15550002").await.unwrap().unwrap();
    assert_eq!((found.id, found.phone.as_deref(), found.phone_verified), (v, Some("+15550002"), true));
    assert!(tx.user_by_verified_phone(b.id, "+15550002").await.unwrap().is_none());
    tx.mark_email_verified(a.id, v).await.unwrap();
    assert!(tx.user_by_email(a.id, "v@a.test").await.unwrap().unwrap().email_verified);
    assert!(tx.verify_email_token("ev-old").await.unwrap().is_none(), "marking verified clears the token");
    commit(tx).await;
}

// ---------------------------------------------------------------- tenant isolation

#[tokio::test]
async fn a_tenant_transaction_never_reaches_another_tenant() {
    let db = TestSqlite::migrated().await;
    let a = tenant(&db, "a").await;
    let b = tenant(&db, "b").await;
    let ua = user(&db, a.id, "u@a.test", "pending").await;
    let ub = user(&db, b.id, "u@b.test", "active").await;
    let sa = session(&db, a.id, ua, "sess-a").await;
    let sb = session(&db, b.id, ub, "sess-b").await;
    let na = notification(&db, a.id, "u@a.test", "email").await;
    let nb = notification(&db, b.id, "u@b.test", "email").await;
    let mut tx = db.store.system_tx("test");
    tx.insert_refresh_token(a.id, sa.id, "rt-a", Utc::now() + Duration::days(1)).await.unwrap();
    tx.insert_refresh_token(a.id, sa.id, "rt-a-spent", Utc::now() + Duration::days(1)).await.unwrap();
    assert!(matches!(tx.spend_refresh_token("rt-a-spent").await.unwrap(), RefreshOutcome::Fresh(_)));
    tx.insert_refresh_token(b.id, sb.id, "rt-b", Utc::now() + Duration::days(1)).await.unwrap();
    tx.set_email_verification(a.id, ua, "ev-a", Utc::now() + Duration::hours(1)).await.unwrap();
    tx.set_password_reset(a.id, ua, "pr-a", Utc::now() + Duration::hours(1)).await.unwrap();
    tx.set_password_reset(b.id, ub, "pr-b", Utc::now() + Duration::hours(1)).await.unwrap();
    let expired_a = tx.insert_session(&new_session(a.id, ua, "old-a", -Duration::days(3))).await.unwrap();
    commit(tx).await;

    let ctx = AuditContext::new(b.id, Actor::System);
    let mut tx = db.store.tenant(&ctx).await.unwrap();
    // Look-ups without a tenant argument see tenant B only.
    assert!(tx.session_by_token_hash("sess-a").await.unwrap().is_none());
    assert_eq!(tx.session_by_token_hash("sess-b").await.unwrap().map(|s| s.id), Some(sb.id));
    assert!(matches!(tx.spend_refresh_token("rt-a").await.unwrap(), RefreshOutcome::Invalid));
    assert!(matches!(tx.spend_refresh_token("rt-a-spent").await.unwrap(), RefreshOutcome::Invalid));
    assert!(matches!(tx.spend_refresh_token("rt-b").await.unwrap(), RefreshOutcome::Fresh(_)));
    assert!(tx.verify_email_token("ev-a").await.unwrap().is_none());
    assert!(tx.password_reset_user("pr-a").await.unwrap().is_none());
    assert!(tx.reset_password("pr-a", "pwned").await.unwrap().is_none());
    assert_eq!(tx.password_reset_user("pr-b").await.unwrap().map(|x| x.id), Some(ub));
    let tenants = tx.list_tenants(&TenantFilter { limit: 50, ..Default::default() }).await.unwrap();
    assert_eq!(tenants.iter().map(|t| t.id).collect::<Vec<_>>(), vec![b.id]);
    assert!(
        tx.update_tenant(a.id, &TenantPatch { name: Some("pwned".into()), ..Default::default() })
            .await
            .unwrap()
            .is_none()
    );
    assert!(tx.soft_delete_tenant(a.id).await.unwrap().is_none());
    let claimed: Vec<Uuid> =
        tx.claim_notifications(10, Duration::seconds(60)).await.unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(claimed, vec![nb]);
    tx.mark_notification_sent(na).await.unwrap();
    tx.mark_notification_failed(na, "pwned", None).await.unwrap();
    let purged = tx.purge_expired(Utc::now() - Duration::days(1)).await.unwrap();
    assert_eq!(purged.sessions, 0, "tenant A's expired session is not B's to purge");

    // Writes naming tenant A are refused outright.
    assert!(tx.insert_session(&new_session(a.id, ua, "x", Duration::hours(1))).await.is_err());
    assert!(tx.insert_refresh_token(a.id, sa.id, "x", Utc::now()).await.is_err());
    assert!(tx.revoke_session(a.id, sa.id).await.is_err());
    assert!(tx.revoke_user_sessions(a.id, ua, None).await.is_err());
    assert!(tx.rotate_session_token(a.id, sa.id, "sess-a", "x").await.is_err());
    assert!(tx.touch_session(a.id, sa.id).await.is_err());
    assert!(tx.insert_otp(&new_otp(a.id, None, "t", "c")).await.is_err());
    assert!(tx.check_otp(a.id, Uuid::now_v7(), true).await.is_err());
    assert!(tx.insert_notification(&new_notification(a.id, "r", "email")).await.is_err());
    assert!(tx.upsert_notification_template(a.id, "otp", "s", "t", None).await.is_err());
    assert!(tx.delete_notification_template(a.id, "otp").await.is_err());
    assert!(tx.retry_notification(a.id, na).await.is_err());
    assert!(tx.set_mfa_secret(a.id, ua, "s").await.is_err());
    assert!(tx.enable_mfa(a.id, ua, &[], 1).await.is_err());
    assert!(tx.disable_mfa(a.id, ua).await.is_err());
    assert!(tx.claim_totp_step(a.id, ua, 1).await.is_err());
    assert!(tx.set_backup_codes(a.id, ua, &[]).await.is_err());
    assert!(tx.consume_backup_code(a.id, ua, "d").await.is_err());
    assert!(tx.set_email_verification(a.id, ua, "t", Utc::now()).await.is_err());
    assert!(tx.set_password_reset(a.id, ua, "t", Utc::now()).await.is_err());
    assert!(tx.mark_email_verified(a.id, ua).await.is_err());
    assert!(tx.set_verified_phone(a.id, ua, "+1").await.is_err());
    tx.commit().await.unwrap();

    // Tenant A is untouched.
    let mut tx = db.store.system_tx("test");
    let ta = tx.tenant_by_id(a.id).await.unwrap().unwrap();
    assert_eq!((ta.name.as_str(), ta.deleted_at), ("Tenant a", None));
    let view = tx.notification_by_id(a.id, na).await.unwrap().unwrap();
    assert_eq!((view.status.as_str(), view.retry_count, view.error_message), ("pending", 0, None));
    assert!(tx.session_by_id(a.id, expired_a.id).await.unwrap().is_some());
    assert!(matches!(tx.spend_refresh_token("rt-a").await.unwrap(), RefreshOutcome::Fresh(_)));
    assert_eq!(tx.verify_email_token("ev-a").await.unwrap().map(|x| x.id), Some(ua));
    assert_eq!(tx.reset_password("pr-a", "mine").await.unwrap().map(|x| x.id), Some(ua));
    let claimed: Vec<Uuid> =
        tx.claim_notifications(10, Duration::seconds(60)).await.unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(claimed, vec![na]);
}
