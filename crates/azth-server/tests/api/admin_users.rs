//! Users as administrators manage them.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::admin_support::{code_of, unique};
use crate::db::Arg;
use crate::support::{TestApp, problem, spawn_app, strong_password};

/// Runs one query as the database owner's app_admin role (test inspection).
async fn db_row(app: &TestApp, sql: &str, id: &str) -> Option<(Option<String>, Option<String>, Option<String>)> {
    let rows = app.rows(sql, &[Arg::Uuid(uuid::Uuid::parse_str(id).unwrap())]).await;
    rows.into_iter().next().map(|mut r| {
        let mut col = || if r.is_empty() { None } else { r.remove(0) };
        (col(), col(), col())
    })
}

#[tokio::test]
async fn create_get_patch_delete_restore() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let t = app.admin_tenant(&operator, "life").await;
    let owner = &t.owner.access;

    // With a password: active, 201 + Location, the member role.
    let password = strong_password();
    let r = app
        .call(
            Method::POST,
            "/api/v1/users",
            owner,
            Some(json!({"email": " Bob@Example.com ", "username": "bob", "password": password})),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let bob: Value = r.json().await.unwrap();
    let id = bob["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/users/{id}"));
    assert_eq!((bob["email"].as_str(), bob["status"].as_str()), (Some("bob@example.com"), Some("active")));
    let roles = app.expect(Method::GET, &format!("/api/v1/users/{id}/roles"), owner, None, 200).await;
    assert_eq!(roles["items"][0]["role_name"], "member");
    let bob_session = app.sign_in(&t.slug, "bob", &password).await;

    // Validation: one error per field; conflicts name the field.
    let r = app
        .send(
            Method::POST,
            "/api/v1/users",
            owner,
            Some(json!({"email": "nope", "username": "x", "password": "short"})),
        )
        .await;
    let body = problem(r).await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"email") && fields.contains(&"username") && fields.contains(&"password"), "{fields:?}");
    let r = app.send(Method::POST, "/api/v1/users", owner, Some(json!({"email": "bob@example.com"}))).await;
    assert_eq!(problem(r).await["field"], "email");

    // PATCH: an email change resets email_verified; leaving active revokes sessions.
    app.exec(
        "update users set email_verified = (1 = 1) where id = $1",
        &[Arg::Uuid(uuid::Uuid::parse_str(&id).unwrap())],
    )
    .await;
    let patched = app
        .expect(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            owner,
            Some(json!({"email": "robert@example.com", "first_name": "Rob"})),
            200,
        )
        .await;
    assert_eq!((patched["email_verified"].as_bool(), patched["first_name"].as_str()), (Some(false), Some("Rob")));
    assert_eq!(app.get_as("/api/v1/me", &bob_session.access).await.status(), 200);
    let patched = app
        .expect(Method::PATCH, &format!("/api/v1/users/{id}"), owner, Some(json!({"status": "suspended"})), 200)
        .await;
    assert_eq!(patched["status"], "suspended");
    assert_eq!(code_of(app.get_as("/api/v1/me", &bob_session.access).await).await, (401, "TOKEN_INVALID".into()));
    let r = app.send(Method::PATCH, &format!("/api/v1/users/{id}"), owner, Some(json!({"status": "pending"}))).await;
    assert_eq!(code_of(r).await, (422, "VALIDATION_ERROR".into()));
    app.expect(Method::PATCH, &format!("/api/v1/users/{id}"), owner, Some(json!({"status": "active"})), 200).await;
    let bob_session = app.sign_in(&t.slug, "bob", &password).await;

    // Soft delete: sessions revoked, 404 unless include_deleted, email and username free.
    app.expect(Method::DELETE, &format!("/api/v1/users/{id}"), owner, None, 204).await;
    assert_eq!(code_of(app.get_as("/api/v1/me", &bob_session.access).await).await, (401, "TOKEN_INVALID".into()));
    let r = app.send(Method::GET, &format!("/api/v1/users/{id}"), owner, None).await;
    assert_eq!(code_of(r).await, (404, "NOT_FOUND".into()));
    let deleted = app.expect(Method::GET, &format!("/api/v1/users/{id}?include_deleted=true"), owner, None, 200).await;
    assert!(deleted["deleted_at"].is_string());
    let list = app.expect(Method::GET, "/api/v1/users?q=robert", owner, None, 200).await;
    assert_eq!(list["items"], json!([]));
    let list = app.expect(Method::GET, "/api/v1/users?q=robert&include_deleted=true", owner, None, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // Restore; refused with CONFLICT once the email is taken again.
    let restored = app.expect(Method::POST, &format!("/api/v1/users/{id}/restore"), owner, None, 200).await;
    assert!(restored["deleted_at"].is_null());
    app.expect(Method::DELETE, &format!("/api/v1/users/{id}"), owner, None, 204).await;
    app.expect(
        Method::POST,
        "/api/v1/users",
        owner,
        Some(json!({"email": "robert@example.com", "username": "BOB", "password": strong_password()})),
        201,
    )
    .await;
    let r = app.send(Method::POST, &format!("/api/v1/users/{id}/restore"), owner, None).await;
    let body = problem(r).await;
    assert_eq!(body["code"], "CONFLICT");
    assert!(body["field"] == "email" || body["field"] == "username");
    // Restoring a live user: nothing to restore.
    let r = app.send(Method::POST, &format!("/api/v1/users/{}/restore", t.owner.user_id), owner, None).await;
    assert_eq!(code_of(r).await, (404, "NOT_FOUND".into()));
}

#[tokio::test]
async fn users_without_a_password_are_invited_through_the_outbox() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let t = app.admin_tenant(&operator, "invite").await;
    let user = app
        .expect(Method::POST, "/api/v1/users", &t.owner.access, Some(json!({"email": "new@example.com"})), 201)
        .await;
    assert_eq!(user["status"], "pending");
    let id = user["id"].as_str().unwrap();
    let (template, recipient, content) = db_row(
        &app,
        "select template, recipient, content from notifications where user_id = $1 and type = 'email'",
        id,
    )
    .await
    .expect("an invitation in the outbox");
    assert_eq!((template.as_deref(), recipient.as_deref()), (Some("invitation"), Some("new@example.com")));
    let content = content.unwrap();
    let token = content.split("/reset-password?token=").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let (stored, expires, _) = db_row(
        &app,
        "select password_reset_token, case when password_reset_expires_at is null then null else 'set' end, null
         from users where id = $1",
        id,
    )
    .await
    .unwrap();
    assert_eq!(stored.unwrap(), azth_core::crypto::token::sha256_hex(token.as_bytes()), "only the hash is stored");
    assert!(expires.is_some());
    // A pending user with a password is a contradiction.
    let r = app
        .send(
            Method::POST,
            "/api/v1/users",
            &t.owner.access,
            Some(json!({"email": "p@example.com", "password": strong_password(), "status": "pending"})),
        )
        .await;
    assert_eq!(code_of(r).await, (422, "VALIDATION_ERROR".into()));
}

#[tokio::test]
async fn the_last_active_owner_cannot_be_removed() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let t = app.admin_tenant(&operator, "owners").await;
    let owner = &t.owner.access;
    let me = &t.owner.user_id;
    let roles = app.expect(Method::GET, "/api/v1/roles", owner, None, 200).await;
    let owner_role = roles["items"].as_array().unwrap().iter().find(|r| r["name"] == "owner").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    for (method, path, body) in [
        (Method::DELETE, format!("/api/v1/users/{me}/roles/{owner_role}"), None),
        (Method::DELETE, format!("/api/v1/users/{me}"), None),
        (Method::PATCH, format!("/api/v1/users/{me}"), Some(json!({"status": "inactive"}))),
    ] {
        let r = app.send(method.clone(), &path, owner, body).await;
        assert_eq!(code_of(r).await, (409, "CONFLICT".into()), "{method} {path}");
    }
    // With a second active owner, the first may step down.
    let (second, email, password) = app.make_user(&t).await;
    app.expect(
        Method::POST,
        &format!("/api/v1/users/{second}/roles"),
        owner,
        Some(json!({"role_id": owner_role})),
        201,
    )
    .await;
    let second_owner = app.sign_in(&t.slug, &email, &password).await;
    app.expect(Method::DELETE, &format!("/api/v1/users/{me}/roles/{owner_role}"), owner, None, 204).await;
    // Now the second is the last one.
    let r = app.send(Method::DELETE, &format!("/api/v1/users/{second}"), &second_owner.access, None).await;
    assert_eq!(code_of(r).await, (409, "CONFLICT".into()));
}

#[tokio::test]
async fn unlock_clears_the_lockout_at_once() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let t = app.admin_tenant(&operator, "locks").await;
    let (id, email, password) = app.make_user(&t).await;
    for _ in 0..5 {
        app.login(&t.slug, &email, "wrong password here").await;
    }
    assert_eq!(code_of(app.login(&t.slug, &email, &password).await).await.0, 423);
    let user = app.expect(Method::POST, &format!("/api/v1/users/{id}/unlock"), &t.owner.access, None, 200).await;
    assert_eq!(user["id"], id.as_str());
    assert_eq!(app.login(&t.slug, &email, &password).await.status(), 200);
}

#[tokio::test]
async fn admins_see_and_revoke_a_users_sessions() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let t = app.admin_tenant(&operator, "sess").await;
    let (id, email, password) = app.make_user(&t).await;
    let a = app.sign_in(&t.slug, &email, &password).await;
    let b = app.sign_in(&t.slug, &email, &password).await;
    let list =
        app.expect(Method::GET, &format!("/api/v1/users/{id}/sessions?limit=1"), &t.owner.access, None, 200).await;
    assert_eq!(list["items"][0]["id"], b.session_id.as_str(), "newest first");
    assert_eq!(list["items"][0]["current"], false);
    let next = list["next_cursor"].as_str().unwrap();
    let list = app
        .expect(Method::GET, &format!("/api/v1/users/{id}/sessions?limit=1&cursor={next}"), &t.owner.access, None, 200)
        .await;
    assert_eq!(list["items"][0]["id"], a.session_id.as_str());
    assert!(list["next_cursor"].is_null());

    app.expect(Method::DELETE, &format!("/api/v1/users/{id}/sessions/{}", a.session_id), &t.owner.access, None, 204)
        .await;
    assert_eq!(code_of(app.get_as("/api/v1/me", &a.access).await).await, (401, "TOKEN_INVALID".into()));
    assert_eq!(app.get_as("/api/v1/me", &b.access).await.status(), 200);
    app.expect(Method::DELETE, &format!("/api/v1/users/{id}/sessions"), &t.owner.access, None, 204).await;
    assert_eq!(code_of(app.get_as("/api/v1/me", &b.access).await).await, (401, "TOKEN_INVALID".into()));

    // An admin without the owner's permissions cannot sign the owner out.
    let admin = app.user_with(&t, &["sessions:revoke", "sessions:read"]).await;
    let r = app.send(Method::DELETE, &format!("/api/v1/users/{}/sessions", t.owner.user_id), &admin.access, None).await;
    assert_eq!(code_of(r).await, (403, "FORBIDDEN".into()));
}

#[tokio::test]
async fn filters_and_cursor_pagination_see_every_row_once_during_concurrent_inserts() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let t = app.admin_tenant(&operator, "pages").await;
    let owner = t.owner.access.clone();
    let mut existing = vec![t.owner.user_id.clone()];
    for i in 0..24 {
        let body = json!({"email": format!("p{i:02}-{}@example.com", unique()), "first_name": format!("Name{i}")});
        let user = app.expect(Method::POST, "/api/v1/users", &owner, Some(body), 201).await;
        existing.push(user["id"].as_str().unwrap().to_owned());
    }

    // Filters.
    let list = app.expect(Method::GET, "/api/v1/users?status=pending&limit=200", &owner, None, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 24);
    let list = app.expect(Method::GET, "/api/v1/users?role=owner", &owner, None, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let list = app.expect(Method::GET, "/api/v1/users?q=NAME1", &owner, None, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 11, "Name1, Name10..Name19");
    let list = app.expect(Method::GET, "/api/v1/users?q=%25", &owner, None, 200).await;
    assert_eq!(list["items"], json!([]), "LIKE wildcards are literal");
    let r = app.send(Method::GET, "/api/v1/users?status=bogus", &owner, None).await;
    assert_eq!(code_of(r).await, (422, "VALIDATION_ERROR".into()));

    // Page through while another task keeps inserting.
    let writer = {
        let client = app.client.clone();
        let url = app.url("/api/v1/users");
        let owner = owner.clone();
        tokio::spawn(async move {
            for _ in 0..20 {
                let body = json!({"email": format!("late-{}@example.com", unique())});
                let r = client.post(&url).bearer_auth(&owner).json(&body).send().await.unwrap();
                assert_eq!(r.status(), 201);
            }
        })
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/users?limit=4&cursor={c}"),
            None => "/api/v1/users?limit=4".to_owned(),
        };
        let page = app.expect(Method::GET, &path, &owner, None, 200).await;
        for item in page["items"].as_array().unwrap() {
            *seen.entry(item["id"].as_str().unwrap().to_owned()).or_default() += 1;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    writer.await.unwrap();
    assert!(seen.values().all(|n| *n == 1), "no row twice");
    for id in &existing {
        assert_eq!(seen.get(id), Some(&1), "every row present before the scan is seen once");
    }
}
