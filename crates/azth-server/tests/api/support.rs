//! `spawn_app()` and the helpers every API test uses.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use azth_core::crypto::seal::MasterKey;
use azth_server::state::AppState;
use azth_server::{Application, Config};
use azth_store::testing::{TestDb, cluster_address};
use secrecy::SecretString;
use tokio::net::{TcpListener, TcpStream};

/// A running server and what it runs on.
pub struct TestApp {
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub client: reqwest::Client,
    /// The database (owned, so it lives as long as the app).
    pub db: Storage,
    pub db_proxy: Option<Proxy>,
    pub state: AppState,
    pub data_dir: std::path::PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub use azth_store::testing::{TestStorage as Storage, on_sqlite};

/// A change to the test configuration before the app is built.
pub type Tweak = Box<dyn FnOnce(&mut Config) + Send>;

/// Options for [`spawn_with`].
#[derive(Default)]
pub struct Spawn {
    /// Route the database connection through a proxy the test can cut
    /// (a PostgreSQL outage: such a test runs on PostgreSQL on every run).
    pub db_proxy: bool,
    pub extra: Option<Router<AppState>>,
    pub tweak: Option<Tweak>,
}

pub fn redis_url() -> String {
    std::env::var("AZTH_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A configuration for one test: port 0, its own database and key prefix.
pub fn test_config(db_url: &str) -> Config {
    let mut config = Config { listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
    config.database.url = Some(SecretString::from(db_url.to_owned()));
    config.database.max_connections = 5;
    config.database.acquire_timeout_ms = 1_000;
    config.redis.url = Some(SecretString::from(redis_url()));
    config.redis.key_prefix = format!("azth:test:{}:", uuid::Uuid::new_v4().simple());
    config.log.filter = if std::env::var("TEST_LOG").is_ok() { "debug".into() } else { "off".into() };
    // Cheap hashing keeps tests fast; one test checks the default parameters.
    config.password_hash = "argon2id:m=1024,t=1,p=1".into();
    config.master_key = Some(SecretString::from(MasterKey::generate().unwrap().to_base64().to_string()));
    config.bootstrap.admin_email = "root@example.com".into();
    config.bootstrap.admin_password = Some(SecretString::from(ADMIN_PASSWORD.to_owned()));
    config.data_dir = std::env::temp_dir().join(format!("azth-test-{}", uuid::Uuid::new_v4().simple()));
    // Per-IP limits off, as API.md says test harnesses do; rate-limit tests turn them on.
    config.ip_rate_limit = 0;
    config
}

/// The bootstrap operator's password in every test app.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

pub async fn spawn_app() -> TestApp {
    spawn_with(Spawn::default()).await
}

/// A fresh database of the backend under test and the configuration that
/// names it (through a proxy the test can cut when `db_proxy`).
pub async fn fresh_storage(db_proxy: bool) -> (Config, Storage, Option<Proxy>) {
    if on_sqlite() && !db_proxy {
        let mut config = test_config("sqlite:unset");
        let db = Storage::sqlite_at(config.data_dir.join("azth.db"));
        config.database.url = Some(SecretString::from(db.url()));
        // The embedded default: SQLite and the in-process cache (tests of
        // Redis behaviour set their own URL).
        config.redis.url = None;
        (config, db, None)
    } else {
        let db = TestDb::migrated().await;
        let (db_url, db_proxy) = if db_proxy {
            let (host, port) = cluster_address();
            let proxy = Proxy::start(&format!("{host}:{port}")).await;
            let url = db.url.replace(&format!("@{host}:{port}/"), &format!("@{}/", proxy.addr));
            (url, Some(proxy))
        } else {
            (db.url.clone(), None)
        };
        (test_config(&db_url), Storage::Postgres(db), db_proxy)
    }
}

pub async fn spawn_with(opts: Spawn) -> TestApp {
    let (mut config, db, db_proxy) = fresh_storage(opts.db_proxy).await;
    if let Some(tweak) = opts.tweak {
        tweak(&mut config);
    }
    azth_server::telemetry::init(&config.log);
    let app = Application::build_with(config, opts.extra.unwrap_or_default()).await.expect("building the app");
    let addr = app.local_addr();
    let metrics_addr = app.metrics_addr();
    let state = app.state().clone();
    let data_dir = state.config.data_dir.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    TestApp { addr, metrics_addr, client, db, db_proxy, state, data_dir, shutdown: Some(tx), server: Some(server) }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Signals shutdown (as SIGTERM does) and waits for the server to stop.
    pub async fn stop(&mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(handle) => handle.await.unwrap(),
            None => Ok(()),
        }
    }

    /// Signals shutdown without waiting.
    pub fn signal_stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }
}

/// A response's problem document, after checking the media type.
pub async fn problem(response: reqwest::Response) -> serde_json::Value {
    assert_eq!(
        response.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "status {}",
        response.status()
    );
    let request_id = response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["request_id"].as_str(), request_id.as_deref(), "request_id equals the header");
    body
}

/// A TCP proxy that a test can switch off, to simulate a database outage
/// for one test without touching the shared cluster.
pub struct Proxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    pub async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, _) = tokio::sync::watch::channel(0u64);
        let target = target.to_owned();
        let (up2, cut2) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else { return };
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let mut cut_rx = cut2.subscribe();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(&target).await else { return };
                    let (mut ri, mut wi) = inbound.into_split();
                    let (mut ro, mut wo) = outbound.into_split();
                    tokio::select! {
                        _ = tokio::io::copy(&mut ri, &mut wo) => {},
                        _ = tokio::io::copy(&mut ro, &mut wi) => {},
                        _ = cut_rx.changed() => {},
                    }
                });
            }
        });
        Self { addr, up, cut }
    }

    /// Refuses new connections and severs the open ones.
    pub fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|v| *v += 1);
    }

    /// Forwards again.
    pub fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// Polls `f` until it returns true or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if f().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A signed-in user of a test tenant.
#[derive(Debug, Clone)]
pub struct Creds {
    pub email: String,
    pub password: String,
    pub user_id: String,
    pub access: String,
    pub refresh: String,
    pub session_id: String,
}

/// A password no list holds.
pub fn strong_password() -> String {
    format!("pw-{}-Zq", uuid::Uuid::new_v4().simple())
}

impl TestApp {
    /// Creates a tenant (with its system roles) directly in the store.
    pub async fn create_tenant(&self, slug: &str, settings: serde_json::Value) -> azth_core::model::Tenant {
        let mut tx = self.state.store.system("test: create tenant").await.unwrap();
        let tenant = tx
            .insert_tenant(&azth_store::NewTenant {
                name: format!("Tenant {slug}"),
                slug: slug.to_owned(),
                domain: None,
                plan: "free".into(),
                settings,
            })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        tenant
    }

    pub fn post(&self, path: &str, tenant: Option<&str>) -> reqwest::RequestBuilder {
        let mut request = self.client.post(self.url(path));
        if let Some(t) = tenant {
            request = request.header("x-tenant-id", t);
        }
        request
    }

    pub async fn register(&self, tenant: &str, email: &str, password: &str) -> reqwest::Response {
        self.post("/api/v1/auth/register", Some(tenant))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, tenant: &str, identifier: &str, password: &str) -> reqwest::Response {
        self.post("/api/v1/auth/login", Some(tenant))
            .json(&serde_json::json!({"identifier": identifier, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// Registers and signs in a fresh user of `tenant`.
    pub async fn signed_up(&self, tenant: &str) -> Creds {
        let email = format!("u{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let password = strong_password();
        let r = self.register(tenant, &email, &password).await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let r = self.login(tenant, &email, &password).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let body: serde_json::Value = r.json().await.unwrap();
        Creds {
            email,
            password,
            user_id: body["user"]["id"].as_str().unwrap().to_owned(),
            access: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
            session_id: body["session_id"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn get_as(&self, path: &str, access: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(access).send().await.unwrap()
    }

    pub async fn refresh(&self, refresh: &str) -> reqwest::Response {
        self.post("/api/v1/auth/refresh", None)
            .json(&serde_json::json!({"refresh_token": refresh}))
            .send()
            .await
            .unwrap()
    }

    /// Waits (up to 10 s) until work handed off by earlier requests is done.
    pub async fn settled(&self) {
        assert!(
            eventually(Duration::from_secs(10), || async { self.state.background.is_empty() }).await,
            "handed-off work did not finish"
        );
    }

    /// Audit actions recorded in `tenant`, oldest first (after handed-off work).
    pub async fn audit_actions(&self, tenant: uuid::Uuid) -> Vec<String> {
        self.settled().await;
        self.rows(
            "select action from audit_logs where tenant_id = $1 order by created_at, id",
            &[crate::db::Arg::Uuid(tenant)],
        )
        .await
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// A message the file outbox delivered.
#[derive(Debug, Clone)]
#[allow(dead_code)] // every field of the file format, asserted where it matters
pub struct Delivered {
    pub channel: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    pub template: String,
    pub created_at: String,
}

impl Delivered {
    /// The token of the first link in the body (`…?token=<token>`).
    pub fn token(&self) -> String {
        let start = self.body.find("token=").expect("a link with a token") + "token=".len();
        self.body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
    }

    /// The six-digit code in the body.
    pub fn code(&self) -> String {
        let bytes = self.body.as_bytes();
        (0..bytes.len().saturating_sub(5))
            .find(|&i| {
                bytes[i..i + 6].iter().all(u8::is_ascii_digit)
                    && (i == 0 || !bytes[i - 1].is_ascii_digit())
                    && bytes.get(i + 6).is_none_or(|b| !b.is_ascii_digit())
            })
            .map(|i| self.body[i..i + 6].to_owned())
            .expect("a six-digit code")
    }
}

impl TestApp {
    /// Every message delivered to the file outbox so far, oldest first.
    pub fn outbox(&self) -> Vec<Delivered> {
        let Ok(entries) = std::fs::read_dir(self.data_dir.join("outbox")) else { return Vec::new() };
        let mut out: Vec<Delivered> = entries
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name().to_string_lossy().ends_with(".json") && !e.file_name().to_string_lossy().starts_with('.')
            })
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .map(|v| Delivered {
                channel: v["channel"].as_str().unwrap_or_default().to_owned(),
                recipient: v["recipient"].as_str().unwrap_or_default().to_owned(),
                subject: v["subject"].as_str().map(str::to_owned),
                body: v["body"].as_str().unwrap_or_default().to_owned(),
                template: v["template"].as_str().unwrap_or_default().to_owned(),
                created_at: v["created_at"].as_str().unwrap_or_default().to_owned(),
            })
            .collect();
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        out
    }

    /// Waits (up to 10 s) for the `n`-th message (1-based) of `template` to `recipient`.
    pub async fn nth_message(&self, recipient: &str, template: &str, n: usize) -> Delivered {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let found: Vec<Delivered> =
                self.outbox().into_iter().filter(|m| m.recipient == recipient && m.template == template).collect();
            if found.len() >= n {
                return found[n - 1].clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no message #{n} {template} to {recipient}: {:?}",
                self.outbox()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The latest message of `template` to `recipient`, waiting for the first.
    pub async fn message(&self, recipient: &str, template: &str) -> Delivered {
        self.nth_message(recipient, template, 1).await;
        self.outbox().into_iter().rfind(|m| m.recipient == recipient && m.template == template).unwrap()
    }

    pub async fn post_json(&self, path: &str, tenant: Option<&str>, body: serde_json::Value) -> reqwest::Response {
        self.post(path, tenant).json(&body).send().await.unwrap()
    }

    pub async fn post_as(&self, path: &str, access: &str, body: serde_json::Value) -> reqwest::Response {
        self.client.post(self.url(path)).bearer_auth(access).json(&body).send().await.unwrap()
    }
}
