//! Account enumeration (issue 10): login, forgot, resend and otp/send answer
//! an existing and an unknown account identically — status, headers, body —
//! and in the same time: the medians of 50 interleaved tries each differ by
//! less than 10%. Register answers 409 for a taken email (API.md's
//! contract), so its existence is no secret there: its timing is measured
//! and printed for the record, not bounded.
//!
//! Its own test binary, so no other test competes for the CPU while it
//! measures. Run with the default (production) Argon2 parameters, as deployed. On a
//! shared machine one round of 50 can be skewed by other load, so each
//! comparison gets up to three independent rounds: a real leak shows in
//! every round, noise does not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "api/db.rs"]
mod db;
#[allow(dead_code)]
#[path = "api/support.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Spawn, TestApp, spawn_with, strong_password};

const TRIES: usize = 50;
const ROUNDS: usize = 3;

/// Status, headers (minus per-request ones) and body of a response, and how
/// long it took to the last byte.
async fn observe(app: &TestApp, path: &str, body: &Value) -> (String, Duration) {
    let started = Instant::now();
    let r = app.post(path, Some("acme")).json(body).send().await.unwrap();
    let status = r.status();
    let mut headers: Vec<String> = r
        .headers()
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "x-request-id" | "date" | "ratelimit-remaining" | "ratelimit-reset"))
        .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap()))
        .collect();
    let text = r.text().await.unwrap();
    let elapsed = started.elapsed();
    // The request id (also in a problem document) is the only per-request part.
    let text = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(mut doc)) => {
            doc.remove("request_id");
            Value::Object(doc).to_string()
        }
        _ => text,
    };
    headers.sort();
    // Handed-off work of this request must not run into the next measurement.
    app.settled().await;
    (format!("{status}\n{}\n{text}", headers.join("\n")), elapsed)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Interleaves `known` and `unknown` tries; returns their answers (checked
/// equal when `same_answer`) and the relative difference of their medians.
async fn compare(app: &TestApp, path: &str, known: &Value, unknown: &Value, same_answer: bool) -> f64 {
    for _ in 0..3 {
        observe(app, path, known).await;
        observe(app, path, unknown).await;
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..TRIES {
        // Alternate which goes first, so drift favours neither.
        let (x, y) = if i % 2 == 0 {
            let x = observe(app, path, known).await;
            (x, observe(app, path, unknown).await)
        } else {
            let y = observe(app, path, unknown).await;
            (observe(app, path, known).await, y)
        };
        if same_answer {
            assert_eq!(x.0, y.0, "{path}: the answers differ");
        }
        a.push(x.1);
        b.push(y.1);
    }
    let (ma, mb) = (median(a).as_secs_f64(), median(b).as_secs_f64());
    println!("{path}: median existing {:.2} ms, unknown {:.2} ms", ma * 1e3, mb * 1e3);
    (ma - mb).abs() / ma.max(mb)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_and_unknown_accounts_answer_alike_in_the_same_time() {
    let app = spawn_with(Spawn {
        tweak: Some(Box::new(|c| {
            c.password_hash = azth_server::Config::default().password_hash;
            // No delivery work in the background of the next measurement.
            c.outbox.workers = 0;
        })),
        ..Spawn::default()
    })
    .await;
    // Limits high enough for 2 × 53 tries per target, none reached.
    app.create_tenant("acme", json!({"allow_registration": true, "max_login_attempts": 100, "otp_send_per_hour": 100}))
        .await;
    let mut report = Vec::new();
    let bodies = |path: &str, email: &str| match path {
        "/api/v1/auth/login" => json!({"identifier": email, "password": "wrong-password-1234"}),
        "/api/v1/auth/otp/send" => json!({"channel": "email", "purpose": "login", "target": email}),
        _ => json!({"email": email}),
    };
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/password/forgot",
        "/api/v1/auth/email/verify/resend",
        "/api/v1/auth/otp/send",
    ] {
        let mut rounds = Vec::new();
        while rounds.len() < ROUNDS && rounds.iter().all(|d| *d >= 0.10) {
            // Fresh accounts each round: no counter nears its limit.
            let c = app.signed_up("acme").await;
            let ghost = format!("ghost-{}@example.com", uuid::Uuid::new_v4().simple());
            rounds.push(compare(&app, path, &bodies(path, &c.email), &bodies(path, &ghost), true).await);
        }
        report.push((path, rounds.into_iter().fold(f64::INFINITY, f64::min)));
    }
    // Register: a taken email is 409 by contract (asserted), its timing only reported.
    let taken = json!({"email": app.signed_up("acme").await.email, "password": strong_password()});
    let mut times = (Vec::new(), Vec::new());
    for n in 0..TRIES {
        let fresh = json!({"email": format!("new{n}@example.com"), "password": strong_password()});
        let (answer, t) = observe(&app, "/api/v1/auth/register", &taken).await;
        assert!(answer.starts_with("409"), "{answer}");
        times.0.push(t);
        let (answer, t) = observe(&app, "/api/v1/auth/register", &fresh).await;
        assert!(answer.starts_with("201"), "{answer}");
        times.1.push(t);
    }
    let (ma, mb) = (median(times.0).as_secs_f64(), median(times.1).as_secs_f64());
    println!("register (not bounded): median taken {:.2} ms, new {:.2} ms", ma * 1e3, mb * 1e3);
    println!("median time difference, existing vs unknown: {report:?}");
    for (path, diff) in report {
        assert!(diff < 0.10, "{path}: medians differ by {:.1}% (≥ 10%)", diff * 100.0);
    }
}
