//! Shared by the binary's tests: run `azth serve` as a child process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `azth serve` on 127.0.0.1:0 with `env` (plus a per-test Redis
/// prefix) and returns the child and the address it announced in its log.
pub fn serve(db_url: &str, env: &[(&str, &str)]) -> (Child, String) {
    let redis = std::env::var("AZTH_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("azth:test:{}:", uuid::Uuid::new_v4().simple());
    let mut command = Command::new(env!("CARGO_BIN_EXE_azth"));
    command.env_clear().env("AZTH_DATABASE_URL", db_url).env("AZTH_REDIS__KEY_PREFIX", &prefix);
    // The embedded default runs with its in-process cache.
    if !azth_store::testing::on_sqlite() {
        command.env("AZTH_REDIS_URL", &redis);
    }
    let mut child = command
        .env("AZTH_LISTEN", "127.0.0.1:0")
        .env("AZTH_LOG", "info")
        .envs(env.iter().copied())
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
    (child, addr)
}

/// Sends SIGTERM and waits (up to 30 s) for a clean exit.
pub fn stop(mut child: Child) {
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
