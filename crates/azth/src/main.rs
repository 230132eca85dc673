//! The `azth` command: serve the API and operate the database.
//!
//! Everything of substance lives in the library crates; this file parses
//! the command line, loads configuration and reports failures as one line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use azth_server::Config;
use azth_server::app::{Application, open_store, shutdown_signal};
use azth_store::postgres::migrate;
use clap::{Parser, Subcommand};

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
            let app = Application::build(config).await?;
            tracing::info!(addr = %app.local_addr(), "azth listening");
            app.run_until_stopped(shutdown_signal()).await?;
            Ok(())
        }
        Command::Migrate(cmd) => {
            let store = open_store(&config, false, Duration::ZERO).await?;
            let pool = store.pool();
            match cmd {
                MigrateCommand::Up => {
                    migrate::up(pool).await?;
                    println!("migrations applied");
                }
                MigrateCommand::Down { to } => {
                    let reverted = migrate::down(pool, to).await?;
                    if reverted.is_empty() {
                        println!("nothing to revert");
                    }
                    for version in reverted {
                        println!("reverted {version:04}");
                    }
                }
                MigrateCommand::Status => {
                    for m in migrate::status(pool).await? {
                        let state = if m.applied { "applied" } else { "pending" };
                        println!("{:04} {:<8} {}", m.version, state, m.description);
                    }
                }
            }
            Ok(())
        }
    }
}
