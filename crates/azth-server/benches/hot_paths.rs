//! Micro-benchmarks of the request paths that should cost next to nothing
//! (issue 9): a permission check answered from a warm cache, and rendering
//! a problem+json error. The permission check runs against the embedded
//! store (SQLite file in a temporary directory, in-process cache), so it
//! needs no service; the database is touched once, to warm the cache.
//!
//! `cargo bench -p azth-server --bench hot_paths`; CI runs it in `--test`
//! mode (each benchmark once) so it cannot rot.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use axum::response::IntoResponse;
use azth_core::ErrorCode;
use azth_core::{Actor, AuditContext, FieldError};
use azth_server::Config;
use azth_server::http::ApiError;
use azth_server::http::error::render;
use azth_server::services::access;
use azth_store::{NewTenant, NewUser};
use criterion::{Criterion, criterion_group, criterion_main};

fn permission_check(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let dir = std::env::temp_dir().join(format!("azth-bench-{}", uuid::Uuid::new_v4().simple()));
    let (state, tenant, user) = rt.block_on(async {
        let mut config = Config { data_dir: dir.clone(), ..Config::default() };
        config.password_hash = "argon2id:m=1024,t=1,p=1".into();
        config.log.filter = "off".into();
        let state = azth_server::app::open_state(config).await.unwrap();
        let mut tx = state.store.system("bench").await.unwrap();
        let tenant = tx
            .insert_tenant(&NewTenant {
                name: "Bench".into(),
                slug: "bench".into(),
                domain: None,
                plan: "free".into(),
                settings: serde_json::json!({}),
            })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = state.store.tenant(&AuditContext::new(tenant.id, Actor::System)).await.unwrap();
        let user = tx
            .insert_user(
                tenant.id,
                &NewUser {
                    email: "b@example.com".into(),
                    username: None,
                    password_hash: None,
                    first_name: None,
                    last_name: None,
                    status: azth_core::model::UserStatus::Active,
                },
            )
            .await
            .unwrap();
        tx.assign_role_by_name(tenant.id, user.id, "admin", None).await.unwrap();
        tx.commit().await.unwrap();
        // Warm: the first call reads the database and fills the cache.
        assert!(access::effective(&state, tenant.id, user.id).await.unwrap().has("users:read"));
        (state, tenant.id, user.id)
    });
    c.bench_function("permission_check_warm_cache", |b| {
        b.iter(|| {
            let access = rt.block_on(access::effective(&state, black_box(tenant), black_box(user))).unwrap();
            assert!(access.has(black_box("users:read")));
        })
    });
    drop(state);
    let _ = std::fs::remove_dir_all(&dir);
}

fn problem_json(c: &mut Criterion) {
    c.bench_function("problem_json_render_simple", |b| {
        b.iter(|| {
            let err = ApiError::new(black_box(ErrorCode::InvalidCredentials));
            render(&err, "01a218ed-62e9-77d6-bb9a-496743d91c9f", ().into_response())
        })
    });
    c.bench_function("problem_json_render_validation", |b| {
        b.iter(|| {
            let err = ApiError::validation(vec![
                FieldError::new("email", "invalid_email", "not an email address"),
                FieldError::new("password", "too_short", "at least 12 characters"),
            ]);
            render(&err, "01a218ed-62e9-77d6-bb9a-496743d91c9f", ().into_response())
        })
    });
}

criterion_group!(benches, permission_check, problem_json);
criterion_main!(benches);
