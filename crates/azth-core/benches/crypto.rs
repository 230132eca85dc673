//! Micro-benchmarks of the per-request crypto (issue 9): signing and
//! verifying an access token, hashing a refresh token, checking the
//! common-password list, and one Argon2id hash at the default parameters.
//!
//! `cargo bench -p azth-core` measures; `cargo test --benches` runs each once
//! (CI does that, so they cannot rot).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use azth_core::crypto::hash::{HashParams, hash_password};
use azth_core::crypto::jwt::{AccessClaims, SigningKey, sign, verify};
use azth_core::crypto::token::{random_token, sha256_hex};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn claims() -> AccessClaims {
    let now = chrono::Utc::now().timestamp();
    AccessClaims {
        iss: "https://id.example.com".into(),
        sub: uuid::Uuid::new_v4().to_string(),
        aud: "azth".into(),
        exp: now + 900,
        iat: now,
        nbf: now,
        jti: uuid::Uuid::new_v4().to_string(),
        tid: uuid::Uuid::new_v4(),
        sid: uuid::Uuid::new_v4(),
        amr: vec!["pwd".into()],
    }
}

fn tokens(c: &mut Criterion) {
    let key = SigningKey::generate("bench".into()).unwrap();
    let verifying = key.verifying_key();
    let claims = claims();
    let token = sign(&claims, &key).unwrap();
    c.bench_function("jwt_sign_eddsa", |b| b.iter(|| sign(black_box(&claims), &key).unwrap()));
    c.bench_function("jwt_verify_eddsa", |b| {
        b.iter(|| verify(black_box(&token), &verifying, "https://id.example.com", "azth", 30).unwrap())
    });
    let refresh = random_token().unwrap();
    c.bench_function("refresh_token_sha256", |b| b.iter(|| sha256_hex(black_box(refresh.as_bytes()))));
}

fn passwords(c: &mut Criterion) {
    azth_core::password::warm_up();
    c.bench_function("common_password_lookup", |b| {
        b.iter(|| azth_core::password::is_common(black_box("correct-horse-battery")))
    });
    let params = HashParams::default();
    let mut group = c.benchmark_group("argon2id");
    group.sample_size(10);
    group.bench_function("hash_default_params", |b| {
        b.iter(|| hash_password(black_box(b"a long password"), &params).unwrap())
    });
    group.finish();
}

criterion_group!(benches, tokens, passwords);
criterion_main!(benches);
