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
    let mut child = Command::new(env!("CARGO_BIN_EXE_azth"))
        .env_clear()
        .env("AZTH_DATABASE_URL", db_url)
        .env("AZTH_REDIS_URL", &redis)
        .env("AZTH_REDIS__KEY_PREFIX", &prefix)
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
