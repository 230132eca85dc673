//! Reliability under faults (issue 11): a real azth server on a private
//! PostgreSQL cluster and a private Redis (`faults/cluster.rs`), a mixed
//! load — password logins, refreshes, `GET /me`, admin user creation — and,
//! one after another:
//!
//! (a) Redis stopped, then restarted (empty: no persistence);
//! (b) Redis frozen with SIGSTOP for 5 s, then SIGCONT;
//! (c) PostgreSQL restarted (fast shutdown, then start);
//! (d) every PostgreSQL backend terminated (`pg_terminate_backend`).
//!
//! Asserted: no 5xx but 503, every 503 with `Retry-After`, no request left
//! without an answer; 5 s after each fault is lifted nothing fails; a
//! signed-out access token never works again (during a Redis outage, after
//! it, after Redis lost its data); and after the run the data holds
//! together: sessions have live users, users have tenants, every 201 of
//! `POST /users` has its `users.created` audit row, every invitation queued
//! is in the outbox (sent or still due), none delivered twice.
//!
//! The second test stops a server under load (as SIGTERM does) and checks
//! that every request the server took received a complete response.
//!
//! Run with `--nocapture` to see the table of observed behaviour
//! (docs/OPERATIONS.md, "Faults: observed behaviour"). The application's
//! pool has 10 connections for the 8 clients; `AZTH_FAULTS_POOL=N` changes
//! that (with 3, the Redis faults cost some 503s: every request then reads
//! tenants, permissions and revocations from PostgreSQL).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "faults/cluster.rs"]
mod cluster;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use azth_core::crypto::seal::MasterKey;
use azth_server::state::AppState;
use azth_server::{Application, Config};
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};

use cluster::{Postgres, Redis};

/// The bootstrap operator's password.
const ADMIN_PASSWORD: &str = "correct horse battery staple";
/// Concurrent load clients.
const CLIENTS: usize = 8;
/// After a fault is lifted, requests may fail for this long; not after.
const RECOVERY: Duration = Duration::from_secs(5);
/// How long the load runs past `RECOVERY` before the next fault, every
/// request of which must succeed.
const CLEAN_WINDOW: Duration = Duration::from_millis(2500);

/// The two tests start private clusters and load the machine: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn block<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

// ------------------------------------------------------------ the server

/// Private services and an azth server on them. Fields drop in order: the
/// server first, then the services.
struct Harness {
    addr: SocketAddr,
    state: AppState,
    client: reqwest::Client,
    data_dir: std::path::PathBuf,
    db_name: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    redis: Redis,
    pg: Postgres,
}

impl Harness {
    async fn start() -> Self {
        cluster::sweep_leftovers();
        let (pg, redis) = block(|| (Postgres::start(), Redis::start()));
        // The application's role and database, as in azth-store's testing
        // module: a login role with CREATEDB and CREATEROLE, not superuser.
        let db_name = "azth".to_owned();
        let mut admin = PgConnection::connect(&pg.admin_url()).await.expect("connecting to the private cluster");
        admin.execute("create role azth login nosuperuser createdb createrole password 'azth'").await.unwrap();
        admin.execute("create database azth owner azth").await.unwrap();
        admin.close().await.unwrap();
        let db_url = format!("postgres://azth:azth@127.0.0.1:{}/{db_name}", pg.port);

        let data_dir = std::env::temp_dir().join(format!("azth-faults-data-{}", uuid::Uuid::new_v4().simple()));
        let mut config = Config { listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
        config.database.url = Some(SecretString::from(db_url));
        config.database.max_connections =
            std::env::var("AZTH_FAULTS_POOL").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
        config.database.acquire_timeout_ms = 1_000;
        config.redis.url = Some(SecretString::from(redis.url()));
        config.redis.key_prefix = "azth:faults:".into();
        config.log.filter = std::env::var("TEST_LOG").unwrap_or_else(|_| "off".into());
        config.password_hash = "argon2id:m=1024,t=1,p=1".into();
        config.master_key = Some(SecretString::from(MasterKey::generate().unwrap().to_base64().to_string()));
        config.bootstrap.admin_email = "root@example.com".into();
        config.bootstrap.admin_password = Some(SecretString::from(ADMIN_PASSWORD.to_owned()));
        config.data_dir = data_dir.clone();
        config.ip_rate_limit = 0;
        azth_server::telemetry::init(&config.log);

        let app = Application::build(config).await.expect("building the app");
        let addr = app.local_addr();
        let state = app.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        Self { addr, state, client, data_dir, db_name, shutdown: Some(tx), server: Some(server), redis, pg }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A superuser connection to the application's database (sees every row).
    async fn superuser(&self) -> PgConnection {
        let url = format!("postgres://postgres@127.0.0.1:{}/{}", self.pg.port, self.db_name);
        PgConnection::connect(&url).await.expect("superuser connection")
    }

    /// Signals shutdown (as SIGTERM does) and waits for the server to stop.
    async fn stop(&mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(handle) => tokio::time::timeout(Duration::from_secs(40), handle)
                .await
                .expect("the server stops within its grace period")
                .unwrap(),
            None => Ok(()),
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Sends a JSON request and expects `status`; returns the body.
async fn expect(request: reqwest::RequestBuilder, status: u16) -> Value {
    let r = request.send().await.unwrap();
    let got = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() }
}

/// A user of the load tenant.
#[derive(Clone)]
struct Account {
    email: String,
    password: String,
}

/// Signs in; returns (access token, refresh token).
async fn sign_in(h: &Harness, tenant: &str, account: &Account) -> (String, String) {
    let body = expect(
        h.client
            .post(h.url("/api/v1/auth/login"))
            .header("x-tenant-id", tenant)
            .json(&json!({"identifier": account.email, "password": account.password})),
        200,
    )
    .await;
    (body["access_token"].as_str().unwrap().to_owned(), body["refresh_token"].as_str().unwrap().to_owned())
}

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}

fn password() -> String {
    format!("pw-{}-Zq", uuid::Uuid::new_v4().simple())
}

/// The load tenant (made through the API), its owner's access token, and users.
async fn seed(h: &Harness, users: usize) -> (String, String, Vec<Account>) {
    let (operator, _) =
        sign_in(h, "system", &Account { email: "root@example.com".into(), password: ADMIN_PASSWORD.into() }).await;
    let slug = "faults".to_owned();
    let owner = Account { email: format!("owner-{}@example.com", unique()), password: password() };
    expect(
        h.client.post(h.url("/api/v1/tenants")).bearer_auth(&operator).json(&json!({
            "name": "Faults", "slug": slug, "owner": {"email": owner.email, "password": owner.password}
        })),
        201,
    )
    .await;
    let (owner_access, _) = sign_in(h, &slug, &owner).await;
    let mut accounts = Vec::new();
    for i in 0..users {
        let account = Account { email: format!("load-{i}-{}@example.com", unique()), password: password() };
        expect(
            h.client
                .post(h.url("/api/v1/users"))
                .bearer_auth(&owner_access)
                .json(&json!({"email": account.email, "password": account.password})),
            201,
        )
        .await;
        accounts.push(account);
    }
    (slug, owner_access, accounts)
}

// --------------------------------------------------------------- the load

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
enum Kind {
    Login,
    Refresh,
    Me,
    CreateUser,
}

const KINDS: [Kind; 4] = [Kind::Login, Kind::Refresh, Kind::Me, Kind::CreateUser];

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Refresh => "refresh",
            Self::Me => "me",
            Self::CreateUser => "create user",
        }
    }
}

/// One request of the load and how it went.
#[derive(Clone, Debug)]
struct Outcome {
    kind: Kind,
    start: Instant,
    end: Instant,
    /// None: no HTTP answer (connection error or client timeout).
    status: Option<u16>,
    retry_after: bool,
    /// Error code or transport error, for messages.
    note: String,
}

impl Outcome {
    fn ok(&self) -> bool {
        matches!(self.status, Some(200 | 201 | 204))
    }
}

#[derive(Default)]
struct Record {
    outcomes: Mutex<Vec<Outcome>>,
    /// Users answered 201, and whether they were invited (no password).
    created: Mutex<Vec<(String, bool)>>,
    stop: AtomicBool,
}

/// Sends one request of the load and records it; returns its status (None:
/// no answer) and, for a success, its body.
async fn attempt(record: &Record, kind: Kind, request: reqwest::RequestBuilder) -> (Option<u16>, Option<Value>) {
    let start = Instant::now();
    let (status, retry_after, note, body) = match request.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let retry_after = r.headers().contains_key("retry-after");
            match r.text().await {
                Ok(text) => {
                    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    let note = body["code"].as_str().unwrap_or_default().to_owned();
                    (Some(status), retry_after, note, Some(body))
                }
                Err(e) => (None, false, format!("body: {e}"), None),
            }
        }
        Err(e) => (None, false, format!("{e:?}"), None),
    };
    let outcome = Outcome { kind, start, end: Instant::now(), status, retry_after, note };
    let ok = outcome.ok();
    record.outcomes.lock().unwrap().push(outcome);
    (status, if ok { body } else { None })
}

/// One load client: sign in, `GET /me`, refresh, `GET /me`, create a user
/// (every other one invited, which queues an email); again until stopped.
async fn client(h: Arc<Harness>, record: Arc<Record>, tenant: String, owner: String, me: Account, i: usize) {
    let mut tokens: Option<(String, String)> = None;
    let mut n = 0u64;
    while !record.stop.load(Ordering::Relaxed) {
        n += 1;
        let login = h
            .client
            .post(h.url("/api/v1/auth/login"))
            .header("x-tenant-id", &tenant)
            .json(&json!({"identifier": me.email, "password": me.password}));
        if let (_, Some(body)) = attempt(&record, Kind::Login, login).await {
            tokens = Some((
                body["access_token"].as_str().unwrap().to_owned(),
                body["refresh_token"].as_str().unwrap().to_owned(),
            ));
        }
        if let Some((access, refresh)) = tokens.clone() {
            attempt(&record, Kind::Me, h.client.get(h.url("/api/v1/me")).bearer_auth(&access)).await;
            let request = h.client.post(h.url("/api/v1/auth/refresh")).json(&json!({"refresh_token": refresh}));
            match attempt(&record, Kind::Refresh, request).await {
                (_, Some(body)) => {
                    let access = body["access_token"].as_str().unwrap().to_owned();
                    tokens = Some((access.clone(), body["refresh_token"].as_str().unwrap().to_owned()));
                    attempt(&record, Kind::Me, h.client.get(h.url("/api/v1/me")).bearer_auth(&access)).await;
                }
                // Refused for good (not a 503): sign in again next round.
                (Some(status), None) if status < 500 => tokens = None,
                _ => {}
            }
        }
        let invited = n.is_multiple_of(2);
        let email = format!("c{i}-{n}-{}@example.com", unique());
        let body = if invited { json!({"email": email}) } else { json!({"email": email, "password": password()}) };
        let create = h.client.post(h.url("/api/v1/users")).bearer_auth(&owner).json(&body);
        if let (_, Some(user)) = attempt(&record, Kind::CreateUser, create).await {
            record.created.lock().unwrap().push((user["id"].as_str().unwrap().to_owned(), invited));
        }
        // Pace the clients a little so eight of them leave the server CPU on two cores.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Access tokens whose session was signed out, and when.
#[derive(Default)]
struct Revoked {
    tokens: Mutex<Vec<(String, String)>>,
    /// (token label, status, seconds since the run started) of each 200.
    accepted: Mutex<Vec<(String, u16, f64)>>,
    probes: std::sync::atomic::AtomicU64,
    stop: AtomicBool,
}

/// Presents every signed-out token, every 20 ms, until stopped: none may work.
async fn revocation_probe(h: Arc<Harness>, revoked: Arc<Revoked>, t0: Instant) {
    while !revoked.stop.load(Ordering::Relaxed) {
        let tokens = revoked.tokens.lock().unwrap().clone();
        for (label, token) in tokens {
            if let Ok(r) = h.client.get(h.url("/api/v1/me")).bearer_auth(&token).send().await {
                let status = r.status().as_u16();
                revoked.probes.fetch_add(1, Ordering::Relaxed);
                if (200..300).contains(&status) {
                    revoked.accepted.lock().unwrap().push((label, status, t0.elapsed().as_secs_f64()));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Signs `account` out of a fresh session and adds its access token to the probe.
async fn sign_out(h: &Harness, revoked: &Revoked, label: &str, access: String) {
    let r = h.client.post(h.url("/api/v1/auth/logout")).bearer_auth(&access).send().await.unwrap();
    let status = r.status().as_u16();
    assert_eq!(status, 204, "{label}: sign-out answered {status}: {}", r.text().await.unwrap_or_default());
    revoked.tokens.lock().unwrap().push((label.to_owned(), access));
}

// ------------------------------------------------------------- the faults

#[derive(Clone, Copy, Debug)]
enum Fault {
    RedisRestart,
    RedisFreeze,
    PostgresRestart,
    PostgresTerminate,
}

impl Fault {
    fn label(self) -> &'static str {
        match self {
            Self::RedisRestart => "(a) Redis stopped 3 s, restarted empty",
            Self::RedisFreeze => "(b) Redis SIGSTOP 5 s, SIGCONT",
            Self::PostgresRestart => "(c) PostgreSQL fast stop + start",
            Self::PostgresTerminate => "(d) pg_terminate_backend (all)",
        }
    }
}

/// When a fault began, was lifted, and its observation window ended.
struct Phase {
    fault: Fault,
    start: Instant,
    lifted: Instant,
    end: Instant,
}

/// Injects `fault` and returns when it is lifted. For the Redis faults a
/// session is signed out before the outage and another one during it.
async fn inject(h: &Harness, fault: Fault, revoked: &Revoked, tenant: &str, prober: &Account) -> (Instant, Instant) {
    match fault {
        Fault::RedisRestart | Fault::RedisFreeze => {
            let tag = if matches!(fault, Fault::RedisRestart) { "a" } else { "b" };
            let (before, _) = sign_in(h, tenant, prober).await;
            let (during, _) = sign_in(h, tenant, prober).await;
            sign_out(h, revoked, &format!("({tag}) signed out before the outage"), before).await;
            let start = Instant::now();
            let hold = if matches!(fault, Fault::RedisRestart) {
                block(|| h.redis.stop());
                Duration::from_secs(3)
            } else {
                block(|| h.redis.freeze());
                Duration::from_secs(5)
            };
            // Into the outage (the first commands have failed or timed
            // out), a sign-out: the marker cannot reach Redis.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            sign_out(h, revoked, &format!("({tag}) signed out during the outage"), during).await;
            tokio::time::sleep((start + hold).saturating_duration_since(Instant::now())).await;
            if matches!(fault, Fault::RedisRestart) {
                block(|| h.redis.restart());
            } else {
                block(|| h.redis.thaw());
            }
            (start, Instant::now())
        }
        Fault::PostgresRestart => {
            let start = Instant::now();
            block(|| {
                h.pg.stop_fast();
                h.pg.start_server();
            });
            (start, Instant::now())
        }
        Fault::PostgresTerminate => {
            let mut admin = PgConnection::connect(&h.pg.admin_url()).await.unwrap();
            let start = Instant::now();
            let killed: i64 = sqlx::query_scalar(
                "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity
                  where backend_type = 'client backend' and pid <> pg_backend_pid()) t",
            )
            .fetch_one(&mut admin)
            .await
            .unwrap();
            let lifted = Instant::now();
            admin.close().await.unwrap();
            assert!(killed > 0, "the application had backends to terminate");
            (start, lifted)
        }
    }
}

/// What one fault did to the load.
struct Observed {
    label: &'static str,
    requests: usize,
    unavailable: usize,
    other_errors: usize,
    slowest: Duration,
    /// Per kind: from the lift to the end of the first success that started
    /// after the fault did (None: no success seen).
    recovery: BTreeMap<Kind, Option<Duration>>,
    /// Failures after `RECOVERY`.
    late_failures: Vec<String>,
    /// Failures by kind, status and code, with when they started (relative to the lift).
    failures: BTreeMap<String, Vec<f64>>,
}

fn observe(phase: &Phase, outcomes: &[Outcome]) -> Observed {
    // A request belongs to the phase it ended in: one that was under way
    // when the next fault began is that fault's.
    let mine: Vec<&Outcome> = outcomes.iter().filter(|o| o.end >= phase.start && o.end < phase.end).collect();
    let recovery = KINDS
        .iter()
        .map(|&k| {
            let first = mine
                .iter()
                .filter(|o| o.kind == k && o.ok() && o.end >= phase.lifted)
                .map(|o| o.end.duration_since(phase.lifted))
                .min();
            (k, first)
        })
        .collect();
    let late_failures = mine
        .iter()
        .filter(|o| !o.ok() && o.start >= phase.lifted + RECOVERY)
        .map(|o| {
            format!(
                "{} at lift+{:.2}s: {:?} {}",
                o.kind.label(),
                o.start.duration_since(phase.lifted).as_secs_f64(),
                o.status,
                o.note
            )
        })
        .collect();
    let mut failures: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for o in mine.iter().filter(|o| !o.ok()) {
        let at =
            o.start.duration_since(phase.start).as_secs_f64() - phase.lifted.duration_since(phase.start).as_secs_f64();
        failures
            .entry(format!("{} {:?} {}", o.kind.label(), o.status, o.note))
            .or_default()
            .push((at * 100.0).round() / 100.0);
    }
    Observed {
        failures,
        label: phase.fault.label(),
        requests: mine.len(),
        unavailable: mine.iter().filter(|o| o.status == Some(503)).count(),
        other_errors: mine.iter().filter(|o| !o.ok() && o.status != Some(503)).count(),
        slowest: mine.iter().map(|o| o.end.duration_since(o.start)).max().unwrap_or_default(),
        recovery,
        late_failures,
    }
}

fn ms(d: Option<Duration>) -> String {
    d.map_or_else(|| "—".to_owned(), |d| format!("{} ms", d.as_millis()))
}

fn table(rows: &[Observed]) -> String {
    let mut out = String::from(
        "| fault | requests | 503 | other errors | slowest | recovery: login | refresh | me | create user |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} ms | {} | {} | {} | {} |\n",
            r.label,
            r.requests,
            r.unavailable,
            r.other_errors,
            r.slowest.as_millis(),
            ms(r.recovery[&Kind::Login]),
            ms(r.recovery[&Kind::Refresh]),
            ms(r.recovery[&Kind::Me]),
            ms(r.recovery[&Kind::CreateUser]),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn faults_under_mixed_load() {
    let _serial = SERIAL.lock().await;
    let run_started = Instant::now();
    let h = Arc::new(Harness::start().await);
    let (tenant, owner, mut accounts) = seed(&h, CLIENTS + 1).await;
    let prober = accounts.pop().unwrap();

    let record = Arc::new(Record::default());
    let revoked = Arc::new(Revoked::default());
    let t0 = Instant::now();
    let clients: Vec<_> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| tokio::spawn(client(h.clone(), record.clone(), tenant.clone(), owner.clone(), a.clone(), i)))
        .collect();
    let probe = tokio::spawn(revocation_probe(h.clone(), revoked.clone(), t0));

    // A healthy baseline first: every request succeeds.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let baseline_end = Instant::now();

    let mut phases = Vec::new();
    for fault in [Fault::RedisRestart, Fault::RedisFreeze, Fault::PostgresRestart, Fault::PostgresTerminate] {
        let (start, lifted) = inject(&h, fault, &revoked, &tenant, &prober).await;
        let end = lifted + RECOVERY + CLEAN_WINDOW;
        tokio::time::sleep(end.saturating_duration_since(Instant::now())).await;
        phases.push(Phase { fault, start, lifted, end });
    }

    record.stop.store(true, Ordering::Relaxed);
    for c in clients {
        tokio::time::timeout(Duration::from_secs(30), c).await.expect("a load client stops").unwrap();
    }
    // Signed-out tokens stay refused after everything (Redis restarted empty).
    tokio::time::sleep(Duration::from_millis(200)).await;
    revoked.stop.store(true, Ordering::Relaxed);
    probe.await.unwrap();
    let mut at_the_end = Vec::new();
    let tokens = revoked.tokens.lock().unwrap().clone();
    for (label, token) in tokens {
        let r = h.client.get(h.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
        at_the_end.push((label, r.status().as_u16()));
    }

    let outcomes = record.outcomes.lock().unwrap().clone();
    let observed: Vec<Observed> = phases.iter().map(|p| observe(p, &outcomes)).collect();
    println!("\nFaults under mixed load ({CLIENTS} clients, {} requests):\n", outcomes.len());
    println!("{}", table(&observed));
    for o in &observed {
        for (what, at) in &o.failures {
            println!("{}: {} × {what}, started at lift{:+?} s", o.label, at.len(), at);
        }
    }
    println!(
        "revocation probes: {} ({} tokens), accepted: {:?}",
        revoked.probes.load(Ordering::Relaxed),
        revoked.tokens.lock().unwrap().len(),
        revoked.accepted.lock().unwrap()
    );

    println!("signed-out tokens at the end: {at_the_end:?}");
    assert!(at_the_end.iter().all(|(_, s)| *s == 401), "signed-out tokens accepted at the end: {at_the_end:?}");

    // Nothing but 503 among server errors, each with Retry-After, and every
    // request got an answer.
    let bad: Vec<String> = outcomes
        .iter()
        .filter(|o| match o.status {
            None => true,
            Some(503) => !o.retry_after,
            Some(s) => s >= 500,
        })
        .map(|o| format!("{}: {:?} {} ({:?} in)", o.kind.label(), o.status, o.note, o.start.duration_since(t0)))
        .collect();
    assert!(bad.is_empty(), "server errors other than 503 + Retry-After, or no answer: {bad:#?}");
    // The baseline had no failure at all.
    let baseline: Vec<&Outcome> = outcomes.iter().filter(|o| o.start < baseline_end).collect();
    assert!(baseline.len() > 20, "the baseline ran ({} requests)", baseline.len());
    assert!(
        baseline.iter().all(|o| o.ok()),
        "baseline failures: {:?}",
        baseline.iter().filter(|o| !o.ok()).collect::<Vec<_>>()
    );
    for (phase, o) in phases.iter().zip(&observed) {
        assert!(
            o.late_failures.is_empty(),
            "{}: failures after {RECOVERY:?} of recovery: {:#?}",
            o.label,
            o.late_failures
        );
        assert_eq!(o.other_errors, 0, "{}: errors other than 503", o.label);
        // The load went on through the whole window.
        for k in KINDS {
            let clean = outcomes
                .iter()
                .filter(|x| x.kind == k && x.start >= phase.lifted + RECOVERY && x.end < phase.end)
                .count();
            assert!(clean > 0, "{}: no {} after recovery", o.label, k.label());
        }
    }
    // A signed-out token never worked.
    assert!(
        revoked.accepted.lock().unwrap().is_empty(),
        "signed-out tokens accepted: {:?}",
        revoked.accepted.lock().unwrap()
    );
    assert!(revoked.probes.load(Ordering::Relaxed) > 100, "the revocation probe ran");

    let created = record.created.lock().unwrap().clone();
    check_invariants(&h, &created).await;

    let mut h = Arc::into_inner(h).expect("every task let go of the harness");
    h.stop().await.expect("the server stops cleanly");
    drop(h);
    println!("faults_under_mixed_load: {:.1} s", run_started.elapsed().as_secs_f64());
}

/// The data after the run: nothing orphaned, nothing lost, nothing sent twice.
async fn check_invariants(h: &Harness, created: &[(String, bool)]) {
    let mut db = h.superuser().await;
    let orphan_sessions: i64 = sqlx::query_scalar(
        "select count(*) from sessions s left join users u on u.tenant_id = s.tenant_id and u.id = s.user_id
         where u.id is null or u.deleted_at is not null",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(orphan_sessions, 0, "sessions without a live user");
    let orphan_users: i64 =
        sqlx::query_scalar("select count(*) from users u left join tenants t on t.id = u.tenant_id where t.id is null")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(orphan_users, 0, "users without a tenant");

    // Every 201 is committed, with its audit row.
    assert!(created.len() > 20, "admin writes happened ({})", created.len());
    let ids: Vec<uuid::Uuid> = created.iter().map(|(id, _)| id.parse().unwrap()).collect();
    let users: Vec<uuid::Uuid> =
        sqlx::query_scalar("select id from users where id = any($1)").bind(&ids).fetch_all(&mut db).await.unwrap();
    let audited: Vec<uuid::Uuid> = sqlx::query_scalar(
        "select distinct resource_id from audit_logs where action = 'users.created' and resource_id = any($1)",
    )
    .bind(&ids)
    .fetch_all(&mut db)
    .await
    .unwrap();
    let (users, audited): (HashSet<_>, HashSet<_>) = (users.into_iter().collect(), audited.into_iter().collect());
    let missing_users: Vec<_> = ids.iter().filter(|id| !users.contains(id)).collect();
    let missing_audit: Vec<_> = ids.iter().filter(|id| !audited.contains(id)).collect();
    assert!(missing_users.is_empty(), "users answered 201 but absent: {missing_users:?}");
    assert!(missing_audit.is_empty(), "users answered 201 without their users.created audit row: {missing_audit:?}");

    // The outbox: wait until nothing is due any more (the worker caught up).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let due: i64 = sqlx::query_scalar(
            "select count(*) from notifications where status in ('pending', 'retrying', 'sending') and scheduled_at <= now()",
        )
        .fetch_one(&mut db)
        .await
        .unwrap();
        if due == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{due} notifications still due 20 s after the load");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows: Vec<(uuid::Uuid, Option<uuid::Uuid>, String)> =
        sqlx::query_as("select id, user_id, status from notifications").fetch_all(&mut db).await.unwrap();
    let status: HashMap<uuid::Uuid, String> = rows.iter().map(|(id, _, s)| (*id, s.clone())).collect();
    let failed: Vec<_> =
        rows.iter().filter(|(_, _, s)| !matches!(s.as_str(), "sent" | "pending" | "retrying" | "sending")).collect();
    assert!(failed.is_empty(), "notifications neither sent nor still to be sent: {failed:?}");
    // Every invitation answered 201 was queued.
    let queued_for: HashSet<uuid::Uuid> = rows.iter().filter_map(|(_, u, _)| *u).collect();
    let invited: Vec<uuid::Uuid> = created.iter().filter(|(_, inv)| *inv).map(|(id, _)| id.parse().unwrap()).collect();
    assert!(!invited.is_empty(), "invitations were sent");
    let lost: Vec<_> = invited.iter().filter(|id| !queued_for.contains(id)).collect();
    assert!(lost.is_empty(), "invited users without their invitation: {lost:?}");

    // The file outbox: each file a notification of the table, each id once,
    // and no file for a row still to be delivered (it would go out twice).
    let mut seen: HashMap<uuid::Uuid, usize> = HashMap::new();
    let dir = h.data_dir.join("outbox");
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(".json") {
            continue;
        }
        let message: Value = serde_json::from_slice(&std::fs::read(entry.path()).unwrap()).unwrap();
        let id: uuid::Uuid = message["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(name, format!("{id}.json"), "a file's name is its notification id");
        *seen.entry(id).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let unknown: Vec<_> = seen.keys().filter(|id| !status.contains_key(id)).collect();
    assert!(unknown.is_empty(), "files for no notification: {unknown:?}");
    let again: Vec<_> = seen.keys().filter(|id| status[id] != "sent").map(|id| (id, &status[id])).collect();
    assert!(again.is_empty(), "delivered but not marked sent (would be delivered again): {again:?}");
    let undelivered: Vec<_> = status.iter().filter(|(id, s)| *s == "sent" && !seen.contains_key(id)).collect();
    assert!(undelivered.is_empty(), "marked sent without a file: {undelivered:?}");
    println!(
        "invariants: {} users created ({} invited), {} notifications ({} sent), {} outbox files",
        created.len(),
        invited.len(),
        rows.len(),
        status.values().filter(|s| *s == "sent").count(),
        seen.len()
    );
    db.close().await.unwrap();
}

// ------------------------------------------------------- SIGTERM under load

/// How one raw HTTP/1.1 exchange (a fresh connection, `Connection: close`) ended.
#[derive(Debug, Clone)]
enum Exchange {
    /// The connection was refused: the server no longer listens.
    Refused,
    /// Connected and sent, but not a byte came back (EOF or reset).
    NoResponse { sent: Instant, end: Instant },
    /// Part of a response, then EOF or reset: a response cut off.
    Truncated { sent: Instant, bytes: usize, error: String },
    /// A complete response.
    Complete { status: u16, sent: Instant, end: Instant },
}

/// Whether `bytes` is one complete HTTP/1.1 response; its status if so.
fn complete_response(bytes: &[u8]) -> Option<u16> {
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&bytes[..head_end]).ok()?;
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    let body = &bytes[head_end..];
    if let Some(length) = header("content-length") {
        return (body.len() == length.parse::<usize>().ok()?).then_some(status);
    }
    if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        // Walk the chunks up to the last (zero-sized) one and its CRLF.
        let mut rest = body;
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).ok()?.trim(), 16).ok()?;
            rest = &rest[line_end + 2..];
            if size == 0 {
                return rest.starts_with(b"\r\n").then_some(status);
            }
            rest = rest.get(size + 2..)?;
        }
    }
    // Neither: the body runs to EOF, which came.
    Some(status)
}

/// Sends `request` on a fresh connection and reads the answer to EOF.
async fn exchange(addr: SocketAddr, request: &[u8]) -> Exchange {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(Ok(mut stream)) = tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr)).await
    else {
        return Exchange::Refused;
    };
    let written = stream.write_all(request).await;
    let sent = Instant::now();
    let mut bytes = Vec::new();
    let mut error = written.err().map(|e| format!("write: {e}"));
    if error.is_none() {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await {
                Ok(Ok(0)) => break,
                Ok(Ok(n)) => bytes.extend_from_slice(&buf[..n]),
                Ok(Err(e)) => {
                    error = Some(format!("read: {e}"));
                    break;
                }
                Err(_) => {
                    error = Some("read: no answer within 30 s".into());
                    break;
                }
            }
        }
    }
    let end = Instant::now();
    match complete_response(&bytes) {
        Some(status) => Exchange::Complete { status, sent, end },
        None if bytes.is_empty() => Exchange::NoResponse { sent, end },
        None => Exchange::Truncated { sent, bytes: bytes.len(), error: error.unwrap_or_else(|| "EOF".into()) },
    }
}

/// Seconds from `origin` to `at` (negative: before).
fn secs_from(origin: Instant, at: Instant) -> f64 {
    if at >= origin { at.duration_since(origin).as_secs_f64() } else { -origin.duration_since(at).as_secs_f64() }
}

fn raw_request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&Value>) -> Vec<u8> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        request.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    request.into_bytes()
}

/// The load routes' requests the server answered so far (its own counter).
const SIGTERM_ROUTES: [&str; 3] = ["/api/v1/auth/login", "/api/v1/me", "/api/v1/users"];

fn answered_by_server(state: &AppState) -> u64 {
    state
        .metrics
        .render()
        .lines()
        .filter(|l| l.starts_with("azth_http_requests_total{"))
        .filter(|l| SIGTERM_ROUTES.iter().any(|r| l.contains(&format!("route=\"{r}\""))))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// A load client of raw exchanges (sign-in, `GET /me`, create a user), until
/// the server refuses connections or `stop`.
async fn raw_client(
    addr: SocketAddr,
    tenant: String,
    account: Account,
    access: String,
    owner: String,
    stop: Arc<AtomicBool>,
) -> Vec<Exchange> {
    let mut seen = Vec::new();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let request = match n % 3 {
            0 => raw_request(
                addr,
                "POST",
                "/api/v1/auth/login",
                &[("X-Tenant-ID", &tenant)],
                Some(&json!({"identifier": account.email, "password": account.password})),
            ),
            1 => raw_request(addr, "GET", "/api/v1/me", &[("Authorization", &format!("Bearer {access}"))], None),
            _ => raw_request(
                addr,
                "POST",
                "/api/v1/users",
                &[("Authorization", &format!("Bearer {owner}"))],
                Some(&json!({"email": format!("t{n}-{}@example.com", unique()), "password": password()})),
            ),
        };
        let outcome = exchange(addr, &request).await;
        let refused = matches!(outcome, Exchange::Refused);
        seen.push(outcome);
        if refused {
            break;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_answers_every_request_it_took() {
    let _serial = SERIAL.lock().await;
    let run_started = Instant::now();
    let mut h = Harness::start().await;
    let (tenant, owner, accounts) = seed(&h, CLIENTS).await;
    let mut tokens = Vec::new();
    for a in &accounts {
        tokens.push(sign_in(&h, &tenant, a).await.0);
    }
    let before = answered_by_server(&h.state);

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = accounts
        .iter()
        .zip(tokens)
        .map(|(a, access)| {
            tokio::spawn(raw_client(h.addr, tenant.clone(), a.clone(), access, owner.clone(), stop.clone()))
        })
        .collect();
    // Under load for a while, then the signal (what SIGTERM does in `serve`).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let signalled = Instant::now();
    let stopped = h.stop().await;
    let server_done = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let mut seen = Vec::new();
    for c in clients {
        seen.extend(tokio::time::timeout(Duration::from_secs(60), c).await.expect("a raw client ends").unwrap());
    }
    let after = answered_by_server(&h.state);

    let complete: Vec<&Exchange> = seen.iter().filter(|e| matches!(e, Exchange::Complete { .. })).collect();
    let truncated: Vec<String> = seen
        .iter()
        .filter_map(|e| match e {
            Exchange::Truncated { sent, bytes, error } => Some(format!(
                "{bytes} bytes, then {error} (sent {:+.3} s from the signal)",
                secs_from(signalled, *sent)
            )),
            _ => None,
        })
        .collect();
    let no_response = seen.iter().filter(|e| matches!(e, Exchange::NoResponse { .. })).count();
    // Unanswered exchanges whose request went out before the signal (taken
    // from the listen queue by nobody), and the latest of all relative to it.
    let unanswered: Vec<(f64, f64)> = seen
        .iter()
        .filter_map(|e| match e {
            Exchange::NoResponse { sent, end } => Some((secs_from(signalled, *sent), secs_from(signalled, *end))),
            _ => None,
        })
        .collect();
    let refused = seen.iter().filter(|e| matches!(e, Exchange::Refused)).count();
    let in_flight = seen
        .iter()
        .filter(|e| matches!(e, Exchange::Complete { sent, end, .. } if *sent < signalled && *end > signalled))
        .count();
    let statuses: BTreeMap<u16, usize> = complete.iter().fold(BTreeMap::new(), |mut m, e| {
        if let Exchange::Complete { status, .. } = e {
            *m.entry(*status).or_default() += 1;
        }
        m
    });
    println!(
        "\nSIGTERM under load ({CLIENTS} clients): {} exchanges; complete {} {statuses:?}, of them in flight at the \
         signal {in_flight}; truncated {}; sent but unanswered {no_response} (sent, ended s from the signal: \
         {unanswered:?}); refused {refused}; server answered {}; stopped {:.0} ms after the signal; {:.1} s in all",
        seen.len(),
        complete.len(),
        truncated.len(),
        after - before,
        server_done.duration_since(signalled).as_secs_f64() * 1000.0,
        run_started.elapsed().as_secs_f64()
    );

    stopped.expect("the server stops cleanly");
    assert!(truncated.is_empty(), "responses cut off: {truncated:?}");
    // Every request the server answered (its own counter) reached its client
    // whole: the unanswered ones were never taken from the listen queue.
    assert_eq!(after - before, complete.len() as u64, "requests answered by the server vs. received complete");
    assert!(in_flight > 0, "requests were in flight when the signal came");
    assert!(complete.len() > 50, "the load ran ({} complete)", complete.len());
    assert!(statuses.keys().all(|s| matches!(s, 200 | 201)), "answers: {statuses:?}");
    // Each client ran until the server refused connections.
    assert_eq!(refused, CLIENTS, "every client met the closed listener");
    assert!(tokio::net::TcpStream::connect(h.addr).await.is_err(), "nothing listens after the stop");
}
