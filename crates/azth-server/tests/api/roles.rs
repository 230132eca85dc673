//! Roles, permissions, assignments and authorization checks.

use reqwest::Method;
use serde_json::json;

use crate::admin_support::code_of;
use crate::support::spawn_app;

#[tokio::test]
async fn role_crud_and_system_roles_are_fixed() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let t = app.admin_tenant(&operator, "crud").await;
    let owner = &t.owner.access;

    let roles = app.expect(Method::GET, "/api/v1/roles", owner, None, 200).await;
    let names: Vec<&str> = roles["items"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "member", "owner"], "system roles, by name; no super_admin outside system");
    assert!(roles["next_cursor"].is_null());
    let owner_role = roles["items"][2].clone();
    assert_eq!(owner_role["is_system"], true);
    assert!(owner_role["permissions"].as_array().unwrap().contains(&json!("tenant:update")));
    let admin_role = roles["items"][0].clone();
    assert!(!admin_role["permissions"].as_array().unwrap().contains(&json!("tenant:update")));

    let r = app
        .call(Method::POST, "/api/v1/roles", owner, Some(json!({"name": "editor", "permissions": ["users:read"]})))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let editor: serde_json::Value = r.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/roles/{}", editor["id"].as_str().unwrap()));
    assert_eq!(editor["permissions"], json!(["users:read"]));
    assert_eq!(editor["is_system"], false);
    let id = editor["id"].as_str().unwrap();

    // Names: taken, or like a system role → 409 on name.
    for name in ["editor", "Owner", "super_admin"] {
        let r = app.send(Method::POST, "/api/v1/roles", owner, Some(json!({"name": name}))).await;
        let body = crate::support::problem(r).await;
        assert_eq!((body["status"].as_u64(), body["field"].as_str()), (Some(409), Some("name")), "{name}");
    }
    let r = app.send(Method::PATCH, &format!("/api/v1/roles/{id}"), owner, Some(json!({"name": "admin"}))).await;
    assert_eq!(code_of(r).await, (409, "CONFLICT".into()));
    let renamed = app
        .expect(
            Method::PATCH,
            &format!("/api/v1/roles/{id}"),
            owner,
            Some(json!({"name": "writer", "description": "w"})),
            200,
        )
        .await;
    assert_eq!((renamed["name"].as_str(), renamed["description"].as_str()), (Some("writer"), Some("w")));

    // PUT replaces the set; unknown names are 422 with the index.
    let set = app
        .expect(
            Method::PUT,
            &format!("/api/v1/roles/{id}/permissions"),
            owner,
            Some(json!({"permissions": ["users:update", "roles:read", "users:update"]})),
            200,
        )
        .await;
    assert_eq!(set, json!({"permissions": ["roles:read", "users:update"]}));
    let listed = app.expect(Method::GET, &format!("/api/v1/roles/{id}/permissions?limit=1"), owner, None, 200).await;
    assert_eq!(listed["items"], json!(["roles:read"]));
    let next = listed["next_cursor"].as_str().unwrap();
    let listed = app
        .expect(Method::GET, &format!("/api/v1/roles/{id}/permissions?limit=1&cursor={next}"), owner, None, 200)
        .await;
    assert_eq!((listed["items"].clone(), listed["next_cursor"].clone()), (json!(["users:update"]), json!(null)));
    let r = app
        .send(
            Method::PUT,
            &format!("/api/v1/roles/{id}/permissions"),
            owner,
            Some(json!({"permissions": ["users:fly"]})),
        )
        .await;
    let body = crate::support::problem(r).await;
    assert_eq!(
        (body["code"].as_str(), body["errors"][0]["field"].as_str()),
        (Some("VALIDATION_ERROR"), Some("permissions[0]"))
    );

    // System roles: not deleted, not renamed, permissions fixed.
    let owner_id = owner_role["id"].as_str().unwrap();
    let r = app.send(Method::DELETE, &format!("/api/v1/roles/{owner_id}"), owner, None).await;
    assert_eq!(code_of(r).await, (409, "CONFLICT".into()));
    let r = app.send(Method::PATCH, &format!("/api/v1/roles/{owner_id}"), owner, Some(json!({"name": "boss"}))).await;
    assert_eq!(code_of(r).await, (409, "CONFLICT".into()));

    // Delete: gone, and the name is free again.
    app.expect(Method::DELETE, &format!("/api/v1/roles/{id}"), owner, None, 204).await;
    let r = app.send(Method::GET, &format!("/api/v1/roles/{id}"), owner, None).await;
    assert_eq!(code_of(r).await, (404, "NOT_FOUND".into()));
    app.expect(Method::POST, "/api/v1/roles", owner, Some(json!({"name": "writer"})), 201).await;

    // The catalog, paged.
    let catalog = app.expect(Method::GET, "/api/v1/permissions?limit=200", owner, None, 200).await;
    let items = catalog["items"].as_array().unwrap();
    assert_eq!(items.len(), 21);
    let tenants_read = items.iter().find(|p| p["name"] == "tenants:read").unwrap();
    assert_eq!((tenants_read["scope"].as_str(), tenants_read["resource"].as_str()), (Some("system"), Some("tenants")));
    for bad in ["limit=0", "limit=201", "limit=x", "cursor=nope", "cursor=eyJrIjoidXNlcnMiLCJwIjpbXX0"] {
        let r = app.send(Method::GET, &format!("/api/v1/permissions?{bad}"), owner, None).await;
        assert_eq!(code_of(r).await, (422, "VALIDATION_ERROR".into()), "{bad}");
    }
}

#[tokio::test]
async fn system_scope_is_422_before_escalation_and_escalation_is_403() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let t = app.admin_tenant(&operator, "esc").await;
    let role = app.make_role(&t, &[]).await;
    // Even the owner (and an operator acting in the tenant) cannot put a system permission on a tenant role.
    for (token, header) in [(&t.owner.access, None), (&operator.access, Some(t.slug.as_str()))] {
        let mut r = app.call(
            Method::PUT,
            &format!("/api/v1/roles/{role}/permissions"),
            token,
            Some(json!({"permissions": ["tenants:create"]})),
        );
        if let Some(h) = header {
            r = r.header("x-tenant-id", h);
        }
        let body = crate::support::problem(r.send().await.unwrap()).await;
        assert_eq!((body["status"].as_u64(), body["errors"][0]["code"].as_str()), (Some(422), Some("system_scope")));
    }
    let r = app
        .send(
            Method::POST,
            "/api/v1/roles",
            &t.owner.access,
            Some(json!({"name": "ops", "permissions": ["tenants:read"]})),
        )
        .await;
    assert_eq!(code_of(r).await, (422, "VALIDATION_ERROR".into()));

    // A role manager holding roles:update and roles:assign only.
    let manager = app.user_with(&t, &["roles:update", "roles:assign", "roles:create"]).await;
    // 422 beats 403 for someone who lacks the permission too.
    let r = app
        .send(
            Method::PUT,
            &format!("/api/v1/roles/{role}/permissions"),
            &manager.access,
            Some(json!({"permissions": ["tenants:delete", "users:delete"]})),
        )
        .await;
    assert_eq!(code_of(r).await, (422, "VALIDATION_ERROR".into()));
    // Granting what one does not hold: 403, on PUT, on create, and by assigning a stronger role.
    let r = app
        .send(
            Method::PUT,
            &format!("/api/v1/roles/{role}/permissions"),
            &manager.access,
            Some(json!({"permissions": ["users:delete"]})),
        )
        .await;
    assert_eq!(code_of(r).await, (403, "FORBIDDEN".into()));
    let r = app
        .send(Method::POST, "/api/v1/roles", &manager.access, Some(json!({"name": "x", "permissions": ["users:read"]})))
        .await;
    assert_eq!(code_of(r).await, (403, "FORBIDDEN".into()));
    let owner_role = app.expect(Method::GET, "/api/v1/roles", &t.owner.access, None, 200).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "owner")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .send(
            Method::POST,
            &format!("/api/v1/users/{}/roles", manager.user_id),
            &manager.access,
            Some(json!({"role_id": owner_role})),
        )
        .await;
    assert_eq!(code_of(r).await, (403, "FORBIDDEN".into()));
    // What one holds may be granted.
    app.expect(
        Method::PUT,
        &format!("/api/v1/roles/{role}/permissions"),
        &manager.access,
        Some(json!({"permissions": ["roles:assign"]})),
        200,
    )
    .await;
}

#[tokio::test]
async fn revoking_a_permission_denies_on_the_next_request_and_authz_check_follows() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let t = app.admin_tenant(&operator, "revoke").await;
    let (id, email, password) = app.make_user(&t).await;
    let role = app.make_role(&t, &["users:read", "roles:read"]).await;
    app.expect(
        Method::POST,
        &format!("/api/v1/users/{id}/roles"),
        &t.owner.access,
        Some(json!({"role_id": role})),
        201,
    )
    .await;
    let user = app.sign_in(&t.slug, &email, &password).await;
    // Warm the cache.
    app.expect(Method::GET, "/api/v1/users", &user.access, None, 200).await;
    let check = app
        .expect(
            Method::POST,
            "/api/v1/authz/check",
            &user.access,
            Some(json!({"permissions": ["users:read", "users:delete", "no:such"]})),
            200,
        )
        .await;
    assert_eq!(
        check,
        json!({"allowed": false, "results": {"users:read": true, "users:delete": false, "no:such": false}})
    );
    let check = app
        .expect(Method::POST, "/api/v1/authz/check", &user.access, Some(json!({"permission": "users:read"})), 200)
        .await;
    assert_eq!(check["allowed"], true);

    // Edit the role: the very next request is denied.
    app.expect(
        Method::PUT,
        &format!("/api/v1/roles/{role}/permissions"),
        &t.owner.access,
        Some(json!({"permissions": ["roles:read"]})),
        200,
    )
    .await;
    let r = app.send(Method::GET, "/api/v1/users", &user.access, None).await;
    assert_eq!(code_of(r).await, (403, "FORBIDDEN".into()));
    // The owner checks the user: roles:read needed, and the answer is current.
    let check = app
        .expect(
            Method::POST,
            "/api/v1/authz/check",
            &t.owner.access,
            Some(json!({"permission": "users:read", "user_id": id})),
            200,
        )
        .await;
    assert_eq!(check["allowed"], false);

    // Unassigning: denied at once too.
    app.expect(Method::GET, "/api/v1/roles", &user.access, None, 200).await;
    app.expect(Method::DELETE, &format!("/api/v1/users/{id}/roles/{role}"), &t.owner.access, None, 204).await;
    let r = app.send(Method::GET, "/api/v1/roles", &user.access, None).await;
    assert_eq!(code_of(r).await, (403, "FORBIDDEN".into()));
    let r = app.send(Method::DELETE, &format!("/api/v1/users/{id}/roles/{role}"), &t.owner.access, None).await;
    assert_eq!(code_of(r).await, (404, "NOT_FOUND".into()));

    // Deleting the role: same.
    app.expect(
        Method::POST,
        &format!("/api/v1/users/{id}/roles"),
        &t.owner.access,
        Some(json!({"role_id": role})),
        201,
    )
    .await;
    app.expect(Method::GET, "/api/v1/roles", &user.access, None, 200).await;
    app.expect(Method::DELETE, &format!("/api/v1/roles/{role}"), &t.owner.access, None, 204).await;
    let r = app.send(Method::GET, "/api/v1/roles", &user.access, None).await;
    assert_eq!(code_of(r).await, (403, "FORBIDDEN".into()));
}

#[tokio::test]
async fn an_expired_assignment_grants_nothing() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let t = app.admin_tenant(&operator, "expiry").await;
    let (id, email, password) = app.make_user(&t).await;
    let role = app.make_role(&t, &["users:read"]).await;
    let user = app.sign_in(&t.slug, &email, &password).await;

    // A past expiry is refused.
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let r = app
        .send(
            Method::POST,
            &format!("/api/v1/users/{id}/roles"),
            &t.owner.access,
            Some(json!({"role_id": role, "expires_at": past})),
        )
        .await;
    assert_eq!(code_of(r).await, (422, "VALIDATION_ERROR".into()));

    // Two seconds of validity: allowed (and cached), then denied once the moment passes.
    let until = chrono::Utc::now() + chrono::Duration::seconds(2);
    let assignment = app
        .expect(
            Method::POST,
            &format!("/api/v1/users/{id}/roles"),
            &t.owner.access,
            Some(json!({"role_id": role, "expires_at": until.to_rfc3339()})),
            201,
        )
        .await;
    assert_eq!(assignment["role_id"], role.as_str());
    assert_eq!(assignment["assigned_by"], t.owner.user_id.as_str());
    assert!(assignment["expires_at"].is_string());
    app.expect(Method::GET, "/api/v1/users", &user.access, None, 200).await;
    // Waiting for the clock, not for a race: the expiry is the subject of the test.
    let wait = (until - chrono::Utc::now()).to_std().unwrap_or_default() + std::time::Duration::from_millis(50);
    tokio::time::sleep(wait).await;
    let r = app.send(Method::GET, "/api/v1/users", &user.access, None).await;
    assert_eq!(code_of(r).await, (403, "FORBIDDEN".into()));
    let perms = app.expect(Method::GET, &format!("/api/v1/users/{id}/permissions"), &t.owner.access, None, 200).await;
    assert_eq!(perms["items"], json!([]));
    // The expired assignment is still listed, with its expiry.
    let roles = app.expect(Method::GET, &format!("/api/v1/users/{id}/roles"), &t.owner.access, None, 200).await;
    assert!(
        roles["items"].as_array().unwrap().iter().any(|a| a["role_id"] == role.as_str() && a["expires_at"].is_string())
    );
}
