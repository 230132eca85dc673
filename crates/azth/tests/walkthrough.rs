//! docs/GETTING-STARTED.md, run: every ```sh block of the walkthrough is
//! executed in order, in one bash, against a live `azth serve`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use azth_store::testing::TestStorage;

mod common;

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

    let db = TestStorage::empty().await;
    let url = db.url();
    let data = std::env::temp_dir().join(format!("azth-walk-{}", uuid::Uuid::new_v4().simple()));
    let admin_password = "walkthrough-admin-password";
    let data_dir = data.to_string_lossy().into_owned();
    let (mut server, addr) = common::serve(
        &url,
        &[
            ("AZTH_DATA_DIR", &data_dir),
            ("AZTH_BOOTSTRAP_ADMIN_PASSWORD", admin_password),
            ("AZTH_PASSWORD_HASH", "argon2id:m=1024,t=1,p=1"),
        ],
    );

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
