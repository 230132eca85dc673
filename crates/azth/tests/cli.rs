//! The `azth` binary as an operator runs it: help, configuration errors,
//! `migrate up | down | status` against a real database, and `serve` with a
//! graceful SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use azth_store::testing::TestDb;

fn azth(env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_azth"))
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("running azth")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_explains_each_command() {
    let out = azth(&[], &["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for word in ["serve", "migrate", "--config"] {
        assert!(help.contains(word), "{word} missing from:\n{help}");
    }
    let out = azth(&[], &["migrate", "--help"]);
    let help = text(&out.stdout);
    for word in ["up", "down", "status"] {
        assert!(help.contains(word), "{word} missing from:\n{help}");
    }
}

#[test]
fn invalid_configuration_stops_with_one_line_naming_the_key() {
    let out = azth(&[("AZTH_LISTEN", "not-an-address")], &["migrate", "status"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("listen"), "{err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");

    let dir = std::env::temp_dir().join(format!("azth-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("azth.yaml");
    std::fs::write(&file, "database:\n  max_connections: -3\n").unwrap();
    let out = azth(&[], &["--config", file.to_str().unwrap(), "migrate", "status"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("database.max_connections"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();

    let out = azth(&[], &["--config", "/nonexistent/azth.yaml", "serve"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("does not exist"));
}

#[test]
fn migrate_without_a_database_says_so() {
    let out = azth(&[("AZTH_LOG", "off")], &["migrate", "status"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("AZTH_DATABASE_URL"), "{err}");
}

#[tokio::test]
async fn migrate_up_down_status() {
    let db = TestDb::empty().await;
    let env = [("AZTH_DATABASE_URL", db.url.as_str()), ("AZTH_LOG", "off")];
    let status = |env: &[(&str, &str)]| text(&azth(env, &["migrate", "status"]).stdout);

    let before = status(&env);
    let total = before.lines().count();
    assert!(total >= 2, "{before}");
    assert_eq!(before.lines().filter(|l| l.contains("pending")).count(), total, "{before}");

    let out = azth(&env, &["migrate", "up"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = status(&env);
    assert_eq!(after.lines().filter(|l| l.contains("applied")).count(), total, "{after}");

    let newest = after.lines().last().unwrap().split_whitespace().next().unwrap().to_owned();
    let out = azth(&env, &["migrate", "down"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), format!("reverted {newest}"));
    let one_down = status(&env);
    assert!(one_down.lines().last().unwrap().contains("pending"), "{one_down}");
    assert_eq!(one_down.lines().filter(|l| l.contains("applied")).count(), total - 1);

    let out = azth(&env, &["migrate", "down", "--to", "0"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), total - 1);
    assert_eq!(status(&env).lines().filter(|l| l.contains("pending")).count(), total);

    let out = azth(&env, &["migrate", "up"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(status(&env).lines().filter(|l| l.contains("applied")).count(), total);
}

#[tokio::test]
async fn serve_migrates_answers_and_stops_on_sigterm() {
    let db = TestDb::empty().await;
    let redis = std::env::var("AZTH_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("azth:test:{}:", uuid::Uuid::new_v4().simple());
    let mut child = Command::new(env!("CARGO_BIN_EXE_azth"))
        .env_clear()
        .env("AZTH_DATABASE_URL", &db.url)
        .env("AZTH_REDIS_URL", &redis)
        .env("AZTH_REDIS__KEY_PREFIX", &prefix)
        .env("AZTH_LISTEN", "127.0.0.1:0")
        .env("AZTH_LOG", "info")
        .arg("serve")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();

    // The JSON log line announcing the bound address.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = loop {
        let line = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("serve never listened");
        if line.contains("azth listening") {
            let json: serde_json::Value = serde_json::from_str(&line).expect("log lines are JSON");
            break json["addr"].as_str().unwrap().to_owned();
        }
    };

    azth_server::install_crypto_provider();
    let client = reqwest::Client::new();
    let ready: serde_json::Value =
        client.get(format!("http://{addr}/ready")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ok");

    // serve applied the migrations on start.
    let out = azth(&[("AZTH_DATABASE_URL", db.url.as_str()), ("AZTH_LOG", "off")], &["migrate", "status"]);
    assert!(!text(&out.stdout).contains("pending"));

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "azth did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn bootstrap_and_key_rotation_from_the_command_line() {
    let db = TestDb::empty().await;
    let key = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=";
    let env = [
        ("AZTH_DATABASE_URL", db.url.as_str()),
        ("AZTH_LOG", "off"),
        ("AZTH_MASTER_KEY", key),
        ("AZTH_BOOTSTRAP_ADMIN_EMAIL", "ops@example.com"),
        ("AZTH_PASSWORD_HASH", "argon2id:m=1024,t=1,p=1"),
    ];
    let out = azth(&env, &["bootstrap"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(printed.contains("ops@example.com") && printed.contains("password:"), "{printed}");
    let out = azth(&env, &["bootstrap"]);
    assert!(text(&out.stdout).contains("already bootstrapped"));

    let keys = |env: &[(&str, &str)]| text(&azth(env, &["keys", "list"]).stdout);
    let before = keys(&env);
    assert_eq!(before.lines().count(), 1, "{before}");
    assert!(before.contains("active"));
    let out = azth(&env, &["keys", "rotate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = keys(&env);
    assert_eq!(after.lines().count(), 2, "{after}");
    assert_eq!(after.lines().filter(|l| l.contains("retired, published until")).count(), 1, "{after}");

    // With the wrong master key the sealed key cannot be opened: one clear line.
    let wrong = [("AZTH_MASTER_KEY", "bGxsbGxsbGxsbGxsbGxsbGxsbGxsbGxsbGxsbGxsbGw="), env[0], env[1]];
    let out = azth(&wrong, &["bootstrap"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("wrong master key"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn config_check_prints_the_effective_configuration_with_secrets_masked() {
    let env = [
        ("AZTH_DATABASE_URL", "postgres://app:hunter2@db.internal:5432/azth"),
        ("AZTH_MASTER_KEY", "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="),
        ("AZTH_DATABASE__MAX_CONNECTIONS", "42"),
    ];
    let out = azth(&env, &["config", "check", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["database"]["max_connections"], 42);
    assert_eq!(json["database"]["url"], "postgres://app:***@db.internal:5432/azth");
    assert_eq!(json["master_key"], "***");
    let out = azth(&env, &["config", "check"]);
    let lines = text(&out.stdout);
    assert!(lines.contains("database.max_connections: 42"), "{lines}");
    assert!(!lines.contains("hunter2") && !lines.contains("a2tra2"), "{lines}");
    let out = azth(&[("AZTH_LISTEN", "nope")], &["config", "check"]);
    assert_eq!(out.status.code(), Some(2));
}
