//! The `azth` binary as an operator runs it: help, configuration errors,
//! `migrate up | down | status` against a real database, and `serve` with a
//! graceful SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output, Stdio};

use azth_store::testing::{TestStorage, on_sqlite};

mod common;

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
fn with_no_database_url_the_embedded_default_lives_in_the_data_dir() {
    let dir = std::env::temp_dir().join(format!("azth-cli-{}", uuid::Uuid::new_v4().simple()));
    let data = dir.join("data");
    let env = [("AZTH_LOG", "off"), ("AZTH_DATA_DIR", data.to_str().unwrap())];
    let out = azth(&env, &["migrate", "status"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("0001 pending  initial"), "{}", text(&out.stdout));
    assert!(data.join("azth.db").is_file(), "the SQLite file is created in the data dir");
    assert!(azth(&env, &["migrate", "up"]).status.success());
    assert!(text(&azth(&env, &["migrate", "status"]).stdout).contains("0001 applied  initial"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn migrate_up_down_status() {
    let db = TestStorage::empty().await;
    let url = db.url();
    let env = [("AZTH_DATABASE_URL", url.as_str()), ("AZTH_LOG", "off")];
    let status = |env: &[(&str, &str)]| text(&azth(env, &["migrate", "status"]).stdout);

    let before = status(&env);
    let total = before.lines().count();
    assert!(total >= 1, "{before}");
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
    if total > 1 {
        assert_eq!(text(&out.stdout).lines().count(), total - 1);
    } else {
        assert_eq!(text(&out.stdout).trim(), "nothing to revert");
    }
    assert_eq!(status(&env).lines().filter(|l| l.contains("pending")).count(), total);

    let out = azth(&env, &["migrate", "up"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(status(&env).lines().filter(|l| l.contains("applied")).count(), total);
}

#[tokio::test]
async fn serve_migrates_answers_and_stops_on_sigterm() {
    let db = TestStorage::empty().await;
    let url = db.url();
    let (child, addr) = common::serve(&url, &[]);

    azth_server::install_crypto_provider();
    let client = reqwest::Client::new();
    let ready: serde_json::Value =
        client.get(format!("http://{addr}/ready")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ok");

    // serve applied the migrations on start.
    let out = azth(&[("AZTH_DATABASE_URL", url.as_str()), ("AZTH_LOG", "off")], &["migrate", "status"]);
    assert!(!text(&out.stdout).contains("pending"));

    common::stop(child);
}

#[tokio::test]
async fn a_restart_keeps_data_and_keys() {
    let db = TestStorage::empty().await;
    let url = db.url();
    let data = std::env::temp_dir().join(format!("azth-restart-{}", uuid::Uuid::new_v4().simple()));
    let env = [
        ("AZTH_DATA_DIR", data.to_str().unwrap()),
        ("AZTH_BOOTSTRAP_ADMIN_EMAIL", "ops@example.com"),
        ("AZTH_BOOTSTRAP_ADMIN_PASSWORD", "correct horse battery staple"),
        ("AZTH_PASSWORD_HASH", "argon2id:m=1024,t=1,p=1"),
    ];
    azth_server::install_crypto_provider();
    let client = reqwest::Client::new();
    let (child, addr) = common::serve(&url, &env);
    let sign_in = || async {
        let body: serde_json::Value = client
            .post(format!("http://{addr}/api/v1/auth/login"))
            .header("x-tenant-id", "system")
            .json(&serde_json::json!({"identifier": "ops@example.com", "password": "correct horse battery staple"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body
    };
    let login = sign_in().await;
    let access = login["access_token"].as_str().expect("signed in").to_owned();
    let refresh = login["refresh_token"].as_str().unwrap().to_owned();
    // A second session, signed out before the restart.
    let gone = sign_in().await["access_token"].as_str().unwrap().to_owned();
    let out = client.post(format!("http://{addr}/api/v1/auth/logout")).bearer_auth(&gone).send().await.unwrap();
    assert_eq!(out.status(), 204);
    common::stop(child);

    // The master key was generated into the data dir, readable by its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("master.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let (child, addr) = common::serve(&url, &env);
    let me = client.get(format!("http://{addr}/api/v1/me")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(me.status(), 200, "a token issued before the restart still verifies");
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["user"]["email"], "ops@example.com");
    // The in-process cache started empty, yet the signed-out token stays refused.
    let me = client.get(format!("http://{addr}/api/v1/me")).bearer_auth(&gone).send().await.unwrap();
    assert_eq!(me.status(), 401, "a revocation survives the restart");
    let r = client
        .post(format!("http://{addr}/api/v1/auth/refresh"))
        .json(&serde_json::json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "and so does the refresh token");
    common::stop(child);
    std::fs::remove_dir_all(&data).unwrap();
}

#[tokio::test]
async fn bootstrap_and_key_rotation_from_the_command_line() {
    let db = TestStorage::empty().await;
    let url = db.url();
    let key = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=";
    let env = [
        ("AZTH_DATABASE_URL", url.as_str()),
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

/// Runs azth with `stdin` on standard input.
fn azth_stdin(env: &[(&str, &str)], args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_azth"))
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn json_of(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

fn one_line_error(out: &Output, needle: &str) {
    assert!(!out.status.success(), "expected a failure: {}", text(&out.stdout));
    let err = text(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{needle} not in {err}");
}

#[tokio::test]
async fn operator_commands_manage_tenants_users_and_roles_as_the_cli_actor() {
    let db = TestStorage::migrated().await;
    let url = db.url();
    let env = [
        ("AZTH_DATABASE_URL", url.as_str()),
        ("AZTH_LOG", "off"),
        ("AZTH_MASTER_KEY", "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="),
        ("AZTH_PASSWORD_HASH", "argon2id:m=1024,t=1,p=1"),
    ];
    let created = json_of(&azth(
        &env,
        &["tenants", "create", "--name", "Acme", "--slug", "acme", "--owner-email", "boss@acme.example", "--json"],
    ));
    assert_eq!(created["tenant"]["slug"], "acme");
    assert_eq!(created["owner"]["status"], "pending", "invited without a password");
    let text_out =
        azth(&env, &["tenants", "create", "--name", "Beta", "--slug", "beta", "--owner-email", "b@beta.example"]);
    assert!(text(&text_out.stdout).contains("created tenant beta"), "{}", text(&text_out.stdout));

    // Error paths: one line and a non-zero exit.
    one_line_error(
        &azth(&env, &["tenants", "create", "--name", "Again", "--slug", "acme", "--owner-email", "x@acme.example"]),
        "CONFLICT",
    );
    one_line_error(
        &azth(&env, &["tenants", "create", "--name", "Bad", "--slug", "system", "--owner-email", "x@y.example"]),
        "slug",
    );
    one_line_error(&azth(&env, &["tenants", "suspend", "nope"]), "TENANT_NOT_FOUND");
    one_line_error(&azth(&env, &["users", "list", "--tenant", "nope"]), "TENANT_NOT_FOUND");

    let list = json_of(&azth(&env, &["tenants", "list", "--json"]));
    let slugs: Vec<&str> = list.as_array().unwrap().iter().map(|t| t["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["acme", "beta"]);
    assert_eq!(json_of(&azth(&env, &["tenants", "suspend", "acme", "--json"]))["status"], "suspended");
    assert_eq!(json_of(&azth(&env, &["tenants", "activate", "acme", "--json"]))["status"], "active");

    let user = json_of(&azth_stdin(
        &env,
        &["users", "create", "--tenant", "acme", "--email", "Ann@Acme.example", "--password-stdin", "--json"],
        "a-long-enough-password-1\n",
    ));
    assert_eq!((user["email"].as_str(), user["status"].as_str()), (Some("ann@acme.example"), Some("active")));
    one_line_error(
        &azth_stdin(
            &env,
            &["users", "create", "--tenant", "acme", "--email", "weak@acme.example", "--password-stdin"],
            "short\n",
        ),
        "VALIDATION_ERROR",
    );
    one_line_error(&azth(&env, &["users", "create", "--tenant", "acme", "--email", "ann@acme.example"]), "CONFLICT");
    let users = json_of(&azth(&env, &["users", "list", "--tenant", "acme", "--json"]));
    assert_eq!(users.as_array().unwrap().len(), 2);

    assert_eq!(
        json_of(&azth(&env, &["users", "unlock", "--tenant", "acme", "--email", "ann@acme.example", "--json"]))["email"],
        "ann@acme.example"
    );
    one_line_error(&azth(&env, &["users", "unlock", "--tenant", "acme", "--email", "ghost@acme.example"]), "NOT_FOUND");
    let reset =
        json_of(&azth(&env, &["users", "reset-password", "--tenant", "acme", "--email", "ann@acme.example", "--json"]));
    assert_eq!(reset["password"].as_str().unwrap().len(), 20, "generated and shown once");

    let assigned = json_of(&azth(
        &env,
        &["roles", "assign", "--tenant", "acme", "--email", "ann@acme.example", "--role", "admin", "--json"],
    ));
    assert_eq!(assigned["role_name"], "admin");
    one_line_error(
        &azth(&env, &["roles", "assign", "--tenant", "acme", "--email", "ann@acme.example", "--role", "wizard"]),
        "NOT_FOUND",
    );
    assert!(
        azth(&env, &["roles", "revoke", "--tenant", "acme", "--email", "ann@acme.example", "--role", "admin"])
            .status
            .success()
    );
    one_line_error(
        &azth(&env, &["roles", "revoke", "--tenant", "acme", "--email", "ann@acme.example", "--role", "admin"]),
        "NOT_FOUND",
    );

    // Every change is audited with actor `cli` and no user.
    let rows = db
        .rows(
            "select action, actor, user_id from audit_logs where action like 'tenants.%' or action like 'users.%'
             or action like 'roles.%' or action = 'auth.password.reset'",
            &[],
        )
        .await;
    for action in [
        "tenants.created",
        "tenants.suspended",
        "tenants.activated",
        "users.created",
        "users.unlocked",
        "auth.password.reset",
        "roles.assigned",
        "roles.revoked",
    ] {
        let row = rows
            .iter()
            .find(|r| r[0].as_deref() == Some(action))
            .unwrap_or_else(|| panic!("{action} missing: {rows:?}"));
        assert_eq!((row[1].as_deref(), row[2].as_deref()), (Some("cli"), None), "{action}");
    }
    // The trigger rows of those changes say `cli` too.
    let trigger_rows = db
        .scalar(
            "select count(*) from audit_logs where action = 'INSERT' and resource_type = 'users' and actor = 'cli'",
            &[],
        )
        .await;
    assert_eq!(trigger_rows.as_deref(), Some("3"), "two owners and one user created from the command line");
}

#[tokio::test]
async fn dev_seed_loads_tenants_and_members() {
    let db = TestStorage::migrated().await;
    let url = db.url();
    let env = [
        ("AZTH_DATABASE_URL", url.as_str()),
        ("AZTH_LOG", "off"),
        ("AZTH_MASTER_KEY", "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="),
        ("AZTH_PASSWORD_HASH", "argon2id:m=1024,t=1,p=1"),
    ];
    if on_sqlite() {
        // Seeding is a PostgreSQL COPY: the embedded store says so in one line.
        one_line_error(&azth(&env, &["dev", "seed", "--tenants", "3", "--users", "12"]), "postgres://");
        return;
    }
    let out = azth(&env, &["dev", "seed", "--tenants", "3", "--users", "12"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("seeded 3 tenants and 12 users"), "{}", text(&out.stdout));
    // A second run continues after the last seeded tenant.
    let out = azth(&env, &["dev", "seed", "--tenants", "1", "--users", "2"]);
    assert!(text(&out.stdout).contains("seeded 1 tenants and 2 users"), "{}", text(&out.stdout));
    let users = json_of(&azth(&env, &["users", "list", "--tenant", "seed-000004", "--json"]));
    let emails: Vec<&str> = users.as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails.len(), 2);
    assert!(emails.contains(&"user1@seed-000004.example"), "{emails:?}");

    let count = |sql: &'static str| db.scalar(sql, &[]);
    let members =
        count("select count(*) from user_roles ur join roles r on r.id = ur.role_id where r.name = 'member'").await;
    assert_eq!(members.as_deref(), Some("14"));
    let owners = count("select count(*) from roles where name = 'owner'").await;
    assert_eq!(owners.as_deref(), Some("4"), "every seeded tenant has its system roles");
    let hash = db.scalar("select password_hash from users limit 1", &[]).await.unwrap();
    assert!(azth_core::crypto::hash::verify_password(b"seed-password-1234", &hash).unwrap());
}

#[test]
fn openapi_prints_the_document() {
    let out = azth(&[], &["openapi"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/api/v1/auth/login"]["post"].is_object());
}
