//! Delivery of the outbox: a real SMTP conversation with a sink started by
//! the test, a signed webhook received by a local HTTP server, retries with
//! backoff, permanent failures, two workers sharing 1,000 messages, a
//! message whose worker died, and a delivery the database drops right after.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::post;
use azth_server::notify::{self, SendError, Sender};
use azth_store::{NewNotification, OutboxMessage};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::db::Arg;
use crate::support::{Spawn, TestApp, spawn_app, spawn_with};

/// A minimal SMTP server that accepts every message and keeps it.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let store = mails.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            store.lock().unwrap().push(std::mem::take(body));
                            data = None;
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, mails)
}

#[tokio::test]
async fn mail_arrives_at_a_real_smtp_server() {
    let (port, mails) = smtp_sink().await;
    let app = spawn_with(Spawn {
        tweak: Some(Box::new(move |c| {
            c.smtp_url = Some(format!("smtp://127.0.0.1:{port}").into());
            c.smtp_from = "Acme IdP <id@acme.example>".into();
        })),
        ..Spawn::default()
    })
    .await;
    app.create_tenant("acme", json!({})).await;
    let c = app.signed_up("acme").await;
    let r = app.post_json("/api/v1/auth/password/forgot", Some("acme"), json!({"email": c.email})).await;
    assert_eq!(r.status(), 202);

    let found = crate::support::eventually(std::time::Duration::from_secs(10), || async {
        mails.lock().unwrap().iter().any(|m| m.contains("Reset your Tenant acme password"))
    })
    .await;
    assert!(found, "no reset mail: {:?}", mails.lock().unwrap());
    let mail = mails.lock().unwrap().iter().find(|m| m.contains("Reset your")).unwrap().clone();
    assert!(mail.contains(&format!("To: {}", c.email)), "{mail}");
    assert!(
        mail.contains("From: \"Acme IdP\" <id@acme.example>") || mail.contains("From: Acme IdP <id@acme.example>"),
        "{mail}"
    );
    assert!(mail.contains("/reset-password?token="), "{mail}");
    assert!(mail.contains("text/html"), "an HTML alternative: {mail}");
    // Nothing went to the file outbox: email has a real sender.
    assert!(app.outbox().iter().all(|m| m.channel != "email"));
}

#[tokio::test]
async fn sms_arrives_at_the_webhook_with_a_valid_signature() {
    let received: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    let receiver = Router::new().route(
        "/sms",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let secret = "a-webhook-secret-of-some-length";
    let app = spawn_with(Spawn {
        tweak: Some(Box::new(move |c| {
            c.sms_webhook_url = Some(format!("http://{addr}/sms"));
            c.sms_webhook_secret = Some(secret.to_owned().into());
        })),
        ..Spawn::default()
    })
    .await;
    app.create_tenant("acme", json!({})).await;
    let c = app.signed_up("acme").await;
    let r = app
        .post_as(
            "/api/v1/auth/otp/send",
            &c.access,
            json!({"channel": "sms", "purpose": "verification", "target": "+15550001111"}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let arrived = crate::support::eventually(std::time::Duration::from_secs(10), || async {
        !received.lock().unwrap().is_empty()
    })
    .await;
    assert!(arrived);
    let (headers, body) = received.lock().unwrap()[0].clone();
    let timestamp: i64 = headers["x-azth-timestamp"].to_str().unwrap().parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
    // The receiver's check: HMAC-SHA256 over "<timestamp>.<body>".
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(headers["x-azth-signature"].to_str().unwrap(), format!("v1={expected}"));
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["recipient"], "+15550001111");
    assert_eq!(json["channel"], "sms");
    assert!(json["body"].as_str().unwrap().chars().filter(char::is_ascii_digit).count() >= 6);
}

/// A sender scripted by the test, counting deliveries per message.
struct Scripted {
    fail_first: usize,
    permanent: bool,
    calls: Mutex<HashMap<uuid::Uuid, usize>>,
}

impl Scripted {
    fn new(fail_first: usize, permanent: bool) -> Self {
        Self { fail_first, permanent, calls: Mutex::new(HashMap::new()) }
    }
}

#[async_trait::async_trait]
impl Sender for Scripted {
    async fn send(&self, m: &OutboxMessage) -> Result<(), SendError> {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            let n = calls.entry(m.id).or_insert(0);
            *n += 1;
            *n
        };
        if n <= self.fail_first {
            return Err(if self.permanent {
                SendError::Permanent("550 no such user".into())
            } else {
                SendError::Transient("421 busy".into())
            });
        }
        Ok(())
    }
}

/// An app whose own workers do not deliver, so the test drives delivery.
async fn quiet_app() -> TestApp {
    let app = spawn_with(Spawn { tweak: Some(Box::new(|c| c.outbox.workers = 0)), ..Spawn::default() }).await;
    app.create_tenant("acme", json!({})).await;
    app
}

async fn queue(app: &TestApp, n: usize) -> Vec<uuid::Uuid> {
    let mut tx = app.state.store.system("t").await.unwrap();
    let tenant = tx.tenant_by_slug("acme").await.unwrap().unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            tx.insert_notification(&NewNotification {
                tenant_id: tenant.id,
                user_id: None,
                kind: "email".into(),
                template: "otp".into(),
                recipient: format!("r{i}@example.com"),
                subject: Some("s".into()),
                content: "c".into(),
                html_content: None,
            })
            .await
            .unwrap(),
        );
    }
    tx.commit().await.unwrap();
    ids
}

/// Makes every scheduled retry (and every lease) due now.
async fn advance_clock(app: &TestApp) {
    app.exec(
        "update notifications set scheduled_at = $1 where status <> 'sent'",
        &[Arg::Time(chrono::Utc::now() - chrono::Duration::seconds(1))],
    )
    .await;
}

async fn row(app: &TestApp, id: uuid::Uuid) -> (String, i32, Option<String>, bool) {
    let row = app
        .rows(
            "select status, retry_count, error_message, case when sent_at is null then 'no' else 'yes' end
             from notifications where id = $1",
            &[Arg::Uuid(id)],
        )
        .await
        .remove(0);
    (
        row[0].clone().unwrap(),
        row[1].as_deref().unwrap().parse().unwrap(),
        row[2].clone(),
        row[3].as_deref() == Some("yes"),
    )
}

#[tokio::test]
async fn transient_failures_are_retried_until_sent() {
    let app = quiet_app().await;
    let id = queue(&app, 1).await[0];
    let sender = Scripted::new(2, false);
    for _ in 0..3 {
        assert_eq!(notify::drain_once(&app.state, &sender).await.unwrap(), 1);
        // The retry is scheduled in the future: nothing is due until then.
        assert_eq!(notify::drain_once(&app.state, &sender).await.unwrap(), 0);
        advance_clock(&app).await;
    }
    let (status, retries, error, sent) = row(&app, id).await;
    assert_eq!((status.as_str(), retries, sent), ("sent", 2, true));
    assert_eq!(error, None);
}

#[tokio::test]
async fn a_message_failing_always_ends_failed_after_max_retries() {
    let app = quiet_app().await;
    let id = queue(&app, 1).await[0];
    let sender = Scripted::new(usize::MAX, false);
    for _ in 0..10 {
        notify::drain_once(&app.state, &sender).await.unwrap();
        advance_clock(&app).await;
    }
    let (status, retries, error, sent) = row(&app, id).await;
    assert_eq!((status.as_str(), retries, sent), ("failed", 4, false));
    assert!(error.unwrap().contains("421"));
    assert_eq!(sender.calls.lock().unwrap()[&id], 4, "the first try and max_retries (3) retries");
}

#[tokio::test]
async fn a_permanent_failure_fails_at_once() {
    let app = quiet_app().await;
    let id = queue(&app, 1).await[0];
    let sender = Scripted::new(usize::MAX, true);
    notify::drain_once(&app.state, &sender).await.unwrap();
    advance_clock(&app).await;
    assert_eq!(notify::drain_once(&app.state, &sender).await.unwrap(), 0);
    let (status, _, error, _) = row(&app, id).await;
    assert_eq!(status, "failed");
    assert!(error.unwrap().contains("550"));
}

#[tokio::test]
async fn two_workers_deliver_a_thousand_messages_exactly_once() {
    let app = quiet_app().await;
    let ids = queue(&app, 1000).await;
    let sender = Arc::new(Scripted::new(0, false));
    let worker = |sender: Arc<Scripted>| {
        let state = app.state.clone();
        tokio::spawn(async move { while notify::drain_once(&state, sender.as_ref()).await.unwrap() > 0 {} })
    };
    let (a, b) = tokio::join!(worker(sender.clone()), worker(sender.clone()));
    a.unwrap();
    b.unwrap();
    let calls = sender.calls.lock().unwrap();
    assert_eq!(calls.len(), 1000);
    assert!(ids.iter().all(|id| calls.get(id) == Some(&1)), "every message exactly once");
}

#[tokio::test]
async fn a_message_whose_worker_died_is_delivered_after_the_lease() {
    let app = quiet_app().await;
    let id = queue(&app, 1).await[0];
    // A worker claims the message and dies before delivering it.
    let mut tx = app.state.store.system("t").await.unwrap();
    assert_eq!(tx.claim_notifications(10, chrono::Duration::seconds(60)).await.unwrap().len(), 1);
    tx.commit().await.unwrap();
    let sender = Scripted::new(0, false);
    assert_eq!(notify::drain_once(&app.state, &sender).await.unwrap(), 0, "leased to the dead worker");
    advance_clock(&app).await; // the lease runs out
    assert_eq!(notify::drain_once(&app.state, &sender).await.unwrap(), 1);
    assert_eq!(row(&app, id).await.0, "sent");
}

/// A sender that cuts the database (through the test's proxy) right after
/// each delivery, as if PostgreSQL restarted at that moment.
struct CutsTheDatabase<'a> {
    proxy: &'a crate::support::Proxy,
    sent: Mutex<Vec<uuid::Uuid>>,
}

#[async_trait::async_trait]
impl Sender for CutsTheDatabase<'_> {
    async fn send(&self, m: &OutboxMessage) -> Result<(), SendError> {
        self.sent.lock().unwrap().push(m.id);
        self.proxy.down();
        Ok(())
    }
}

#[tokio::test]
async fn a_delivery_is_recorded_even_when_the_database_drops_right_after_it() {
    let app =
        spawn_with(Spawn { db_proxy: true, tweak: Some(Box::new(|c| c.outbox.workers = 0)), ..Spawn::default() }).await;
    app.create_tenant("acme", json!({})).await;
    let id = queue(&app, 1).await[0];
    let proxy = app.db_proxy.as_ref().unwrap();
    let sender = CutsTheDatabase { proxy, sent: Mutex::new(Vec::new()) };
    // The database returns 1.5 s after the delivery (past the pool's 1 s
    // acquire timeout): the worker waits for it to record the delivery.
    let back = async {
        while sender.sent.lock().unwrap().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        proxy.up();
    };
    let (drained, ()) = tokio::join!(notify::drain_once(&app.state, &sender), back);
    assert_eq!(drained.unwrap(), 1);
    assert_eq!(row(&app, id).await.0, "sent", "recorded, not left leased to be sent again");
    advance_clock(&app).await; // any lease runs out
    let again = Scripted::new(0, false);
    assert_eq!(notify::drain_once(&app.state, &again).await.unwrap(), 0, "nothing to deliver a second time");
    assert_eq!(*sender.sent.lock().unwrap(), vec![id]);
}

#[tokio::test]
async fn maintenance_creates_partitions_and_purges_expired_rows() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;
    let c = app.signed_up("acme").await;
    let session = Arg::Uuid(c.session_id.parse().unwrap());
    app.exec(
        "update sessions set expires_at = $2 where id = $1",
        &[session.clone(), Arg::Time(chrono::Utc::now() - chrono::Duration::days(3))],
    )
    .await;
    let (_, _, purged) = azth_server::maintenance::run_once(&app.state).await.unwrap();
    assert_eq!(purged.sessions, 1);
    let left = app.scalar("select count(*) from refresh_tokens where session_id = $1", &[session]).await;
    assert_eq!(left.as_deref(), Some("0"), "refresh tokens go with their session");
    let (created, dropped, _) = azth_server::maintenance::run_once(&app.state).await.unwrap();
    assert_eq!((created, dropped), (0, 0), "idempotent");
}

/// Gap G4: once a message is delivered its row no longer holds the body
/// (live links and codes); the link in the delivered message still works.
#[tokio::test]
async fn delivered_messages_leave_no_live_link_in_the_database() {
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;
    let c = app.signed_up("acme").await;
    let message = app.message(&c.email, "verification").await;
    let token = message.token();
    let status = || async {
        app.scalar(
            "select status from notifications where recipient = $1 and template = 'verification'",
            &[Arg::Text(c.email.clone())],
        )
        .await
    };
    assert!(
        crate::support::eventually(std::time::Duration::from_secs(10), || async {
            status().await.as_deref() == Some("sent")
        })
        .await
    );
    let rows = app
        .rows(
            "select content, html_content from notifications where recipient = $1 and template = 'verification'",
            &[Arg::Text(c.email.clone())],
        )
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0].as_deref(), Some(azth_store::DELIVERED_CONTENT));
    assert!(rows[0][1].as_deref().is_none_or(|html| html == azth_store::DELIVERED_CONTENT), "{:?}", rows[0][1]);
    assert!(rows[0].iter().flatten().all(|column| !column.contains(&token)));

    let r = app.post_json("/api/v1/auth/email/verify", None, json!({"token": token})).await;
    assert_eq!(r.status(), 200);
}

/// Gap G10: what azth writes under the data dir is readable by its user
/// only — the directories 0700, outbox messages and the SQLite database 0600.
#[cfg(unix)]
#[tokio::test]
async fn the_data_dir_and_outbox_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| format!("{:o}", std::fs::metadata(path).unwrap().permissions().mode() & 0o777);
    let app = spawn_app().await;
    app.create_tenant("acme", json!({})).await;
    let c = app.signed_up("acme").await;
    app.message(&c.email, "verification").await;

    let outbox = app.data_dir.join("outbox");
    assert_eq!(mode(&app.data_dir), "700", "the data dir");
    assert_eq!(mode(&outbox), "700", "the outbox");
    let files: Vec<_> = std::fs::read_dir(&outbox).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(!files.is_empty());
    for file in files {
        assert_eq!(mode(&file), "600", "{}", file.display());
    }
    if crate::support::on_sqlite() {
        for name in ["azth.db", "azth.db-wal", "azth.db-shm"] {
            let path = app.data_dir.join(name);
            if path.exists() {
                assert_eq!(mode(&path), "600", "{name}");
            }
        }
    }
}
