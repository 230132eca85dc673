//! The first start (API.md "Running"): the `system` tenant with its system
//! roles and `super_admin`, and the first operator holding `super_admin`.

use azth_core::Actor;
use azth_core::crypto::token::random_bytes;
use azth_core::model::{SYSTEM_TENANT_SLUG, UserStatus};
use azth_core::password::{PasswordPolicy, check_password};
use azth_store::{NewTenant, NewUser, Store, StoreError};
use secrecy::{ExposeSecret, SecretString};

use crate::config::Config;
use crate::hashing::HashPool;
use crate::http::ApiError;

/// What bootstrap created, to tell the operator once.
pub struct Bootstrapped {
    pub admin_email: String,
    /// Set only when azth generated the password (it is shown once).
    pub generated_password: Option<SecretString>,
}

/// Creates the system tenant and the first operator when no tenant exists.
/// Returns `None` when there was nothing to do (also when another node won
/// the race).
pub async fn ensure(config: &Config, store: &dyn Store, hasher: &HashPool) -> Result<Option<Bootstrapped>, ApiError> {
    {
        let mut tx = store.system("bootstrap checks for any tenant").await?;
        let count = tx.count_tenants().await?;
        tx.commit().await?;
        if count > 0 {
            return Ok(None);
        }
    }
    let email = config.bootstrap.admin_email.trim().to_lowercase();
    let (password, generated) = match &config.bootstrap.admin_password {
        Some(p) => {
            // Checked before anything is created: a refused start leaves no
            // system tenant without its operator behind.
            check_configured_password(p, &email)?;
            (p.clone(), false)
        }
        None => (generate_password()?, true),
    };
    let hash = hasher.hash(&password).await?;

    let mut tx = store.system("bootstrap creates the system tenant").await?;
    let tenant = match tx
        .insert_tenant(&NewTenant {
            name: "System".into(),
            slug: SYSTEM_TENANT_SLUG.into(),
            domain: None,
            plan: "system".into(),
            settings: serde_json::json!({"allow_registration": false}),
        })
        .await
    {
        Err(StoreError::Conflict { .. }) => return Ok(None),
        other => other?,
    };
    tx.commit().await?;
    let ctx = azth_core::AuditContext::new(tenant.id, Actor::System);
    let mut tx = store.tenant(&ctx).await?;
    let user = tx
        .insert_user(
            tenant.id,
            &NewUser {
                email: email.clone(),
                username: Some(ADMIN_USERNAME.into()),
                password_hash: Some(hash),
                first_name: None,
                last_name: None,
                status: UserStatus::Active,
            },
        )
        .await?;
    tx.assign_role_by_name(tenant.id, user.id, "super_admin", None).await?;
    tx.commit().await?;
    tracing::info!(target: "azth::security", tenant = %tenant.id, admin = %user.id, "bootstrapped the system tenant");
    Ok(Some(Bootstrapped { admin_email: email, generated_password: generated.then_some(password) }))
}

/// The first operator's username.
const ADMIN_USERNAME: &str = "admin";

/// Checks a configured first-operator password as registration checks a new
/// one (`check_password` with the account's email and username), under the
/// system tenant's policy — the default one, since bootstrap sets no
/// `password_min_length`. The error names the variable and why, never the value.
// SECURITY: the operator of every tenant must not start with a weak password (gap G17).
fn check_configured_password(password: &SecretString, email: &str) -> Result<(), ApiError> {
    match check_password(password.expose_secret(), &PasswordPolicy::default(), Some(email), Some(ADMIN_USERNAME)) {
        Ok(()) => Ok(()),
        Err(errors) => {
            let why = errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ");
            Err(ApiError::validation(errors).with_detail(format!(
                "AZTH_BOOTSTRAP_ADMIN_PASSWORD (bootstrap.admin_password) does not meet the password policy: {why}"
            )))
        }
    }
}

/// 20 characters from an unambiguous alphabet of 55 (~115 bits).
pub fn generate_password() -> Result<SecretString, ApiError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    // Rejection sampling: bytes ≥ 220 (= 4 × 55) are skipped, so every
    // character is equally likely.
    let limit = 256 - 256 % ALPHABET.len();
    let mut password = String::with_capacity(20);
    while password.len() < 20 {
        for b in random_bytes::<64>().map_err(ApiError::internal)? {
            if usize::from(b) < limit && password.len() < 20 {
                password.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            }
        }
    }
    Ok(SecretString::from(password))
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_passwords_are_long_and_differ() {
        let a = super::generate_password().unwrap();
        let b = super::generate_password().unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(a.expose_secret().len(), 20);
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(super::check_configured_password(&a, "admin@localhost").is_ok());
    }

    #[test]
    fn a_configured_password_must_meet_the_policy() {
        let check = |p: &str, email: &str| super::check_configured_password(&p.to_owned().into(), email);
        assert!(check("correct horse battery staple", "root@example.com").is_ok(), "the test suites' password");
        for (weak, why) in [
            ("short-pw", "at least 12 characters"),
            ("password1234", "too common"),
            ("Root@Example.com", "same as the email"),
        ] {
            let e = check(weak, "root@example.com").unwrap_err();
            let detail = e.detail.clone().unwrap();
            assert!(detail.starts_with("AZTH_BOOTSTRAP_ADMIN_PASSWORD "), "{detail}");
            assert!(detail.contains(why) && !detail.contains(weak) && !detail.contains('\n'), "{detail}");
        }
    }
}
