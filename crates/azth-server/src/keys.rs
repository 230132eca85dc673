//! Token signing keys: Ed25519 keys stored in the database with the private
//! half sealed under the master key (AES-256-GCM, the kid as associated
//! data), loaded into a key ring that signs with the newest key and verifies
//! with every key still published in the JWKS.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use azth_core::crypto::jwt::{SigningKey, VerifyingKey, jwks};
use azth_core::crypto::seal::MasterKey;
use azth_store::{Store, StoreError, StoredKey};
use chrono::Utc;
use secrecy::ExposeSecret;

use crate::config::Config;

/// How long a retired key stays published: the longest access token
/// lifetime (86 400 s, API.md) plus clock leeway.
pub const RETIRED_KEY_PUBLISHED_FOR: chrono::Duration = chrono::Duration::seconds(86_400 + 300);

/// How often a node re-reads the keys (to pick up a rotation made elsewhere).
const RELOAD_EVERY: Duration = Duration::from_secs(60);

/// Why keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("master key: {0}")]
    Master(String),
    #[error("signing key {kid}: {why}")]
    Key { kid: String, why: String },
}

/// The master key from configuration, or from `<data dir>/master.key`,
/// generated there (mode 0600) on first start.
pub fn load_master_key(config: &Config) -> Result<MasterKey, KeyError> {
    if let Some(encoded) = &config.master_key {
        return MasterKey::from_base64(encoded.expose_secret().trim()).map_err(|e| KeyError::Master(e.to_string()));
    }
    let path = config.data_dir.join("master.key");
    read_or_create_key_file(&path)
}

fn read_or_create_key_file(path: &Path) -> Result<MasterKey, KeyError> {
    let read = |p: &Path| -> Result<MasterKey, KeyError> {
        let text = std::fs::read_to_string(p).map_err(|e| KeyError::Master(format!("{}: {e}", p.display())))?;
        MasterKey::from_base64(text.trim()).map_err(|e| KeyError::Master(format!("{}: {e}", p.display())))
    };
    if path.exists() {
        return read(path);
    }
    if let Some(dir) = path.parent() {
        azth_store::files::create_private_dir(dir).map_err(|e| KeyError::Master(format!("{}: {e}", dir.display())))?;
    }
    let key = MasterKey::generate().map_err(|e| KeyError::Master(e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // SECURITY: the master key file is readable by its owner only.
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            use std::io::Write;
            file.write_all(key.to_base64().as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| KeyError::Master(format!("{}: {e}", path.display())))?;
            tracing::info!(path = %path.display(), "generated a new master key");
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(KeyError::Master(format!("{}: {e}", path.display()))),
    }
}

/// The keys of one moment.
pub struct KeySet {
    pub current: Arc<SigningKey>,
    pub verifying: HashMap<String, VerifyingKey>,
    pub jwks: serde_json::Value,
}

/// Signs with the newest key, verifies with every published one.
pub struct KeyRing {
    store: Arc<dyn Store>,
    master: Arc<MasterKey>,
    set: RwLock<Arc<KeySet>>,
    loaded: Mutex<Instant>,
}

impl KeyRing {
    /// Loads the keys, creating the first one when there is none.
    pub async fn load(store: Arc<dyn Store>, master: Arc<MasterKey>) -> Result<Self, KeyError> {
        let set = read_keys(store.as_ref(), &master, true).await?;
        Ok(Self { store, master, set: RwLock::new(Arc::new(set)), loaded: Mutex::new(Instant::now()) })
    }

    /// The current key set (cheap: one `Arc` clone).
    pub fn keys(&self) -> Arc<KeySet> {
        self.set.read().map(|s| s.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Re-reads the keys when the loaded ones are older than a minute.
    pub async fn refresh_if_stale(&self) {
        if self.claim_reload(RELOAD_EVERY) {
            self.reload().await;
        }
    }

    /// Re-reads the keys because a token named an unknown kid (perhaps a key
    /// rotated in on another node) — at most once a second, so garbage kids
    /// cannot turn into database load.
    pub async fn reload_for_unknown_kid(&self) {
        if self.claim_reload(Duration::from_secs(1)) {
            self.reload().await;
        }
    }

    fn claim_reload(&self, min_age: Duration) -> bool {
        let Ok(mut loaded) = self.loaded.lock() else { return false };
        if loaded.elapsed() < min_age {
            return false;
        }
        *loaded = Instant::now();
        true
    }

    /// Re-reads the keys now.
    pub async fn reload(&self) {
        match read_keys(self.store.as_ref(), &self.master, false).await {
            Ok(set) => {
                if let Ok(mut guard) = self.set.write() {
                    *guard = Arc::new(set);
                }
                if let Ok(mut loaded) = self.loaded.lock() {
                    *loaded = Instant::now();
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not reload signing keys; keeping the loaded ones"),
        }
    }
}

async fn read_keys(store: &dyn Store, master: &MasterKey, create: bool) -> Result<KeySet, KeyError> {
    let mut tx = store.system("signing keys are global").await?;
    let mut stored = tx.signing_keys().await?;
    if create && !stored.iter().any(|k| k.retired_at.is_none()) {
        let key = new_stored_key(master)?;
        tx.insert_signing_key(&key).await?;
        tracing::info!(kid = %key.kid, "created a signing key");
        stored.insert(0, key);
    }
    tx.commit().await?;
    let mut current = None;
    let mut verifying = HashMap::new();
    for key in &stored {
        let public: [u8; 32] = key
            .public_key
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Key { kid: key.kid.clone(), why: "public key is not 32 bytes".into() })?;
        let vk = VerifyingKey::new(key.kid.clone(), public)
            .map_err(|e| KeyError::Key { kid: key.kid.clone(), why: e.to_string() })?;
        verifying.insert(key.kid.clone(), vk);
        if current.is_none() && key.retired_at.is_none() {
            let private = master.open(&key.private_key_sealed, key.kid.as_bytes()).map_err(|e| KeyError::Key {
                kid: key.kid.clone(),
                why: format!("cannot unseal ({e}); wrong master key?"),
            })?;
            let sk = SigningKey::from_private_bytes(key.kid.clone(), &private)
                .map_err(|e| KeyError::Key { kid: key.kid.clone(), why: e.to_string() })?;
            current = Some(Arc::new(sk));
        }
    }
    let current = current.ok_or_else(|| KeyError::Key { kid: "-".into(), why: "no active signing key".into() })?;
    let mut published: Vec<VerifyingKey> = verifying.values().cloned().collect();
    published.sort_by(|a, b| a.kid().cmp(b.kid()));
    Ok(KeySet { current, jwks: jwks(&published), verifying })
}

fn new_stored_key(master: &MasterKey) -> Result<StoredKey, KeyError> {
    let kid = uuid::Uuid::now_v7().simple().to_string();
    let key = SigningKey::generate(kid.clone()).map_err(|e| KeyError::Key { kid: kid.clone(), why: e.to_string() })?;
    let sealed = master
        .seal(&key.private_bytes(), kid.as_bytes())
        .map_err(|e| KeyError::Key { kid: kid.clone(), why: e.to_string() })?;
    Ok(StoredKey {
        kid,
        algorithm: "EdDSA".into(),
        public_key: key.public_bytes().to_vec(),
        private_key_sealed: sealed,
        created_at: Utc::now(),
        retired_at: None,
        expires_at: None,
    })
}

/// Adds a new signing key and retires the others, which stay published
/// until every token they signed has expired. Returns the new kid.
pub async fn rotate(store: &dyn Store, master: &MasterKey) -> Result<String, KeyError> {
    let key = new_stored_key(master)?;
    let mut tx = store.system("signing key rotation").await?;
    tx.insert_signing_key(&key).await?;
    tx.retire_signing_keys_except(&key.kid, Utc::now() + RETIRED_KEY_PUBLISHED_FOR).await?;
    tx.commit().await?;
    Ok(key.kid)
}

/// The published keys, newest first: (kid, created_at, retired_at, expires_at).
pub async fn list(store: &dyn Store) -> Result<Vec<StoredKey>, KeyError> {
    let mut tx = store.system("signing key listing").await?;
    let keys = tx.signing_keys().await?;
    tx.commit().await?;
    Ok(keys)
}
