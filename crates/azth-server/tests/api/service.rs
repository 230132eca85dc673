//! The HTTP skeleton: service endpoints, request ids, and every error class
//! of API.md "Details" answered as problem+json.

use std::time::Duration;

use axum::Router;
use axum::routing::post;
use azth_server::http::ApiJson;
use azth_server::state::AppState;
use serde::Deserialize;

use crate::support::{Spawn, eventually, problem, spawn_app, spawn_with};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Probe {
    name: String,
    count: u32,
}

/// A test-only route taking a JSON body, to exercise the body rules.
fn probe_routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/_probe",
        post(|ApiJson(p): ApiJson<Probe>| async move { axum::Json(serde_json::json!({"name": p.name})) }),
    )
}

async fn spawn_probe() -> crate::support::TestApp {
    spawn_with(Spawn { extra: Some(probe_routes()), ..Spawn::default() }).await
}

#[tokio::test]
async fn health_answers_status_and_version() {
    let app = spawn_app().await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn ready_checks_database_and_cache() {
    let app = spawn_app().await;
    let response = app.get("/ready").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ok", "checks": {"database": "ok", "cache": "ok"}}));
}

#[tokio::test]
async fn ready_turns_503_while_the_database_is_down_and_recovers() {
    let app = spawn_with(Spawn { db_proxy: true, ..Spawn::default() }).await;
    assert_eq!(app.get("/ready").await.status(), 200);

    let proxy = app.db_proxy.as_ref().unwrap();
    proxy.down();
    let response = app.get("/ready").await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["database"], "unavailable");
    assert_eq!(body["checks"]["cache"], "ok");

    proxy.up();
    let recovered = eventually(Duration::from_secs(10), || async { app.get("/ready").await.status() == 200 }).await;
    assert!(recovered, "/ready did not recover after the database returned");
}

#[tokio::test]
async fn ready_reports_an_unreachable_cache() {
    // Port 1 on loopback refuses connections: the cache is down from the start.
    let app = spawn_with(Spawn {
        tweak: Some(Box::new(|c| c.redis.url = Some("redis://127.0.0.1:1".to_owned().into()))),
        ..Spawn::default()
    })
    .await;
    let response = app.get("/ready").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["checks"], serde_json::json!({"database": "ok", "cache": "unavailable"}));
}

#[tokio::test]
async fn request_ids_are_echoed_when_valid_and_replaced_otherwise() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/health")).header("x-request-id", "abc.DEF_123-x").send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc.DEF_123-x");

    for bad in ["has space", "semi;colon", &"a".repeat(129)] {
        let r = app.client.get(app.url("/health")).header("x-request-id", bad).send().await.unwrap();
        let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, bad);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }

    let r = app.client.get(app.url("/nope")).header("x-request-id", "trace-42").send().await.unwrap();
    assert_eq!(problem(r).await["request_id"], "trace-42");
}

#[tokio::test]
async fn unknown_route_is_404_not_found() {
    let app = spawn_app().await;
    for path in ["/nope", "/api/v1/nope", "/api/v2/users"] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        let body = problem(r).await;
        assert_eq!(body["code"], "NOT_FOUND");
        assert_eq!(body["status"], 404);
        assert_eq!(body["title"], "Not Found");
    }
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let app = spawn_app().await;
    let r = app.client.delete(app.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let allow = r.headers().get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(allow.contains("GET"), "Allow: {allow:?}");
    assert_eq!(problem(r).await["code"], "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn malformed_json_is_400_invalid_json() {
    let app = spawn_probe().await;
    for body in ["{", "not json", r#"{"name":"a","count":1} extra"#, ""] {
        let r = app
            .client
            .post(app.url("/api/v1/_probe"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body:?}");
        assert_eq!(problem(r).await["code"], "INVALID_JSON");
    }
}

#[tokio::test]
async fn wrong_or_missing_content_type_is_415() {
    let app = spawn_probe().await;
    let r = app.client.post(app.url("/api/v1/_probe")).body(r#"{"name":"a","count":1}"#).send().await.unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(problem(r).await["code"], "UNSUPPORTED_MEDIA_TYPE");
    let r = app
        .client
        .post(app.url("/api/v1/_probe"))
        .header("content-type", "text/plain")
        .body(r#"{"name":"a","count":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(problem(r).await["code"], "UNSUPPORTED_MEDIA_TYPE");
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let app = spawn_probe().await;
    let big = format!(r#"{{"name":"{}","count":1}}"#, "x".repeat(70 * 1024));
    let r = app
        .client
        .post(app.url("/api/v1/_probe"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(problem(r).await["code"], "PAYLOAD_TOO_LARGE");

    // Without a Content-Length (chunked), the limit still holds.
    let (status, body) = raw_chunked_post(app.addr, "/api/v1/_probe", big.as_bytes()).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("PAYLOAD_TOO_LARGE"), "{body}");
}

/// Sends a chunked request over a raw socket; returns the status and body text.
async fn raw_chunked_post(addr: std::net::SocketAddr, path: &str, body: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(8192) {
        // The server may answer and close before the whole body is sent.
        if stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await.is_err()
            || stream.write_all(chunk).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn wrong_types_and_unknown_fields_are_422_per_field() {
    let app = spawn_probe().await;
    let send = |body: &'static str| {
        app.client.post(app.url("/api/v1/_probe")).header("content-type", "application/json").body(body).send()
    };
    let body = problem(send(r#"{"name":"a","count":"many"}"#).await.unwrap()).await;
    assert_eq!(body["status"], 422);
    assert_eq!(body["code"], "VALIDATION_ERROR");
    assert_eq!(body["errors"][0]["field"], "count");
    assert_eq!(body["errors"][0]["code"], "invalid_type");

    let body = problem(send(r#"{"name":"a","count":1,"role":"owner"}"#).await.unwrap()).await;
    assert_eq!(
        (body["errors"][0]["field"].as_str(), body["errors"][0]["code"].as_str()),
        (Some("role"), Some("unknown_field"))
    );

    let body = problem(send(r#"{"name":"a"}"#).await.unwrap()).await;
    assert_eq!(
        (body["errors"][0]["field"].as_str(), body["errors"][0]["code"].as_str()),
        (Some("count"), Some("missing"))
    );

    let ok = send(r#"{"name":"a","count":1}"#).await.unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_pool_use() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health").await.status(), 200);
    assert_eq!(app.get("/no-such-thing/12345").await.status(), 404);
    let r = app.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = r.text().await.unwrap();
    assert!(text.contains("azth_http_requests_total"), "{text}");
    assert!(text.contains(r#"route="/health""#), "{text}");
    assert!(text.contains(r#"route="unmatched""#), "{text}");
    assert!(!text.contains("12345"), "raw paths never become labels");
    assert!(text.contains("azth_http_request_duration_seconds"), "{text}");
    assert!(text.contains("azth_db_pool_connections"), "{text}");
    assert!(text.contains("azth_hash_pool_queued"), "{text}");
}

#[tokio::test]
async fn metrics_can_move_to_their_own_listener() {
    let app = spawn_with(Spawn {
        tweak: Some(Box::new(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap()))),
        ..Spawn::default()
    })
    .await;
    assert_eq!(app.get("/metrics").await.status(), 404);
    let addr = app.metrics_addr.unwrap();
    let r = app.client.get(format!("http://{addr}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("azth_db_pool_connections"));
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
    let entered = std::sync::Arc::new(std::sync::Mutex::new(Some(entered_tx)));
    let slow = Router::new().route(
        "/_slow",
        axum::routing::get(move || {
            let entered = entered.clone();
            async move {
                if let Some(tx) = entered.lock().unwrap().take() {
                    let _ = tx.send(());
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                "done"
            }
        }),
    );
    let mut app = spawn_with(Spawn { extra: Some(slow), ..Spawn::default() }).await;
    let request = tokio::spawn(app.client.get(app.url("/_slow")).send());
    entered_rx.await.unwrap();
    app.signal_stop();
    let response = request.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "done");
    app.stop().await.unwrap();
    // New connections are refused once the server has stopped.
    assert!(app.client.get(app.url("/health")).send().await.is_err());
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/health", "/api/v1/me", "/nope"] {
        let r = app.get(path).await;
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"), "{path}");
        assert!(!h.contains_key("strict-transport-security"), "plain http: no HSTS");
    }
    assert_eq!(app.get("/api/v1/me").await.headers()["cache-control"], "no-store");
    // JWKS keeps its public cache policy.
    assert!(app.get("/.well-known/jwks.json").await.headers()["cache-control"].to_str().unwrap().contains("max-age"));

    let app = spawn_with(Spawn {
        tweak: Some(Box::new(|c| c.public_url = Some("https://id.example.com".into()))),
        ..Spawn::default()
    })
    .await;
    assert!(app.get("/health").await.headers()["strict-transport-security"].to_str().unwrap().contains("max-age="));
}

#[tokio::test]
async fn cors_answers_only_the_configured_origins() {
    let app = spawn_with(Spawn {
        tweak: Some(Box::new(|c| c.http.cors_origins = vec!["https://app.example.com".into()])),
        ..Spawn::default()
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth/login"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,x-tenant-id")
            .send()
    };
    let ok = preflight("https://app.example.com").await.unwrap();
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    let other = preflight("https://evil.example").await.unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
    // Without configuration, nobody is allowed.
    let plain = spawn_app().await;
    let r = plain
        .client
        .request(reqwest::Method::OPTIONS, plain.url("/api/v1/auth/login"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(!r.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn forwarded_for_is_believed_from_trusted_proxies_only() {
    async fn session_ip(app: &crate::support::TestApp) -> String {
        app.create_tenant("acme", serde_json::json!({})).await;
        let email = "xff@example.com";
        let password = crate::support::strong_password();
        app.register("acme", email, &password).await;
        let r = app
            .post("/api/v1/auth/login", Some("acme"))
            .header("x-forwarded-for", "198.51.100.23, 10.0.0.9")
            .json(&serde_json::json!({"identifier": email, "password": password}))
            .send()
            .await
            .unwrap();
        let tokens: serde_json::Value = r.json().await.unwrap();
        let list: serde_json::Value =
            app.get_as("/api/v1/auth/sessions", tokens["access_token"].as_str().unwrap()).await.json().await.unwrap();
        list["items"][0]["ip_address"].as_str().unwrap().to_owned()
    }
    // Not configured: the header is ignored, the peer is the client.
    assert_eq!(session_ip(&spawn_app().await).await, "127.0.0.1");
    // Loopback and 10/8 trusted: the rightmost untrusted entry is the client.
    let app = spawn_with(Spawn {
        tweak: Some(Box::new(|c| c.http.trusted_proxies = vec!["127.0.0.1/32".into(), "10.0.0.0/8".into()])),
        ..Spawn::default()
    })
    .await;
    assert_eq!(session_ip(&app).await, "198.51.100.23");
}

#[tokio::test]
async fn serves_https_itself_when_given_a_certificate() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let (cert, key) = (fixtures.join("tls-test.crt"), fixtures.join("tls-test.key"));
    let app = spawn_with(Spawn {
        tweak: Some(Box::new(move |c| {
            c.http.tls_cert = Some(cert);
            c.http.tls_key = Some(key);
        })),
        ..Spawn::default()
    })
    .await;
    // A client that connects and never speaks TLS holds up nobody.
    let _silent = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let root = reqwest::Certificate::from_pem(&std::fs::read(fixtures.join("tls-test-ca.crt")).unwrap()).unwrap();
    let client = reqwest::Client::builder().add_root_certificate(root).build().unwrap();
    let url = format!("https://localhost:{}/health", app.addr.port());
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    assert!(app.state.config.public_url().starts_with("https://"), "the issuer is https");
    // Plain HTTP to the TLS port gets no answer, and a client that does not
    // trust the certificate refuses the connection.
    assert!(app.client.get(format!("http://{}/health", app.addr)).send().await.is_err());
    assert!(reqwest::Client::new().get(&url).send().await.is_err());
}

#[test]
fn tls_needs_both_files_and_names_the_bad_one() {
    let mut config = azth_server::Config::default();
    config.http.tls_cert = Some("/nonexistent/cert.pem".into());
    assert!(config.validate().unwrap_err().to_string().contains("http.tls_cert"));
    let err = azth_server::tls::server_config(
        std::path::Path::new("/nonexistent/cert.pem"),
        std::path::Path::new("/nonexistent/key.pem"),
    )
    .unwrap_err();
    assert!(err.starts_with("http.tls_cert /nonexistent/cert.pem"), "{err}");
}
