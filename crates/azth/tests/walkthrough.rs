//! docs/GETTING-STARTED.md, run: every ```sh block of the walkthrough is
//! executed in order, in one bash, against a live `azth serve`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use azth_store::testing::TestDb;

#[tokio::test]
async fn the_getting_started_walkthrough_runs_against_a_live_server() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/GETTING-STARTED.md")).unwrap();
    let mut script = String::from("set -euo pipefail\n");
    let mut inside = false;
    for line in doc.lines() {
        match (inside, line.trim()) {
            (false, "```sh") => inside = true,
            (true, "```") => inside = false,
            (true, _) => {
                script.push_str(line);
                script.push('\n');
            }
            _ => {}
        }
    }
    assert!(script.lines().count() > 20, "the walkthrough has its commands");

    let db = TestDb::empty().await;
    let redis = std::env::var("AZTH_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("azth:test:{}:", uuid::Uuid::new_v4().simple());
    let data = std::env::temp_dir().join(format!("azth-walk-{}", uuid::Uuid::new_v4().simple()));
    let admin_password = "walkthrough-admin-password";
    let mut server = Command::new(env!("CARGO_BIN_EXE_azth"))
        .env_clear()
        .env("AZTH_DATABASE_URL", &db.url)
        .env("AZTH_REDIS_URL", &redis)
        .env("AZTH_REDIS__KEY_PREFIX", &prefix)
        .env("AZTH_LISTEN", "127.0.0.1:0")
        .env("AZTH_DATA_DIR", &data)
        .env("AZTH_BOOTSTRAP_ADMIN_PASSWORD", admin_password)
        .env("AZTH_PASSWORD_HASH", "argon2id:m=1024,t=1,p=1")
        .env("AZTH_LOG", "info")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = server.stderr.take().unwrap();
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
            let json: serde_json::Value = serde_json::from_str(&line).unwrap();
            break json["addr"].as_str().unwrap().to_owned();
        }
    };

    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("AZTH", format!("http://{addr}"))
        .env("ADMIN_PASSWORD", admin_password)
        .output()
        .unwrap();
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&data);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the walkthrough failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for expected in ["\"status\":\"ok\"", "super_admin", "acme", "12", "ada@acme.example", "Bearer", "auth.register"] {
        assert!(stdout.contains(expected), "{expected} not in the output:\n{stdout}");
    }
}
