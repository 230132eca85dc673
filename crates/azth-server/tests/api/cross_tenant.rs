//! Cross-tenant isolation of the administration API: every `{id}` endpoint
//! called with another tenant's user, role and session ids answers 404
//! NOT_FOUND, with no data, even for a caller holding every permission; and
//! lists (users, audit logs, notifications) filtered by another tenant's ids
//! come back empty.

use reqwest::Method;
use serde_json::{Value, json};

use crate::admin_support::code_of;
use crate::support::{problem, spawn_app};

#[tokio::test]
async fn another_tenants_ids_are_404_with_no_data() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let a = app.admin_tenant(&operator, "tenant-a").await;
    let b = app.admin_tenant(&operator, "tenant-b").await;

    // B's resources: a user with a session and a custom role assigned, and a deleted user.
    let (user, email, password) = app.make_user(&b).await;
    let session = app.sign_in(&b.slug, &email, &password).await.session_id;
    let role = app.make_role(&b, &["users:read"]).await;
    app.expect(
        Method::POST,
        &format!("/api/v1/users/{user}/roles"),
        &b.owner.access,
        Some(json!({"role_id": role})),
        201,
    )
    .await;
    let (deleted, deleted_email, _) = app.make_user(&b).await;
    app.expect(Method::DELETE, &format!("/api/v1/users/{deleted}"), &b.owner.access, None, 204).await;
    // A's own role, for assigning across.
    let a_role = app.make_role(&a, &[]).await;
    // B's failed notification.
    let notification = crate::notifications_api::failed_notification(&app, &b.id).await;

    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/users/{user}"), None),
        (Method::GET, format!("/users/{deleted}?include_deleted=true"), None),
        (Method::PATCH, format!("/users/{user}"), Some(json!({"first_name": "Mallory"}))),
        (Method::DELETE, format!("/users/{user}"), None),
        (Method::POST, format!("/users/{deleted}/restore"), None),
        (Method::POST, format!("/users/{user}/unlock"), None),
        (Method::GET, format!("/users/{user}/sessions"), None),
        (Method::DELETE, format!("/users/{user}/sessions"), None),
        (Method::DELETE, format!("/users/{user}/sessions/{session}"), None),
        (Method::DELETE, format!("/users/{}/sessions/{session}", a.owner.user_id), None),
        (Method::GET, format!("/users/{user}/roles"), None),
        (Method::POST, format!("/users/{user}/roles"), Some(json!({"role_id": a_role}))),
        (Method::POST, format!("/users/{}/roles", a.owner.user_id), Some(json!({"role_id": role}))),
        (Method::DELETE, format!("/users/{user}/roles/{role}"), None),
        (Method::GET, format!("/users/{user}/permissions"), None),
        (Method::GET, format!("/roles/{role}"), None),
        (Method::PATCH, format!("/roles/{role}"), Some(json!({"description": "mine now"}))),
        (Method::DELETE, format!("/roles/{role}"), None),
        (Method::GET, format!("/roles/{role}/permissions"), None),
        (Method::PUT, format!("/roles/{role}/permissions"), Some(json!({"permissions": []}))),
        (Method::POST, "/authz/check".to_owned(), Some(json!({"permission": "users:read", "user_id": user}))),
        (Method::GET, format!("/notifications/{notification}"), None),
        (Method::POST, format!("/notifications/{notification}/retry"), None),
    ];
    for (method, path, body) in calls {
        let r = app.send(method.clone(), &format!("/api/v1{path}"), &a.owner.access, body).await;
        assert_eq!(r.status(), 404, "{method} {path}");
        let body = problem(r).await;
        assert_eq!(body["code"], "NOT_FOUND", "{method} {path}");
        let text = body.to_string();
        for secret in [&email, &deleted_email, &user, &role, &session, &notification] {
            assert!(!text.contains(secret.as_str()), "{method} {path} leaks {secret}");
        }
    }
    // Lists never show another tenant's rows.
    let list =
        app.expect(Method::GET, "/api/v1/users?include_deleted=true&limit=200", &a.owner.access, None, 200).await;
    assert!(!list.to_string().contains(&email));
    let list = app.expect(Method::GET, &format!("/api/v1/users?role={role}"), &a.owner.access, None, 200).await;
    assert_eq!(list["items"], json!([]));
    // B's audit rows and notifications are not A's, whatever the filter.
    for query in [
        format!("/audit-logs?user_id={user}"),
        format!("/audit-logs?resource_id={user}"),
        format!("/audit-logs?user_id={}", b.owner.user_id),
        format!("/audit-logs?resource_id={role}"),
        format!("/notifications?recipient={email}"),
    ] {
        let list = app.expect(Method::GET, &format!("/api/v1{query}"), &a.owner.access, None, 200).await;
        assert_eq!(list["items"], json!([]), "{query}");
    }
    let r =
        app.send(Method::GET, &format!("/api/v1/audit-logs/export?resource_id={user}"), &a.owner.access, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "", "nothing of B in A's export");
    let all = app.expect(Method::GET, "/api/v1/notifications?limit=200", &a.owner.access, None, 200).await;
    assert!(!all.to_string().contains(&notification));

    // And nothing changed in B.
    let still = app.expect(Method::GET, &format!("/api/v1/users/{user}"), &b.owner.access, None, 200).await;
    assert!(still["first_name"].is_null());
    let sessions = app.expect(Method::GET, &format!("/api/v1/users/{user}/sessions"), &b.owner.access, None, 200).await;
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1);
    let r = app.send(Method::GET, &format!("/api/v1/roles/{role}"), &b.owner.access, None).await;
    assert_eq!(r.status(), 200);
    // Malformed ids are 404 too, never 400 or 500.
    let r = app.send(Method::GET, "/api/v1/users/not-a-uuid", &a.owner.access, None).await;
    assert_eq!(code_of(r).await, (404, "NOT_FOUND".into()));
}
