//! Configuration: defaults, then an optional YAML file, then `AZTH_*`
//! environment variables (API.md "Running"). The named variables of API.md
//! map to their keys (`AZTH_DATABASE_URL` → `database.url`); every other key
//! is reachable with `__` for nesting (`AZTH_DATABASE__MAX_CONNECTIONS`).
//! Invalid configuration is reported as one line naming the key.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Serialized, Yaml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The whole configuration of a server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the API listens on.
    pub listen: SocketAddr,
    /// Issuer of tokens and base of links in messages; `http://<listen>` when unset.
    pub public_url: Option<String>,
    /// Keys, the SQLite file and the file outbox live here.
    pub data_dir: PathBuf,
    pub database: DatabaseConfig,
    pub redis: RedisConfig,
    pub http: HttpConfig,
    pub log: LogConfig,
    /// Separate address for `/metrics`; served on `listen` when unset.
    pub metrics_listen: Option<SocketAddr>,
    /// Base64 of 32 bytes sealing secrets at rest; generated into the data dir when unset.
    #[serde(serialize_with = "serialize_secret_opt")]
    pub master_key: Option<SecretString>,
    pub bootstrap: BootstrapConfig,
    /// Argon2id parameters, e.g. `argon2id:m=19456,t=2,p=1`.
    pub password_hash: String,
    /// `smtp://host:port` or `smtps://user:pass@host`; the file outbox when unset.
    #[serde(serialize_with = "serialize_secret_opt")]
    pub smtp_url: Option<SecretString>,
    /// The `From` of email sent over SMTP.
    pub smtp_from: String,
    /// Where SMS and push messages are POSTed; the file outbox when unset.
    pub sms_webhook_url: Option<String>,
    /// Key of the webhook's HMAC-SHA256 signature; required with the URL.
    #[serde(serialize_with = "serialize_secret_opt")]
    pub sms_webhook_secret: Option<SecretString>,
    pub outbox: OutboxConfig,
    pub audit: AuditConfig,
    /// Requests per minute per IP on each sign-in endpoint; 0 turns the limit off.
    pub ip_rate_limit: u32,
    pub hash_pool: HashPoolConfig,
    pub tokens: TokenConfig,
}

/// The bounded pool that runs Argon2 (a login flood must not starve the
/// cheap endpoints).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HashPoolConfig {
    /// Hashes computed at once; 0 = one per CPU core.
    pub workers: usize,
    /// Requests allowed to wait for a worker; more are answered 503 with
    /// Retry-After (default 8; about four per worker keeps waits short).
    pub queue: usize,
}

/// Delivery of queued notifications.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// Delivery workers on this node (0 = this node does not deliver).
    pub workers: usize,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self { workers: 1 }
    }
}

/// The audit trail's upkeep.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Days audit rows are kept; whole monthly partitions older than this are dropped.
    pub retention_days: u32,
    /// Seconds between maintenance passes (partitions ahead, retention, expired sessions and codes).
    pub maintenance_interval_secs: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self { retention_days: 400, maintenance_interval_secs: 3600 }
    }
}

/// Access tokens and cookies.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    /// The `aud` claim of access tokens.
    pub audience: String,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: u64,
    /// Mark cookies `Secure`; by default true exactly when the public URL is https.
    pub secure_cookies: Option<bool>,
}

impl Default for HashPoolConfig {
    fn default() -> Self {
        // Eight waiting: on two cores, a wait of at most about four hashes
        // (~80 ms at the defaults) before a sign-in starts; beyond that, 503
        // at once rather than a queue that only adds latency (BENCHMARKS.md).
        Self { workers: 0, queue: 8 }
    }
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self { audience: "azth".to_owned(), leeway_secs: 30, secure_cookies: None }
    }
}

/// The database a configuration names.
#[derive(Debug, Clone)]
pub enum Backend {
    Postgres(azth_store::postgres::PgConfig),
    Sqlite(azth_store::sqlite::SqliteConfig),
}

/// Database settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `postgres://…` for production; `sqlite:PATH` for an embedded file
    /// elsewhere; when unset, embedded SQLite at `<data_dir>/azth.db`.
    #[serde(serialize_with = "serialize_secret_opt")]
    pub url: Option<SecretString>,
    pub max_connections: u32,
    pub min_connections: u32,
    /// Milliseconds a request waits for a connection before answering 503.
    pub acquire_timeout_ms: u64,
    pub idle_timeout_secs: u64,
    pub max_lifetime_secs: u64,
    pub statement_timeout_ms: u64,
    /// Apply pending migrations when `serve` starts.
    pub migrate_on_start: bool,
}

/// Cache settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// `redis://…`; in-process cache when unset.
    #[serde(serialize_with = "serialize_secret_opt")]
    pub url: Option<SecretString>,
    /// Prepended to every key, so several deployments can share one Redis.
    pub key_prefix: String,
    /// Milliseconds one Redis command may take before it counts as failed.
    pub command_timeout_ms: u64,
}

/// HTTP server settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Seconds one request may take before it is answered 503.
    pub request_timeout_secs: u64,
    /// Seconds in-flight requests get to finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Proxies (CIDRs, e.g. `10.0.0.0/8`) whose `X-Forwarded-For` is
    /// believed; the client is the rightmost address not in this list.
    /// Empty (default): the peer address is the client.
    pub trusted_proxies: Vec<String>,
    /// Origins allowed to call the API from a browser (CORS), e.g.
    /// `https://app.example.com`; credentials are allowed for exactly these.
    /// Empty (default): no cross-origin access.
    pub cors_origins: Vec<String>,
    /// PEM certificate chain: azth terminates TLS itself (for deployments
    /// without a proxy in front). Set together with `tls_key`.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, SEC1 or PKCS#1) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
}

/// Logging settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Filter directives, e.g. `info,azth=debug`.
    pub filter: String,
    /// `json` (default) or `pretty`.
    pub format: LogFormat,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

/// The first operator, created by bootstrap.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapConfig {
    pub admin_email: String,
    /// Generated and printed once when unset.
    #[serde(serialize_with = "serialize_secret_opt")]
    pub admin_password: Option<SecretString>,
}

fn serialize_secret_opt<S: serde::Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(secret) => s.serialize_some(secret.expose_secret()),
        None => s.serialize_none(),
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            data_dir: PathBuf::from("./data"),
            database: DatabaseConfig::default(),
            redis: RedisConfig::default(),
            http: HttpConfig::default(),
            log: LogConfig::default(),
            metrics_listen: None,
            master_key: None,
            bootstrap: BootstrapConfig::default(),
            password_hash: "argon2id:m=19456,t=2,p=1".to_owned(),
            smtp_url: None,
            smtp_from: "azth <no-reply@localhost>".to_owned(),
            sms_webhook_url: None,
            sms_webhook_secret: None,
            outbox: OutboxConfig::default(),
            audit: AuditConfig::default(),
            ip_rate_limit: 60,
            hash_pool: HashPoolConfig::default(),
            tokens: TokenConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 20,
            min_connections: 0,
            acquire_timeout_ms: 3_000,
            idle_timeout_secs: 600,
            max_lifetime_secs: 1_800,
            statement_timeout_ms: 30_000,
            migrate_on_start: true,
        }
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self { url: None, key_prefix: "azth:".to_owned(), command_timeout_ms: 1_000 }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit_bytes: 64 * 1024,
            request_timeout_secs: 30,
            shutdown_grace_secs: 30,
            trusted_proxies: Vec::new(),
            cors_origins: Vec::new(),
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { filter: "info".to_owned(), format: LogFormat::Json }
    }
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self { admin_email: "admin@localhost".to_owned(), admin_password: None }
    }
}

/// A configuration that cannot be used, named by key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

/// The environment variables of API.md's "Running" table and their keys.
pub const NAMED_VARIABLES: &[(&str, &str)] = &[
    ("AZTH_DATABASE_URL", "database.url"),
    ("AZTH_REDIS_URL", "redis.url"),
    ("AZTH_LISTEN", "listen"),
    ("AZTH_DATA_DIR", "data_dir"),
    ("AZTH_MASTER_KEY", "master_key"),
    ("AZTH_PUBLIC_URL", "public_url"),
    ("AZTH_BOOTSTRAP_ADMIN_EMAIL", "bootstrap.admin_email"),
    ("AZTH_BOOTSTRAP_ADMIN_PASSWORD", "bootstrap.admin_password"),
    ("AZTH_PASSWORD_HASH", "password_hash"),
    ("AZTH_SMTP_URL", "smtp_url"),
    ("AZTH_SMS_WEBHOOK_URL", "sms_webhook_url"),
    ("AZTH_SMS_WEBHOOK_SECRET", "sms_webhook_secret"),
    ("AZTH_LOG", "log.filter"),
    ("AZTH_IP_RATE_LIMIT", "ip_rate_limit"),
    ("AZTH_METRICS_LISTEN", "metrics_listen"),
];

impl Config {
    /// Loads defaults, then `file` (if any), then the process environment.
    pub fn load(file: Option<&std::path::Path>) -> Result<(Self, Vec<String>), ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// Like [`Config::load`] with an explicit environment. Returns the
    /// configuration and warnings (unknown `AZTH_*` variables, which are ignored).
    pub fn load_from(
        file: Option<&std::path::Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Vec<String>), ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError(format!("config file {} does not exist", path.display())));
            }
            figment = figment.merge(Yaml::file_exact(path));
        }
        let known = known_keys();
        let mut warnings = Vec::new();
        let mut overrides: Vec<(String, String)> = Vec::new();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("AZTH_") else { continue };
            let key = match NAMED_VARIABLES.iter().find(|(n, _)| *n == name) {
                Some((_, key)) => (*key).to_owned(),
                None => rest.to_ascii_lowercase().replace("__", "."),
            };
            if known.contains(&key) {
                overrides.push((key, value));
            } else if !name.starts_with("AZTH_TEST") {
                warnings.push(format!("ignoring unknown environment variable {name}"));
            }
        }
        for (key, value) in overrides {
            // Values are parsed like YAML scalars, as figment's Env provider does.
            let value: figment::value::Value = value.parse().unwrap_or_else(|_| value.clone().into());
            figment = figment.merge((key.as_str(), value));
        }
        let config: Config = figment.extract().map_err(|e| ConfigError(describe(e)))?;
        config.validate()?;
        Ok((config, warnings))
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("{key}: {why}")));
        if let Some(url) = &self.database.url {
            let url = url.expose_secret();
            let sqlite_path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"));
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://") || sqlite_path.is_some()) {
                return bad(
                    "database.url",
                    "must start with postgres:// or sqlite: (embedded SQLite in the data dir is used when it is unset)",
                );
            }
            if sqlite_path.is_some_and(|p| p.is_empty() || p.contains('?')) {
                return bad("database.url", "sqlite: needs a file path and takes no options");
            }
        }
        if let Some(url) = &self.redis.url {
            let url = url.expose_secret();
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return bad("redis.url", "must start with redis:// or rediss://");
            }
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return bad("public_url", "must start with http:// or https://");
        }
        if self.database.max_connections == 0 {
            return bad("database.max_connections", "must be at least 1");
        }
        if self.database.min_connections > self.database.max_connections {
            return bad("database.min_connections", "must not exceed database.max_connections");
        }
        if self.database.acquire_timeout_ms == 0 {
            return bad("database.acquire_timeout_ms", "must be at least 1");
        }
        if self.http.body_limit_bytes < 1024 {
            return bad("http.body_limit_bytes", "must be at least 1024");
        }
        for cidr in &self.http.trusted_proxies {
            if cidr.parse::<ipnetwork::IpNetwork>().is_err() {
                return bad("http.trusted_proxies", "each entry must be an address or CIDR such as 10.0.0.0/8");
            }
        }
        if self.http.tls_cert.is_some() != self.http.tls_key.is_some() {
            return bad("http.tls_cert", "http.tls_cert and http.tls_key are set together or not at all");
        }
        for origin in &self.http.cors_origins {
            let valid = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.ends_with('/')
                && origin.parse::<axum::http::HeaderValue>().is_ok();
            if !valid || origin.contains('*') {
                return bad(
                    "http.cors_origins",
                    "each entry must be an origin such as https://app.example.com (no wildcard)",
                );
            }
        }
        if self.http.request_timeout_secs == 0 {
            return bad("http.request_timeout_secs", "must be at least 1");
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.filter).is_err() {
            return bad("log.filter", "is not a valid filter (e.g. `info,azth=debug`)");
        }
        if let Err(e) = self.password_hash.parse::<azth_core::crypto::hash::HashParams>() {
            return bad("password_hash", &format!("{e} (e.g. argon2id:m=19456,t=2,p=1)"));
        }
        if let Some(key) = &self.master_key
            && azth_core::crypto::seal::MasterKey::from_base64(key.expose_secret()).is_err()
        {
            return bad("master_key", "must be the base64 of exactly 32 bytes");
        }
        if let Some(url) = &self.sms_webhook_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return bad("sms_webhook_url", "must start with http:// or https://");
            }
            if self.sms_webhook_secret.as_ref().is_none_or(|s| s.expose_secret().len() < 16) {
                return bad("sms_webhook_secret", "is required with sms_webhook_url (at least 16 characters)");
            }
        }
        if let Some(url) = &self.smtp_url {
            let url = url.expose_secret();
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return bad("smtp_url", "must start with smtp:// or smtps://");
            }
        }
        if self.audit.retention_days < 1 {
            return bad("audit.retention_days", "must be at least 1");
        }
        if self.tokens.audience.trim().is_empty() {
            return bad("tokens.audience", "must not be empty");
        }
        if self.tokens.leeway_secs > 300 {
            return bad("tokens.leeway_secs", "must be at most 300");
        }
        if self.bootstrap.admin_email.trim().is_empty() || !self.bootstrap.admin_email.contains('@') {
            return bad("bootstrap.admin_email", "must be an email address");
        }
        Ok(())
    }

    /// Whether cookies carry the `Secure` attribute.
    pub fn secure_cookies(&self) -> bool {
        self.tokens.secure_cookies.unwrap_or_else(|| self.public_url().starts_with("https://"))
    }

    /// The public base URL (no trailing slash).
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None if self.http.tls_cert.is_some() => format!("https://{}", self.listen),
            None => format!("http://{}", self.listen),
        }
    }

    /// Which database this configuration names: PostgreSQL for a
    /// `postgres://` URL, else the embedded SQLite file.
    pub fn backend(&self) -> Backend {
        if let Some(pg) = self.pg_config() {
            return Backend::Postgres(pg);
        }
        let path = match &self.database.url {
            Some(url) => {
                let url = url.expose_secret();
                PathBuf::from(url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url))
            }
            None => self.data_dir.join("azth.db"),
        };
        let mut sqlite = azth_store::sqlite::SqliteConfig::new(path);
        sqlite.readers = self.database.max_connections.clamp(1, 16);
        sqlite.acquire_timeout = Duration::from_millis(self.database.acquire_timeout_ms);
        Backend::Sqlite(sqlite)
    }

    /// Pool settings of the PostgreSQL store, when a `postgres://` URL is set.
    pub fn pg_config(&self) -> Option<azth_store::postgres::PgConfig> {
        let db = &self.database;
        let url = db.url.clone().filter(|u| u.expose_secret().starts_with("postgres"))?;
        let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        Some(azth_store::postgres::PgConfig {
            url,
            max_connections: db.max_connections,
            min_connections: db.min_connections,
            acquire_timeout: Duration::from_millis(db.acquire_timeout_ms),
            idle_timeout: secs(db.idle_timeout_secs),
            max_lifetime: secs(db.max_lifetime_secs),
            statement_timeout: Duration::from_millis(db.statement_timeout_ms),
        })
    }

    /// The effective configuration as JSON with every secret masked.
    pub fn masked_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        for (pointer, is_url) in [
            ("/master_key", false),
            ("/sms_webhook_secret", false),
            ("/bootstrap/admin_password", false),
            ("/smtp_url", true),
            ("/database/url", true),
            ("/redis/url", true),
        ] {
            if let Some(serde_json::Value::String(s)) = value.pointer_mut(pointer) {
                *s = if is_url { azth_store::postgres::redact_url(s) } else { "***".to_owned() };
            }
        }
        value
    }
}

/// Every configuration key, dotted, derived from the struct itself.
pub fn known_keys() -> Vec<String> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
        if let serde_json::Value::Object(map) = v {
            for (k, child) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                if child.is_object() {
                    walk(&key, child, out);
                } else {
                    out.push(key);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk("", &serde_json::to_value(Config::default()).unwrap_or_default(), &mut out);
    out
}

fn describe(err: figment::Error) -> String {
    let mut parts = Vec::new();
    for e in err {
        let key = if e.path.is_empty() { "config".to_owned() } else { e.path.join(".") };
        let source = match &e.metadata {
            Some(m) if m.name.contains("YAML") => format!(
                " (in {})",
                m.source.as_ref().map(|s| s.to_string()).unwrap_or_else(|| "the config file".into())
            ),
            _ => String::new(),
        };
        parts.push(format!("{key}: {}{source}", e.kind));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_are_valid() {
        let (config, warnings) = Config::load_from(None, env(&[])).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.http.body_limit_bytes, 65536);
        assert_eq!(config.public_url(), "http://127.0.0.1:8080");
        assert!(warnings.is_empty());
    }

    #[test]
    fn named_and_nested_variables_override() {
        let (config, _) = Config::load_from(
            None,
            env(&[
                ("AZTH_DATABASE_URL", "postgres://u:p@h/db"),
                ("AZTH_LISTEN", "0.0.0.0:9000"),
                ("AZTH_DATABASE__MAX_CONNECTIONS", "7"),
                ("AZTH_LOG", "debug"),
                ("AZTH_IP_RATE_LIMIT", "0"),
            ]),
        )
        .unwrap();
        assert_eq!(config.database.url.unwrap().expose_secret(), "postgres://u:p@h/db");
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.database.max_connections, 7);
        assert_eq!(config.log.filter, "debug");
        assert_eq!(config.ip_rate_limit, 0);
    }

    #[test]
    fn file_then_env() {
        let dir = std::env::temp_dir().join(format!("azth-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("azth.yaml");
        std::fs::write(&file, "listen: 127.0.0.1:7000\ndatabase:\n  max_connections: 3\n").unwrap();
        let (config, _) = Config::load_from(Some(&file), env(&[("AZTH_LISTEN", "127.0.0.1:7001")])).unwrap();
        assert_eq!(config.listen.port(), 7001);
        assert_eq!(config.database.max_connections, 3);

        std::fs::write(&file, "database:\n  max_conections: 3\n").unwrap();
        let err = Config::load_from(Some(&file), env(&[])).unwrap_err().to_string();
        assert!(err.contains("max_conections"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn invalid_values_name_their_key() {
        let err = Config::load_from(None, env(&[("AZTH_LISTEN", "not-an-address")])).unwrap_err().to_string();
        assert!(err.contains("listen"), "{err}");
        let err = Config::load_from(None, env(&[("AZTH_DATABASE__MAX_CONNECTIONS", "many")])).unwrap_err().to_string();
        assert!(err.contains("database.max_connections"), "{err}");
        let err = Config::load_from(None, env(&[("AZTH_DATABASE_URL", "mysql://x")])).unwrap_err().to_string();
        assert!(err.contains("database.url"), "{err}");
        assert!(!err.contains("mysql://x"), "no value echoed: {err}");
        let err = Config::load_from(None, env(&[("AZTH_DATABASE_URL", "sqlite:")])).unwrap_err().to_string();
        assert!(err.contains("database.url"), "{err}");
        let err = Config::load_from(None, env(&[("AZTH_DATABASE__MAX_CONNECTIONS", "0")])).unwrap_err().to_string();
        assert!(err.contains("database.max_connections"), "{err}");
    }

    #[test]
    fn the_database_url_picks_the_backend() {
        let (config, _) = Config::load_from(None, env(&[])).unwrap();
        match config.backend() {
            Backend::Sqlite(s) => assert_eq!(s.path, PathBuf::from("./data").join("azth.db")),
            other => panic!("{other:?}"),
        }
        let (config, _) = Config::load_from(None, env(&[("AZTH_DATABASE_URL", "sqlite:/tmp/x.db")])).unwrap();
        assert!(matches!(config.backend(), Backend::Sqlite(s) if s.path == std::path::Path::new("/tmp/x.db")));
        let (config, _) = Config::load_from(None, env(&[("AZTH_DATABASE_URL", "postgres://u@h/db")])).unwrap();
        assert!(matches!(config.backend(), Backend::Postgres(_)));
    }

    #[test]
    fn unknown_variables_warn_and_are_ignored() {
        let (_, warnings) = Config::load_from(None, env(&[("AZTH_NOPE", "1"), ("PATH", "/bin")])).unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("AZTH_NOPE"));
    }

    #[test]
    fn masked_json_hides_secrets() {
        let (config, _) = Config::load_from(
            None,
            env(&[
                ("AZTH_DATABASE_URL", "postgres://u:hunter2@h/db"),
                ("AZTH_MASTER_KEY", "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="),
                ("AZTH_BOOTSTRAP_ADMIN_PASSWORD", "pw-pw-pw-pw"),
            ]),
        )
        .unwrap();
        let text = config.masked_json().to_string();
        assert!(
            !text.contains("hunter2")
                && !text.contains("a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=")
                && !text.contains("pw-pw-pw-pw"),
            "{text}"
        );
        assert!(text.contains("postgres://u:***@h/db"), "{text}");
    }

    #[test]
    fn every_named_variable_maps_to_a_known_key() {
        let keys = known_keys();
        for (name, key) in NAMED_VARIABLES {
            assert!(keys.iter().any(|k| k == key), "{name} -> {key}");
        }
    }
}
