//! Helpers of the administration tests: the bootstrap operator, tenants
//! created through `POST /tenants` with a signed-in owner, and users holding
//! exactly a chosen set of permissions.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_PASSWORD, Creds, TestApp, strong_password};

/// A tenant made through the API, with its signed-in first owner.
#[derive(Debug, Clone)]
pub struct AdminTenant {
    pub id: String,
    pub slug: String,
    pub owner: Creds,
}

/// A short random suffix for unique names.
pub fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

impl TestApp {
    /// A request with a bearer token (and JSON body when given).
    pub fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> reqwest::RequestBuilder {
        let mut r = self.client.request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        r
    }

    pub async fn send(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> reqwest::Response {
        self.call(method, path, token, body).send().await.unwrap()
    }

    /// Sends and expects `status`, returning the JSON body (Null for 204).
    pub async fn expect(&self, method: Method, path: &str, token: &str, body: Option<Value>, status: u16) -> Value {
        let r = self.send(method.clone(), path, token, body).await;
        let got = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(got, status, "{method} {path}: {text}");
        if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() }
    }

    /// Signs in and returns the tokens.
    pub async fn sign_in(&self, tenant: &str, email: &str, password: &str) -> Creds {
        let r = self.login(tenant, email, password).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let body: Value = r.json().await.unwrap();
        Creds {
            email: email.to_owned(),
            password: password.to_owned(),
            user_id: body["user"]["id"].as_str().unwrap().to_owned(),
            access: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
            session_id: body["session_id"].as_str().unwrap().to_owned(),
        }
    }

    /// The bootstrap operator of the `system` tenant, signed in.
    pub async fn operator(&self) -> Creds {
        self.sign_in("system", "root@example.com", ADMIN_PASSWORD).await
    }

    /// Creates a tenant through `POST /tenants` and signs in its owner.
    pub async fn admin_tenant(&self, operator: &Creds, slug: &str) -> AdminTenant {
        let email = format!("owner-{}@example.com", unique());
        let password = strong_password();
        let body = self
            .expect(
                Method::POST,
                "/api/v1/tenants",
                &operator.access,
                Some(json!({"name": format!("Tenant {slug}"), "slug": slug,
                            "owner": {"email": email, "password": password}})),
                201,
            )
            .await;
        let owner = self.sign_in(slug, &email, &password).await;
        AdminTenant { id: body["id"].as_str().unwrap().to_owned(), slug: slug.to_owned(), owner }
    }

    /// Creates a user with a password in the tenant of `admin` (through `POST /users`).
    pub async fn make_user(&self, tenant: &AdminTenant) -> (String, String, String) {
        let email = format!("u-{}@example.com", unique());
        let password = strong_password();
        let body = self
            .expect(
                Method::POST,
                "/api/v1/users",
                &tenant.owner.access,
                Some(json!({"email": email, "password": password})),
                201,
            )
            .await;
        (body["id"].as_str().unwrap().to_owned(), email, password)
    }

    /// Creates a role holding `permissions` (as the owner) and returns its id.
    pub async fn make_role(&self, tenant: &AdminTenant, permissions: &[&str]) -> String {
        let body = self
            .expect(
                Method::POST,
                "/api/v1/roles",
                &tenant.owner.access,
                Some(json!({"name": format!("role-{}", unique()), "permissions": permissions})),
                201,
            )
            .await;
        body["id"].as_str().unwrap().to_owned()
    }

    /// A signed-in user of `tenant` holding exactly `permissions` (plus `member`).
    pub async fn user_with(&self, tenant: &AdminTenant, permissions: &[&str]) -> Creds {
        let (id, email, password) = self.make_user(tenant).await;
        if !permissions.is_empty() {
            let role = self.make_role(tenant, permissions).await;
            self.expect(
                Method::POST,
                &format!("/api/v1/users/{id}/roles"),
                &tenant.owner.access,
                Some(json!({"role_id": role})),
                201,
            )
            .await;
        }
        self.sign_in(&tenant.slug, &email, &password).await
    }
}

/// The `code` of a problem response, with its status.
pub async fn code_of(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body = crate::support::problem(r).await;
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}
