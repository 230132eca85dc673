//! The OpenAPI document against the running server: every documented
//! operation is routed, every route is documented, the document is OpenAPI
//! 3.1 and names its error responses; `/docs` serves Swagger UI from the
//! binary. The document is also written to `target/openapi.json`, which CI
//! validates with openapi-spec-validator.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::Value;

use crate::support::spawn_app;

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

/// Every (METHOD, path) of the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

/// A concrete URL path for a template: every `{param}` filled with a UUID.
fn concrete(template: &str) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closing brace") + start;
        out.push_str(&id);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}

#[tokio::test]
async fn the_document_is_served_and_is_openapi_3_1() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let served: Value = response.json().await.unwrap();
    let built = serde_json::to_value(azth_server::http::openapi_document()).unwrap();
    assert_eq!(served, built, "the served document is openapi_document()");

    let version = served["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1."), "openapi: {version}");

    // For CI's validator (.ci/run): the document as the server serves it.
    let out = target_dir().join("openapi.json");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let tmp = out.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&served).unwrap()).unwrap();
    std::fs::rename(&tmp, &out).unwrap();
}

#[tokio::test]
async fn every_operation_documents_its_errors_security_and_parameters() {
    let doc = serde_json::to_value(azth_server::http::openapi_document()).unwrap();
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes["bearerAuth"]["type"], "http");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["cookieAuth"]["type"], "apiKey");
    assert_eq!(schemes["cookieAuth"]["in"], "cookie");
    assert_eq!(schemes["cookieAuth"]["name"], "azth_session");
    let problem = &doc["components"]["schemas"]["Problem"]["properties"];
    for field in ["type", "title", "status", "code", "detail", "errors", "field", "request_id"] {
        assert!(problem.get(field).is_some(), "Problem.{field}");
    }

    let mut operation_ids = BTreeSet::new();
    for (method, path) in operations(&doc) {
        let op = &doc["paths"][&path][method.to_lowercase()];
        let what = format!("{method} {path}");
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{what}: operationId"));
        assert!(operation_ids.insert(id.to_owned()), "{what}: duplicate operationId {id}");
        assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{what}: a tag");

        let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{what}: responses"));
        assert!(responses.keys().any(|s| s.starts_with('2')), "{what}: a success response");
        // The service endpoints take no input, so no client error exists for them.
        let service = op["tags"][0] == "service";
        assert!(service || responses.keys().any(|s| s.starts_with('4')), "{what}: at least one 4xx response");
        assert!(responses.keys().any(|s| s.starts_with('4') || s == "503"), "{what}: an error response");
        for (status, response) in responses {
            if let Some(reference) = response["$ref"].as_str() {
                let name = reference.trim_start_matches("#/components/responses/");
                assert!(doc["components"]["responses"].get(name).is_some(), "{what} {status}: {reference} exists");
            }
        }

        // Every `{param}` of the path is a documented path parameter.
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let documented: BTreeSet<&str> =
            params.iter().filter(|p| p["in"] == "path").filter_map(|p| p["name"].as_str()).collect();
        let in_template: BTreeSet<&str> =
            path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
        assert_eq!(documented, in_template, "{what}: path parameters");

        // Authenticated operations: both schemes, the 401/403 answers and
        // the optional X-Tenant-ID. API operations all name X-Tenant-ID.
        let security = op["security"].as_array().cloned().unwrap_or_default();
        let names: BTreeSet<&str> =
            security.iter().filter_map(|s| s.as_object()).flat_map(|s| s.keys().map(String::as_str)).collect();
        if names.contains("bearerAuth") {
            assert!(names.contains("cookieAuth"), "{what}: the session cookie too");
            assert!(responses.contains_key("401") && responses.contains_key("403"), "{what}: 401 and 403");
        }
        if names.contains("cookieAuth") && method != "GET" {
            let csrf = params.iter().any(|p| p["in"] == "header" && p["name"] == "X-CSRF-Token");
            assert!(csrf, "{what}: X-CSRF-Token for cookie mode");
        }
        let api = path.starts_with("/api/v1/") && path != "/api/v1/openapi.json";
        let tenant_header = params.iter().find(|p| p["in"] == "header" && p["name"] == "X-Tenant-ID");
        assert_eq!(tenant_header.is_some(), api, "{what}: X-Tenant-ID");

        // A JSON request body means the body error classes are documented.
        if let Some(body) = op.get("requestBody") {
            assert!(body["content"].get("application/json").is_some(), "{what}: JSON body");
            for status in ["400", "413", "415", "422"] {
                assert!(responses.contains_key(status), "{what}: {status} for the body");
            }
        }
    }
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_no_other_method_is() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let ops = operations(&doc);
    assert!(ops.len() > 60, "{} operations", ops.len());

    let mut by_path: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (method, path) in &ops {
        by_path.entry(path).or_default().insert(method);
    }
    let mut failures = Vec::new();
    for (path, documented) in &by_path {
        let url = app.url(&concrete(path));
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let response =
                app.client.request(Method::from_bytes(method.as_bytes()).unwrap(), &url).send().await.unwrap();
            let status = response.status().as_u16();
            let code = response.json::<Value>().await.ok().and_then(|b| b["code"].as_str().map(str::to_owned));
            if documented.contains(method) {
                // Routed: not the unknown-route fallback, not a wrong method.
                // (Without credentials no documented operation reaches a resource lookup.)
                if status == 405 || (status == 404 && code.as_deref() == Some("NOT_FOUND")) {
                    failures.push(format!("{method} {path}: documented but answers {status} {code:?}"));
                }
            } else if status != 405 {
                failures.push(format!("{method} {path}: not documented but answers {status} {code:?} (not 405)"));
            }
        }
    }
    assert!(failures.is_empty(), "route/document mismatch:\n{}", failures.join("\n"));
}

/// The other direction for paths the document does not name: routes can
/// only be mounted through `OpenApiRouter::routes(routes!(…))`, which adds
/// the operation to the document. A plain axum `.route(…)` (or a service
/// mounted beside the router) would escape the document, so the source of
/// the HTTP layer may hold none but the allowed ones.
#[test]
fn routes_are_only_mounted_with_their_documentation() {
    // (file, the exact mounting line) that is allowed.
    let allowed: [(&str, &str); 1] =
        [("http/mod.rs", r#"Router::new().route("/metrics", get(service::metrics)).with_state(state)"#)];
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut offenders = Vec::new();
    for file in files {
        let name = file.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            let mounts =
                [".route(", ".route_service(", ".nest_service(", ".fallback_service("].iter().any(|m| line.contains(m));
            if mounts && !allowed.iter().any(|(f, l)| *f == name && line == *l) {
                offenders.push(format!("{name}:{}: {line}", n + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes mounted without an OpenAPI operation (use `#[utoipa::path]` and `.routes(routes!(handler))`):\n{}",
        offenders.join("\n")
    );
}

#[tokio::test]
async fn docs_serves_swagger_ui_from_the_binary() {
    let app = spawn_app().await;
    let redirect = app.get("/docs").await;
    assert!(redirect.status().is_redirection(), "{}", redirect.status());
    assert_eq!(redirect.headers()["location"], "/docs/");

    let page = app.get("/docs/").await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("'unsafe-eval'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui-bundle.js"), "{html}");

    let bundle = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status(), 200);
    assert!(bundle.headers()["content-type"].to_str().unwrap().contains("javascript"));
    assert!(bundle.bytes().await.unwrap().len() > 100_000);

    let init = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(init.status(), 200);
    let init = init.text().await.unwrap();
    assert!(init.contains("/api/v1/openapi.json"), "the UI reads azth's document");
    assert!(!init.contains("https://"), "no third-party host: {init}");

    let css = app.get("/docs/swagger-ui.css").await;
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
}
