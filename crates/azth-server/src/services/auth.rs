//! Sign-in: register, login, refresh, logout, and turning a credential
//! (access JWT or session cookie) into a [`Principal`].

use azth_core::crypto::jwt::{self, AccessClaims, JwtError};
use azth_core::crypto::token::{random_token, sha256_hex};
use azth_core::model::{AuditEvent, Session, SessionMode, Tenant, User, UserStatus};
use azth_core::password::{PasswordPolicy, check_password};
use azth_core::{Actor, ErrorCode, FieldError};
use azth_store::{NewSession, NewUser, RefreshOutcome, StoreError};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::lockout::{self, Subject};
use super::{Credential, Principal, RequestMeta};
use super::{access, tenancy};
use crate::http::ApiError;
use crate::state::AppState;

/// How long a revocation marker stays in the cache: the longest access
/// token lifetime plus leeway, after which the token has expired anyway.
pub const REVOCATION_TTL: std::time::Duration = std::time::Duration::from_secs(86_400 + 300);

/// Longest password accepted on any endpoint (bytes), checked before hashing.
const MAX_PASSWORD_BYTES: usize = 1024;

/// What `POST /auth/register` takes.
pub struct Registration {
    pub email: String,
    pub password: SecretString,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// What `POST /auth/login` takes.
pub struct LoginInput {
    pub identifier: String,
    pub password: SecretString,
    pub mode: SessionMode,
    pub remember: bool,
}

/// A successful sign-in or refresh.
pub struct SignedIn {
    pub user: User,
    pub session: Session,
    /// The access JWT and its lifetime in seconds (token mode).
    pub access: Option<(String, u32)>,
    /// The new refresh token (token mode).
    pub refresh_token: Option<String>,
    /// The new session token (cookie mode: the `azth_session` value).
    pub session_token: Option<String>,
    pub remember: bool,
}

/// Lowercases and trims an email, checking its form.
pub fn normalize_email(raw: &str, field: &str) -> Result<String, FieldError> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split('@').count() == 2
        && email.split_once('@').is_some_and(|(local, domain)| {
            (1..=64).contains(&local.len())
                && domain.len() >= 3
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid { Ok(email) } else { Err(FieldError::new(field, "invalid_email", "is not a valid email address")) }
}

/// Checks a username: 3–64 characters of `[A-Za-z0-9._-]`.
pub fn check_username(username: &str) -> Result<(), FieldError> {
    let ok = (3..=64).contains(&username.chars().count())
        && username.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new("username", "invalid_username", "3 to 64 characters of letters, digits, '.', '_' or '-'"))
    }
}

/// Checks a person's name field: at most 100 characters, no control characters.
pub fn check_name(field: &str, value: &str) -> Result<(), FieldError> {
    if value.chars().count() > 100 {
        return Err(FieldError::new(field, "too_long", "at most 100 characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(field, "invalid", "must not contain control characters"));
    }
    Ok(())
}

/// Checks the fields every new account has (register, admin create, a new
/// tenant's owner): email, optional username and names, and — when given —
/// the password against the tenant's policy. Returns the normalized email
/// and username with every error found.
pub fn check_account_fields(
    email: &str,
    username: Option<&str>,
    names: [(&str, Option<&str>); 2],
    password: Option<&SecretString>,
    tenant: &Tenant,
) -> (Option<String>, Option<String>, Vec<FieldError>) {
    let mut errors = Vec::new();
    let email = normalize_email(email, "email").map_err(|e| errors.push(e)).ok();
    let username = username.map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned);
    if let Some(u) = &username
        && let Err(e) = check_username(u)
    {
        errors.push(e);
    }
    for (field, value) in names {
        if let Some(v) = value
            && let Err(e) = check_name(field, v)
        {
            errors.push(e);
        }
    }
    if let Some(password) = password {
        if password.expose_secret().len() > MAX_PASSWORD_BYTES {
            errors.push(FieldError::new("password", "too_long", "at most 128 characters"));
        } else if let Err(mut e) =
            check_password(password.expose_secret(), &policy(tenant), email.as_deref(), username.as_deref())
        {
            errors.append(&mut e);
        }
    }
    (email, username, errors)
}

/// The password policy of `tenant`.
pub fn policy(tenant: &Tenant) -> PasswordPolicy {
    PasswordPolicy {
        min_length: usize::try_from(tenant.settings.password_min_length).unwrap_or(12),
        ..PasswordPolicy::default()
    }
}

/// Creates an account in `tenant` (API.md "Authentication").
pub async fn register(
    state: &AppState,
    meta: &RequestMeta,
    tenant: &Tenant,
    input: Registration,
) -> Result<User, ApiError> {
    if !tenant.settings.allow_registration {
        return Err(ApiError::new(ErrorCode::Forbidden).with_detail("registration is closed for this tenant"));
    }
    let (email, username, errors) = check_account_fields(
        &input.email,
        input.username.as_deref(),
        [("first_name", input.first_name.as_deref()), ("last_name", input.last_name.as_deref())],
        Some(&input.password),
        tenant,
    );
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let hash = state.hasher.hash(&input.password).await?;
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant.id, Actor::Anonymous)).await?;
    let user = tx
        .insert_user(
            tenant.id,
            &NewUser {
                email,
                username,
                password_hash: Some(hash),
                first_name: input.first_name,
                last_name: input.last_name,
                status: UserStatus::Active,
            },
        )
        .await?;
    tx.assign_role_by_name(tenant.id, user.id, "member", None).await?;
    super::recovery::queue_verification(state, tx.as_mut(), tenant, &user).await?;
    tx.insert_audit(&meta.record(tenant.id, Some(user.id), AuditEvent::auth("auth.register", Some(user.id)))).await?;
    tx.commit().await?;
    state.outbox_wake.notify_one();
    tracing::info!(target: "azth::security", tenant = %tenant.id, user = %user.id, "registered");
    Ok(user)
}

/// What a correct first factor leads to.
pub enum LoginOutcome {
    SignedIn(Box<SignedIn>),
    /// The account has a second factor: `POST /auth/login/mfa` with this token.
    MfaRequired(String),
}

/// Signs in with an identifier (email or username) and a password.
pub async fn login(
    state: &AppState,
    meta: &RequestMeta,
    tenant: &Tenant,
    input: LoginInput,
) -> Result<LoginOutcome, ApiError> {
    let identifier = input.identifier.trim().to_owned();
    if identifier.is_empty() || identifier.len() > 254 || input.password.expose_secret().len() > MAX_PASSWORD_BYTES {
        // Structurally impossible credentials: same answer as a wrong password.
        return Err(ApiError::new(ErrorCode::InvalidCredentials));
    }
    let creds = {
        let mut tx = state.store.tenant(&meta.audit_ctx(tenant.id, Actor::Anonymous)).await?;
        let creds = tx.user_credentials(tenant.id, &identifier).await?;
        tx.commit().await?;
        creds
    };
    let subject = match &creds {
        Some(c) => Subject::User(c.user.id),
        None => Subject::unknown(&identifier),
    };
    let user_id = creds.as_ref().map(|c| c.user.id);

    // SECURITY: the lock is checked before the password, and answers the
    // same for existing and unknown identifiers.
    if let Err(e) =
        lockout::refuse_if_locked(state, tenant.id, &subject, creds.as_ref().and_then(|c| c.locked_until)).await
    {
        if e.code == ErrorCode::AccountLocked {
            metrics::counter!("azth_logins_total", "outcome" => "refused_locked").increment(1);
        }
        return Err(e);
    }

    let phc = creds.as_ref().and_then(|c| c.password_hash.clone());
    let known = creds.as_ref().map(|c| (c.user.id, c.user.email.clone()));
    let verified = state.hasher.verify(&input.password, phc.clone()).await?;
    let Some(creds) = creds.filter(|_| verified) else {
        let locked_until = lockout::record_failure(state, tenant.id, &subject, &tenant.settings)
            .await
            .map_err(ApiError::unavailable)?;
        // SECURITY: the lockout counter above counts before the answer; the
        // bookkeeping below (which only a real account has) runs after it,
        // so the answer's time does not tell real accounts from unknown ones.
        let (state2, meta2, t) = (state.clone(), meta.clone(), tenant.clone());
        super::detach(state, "failed sign-in bookkeeping", async move {
            let event = AuditEvent::auth("auth.login.failed", user_id);
            failure_bookkeeping(&state2, &meta2, &t, Actor::Anonymous, known, event, locked_until).await
        });
        metrics::counter!("azth_logins_total", "outcome" => if locked_until.is_some() { "locked" } else { "failed" })
            .increment(1);
        tracing::info!(target: "azth::security", tenant = %tenant.id, locked = locked_until.is_some(), "login failed");
        return Err(ApiError::new(ErrorCode::InvalidCredentials));
    };
    // A correct password for an account that may not sign in: only now say so.
    if creds.user.status != UserStatus::Active {
        return Err(ApiError::new(ErrorCode::Forbidden).with_detail("the account is not active"));
    }
    if tenant.settings.require_verified_email && !creds.user.email_verified {
        return Err(ApiError::new(ErrorCode::EmailNotVerified));
    }
    let rehash = match &phc {
        Some(phc) if state.hasher.needs_rehash(phc) => Some(state.hasher.hash(&input.password).await?),
        _ => None,
    };
    // SECURITY: the counter is cleared on a full sign-in only: with a second
    // factor due, failures so far keep counting (the MFA step clears it).
    if creds.user.mfa_enabled {
        if let Some(hash) = rehash.as_deref() {
            let mut tx = state.store.tenant(&meta.audit_ctx(tenant.id, Actor::User(creds.user.id))).await?;
            tx.set_password_hash(tenant.id, creds.user.id, hash).await?;
            tx.commit().await?;
        }
        let token = super::mfa::issue_mfa_token(
            state,
            tenant.id,
            creds.user.id,
            vec!["pwd".into()],
            input.mode,
            input.remember,
        )
        .await?;
        return Ok(LoginOutcome::MfaRequired(token));
    }

    lockout::clear(state, tenant.id, &subject).await.map_err(ApiError::unavailable)?;
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant.id, Actor::User(creds.user.id))).await?;
    tx.record_login_success(tenant.id, creds.user.id, rehash.as_deref()).await?;
    let issued =
        open_session(tx.as_mut(), meta, tenant, creds.user.id, vec!["pwd".into()], input.mode, input.remember).await?;
    tx.insert_audit(&meta.record(
        tenant.id,
        Some(creds.user.id),
        AuditEvent::auth("auth.login.succeeded", Some(creds.user.id)),
    ))
    .await?;
    let user = tx.user_by_id(tenant.id, creds.user.id).await?.ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    metrics::counter!("azth_logins_total", "outcome" => "succeeded").increment(1);
    tracing::info!(target: "azth::security", tenant = %tenant.id, user = %user.id, "login succeeded");
    Ok(LoginOutcome::SignedIn(Box::new(finish(state, tenant, user, issued)?)))
}

/// The database side of a failed credential check: the user row's counter
/// and lock, the audit rows (`event`, then `auth.locked` when this failure
/// locked) and the account-locked email. `known` is the account's id and
/// email, `None` for an identifier that matched nobody.
async fn failure_bookkeeping(
    state: &AppState,
    meta: &RequestMeta,
    tenant: &Tenant,
    actor: Actor,
    known: Option<(Uuid, String)>,
    event: AuditEvent,
    locked_until: Option<DateTime<Utc>>,
) -> Result<(), ApiError> {
    let user_id = known.as_ref().map(|(id, _)| *id);
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant.id, actor)).await?;
    if let Some(id) = user_id {
        tx.record_login_failure(tenant.id, id, locked_until).await?;
    }
    tx.insert_audit(&meta.record(tenant.id, user_id, event)).await?;
    if locked_until.is_some() {
        tx.insert_audit(&meta.record(tenant.id, user_id, AuditEvent::auth("auth.locked", user_id))).await?;
        if let Some((_, email)) = &known {
            let message = super::messages::account_locked(email, tenant.settings.lockout_minutes);
            super::messages::queue(tx.as_mut(), tenant, user_id, message).await?;
        }
    }
    tx.commit().await?;
    state.outbox_wake.notify_one();
    Ok(())
}

/// Counts a failed check of a known account's credential — a second factor
/// at sign-in, or the current password or code of a signed-in user — in the
/// account's lockout counter, exactly as a wrong password at sign-in (API.md
/// "Lockout and limits"), and audits it as `event`.
pub(crate) async fn count_account_failure(
    state: &AppState,
    meta: &RequestMeta,
    tenant: &Tenant,
    actor: Actor,
    user: &User,
    event: AuditEvent,
) -> Result<(), ApiError> {
    let locked_until = lockout::record_failure(state, tenant.id, &Subject::User(user.id), &tenant.settings)
        .await
        .map_err(ApiError::unavailable)?;
    let action = event.action;
    failure_bookkeeping(state, meta, tenant, actor, Some((user.id, user.email.clone())), event, locked_until).await?;
    tracing::info!(target: "azth::security", tenant = %tenant.id, user = %user.id, action, locked = locked_until.is_some(), "credential check failed");
    Ok(())
}

/// A session just written, with its raw secrets.
pub struct Issued {
    pub session: Session,
    pub session_token: String,
    pub refresh_token: Option<String>,
    pub remember: bool,
}

/// Creates a session (and its first refresh token in token mode) in `tx`.
pub async fn open_session(
    tx: &mut dyn azth_store::Tx,
    meta: &RequestMeta,
    tenant: &Tenant,
    user_id: Uuid,
    amr: Vec<String>,
    mode: SessionMode,
    remember: bool,
) -> Result<Issued, ApiError> {
    let session_token = random_token().map_err(ApiError::internal)?;
    let expires_at = Utc::now() + chrono::Duration::days(i64::from(tenant.settings.refresh_token_ttl_days));
    let session = tx
        .insert_session(&NewSession {
            id: Uuid::now_v7(),
            tenant_id: tenant.id,
            user_id,
            token_hash: sha256_hex(session_token.as_bytes()),
            ip_address: meta.ip.map(|ip| ip.to_string()),
            user_agent: meta.user_agent.clone(),
            amr,
            mode,
            expires_at,
        })
        .await?;
    let refresh_token = match mode {
        SessionMode::Token => {
            let token = random_token().map_err(ApiError::internal)?;
            tx.insert_refresh_token(tenant.id, session.id, &sha256_hex(token.as_bytes()), expires_at).await?;
            Some(token)
        }
        SessionMode::Cookie => None,
    };
    Ok(Issued { session, session_token, refresh_token, remember })
}

/// Mints the access token (token mode) and assembles the answer.
pub fn finish(state: &AppState, tenant: &Tenant, user: User, issued: Issued) -> Result<SignedIn, ApiError> {
    let access = match issued.session.mode {
        SessionMode::Token => Some(mint(state, tenant, &issued.session)?),
        SessionMode::Cookie => None,
    };
    let session_token = (issued.session.mode == SessionMode::Cookie).then_some(issued.session_token);
    Ok(SignedIn {
        user,
        session: issued.session,
        access,
        refresh_token: issued.refresh_token,
        session_token,
        remember: issued.remember,
    })
}

/// Signs an access token for `session`.
pub fn mint(state: &AppState, tenant: &Tenant, session: &Session) -> Result<(String, u32), ApiError> {
    let ttl = tenant.settings.access_token_ttl_seconds;
    let now = Utc::now().timestamp();
    let claims = AccessClaims {
        iss: state.config.public_url(),
        sub: session.user_id.to_string(),
        aud: state.config.tokens.audience.clone(),
        exp: now + i64::from(ttl),
        iat: now,
        nbf: now,
        jti: Uuid::new_v4().to_string(),
        tid: session.tenant_id,
        sid: session.id,
        amr: session.amr.clone(),
    };
    let keys = state.keys.keys();
    let token = jwt::sign(&claims, &keys.current).map_err(ApiError::internal)?;
    Ok((token, ttl))
}

/// Checks an `X-Tenant-ID` presented with a self-identifying token
/// (refresh, reset, verify, mfa): naming another tenant makes the token invalid.
pub async fn header_matches(state: &AppState, header: Option<&str>, tenant_id: Uuid) -> Result<(), ApiError> {
    if let Some(value) = header {
        match tenancy::named(state, value).await? {
            Some(t) if t.id == tenant_id => {}
            _ => return Err(ApiError::new(ErrorCode::TokenInvalid)),
        }
    }
    Ok(())
}

/// The tenant a token names, refusing deleted (401) and suspended (403) ones.
pub(crate) async fn token_tenant(state: &AppState, id: Uuid) -> Result<Tenant, ApiError> {
    match tenancy::by_id(state, id).await? {
        Some(t) if t.deleted_at.is_none() => tenancy::usable(t),
        _ => Err(ApiError::new(ErrorCode::TokenInvalid)),
    }
}

/// Rotates a refresh token: a live one yields new tokens; a spent one is a
/// replay, which revokes its session (RFC 9700 §4.14.2).
pub async fn refresh(
    state: &AppState,
    meta: &RequestMeta,
    header_tenant: Option<&str>,
    refresh_token: &str,
) -> Result<SignedIn, ApiError> {
    if refresh_token.is_empty() || refresh_token.len() > 256 {
        return Err(ApiError::new(ErrorCode::TokenInvalid));
    }
    let hash = sha256_hex(refresh_token.as_bytes());
    let mut tx = state.store.system("a refresh token names its own tenant").await?;
    match tx.spend_refresh_token(&hash).await? {
        RefreshOutcome::Invalid => Err(ApiError::new(ErrorCode::TokenInvalid)),
        RefreshOutcome::Spent { session_id, tenant_id } => {
            // SECURITY: a replay revokes the session whatever the tenant
            // header says, so probing with a foreign X-Tenant-ID cannot dodge
            // reuse detection (gap G13); the header still decides the answer.
            let header = header_matches(state, header_tenant, tenant_id).await;
            let revoked = tx.revoke_session(tenant_id, session_id).await?;
            let user = tx.session_by_id(tenant_id, session_id).await?.map(|s| s.user_id);
            tx.insert_audit(&meta.record(
                tenant_id,
                user,
                AuditEvent::auth("auth.token.reused", user).with_details(serde_json::json!({
                    "session_id": session_id,
                    "session_revoked": revoked,
                    "tenant_header_matched": header.is_ok(),
                })),
            ))
            .await?;
            tx.commit().await?;
            mark_revoked(state, &[session_id]).await;
            tracing::warn!(target: "azth::security", tenant = %tenant_id, session = %session_id, "refresh token reused; session revoked");
            header?;
            Err(ApiError::new(ErrorCode::TokenReused))
        }
        RefreshOutcome::Fresh(session) => {
            header_matches(state, header_tenant, session.tenant_id).await?;
            let tenant = token_tenant(state, session.tenant_id).await?;
            check_live(&tenant, &session)?;
            let user = tx.user_by_id(tenant.id, session.user_id).await?.filter(|u| u.status == UserStatus::Active);
            let Some(user) = user else { return Err(ApiError::new(ErrorCode::TokenInvalid)) };
            let token = random_token().map_err(ApiError::internal)?;
            tx.insert_refresh_token(tenant.id, session.id, &sha256_hex(token.as_bytes()), session.expires_at).await?;
            tx.touch_session(tenant.id, session.id).await?;
            tx.commit().await?;
            let access = Some(mint(state, &tenant, &session)?);
            Ok(SignedIn { user, session, access, refresh_token: Some(token), session_token: None, remember: true })
        }
    }
}

/// Rotates a cookie session's token (`POST /auth/refresh` in cookie mode).
pub async fn refresh_cookie(state: &AppState, header_tenant: Option<&str>, cookie: &str) -> Result<SignedIn, ApiError> {
    let (tenant, session) = cookie_session(state, cookie).await?;
    header_matches(state, header_tenant, tenant.id).await?;
    let new_token = random_token().map_err(ApiError::internal)?;
    let mut tx = state.store.system("a session cookie names its own tenant").await?;
    let rotated = tx
        .rotate_session_token(tenant.id, session.id, &sha256_hex(cookie.as_bytes()), &sha256_hex(new_token.as_bytes()))
        .await?;
    let user = tx.user_by_id(tenant.id, session.user_id).await?.filter(|u| u.status == UserStatus::Active);
    tx.commit().await?;
    let (true, Some(user)) = (rotated, user) else { return Err(ApiError::new(ErrorCode::TokenInvalid)) };
    Ok(SignedIn { user, session, access: None, refresh_token: None, session_token: Some(new_token), remember: true })
}

/// Refuses revoked (401 TOKEN_INVALID) and expired or idle (401 TOKEN_EXPIRED) sessions.
fn check_live(tenant: &Tenant, session: &Session) -> Result<(), ApiError> {
    if session.revoked_at.is_some() {
        return Err(ApiError::new(ErrorCode::TokenInvalid));
    }
    let idle = chrono::Duration::minutes(i64::from(tenant.settings.session_idle_timeout_minutes));
    if !session.is_live(Utc::now(), idle) {
        return Err(ApiError::new(ErrorCode::TokenExpired));
    }
    Ok(())
}

async fn cookie_session(state: &AppState, cookie: &str) -> Result<(Tenant, Session), ApiError> {
    if cookie.is_empty() || cookie.len() > 256 {
        return Err(ApiError::new(ErrorCode::TokenInvalid));
    }
    let mut tx = state.store.system("a session cookie names its own tenant").await?;
    let session = tx.session_by_token_hash(&sha256_hex(cookie.as_bytes())).await?;
    tx.commit().await?;
    let Some(session) = session else { return Err(ApiError::new(ErrorCode::TokenInvalid)) };
    let tenant = token_tenant(state, session.tenant_id).await?;
    check_live(&tenant, &session)?;
    Ok((tenant, session))
}

/// The cache key of a session's revocation marker.
fn revocation_key(session: Uuid) -> String {
    format!("revoked:{session}")
}

/// Marks that the cache holds every revocation of the last
/// [`REVOCATION_TTL`]; a cache that lost it (restarted without persistence,
/// flushed, or the in-process cache of a restarted node) is re-filled, and
/// until then every check reads the database.
const WARM_SENTINEL: &str = "revocations:warm";

/// Whether this node may answer revocation checks from the cache.
///
/// It may not at start, nor after the cache failed to answer or to take a
/// marker, nor after a check found [`WARM_SENTINEL`] gone: then every check
/// reads the database, and [`warm_revocations`] (at start, then every
/// 250 ms from [`flush_revocations`]) rewrites the markers of every session
/// revoked within [`REVOCATION_TTL`] — all nodes' revocations are in the
/// database — before the cache is trusted again. So no revoked session comes
/// back to life when the cache returns or loses its data, not even for a
/// moment. A node that could not write a marker also deletes
/// [`WARM_SENTINEL`] first, so nodes that saw no failure check the database
/// too until the markers are back.
#[derive(Debug)]
pub struct Revocations {
    /// Bumped by every reason for doubt.
    doubts: std::sync::atomic::AtomicU64,
    /// The value of `doubts` the last complete warm-up started from.
    settled: std::sync::atomic::AtomicU64,
    /// A marker of this node did not reach the cache.
    unwritten: std::sync::atomic::AtomicBool,
}

/// The value of `Revocations::doubts` at start.
const STARTING: u64 = 1;

impl Default for Revocations {
    fn default() -> Self {
        // In doubt at start: an in-process cache starts empty, and Redis may
        // have lost markers while this node was not running.
        Self { doubts: STARTING.into(), settled: 0.into(), unwritten: false.into() }
    }
}

impl Revocations {
    /// Whether the cache's markers can be trusted.
    pub fn trusted(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.settled.load(Ordering::SeqCst) == self.doubts.load(Ordering::SeqCst)
    }

    /// The cache may miss a marker: check the database until the next warm-up.
    pub fn doubt(&self) {
        self.doubts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Records in the shared cache that sessions are revoked, so access tokens
/// naming them fail on the very next request on every node.
pub async fn mark_revoked(state: &AppState, sessions: &[Uuid]) {
    for id in sessions {
        if let Err(e) = state.cache.set_ex(&revocation_key(*id), "1", REVOCATION_TTL).await {
            // The revocation is committed: until the markers are rewritten,
            // this node checks revocations in the database.
            tracing::warn!(error = %e, "could not record a revocation in the cache; checking the database until it returns");
            state.revocations.unwritten.store(true, std::sync::atomic::Ordering::SeqCst);
            state.revocations.doubt();
            return;
        }
    }
}

/// Makes the cache's revocation markers trustworthy again when this node
/// doubts them: rewrites the marker of every session revoked in the last
/// [`REVOCATION_TTL`] from the database, then [`WARM_SENTINEL`]. At start, a
/// cache still holding the sentinel is trusted as it is (another node or an
/// earlier run filled it). Does nothing while the node trusts the cache or
/// the cache is down. Returns how many markers were written.
///
/// SECURITY: without this a cache that forgot a marker would accept a
/// signed-out access token again until it expires.
pub async fn warm_revocations(state: &AppState) -> usize {
    use std::sync::atomic::Ordering;
    let revocations = &state.revocations;
    let doubts = revocations.doubts.load(Ordering::SeqCst);
    if revocations.settled.load(Ordering::SeqCst) == doubts || state.cache.ping().await.is_err() {
        return 0;
    }
    if revocations.unwritten.swap(false, Ordering::SeqCst) && state.cache.del(WARM_SENTINEL).await.is_err() {
        revocations.unwritten.store(true, Ordering::SeqCst);
        return 0;
    }
    if doubts == STARTING && matches!(state.cache.get(WARM_SENTINEL).await, Ok(Some(_))) {
        revocations.settled.store(doubts, Ordering::SeqCst);
        return 0;
    }
    let now = Utc::now();
    let ttl = chrono::Duration::from_std(REVOCATION_TTL).unwrap_or_else(|_| chrono::Duration::days(1));
    let revoked = async {
        let mut tx = state.store.system("restore revocation markers the cache lost").await?;
        let rows = tx.revoked_sessions_since(now - ttl).await?;
        tx.commit().await?;
        Ok::<_, azth_store::StoreError>(rows)
    };
    let revoked = match revoked.await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "cannot restore revocation markers yet");
            return 0;
        }
    };
    let mut written = 0;
    for (id, at) in &revoked {
        let left = (*at + ttl - now).to_std().unwrap_or_default();
        if left.is_zero() {
            continue;
        }
        if state.cache.set_ex(&revocation_key(*id), "1", left).await.is_err() {
            return written;
        }
        written += 1;
    }
    // Set last: if the cache fails midway, the next round starts over.
    if state.cache.set_ex(WARM_SENTINEL, "1", REVOCATION_TTL * 30).await.is_ok() {
        // Trusted again, unless a new doubt arose meanwhile.
        revocations.settled.store(doubts, Ordering::SeqCst);
        tracing::info!(target: "azth::security", markers = written, "revocation markers restored in the cache");
    }
    written
}

/// While this node doubts the cache's revocation markers, warms them up
/// every 250 ms, until `stop`.
pub async fn flush_revocations(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if !state.revocations.trusted() {
            warm_revocations(&state).await;
        }
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Whether a session is revoked: the cache when this node trusts it and it
/// still holds [`WARM_SENTINEL`] (one `MGET`), the database otherwise.
async fn is_revoked(state: &AppState, tenant_id: Uuid, session_id: Uuid) -> Result<bool, ApiError> {
    if state.revocations.trusted() {
        let key = revocation_key(session_id);
        match state.cache.get_many(&[&key, WARM_SENTINEL]).await {
            Ok(found) if found.first().is_some_and(Option::is_some) => return Ok(true),
            Ok(found) if found.get(1).is_some_and(Option::is_some) => return Ok(false),
            Ok(_) => {
                tracing::warn!("the cache lost its revocation markers; checking the database until they are restored");
                state.revocations.doubt();
            }
            Err(e) => {
                tracing::warn!(error = %e, "revocation check falls back to the database");
                state.revocations.doubt();
            }
        }
    }
    let mut tx = state.store.system("revocation check while the cache is in doubt").await?;
    let session = tx.session_by_id(tenant_id, session_id).await?;
    tx.commit().await?;
    Ok(session.is_none_or(|s| s.revoked_at.is_some()))
}

/// The principal of an `Authorization: Bearer` access token.
pub async fn authenticate_bearer(
    state: &AppState,
    token: &str,
    header_tenant: Option<&str>,
) -> Result<Principal, ApiError> {
    let kid = jwt::decode_kid(token).ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    let mut keys = state.keys.keys();
    if !keys.verifying.contains_key(&kid) {
        // Possibly a key rotated in on another node since we last looked.
        state.keys.reload_for_unknown_kid().await;
        keys = state.keys.keys();
    }
    let key = keys.verifying.get(&kid).ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid))?;
    let claims = jwt::verify(
        token,
        key,
        &state.config.public_url(),
        &state.config.tokens.audience,
        state.config.tokens.leeway_secs,
    )
    .map_err(|e| match e {
        JwtError::Expired => ApiError::new(ErrorCode::TokenExpired),
        JwtError::Invalid => ApiError::new(ErrorCode::TokenInvalid),
    })?;
    let user_id = Uuid::parse_str(&claims.sub).map_err(|_| ApiError::new(ErrorCode::TokenInvalid))?;
    let tenant = token_tenant(state, claims.tid).await?;
    if is_revoked(state, tenant.id, claims.sid).await? {
        return Err(ApiError::new(ErrorCode::TokenInvalid));
    }
    let acting = access::acting_tenant(state, header_tenant, &tenant, user_id).await?;
    Ok(Principal { tenant, acting, user_id, session_id: claims.sid, amr: claims.amr, credential: Credential::Bearer })
}

/// The principal of an `azth_session` cookie.
pub async fn authenticate_cookie(
    state: &AppState,
    cookie: &str,
    header_tenant: Option<&str>,
) -> Result<Principal, ApiError> {
    let (tenant, session) = cookie_session(state, cookie).await?;
    let acting = access::acting_tenant(state, header_tenant, &tenant, session.user_id).await?;
    // Activity is recorded at most once a minute per session.
    if Utc::now() - session.last_activity > chrono::Duration::seconds(60) {
        let mut tx = state.store.system("cookie session activity").await?;
        tx.touch_session(tenant.id, session.id).await?;
        tx.commit().await?;
    }
    Ok(Principal {
        tenant,
        acting,
        user_id: session.user_id,
        session_id: session.id,
        amr: session.amr,
        credential: Credential::Cookie,
    })
}

/// Ends the caller's session, or all of the user's sessions.
pub async fn logout(state: &AppState, meta: &RequestMeta, principal: &Principal, all: bool) -> Result<(), ApiError> {
    let tenant = principal.tenant.id;
    let mut tx = state.store.tenant(&meta.audit_ctx(tenant, Actor::User(principal.user_id))).await?;
    let revoked = if all {
        tx.revoke_user_sessions(tenant, principal.user_id, None).await?
    } else {
        tx.revoke_session(tenant, principal.session_id).await?;
        vec![principal.session_id]
    };
    tx.insert_audit(&meta.record(
        tenant,
        Some(principal.user_id),
        AuditEvent::auth("auth.logout", Some(principal.user_id)).with_details(serde_json::json!({"all": all})),
    ))
    .await?;
    tx.commit().await?;
    mark_revoked(state, &revoked).await;
    Ok(())
}

/// In a tenant with `mfa_required`, a user without a second factor may only
/// enrol: everything else answers 403 `MFA_ENROLLMENT_REQUIRED`.
pub async fn require_mfa_enrolment(state: &AppState, principal: &Principal) -> Result<(), ApiError> {
    let tenant = principal.tenant.id;
    let mut tx = state.store.tenant(&azth_core::AuditContext::new(tenant, Actor::User(principal.user_id))).await?;
    let enrolled = tx.user_by_id(tenant, principal.user_id).await?.is_some_and(|u| u.mfa_enabled);
    tx.commit().await?;
    if enrolled { Ok(()) } else { Err(ApiError::new(ErrorCode::MfaEnrollmentRequired)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(normalize_email("  Alice@Example.COM ", "email").unwrap(), "alice@example.com");
        for bad in ["", "alice", "a@b", "a@@b.com", "a b@c.com", "@c.com", "a@.com", "a@c.com.", "a@c..com"] {
            assert!(normalize_email(bad, "email").is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames_and_names() {
        assert!(check_username("alice.b-1_x").is_ok());
        for bad in ["ab", "has space", "a@b", &"x".repeat(65)] {
            assert!(check_username(bad).is_err(), "{bad}");
        }
        assert!(check_name("first_name", "Zoë").is_ok());
        assert!(check_name("first_name", &"x".repeat(101)).is_err());
        assert!(check_name("first_name", "a\u{0}b").is_err());
    }
}
