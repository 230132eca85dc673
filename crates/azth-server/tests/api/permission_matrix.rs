//! The permission matrix (issue 5): every administration endpoint, from ONE
//! table of (method, path, permission, body), is called by a principal who
//! holds every other permission of its scope but this one (403 FORBIDDEN)
//! and by one who holds only this one (2xx).

use reqwest::Method;
use serde_json::{Value, json};

use crate::admin_support::{AdminTenant, code_of, unique};
use crate::support::{TestApp, spawn_app, strong_password};

/// Every administration endpoint and the permission it needs. Placeholders:
/// `{user}` a member with a live session `{session}` and an assignment of
/// `{role}` (a permission-less custom role); `{deleted}` a deleted user;
/// `{tenant}` another tenant (system scope); `{notification}` a failed
/// notification. `@email` in a body becomes a
/// fresh address, `@slug` a fresh slug.
const MATRIX: &[(&str, &str, &str, &str)] = &[
    ("GET", "/tenant", "tenant:read", ""),
    ("PATCH", "/tenant", "tenant:update", r#"{"name": "Renamed"}"#),
    ("GET", "/users", "users:read", ""),
    ("POST", "/users", "users:create", r#"{"email": "@email"}"#),
    ("GET", "/users/{user}", "users:read", ""),
    ("PATCH", "/users/{user}", "users:update", r#"{"first_name": "Ada"}"#),
    ("DELETE", "/users/{user}", "users:delete", ""),
    ("POST", "/users/{deleted}/restore", "users:update", ""),
    ("POST", "/users/{user}/unlock", "users:update", ""),
    ("GET", "/users/{user}/sessions", "sessions:read", ""),
    ("DELETE", "/users/{user}/sessions", "sessions:revoke", ""),
    ("DELETE", "/users/{user}/sessions/{session}", "sessions:revoke", ""),
    ("GET", "/users/{user}/roles", "roles:read", ""),
    ("POST", "/users/{user}/roles", "roles:assign", r#"{"role_id": "{role}"}"#),
    ("DELETE", "/users/{user}/roles/{role}", "roles:assign", ""),
    ("GET", "/users/{user}/permissions", "roles:read", ""),
    ("GET", "/roles", "roles:read", ""),
    ("POST", "/roles", "roles:create", r#"{"name": "@slug"}"#),
    ("GET", "/roles/{role}", "roles:read", ""),
    ("PATCH", "/roles/{role}", "roles:update", r#"{"description": "changed"}"#),
    ("DELETE", "/roles/{role}", "roles:delete", ""),
    ("GET", "/roles/{role}/permissions", "roles:read", ""),
    ("PUT", "/roles/{role}/permissions", "roles:update", r#"{"permissions": []}"#),
    ("GET", "/permissions", "permissions:read", ""),
    ("POST", "/authz/check", "roles:read", r#"{"permission": "users:read", "user_id": "{user}"}"#),
    ("GET", "/audit-logs", "audit:read", ""),
    ("GET", "/audit-logs/export?format=ndjson", "audit:read", ""),
    ("GET", "/audit-logs/export?format=csv", "audit:read", ""),
    ("GET", "/notifications", "notifications:read", ""),
    ("GET", "/notifications/{notification}", "notifications:read", ""),
    ("POST", "/notifications/{notification}/retry", "notifications:manage", ""),
    ("GET", "/notification-templates", "notifications:manage", ""),
    ("GET", "/notification-templates/otp", "notifications:manage", ""),
    ("PUT", "/notification-templates/otp", "notifications:manage", r#"{"subject": "Code", "text_body": "{{ code }}"}"#),
    ("DELETE", "/notification-templates/otp", "notifications:manage", ""),
    ("GET", "/tenants", "tenants:read", ""),
    ("POST", "/tenants", "tenants:create", r#"{"name": "New", "slug": "@slug", "owner": {"email": "@email"}}"#),
    ("GET", "/tenants/{tenant}", "tenants:read", ""),
    ("PATCH", "/tenants/{tenant}", "tenants:update", r#"{"plan": "pro"}"#),
    ("DELETE", "/tenants/{tenant}", "tenants:delete", ""),
    ("POST", "/tenants/{tenant}/suspend", "tenants:update", ""),
    ("POST", "/tenants/{tenant}/activate", "tenants:update", ""),
];

const TENANT_PERMISSIONS: &[&str] = &[
    "tenant:read",
    "tenant:update",
    "users:read",
    "users:create",
    "users:update",
    "users:delete",
    "roles:read",
    "roles:create",
    "roles:update",
    "roles:delete",
    "roles:assign",
    "permissions:read",
    "sessions:read",
    "sessions:revoke",
    "audit:read",
    "notifications:read",
    "notifications:manage",
];
const SYSTEM_PERMISSIONS: &[&str] = &["tenants:read", "tenants:create", "tenants:update", "tenants:delete"];

struct Fixture {
    user: String,
    session: String,
    role: String,
    deleted: String,
    tenant: String,
    notification: String,
}

async fn fixture(app: &TestApp, t: &AdminTenant, operator: &crate::support::Creds) -> Fixture {
    let (user, email, password) = app.make_user(t).await;
    let session = app.sign_in(&t.slug, &email, &password).await.session_id;
    let role = app.make_role(t, &[]).await;
    let owner = &t.owner.access;
    app.expect(Method::POST, &format!("/api/v1/users/{user}/roles"), owner, Some(json!({"role_id": role})), 201).await;
    let (deleted, _, _) = app.make_user(t).await;
    app.expect(Method::DELETE, &format!("/api/v1/users/{deleted}"), owner, None, 204).await;
    let tenant = app.admin_tenant(operator, &format!("fx-{}", unique())).await.id;
    let notification = crate::notifications_api::failed_notification(app, &t.id).await;
    Fixture { user, session, role, deleted, tenant, notification }
}

fn fill(template: &str, fx: &Fixture) -> String {
    template
        .replace("{user}", &fx.user)
        .replace("{session}", &fx.session)
        .replace("{role}", &fx.role)
        .replace("{deleted}", &fx.deleted)
        .replace("{tenant}", &fx.tenant)
        .replace("{notification}", &fx.notification)
        .replace("@email", &format!("new-{}@example.com", unique()))
        .replace("@slug", &format!("new-{}", unique()))
}

#[tokio::test]
async fn every_admin_endpoint_needs_exactly_its_permission() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let t = app.admin_tenant(&operator, "matrix").await;
    // The system tenant, administered by its operator like any tenant.
    let system_id =
        app.expect(Method::GET, "/api/v1/tenant", &operator.access, None, 200).await["id"].as_str().unwrap().to_owned();
    let system = AdminTenant { id: system_id, slug: "system".into(), owner: operator.clone() };

    for (method, path, permission, body) in MATRIX {
        let method: Method = method.parse().unwrap();
        let system_scope = SYSTEM_PERMISSIONS.contains(permission);
        let (home, scope) = if system_scope { (&system, SYSTEM_PERMISSIONS) } else { (&t, TENANT_PERMISSIONS) };
        let others: Vec<&str> = scope.iter().copied().filter(|p| p != permission).collect();
        let without = app.user_with(home, &others).await;
        let with = app.user_with(home, &[permission]).await;
        let fx = fixture(&app, &t, &operator).await;
        let url = format!("/api/v1{}", fill(path, &fx));
        let json_body = || (!body.is_empty()).then(|| serde_json::from_str::<Value>(&fill(body, &fx)).unwrap());

        let r = app.send(method.clone(), &url, &without.access, json_body()).await;
        assert_eq!(code_of(r).await, (403, "FORBIDDEN".into()), "{method} {path} without {permission}");
        if system_scope {
            // A tenant owner holds every tenant permission, none of system scope.
            let r = app.send(method.clone(), &url, &t.owner.access, json_body()).await;
            assert_eq!(code_of(r).await, (403, "FORBIDDEN".into()), "{method} {path} as a tenant owner");
        }
        let r = app.send(method.clone(), &url, &with.access, json_body()).await;
        let status = r.status().as_u16();
        assert!(
            (200..300).contains(&status),
            "{method} {path} with {permission}: {status} {}",
            r.text().await.unwrap()
        );
    }
}

#[tokio::test]
async fn a_member_is_forbidden_everywhere_and_unauthenticated_callers_get_401() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let t = app.admin_tenant(&operator, "members").await;
    let member = app.user_with(&t, &[]).await;
    let fx = fixture(&app, &t, &operator).await;
    for (method, path, _, body) in MATRIX {
        let method: Method = method.parse().unwrap();
        let url = format!("/api/v1{}", fill(path, &fx));
        let json_body = (!body.is_empty()).then(|| serde_json::from_str::<Value>(&fill(body, &fx)).unwrap());
        let r = app.send(method.clone(), &url, &member.access, json_body.clone()).await;
        assert_eq!(code_of(r).await, (403, "FORBIDDEN".into()), "{method} {path}");
        let mut anonymous = app.client.request(method.clone(), app.url(&url));
        if let Some(b) = json_body {
            anonymous = anonymous.json(&b);
        }
        let r = anonymous.send().await.unwrap();
        assert_eq!(code_of(r).await, (401, "UNAUTHENTICATED".into()), "{method} {path}");
    }
    let _ = strong_password();
}
