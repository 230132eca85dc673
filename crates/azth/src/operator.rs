//! The operator commands: `azth tenants|users|roles …`. Each opens the
//! store, runs one operation of `services::cli` and prints text or JSON; a
//! failure is one line on standard error and a non-zero exit.

use std::io::BufRead;

use azth_core::model::TenantStatus;
use azth_server::Config;
use azth_server::app::open_state;
use azth_server::http::ApiError;
use azth_server::services::cli;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::{PasswordInput, RolesCommand, TenantsCommand, UsersCommand};

/// An operation's error as one line: `CODE: detail (field: message, …)`.
fn line(err: ApiError) -> anyhow::Error {
    let mut text =
        format!("{}: {}", err.code, err.detail.clone().unwrap_or_else(|| err.code.default_detail().to_owned()));
    if !err.errors.is_empty() {
        let fields: Vec<String> = err.errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        text.push_str(&format!(" ({})", fields.join(", ")));
    } else if let Some(field) = &err.field {
        text.push_str(&format!(" ({field})"));
    }
    anyhow::anyhow!(text)
}

fn read_password(input: &PasswordInput) -> anyhow::Result<Option<SecretString>> {
    if !input.password_stdin {
        return Ok(None);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    Ok(Some(SecretString::from(password)))
}

fn print<T: Serialize>(json: bool, value: &T, text: impl FnOnce()) {
    if json {
        println!("{}", serde_json::to_string(value).unwrap_or_default());
    } else {
        text();
    }
}

pub async fn tenants(config: Config, cmd: TenantsCommand) -> anyhow::Result<()> {
    let state = open_state(config).await?;
    match cmd {
        TenantsCommand::Create { name, slug, domain, owner_email, password, out } => {
            let password = read_password(&password)?;
            let (tenant, owner) =
                cli::create_tenant(&state, name, slug, domain, owner_email, password).await.map_err(line)?;
            print(out.json, &serde_json::json!({"tenant": tenant, "owner": owner}), || {
                println!(
                    "created tenant {} ({}) with owner {} [{}]",
                    tenant.slug,
                    tenant.id,
                    owner.email,
                    owner.status.as_str()
                );
            });
        }
        TenantsCommand::List { out } => {
            let tenants = cli::list_tenants(&state).await.map_err(line)?;
            print(out.json, &tenants, || {
                for t in &tenants {
                    println!("{} {} {} {}", t.id, t.slug, t.status.as_str(), t.name);
                }
            });
        }
        TenantsCommand::Suspend { tenant, out } => status(&state, &tenant, TenantStatus::Suspended, out.json).await?,
        TenantsCommand::Activate { tenant, out } => status(&state, &tenant, TenantStatus::Active, out.json).await?,
    }
    Ok(())
}

async fn status(
    state: &azth_server::state::AppState,
    tenant: &str,
    to: TenantStatus,
    json: bool,
) -> anyhow::Result<()> {
    let tenant = cli::set_tenant_status(state, tenant, to).await.map_err(line)?;
    print(json, &tenant, || println!("tenant {} is {}", tenant.slug, tenant.status.as_str()));
    Ok(())
}

pub async fn users(config: Config, cmd: UsersCommand) -> anyhow::Result<()> {
    let state = open_state(config).await?;
    match cmd {
        UsersCommand::Create { tenant, email, username, password, out } => {
            let password = read_password(&password)?;
            let user = cli::create_user(&state, &tenant, &email, username, password).await.map_err(line)?;
            print(out.json, &user, || println!("created user {} ({}) [{}]", user.email, user.id, user.status.as_str()));
        }
        UsersCommand::List { tenant, include_deleted, out } => {
            let users = cli::list_users(&state, &tenant, include_deleted).await.map_err(line)?;
            print(out.json, &users, || {
                for u in &users {
                    println!("{} {} {}", u.id, u.email, u.status.as_str());
                }
            });
        }
        UsersCommand::Unlock { tenant, email, out } => {
            let user = cli::unlock_user(&state, &tenant, &email).await.map_err(line)?;
            print(out.json, &user, || println!("unlocked {}", user.email));
        }
        UsersCommand::ResetPassword { tenant, email, password, out } => {
            let password = read_password(&password)?;
            let (user, generated) = cli::reset_password(&state, &tenant, &email, password).await.map_err(line)?;
            let shown = generated.as_ref().map(|p| p.expose_secret().to_owned());
            print(out.json, &serde_json::json!({"user": user, "password": shown}), || {
                println!("new password set for {}; every session was revoked", user.email);
                if let Some(p) = &shown {
                    println!("password: {p}  (shown once)");
                }
            });
        }
    }
    Ok(())
}

pub async fn roles(config: Config, cmd: RolesCommand) -> anyhow::Result<()> {
    let state = open_state(config).await?;
    match cmd {
        RolesCommand::Assign { tenant, email, role, expires_at, out } => {
            let assignment = cli::assign_role(&state, &tenant, &email, &role, expires_at).await.map_err(line)?;
            print(out.json, &assignment, || println!("assigned {role} to {email}"));
        }
        RolesCommand::Revoke { tenant, email, role, out } => {
            cli::revoke_role(&state, &tenant, &email, &role).await.map_err(line)?;
            print(out.json, &serde_json::json!({"revoked": true}), || println!("revoked {role} from {email}"));
        }
    }
    Ok(())
}

/// `azth dev seed`.
pub async fn seed(config: Config, tenants: u32, users: u32, password: &PasswordInput) -> anyhow::Result<()> {
    anyhow::ensure!(tenants > 0, "--tenants must be at least 1");
    let password = read_password(password)?.unwrap_or_else(|| SecretString::from("seed-password-1234".to_owned()));
    let azth_server::app::Database::Postgres(store) =
        azth_server::app::open_store(&config, true, std::time::Duration::from_secs(30)).await?
    else {
        anyhow::bail!("dev seed loads PostgreSQL with COPY: set AZTH_DATABASE_URL to a postgres:// URL");
    };
    let params: azth_core::crypto::hash::HashParams =
        config.password_hash.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash = azth_core::crypto::hash::hash_password(password.expose_secret().as_bytes(), &params)?;
    let per_tenant = users.div_ceil(tenants);
    let started = std::time::Instant::now();
    let seeded = store
        .seed(tenants, per_tenant, &hash, |done| {
            if done % 1000 == 0 || done == tenants {
                eprintln!("seeded {done}/{tenants} tenants ({:.1} s)", started.elapsed().as_secs_f64());
            }
        })
        .await?;
    println!(
        "seeded {} tenants and {} users in {:.1} s",
        seeded.tenants,
        seeded.users,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
