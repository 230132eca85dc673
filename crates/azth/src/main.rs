//! The `azth` command: serve the API and operate the database.
//!
//! Everything of substance lives in the library crates; this file parses
//! the command line, loads configuration and reports failures as one line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use azth_server::Config;
use azth_server::app::{Application, open_state, open_store, shutdown_signal};
use azth_server::keys::{self, load_master_key};
use azth_server::services::bootstrap::{self, Bootstrapped};
use clap::{Parser, Subcommand};

mod operator;
use secrecy::ExposeSecret;

/// azth — multi-tenant identity and access server.
///
/// Configuration comes from an optional YAML file (--config), overridden by
/// AZTH_* environment variables (AZTH_DATABASE_URL, AZTH_REDIS_URL,
/// AZTH_LISTEN, …; nested keys as AZTH_DATABASE__MAX_CONNECTIONS).
#[derive(Debug, Parser)]
#[command(name = "azth", version, about, long_about)]
struct Cli {
    /// YAML configuration file.
    #[arg(long, short = 'c', global = true, env = "AZTH_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (applies pending migrations first unless
    /// database.migrate_on_start is false).
    Serve,
    /// Manage the PostgreSQL schema.
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// Create the `system` tenant and the first operator if no tenant
    /// exists yet (serve does this on its first start too).
    Bootstrap,
    /// Manage the token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage tenants (as the `cli` actor: every change is audited).
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Manage users of a tenant.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Assign and revoke roles.
    #[command(subcommand)]
    Roles(RolesCommand),
    /// Development helpers.
    #[command(subcommand)]
    Dev(DevCommand),
    /// Print the OpenAPI 3.1 document of the HTTP API (the one served at
    /// /api/v1/openapi.json).
    Openapi,
}

#[derive(Debug, Subcommand)]
enum DevCommand {
    /// Load bulk test data for scale runs: tenants `seed-NNNNNN` with their
    /// system roles, and users `user<n>@seed-NNNNNN.example` holding
    /// `member`, all with one password (default `seed-password-1234`, or
    /// --password-stdin). Runs again add more tenants after the last one.
    Seed {
        /// Number of tenants to create.
        #[arg(long, default_value_t = 10)]
        tenants: u32,
        /// Number of users, spread evenly over the new tenants.
        #[arg(long, default_value_t = 100)]
        users: u32,
        #[command(flatten)]
        password: PasswordInput,
    },
}

/// Output options shared by the operator commands.
#[derive(Debug, clap::Args)]
struct Output {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// A password read from standard input (one line), so it never shows in
/// the process list or the shell history.
#[derive(Debug, clap::Args)]
struct PasswordInput {
    /// Read the password from standard input instead of generating one / inviting.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Debug, Subcommand)]
enum TenantsCommand {
    /// Create a tenant, its system roles and its first owner (invited by
    /// email unless --password-stdin gives a password).
    Create {
        #[arg(long)]
        name: String,
        /// Lowercase, 3–63 characters of [a-z0-9-].
        #[arg(long)]
        slug: String,
        #[arg(long)]
        domain: Option<String>,
        #[arg(long)]
        owner_email: String,
        #[command(flatten)]
        password: PasswordInput,
        #[command(flatten)]
        out: Output,
    },
    /// List the tenants.
    List {
        #[command(flatten)]
        out: Output,
    },
    /// Suspend a tenant: its users cannot sign in and their tokens stop working at once.
    Suspend {
        /// Slug or id.
        tenant: String,
        #[command(flatten)]
        out: Output,
    },
    /// Reactivate a suspended tenant.
    Activate {
        /// Slug or id.
        tenant: String,
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Create a user (active with --password-stdin, else pending and invited).
    Create {
        /// Slug or id of the tenant.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        username: Option<String>,
        #[command(flatten)]
        password: PasswordInput,
        #[command(flatten)]
        out: Output,
    },
    /// List the users of a tenant.
    List {
        #[arg(long)]
        tenant: String,
        /// Include soft-deleted users.
        #[arg(long)]
        include_deleted: bool,
        #[command(flatten)]
        out: Output,
    },
    /// Clear a user's failed sign-ins and lock.
    Unlock {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[command(flatten)]
        out: Output,
    },
    /// Set a new password (from standard input, or generated and printed
    /// once); every session of the user is revoked.
    ResetPassword {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[command(flatten)]
        password: PasswordInput,
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Debug, Subcommand)]
enum RolesCommand {
    /// Assign a role (by name) to a user (by email).
    Assign {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: String,
        /// RFC 3339 time after which the assignment grants nothing.
        #[arg(long)]
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
        #[command(flatten)]
        out: Output,
    },
    /// Remove a role from a user; the last active owner cannot lose `owner`.
    Revoke {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: String,
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate the configuration (file + environment) and print the
    /// effective one with every secret masked.
    Check {
        /// Print JSON instead of YAML-like lines.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Add a new signing key and retire the others; retired keys stay in the
    /// JWKS until every token they signed has expired.
    Rotate {
        #[command(flatten)]
        out: Output,
    },
    /// List the published keys.
    List {
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Debug, Subcommand)]
enum MigrateCommand {
    /// Apply every pending migration.
    Up,
    /// Revert the newest applied migration, or every one above --to.
    Down {
        /// Revert down to this version (kept applied); 0 reverts everything.
        #[arg(long, value_name = "N")]
        to: Option<i64>,
    },
    /// List migrations, applied and pending.
    Status,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (config, warnings) = match Config::load(cli.config.as_deref()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("azth: {e}");
            return ExitCode::from(2);
        }
    };
    azth_server::telemetry::init(&config.log);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    if let Command::Openapi = &cli.command {
        match serde_json::to_string_pretty(&azth_server::http::openapi_document()) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("azth: {e}");
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    }
    if let Command::Config(ConfigCommand::Check { json }) = &cli.command {
        print_config(&config.masked_json(), *json);
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("azth: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("azth: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let mut app = Application::build(config).await?;
            let config = app.state().config.clone();
            if let Some(created) = app.take_bootstrapped() {
                print_bootstrapped(&config, &created);
            }
            tracing::info!(addr = %app.local_addr(), "azth listening");
            app.run_until_stopped(shutdown_signal()).await?;
            Ok(())
        }
        Command::Bootstrap => {
            let state = open_state(config).await?;
            match bootstrap::ensure(&state.config, state.store.as_ref(), &state.hasher).await {
                Ok(Some(created)) => print_bootstrapped(&state.config, &created),
                Ok(None) => println!("already bootstrapped: a tenant exists"),
                Err(e) => anyhow::bail!("bootstrap failed: {}", e.detail.clone().unwrap_or_else(|| e.code.to_string())),
            }
            Ok(())
        }
        Command::Keys(cmd) => {
            let store = open_store(&config, false, Duration::ZERO).await?.store();
            let store = store.as_ref();
            match cmd {
                KeysCommand::Rotate { out } => {
                    let master = load_master_key(&config)?;
                    let kid = keys::rotate(store, &master).await?;
                    if out.json {
                        println!("{}", serde_json::json!({"kid": kid}));
                    } else {
                        println!("new signing key {kid}; older keys stay published until their tokens expire");
                    }
                }
                KeysCommand::List { out } => {
                    let keys = keys::list(store).await?;
                    if out.json {
                        let list: Vec<serde_json::Value> = keys
                            .iter()
                            .map(|k| {
                                serde_json::json!({"kid": k.kid, "algorithm": k.algorithm, "created_at": k.created_at,
                                                   "retired_at": k.retired_at, "expires_at": k.expires_at})
                            })
                            .collect();
                        println!("{}", serde_json::Value::Array(list));
                    }
                    for key in keys.iter().filter(|_| !out.json) {
                        let state = match (key.retired_at, key.expires_at) {
                            (None, _) => "active".to_owned(),
                            (Some(_), Some(until)) => format!("retired, published until {}", until.to_rfc3339()),
                            (Some(_), None) => "retired".to_owned(),
                        };
                        println!("{} {} {} {}", key.kid, key.algorithm, key.created_at.to_rfc3339(), state);
                    }
                }
            }
            Ok(())
        }
        Command::Config(_) | Command::Openapi => Ok(()),
        Command::Tenants(cmd) => operator::tenants(config, cmd).await,
        Command::Users(cmd) => operator::users(config, cmd).await,
        Command::Roles(cmd) => operator::roles(config, cmd).await,
        Command::Dev(DevCommand::Seed { tenants, users, password }) => {
            operator::seed(config, tenants, users, &password).await
        }
        Command::Migrate(cmd) => {
            let db = open_store(&config, false, Duration::ZERO).await?;
            match cmd {
                MigrateCommand::Up => {
                    db.migrate_up().await?;
                    println!("migrations applied");
                }
                MigrateCommand::Down { to } => {
                    let reverted = db.migrate_down(to).await?;
                    if reverted.is_empty() {
                        println!("nothing to revert");
                    }
                    for version in reverted {
                        println!("reverted {version:04}");
                    }
                }
                MigrateCommand::Status => {
                    for m in db.migrate_status().await? {
                        let state = if m.applied { "applied" } else { "pending" };
                        println!("{:04} {:<8} {}", m.version, state, m.description);
                    }
                }
            }
            Ok(())
        }
    }
}

/// Tells the operator how to sign in the first time (the generated password
/// is shown here once and never again).
fn print_bootstrapped(config: &Config, created: &Bootstrapped) {
    let url = config.public_url();
    println!("azth: created the system tenant and its first operator");
    println!("  sign in:  POST {url}/api/v1/auth/login  (header X-Tenant-ID: system)");
    println!("  tenant:   system");
    println!("  email:    {}", created.admin_email);
    match &created.generated_password {
        Some(password) => {
            println!("  password: {}  (shown once; change it with POST /api/v1/me/password)", password.expose_secret())
        }
        None => println!("  password: the one in AZTH_BOOTSTRAP_ADMIN_PASSWORD"),
    }
    if let azth_server::config::Backend::Sqlite(lite) = config.backend() {
        println!("  database: {} (embedded SQLite; set AZTH_DATABASE_URL for PostgreSQL)", lite.path.display());
    }
    if config.smtp_url.is_none() {
        println!(
            "  outbox:   {} (emails and SMS are written here until SMTP is configured)",
            config.data_dir.join("outbox").display()
        );
    }
    println!(
        "  try:      curl -s {url}/api/v1/auth/login -H 'X-Tenant-ID: system' -H 'Content-Type: application/json' \\"
    );
    println!("              -d '{{\"identifier\": \"{}\", \"password\": \"…\"}}'", created.admin_email);
}

/// Prints the effective configuration: JSON, or one `key: value` line per key.
fn print_config(value: &serde_json::Value, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
        return;
    }
    fn walk(prefix: &str, v: &serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, child) in map {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&key, child);
                }
            }
            other => println!("{prefix}: {other}"),
        }
    }
    walk("", value);
}
