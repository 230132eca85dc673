//! `GET /audit-logs` and `GET /audit-logs/export` (issue 6): every filter and
//! their combinations answer exactly the matching rows, newest first; a
//! cursor walk sees every row exactly once; another tenant's rows never
//! appear, in the list or the export; both export formats, their media
//! types, and the rows written under the system override.

use chrono::{DateTime, Duration, TimeZone, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::admin_support::{AdminTenant, code_of};
use crate::db::Arg;
use crate::support::{TestApp, spawn_app};

/// An audit row the test writes directly, with a chosen time.
#[derive(Debug, Clone)]
pub struct Seed {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// Writes `rows` into `tenant`'s audit trail (as the database owner's
/// admin role: the trail has no API for writing). `new_values` and the
/// user agent hold commas, quotes and a newline, for CSV.
pub async fn seed(app: &TestApp, tenant: &str, rows: &[Seed]) {
    let tenant = Uuid::parse_str(tenant).unwrap();
    let args: Vec<Vec<Arg>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            vec![
                Arg::Uuid(r.id),
                Arg::Uuid(tenant),
                Arg::OptUuid(r.user_id),
                Arg::Text(r.action.clone()),
                Arg::Text(r.resource_type.clone()),
                Arg::OptUuid(r.resource_id),
                Arg::Json(json!({"note": "a, \"quoted\"\nline", "n": i + 1})),
                Arg::Time(r.created_at),
            ]
        })
        .collect();
    app.exec_many(
        "insert into audit_logs (id, tenant_id, user_id, action, resource_type, resource_id, new_values,
                                 ip_address, user_agent, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, '203.0.113.9', 'Agent/1.0 (x, \"y\")', $8)",
        &args,
    )
    .await;
}

/// Every audit row id of `tenant`, newest first, straight from the database.
async fn truth(app: &TestApp, tenant: &str) -> Vec<String> {
    app.rows(
        "select id from audit_logs where tenant_id = $1 order by created_at desc, id desc",
        &[Arg::Uuid(tenant.parse().unwrap())],
    )
    .await
    .into_iter()
    .filter_map(|r| r.into_iter().next().flatten())
    .collect()
}

/// Walks `GET /audit-logs?<query>` page by page; returns every item in order.
pub async fn walk(app: &TestApp, token: &str, query: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = format!("/api/v1/audit-logs?limit={limit}&{query}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = app.expect(Method::GET, &url, token, None, 200).await;
        let got = page["items"].as_array().unwrap().clone();
        assert!(got.len() <= limit);
        items.extend(got);
        pages += 1;
        assert!(pages < 10_000);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

/// The ids of `rows` matching `keep`, newest first (ties by id, descending).
fn expected(rows: &[Seed], keep: impl Fn(&Seed) -> bool) -> Vec<String> {
    let mut kept: Vec<&Seed> = rows.iter().filter(|r| keep(r)).collect();
    kept.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
    kept.iter().map(|r| r.id.to_string()).collect()
}

/// 60 rows of resource type `widgets` over an hour of 2024-03-10, some
/// sharing a timestamp, spread over two users, two actions, two resources.
fn widgets(users: [Uuid; 2], resources: [Uuid; 2]) -> Vec<Seed> {
    let base = Utc.with_ymd_and_hms(2024, 3, 10, 12, 0, 0).unwrap();
    (0..60)
        .map(|i: i64| Seed {
            id: Uuid::new_v4(),
            user_id: match i % 3 {
                0 => Some(users[0]),
                1 => Some(users[1]),
                _ => None,
            },
            action: if i % 2 == 0 { "widget.made".into() } else { "widget.broken".into() },
            resource_type: "widgets".into(),
            resource_id: if i % 5 == 0 { None } else { Some(resources[usize::from(i % 4 == 0)]) },
            // Pairs of rows share a minute: the id breaks the tie.
            created_at: base + Duration::minutes(i / 2),
        })
        .collect()
}

async fn two_tenants(app: &TestApp) -> (crate::support::Creds, AdminTenant, AdminTenant) {
    let operator = app.operator().await;
    let a = app.admin_tenant(&operator, "audit-a").await;
    let b = app.admin_tenant(&operator, "audit-b").await;
    (operator, a, b)
}

#[tokio::test]
async fn filters_are_exact_and_a_cursor_walk_sees_every_row_once_newest_first() {
    let app = spawn_app().await;
    let (_, a, b) = two_tenants(&app).await;
    let users = [Uuid::new_v4(), Uuid::new_v4()];
    let resources = [Uuid::new_v4(), Uuid::new_v4()];
    let rows = widgets(users, resources);
    seed(&app, &a.id, &rows).await;
    // B holds look-alike rows with the same users and resources: never A's.
    seed(&app, &b.id, &widgets(users, resources)).await;
    let token = &a.owner.access;
    let at = |m: i64| Utc.with_ymd_and_hms(2024, 3, 10, 12, 0, 0).unwrap() + Duration::minutes(m);
    let iso = |t: DateTime<Utc>| t.to_rfc3339().replace('+', "%2B");

    let cases: Vec<(String, Vec<String>)> = vec![
        ("resource_type=widgets".into(), expected(&rows, |_| true)),
        (format!("user_id={}", users[0]), expected(&rows, |r| r.user_id == Some(users[0]))),
        ("action=widget.broken".into(), expected(&rows, |r| r.action == "widget.broken")),
        (
            format!("resource_type=widgets&resource_id={}", resources[1]),
            expected(&rows, |r| r.resource_id == Some(resources[1])),
        ),
        (format!("resource_id={}", resources[0]), expected(&rows, |r| r.resource_id == Some(resources[0]))),
        // from is inclusive, to exclusive.
        (
            format!("from={}&to={}", iso(at(5)), iso(at(12))),
            expected(&rows, |r| r.created_at >= at(5) && r.created_at < at(12)),
        ),
        (format!("resource_type=widgets&from={}", iso(at(25))), expected(&rows, |r| r.created_at >= at(25))),
        (format!("resource_type=widgets&to={}", iso(at(3))), expected(&rows, |r| r.created_at < at(3))),
        (
            format!("user_id={}&action=widget.made&from={}&to={}", users[1], iso(at(2)), iso(at(28))),
            expected(&rows, |r| {
                r.user_id == Some(users[1])
                    && r.action == "widget.made"
                    && r.created_at >= at(2)
                    && r.created_at < at(28)
            }),
        ),
        (
            format!("action=widget.made&resource_id={}&user_id={}", resources[0], users[0]),
            expected(&rows, |r| {
                r.action == "widget.made" && r.resource_id == Some(resources[0]) && r.user_id == Some(users[0])
            }),
        ),
        // A time zone offset names the same instant.
        ("resource_type=widgets&to=2024-03-10T14:03:00%2B02:00".into(), expected(&rows, |r| r.created_at < at(3))),
        (format!("from={}&to={}", iso(at(7)), iso(at(7))), vec![]),
        ("action=nothing.like.this".into(), vec![]),
        (format!("user_id={}", Uuid::new_v4()), vec![]),
    ];
    for (query, want) in &cases {
        for limit in [7, 200] {
            let got = walk(&app, token, query, limit).await;
            assert_eq!(ids(&got), *want, "{query} (limit {limit})");
            assert!(got.iter().all(|i| i["tenant_id"] == json!(a.id)), "{query}");
        }
    }

    // The whole trail of A (trigger rows of its creation included), page by
    // page: every row exactly once, in the database's newest-first order.
    let all = walk(&app, token, "", 9).await;
    assert_eq!(ids(&all), truth(&app, &a.id).await);
    assert!(all.len() > rows.len());

    // The row shape of API.md, with values as written.
    let one =
        app.expect(Method::GET, &format!("/api/v1/audit-logs?user_id={}&limit=1", users[0]), token, None, 200).await;
    assert!(one["next_cursor"].is_string());
    let row = one["items"][0].as_object().unwrap();
    let mut keys: Vec<&str> = row.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "action",
            "created_at",
            "id",
            "ip_address",
            "new_values",
            "old_values",
            "resource_id",
            "resource_type",
            "tenant_id",
            "user_agent",
            "user_id"
        ]
    );
    assert_eq!(row["ip_address"], "203.0.113.9");
    assert_eq!(row["user_agent"], "Agent/1.0 (x, \"y\")");
    assert_eq!(row["new_values"]["note"], "a, \"quoted\"\nline");
    assert_eq!(row["user_id"], json!(users[0]));
    assert!(row["old_values"].is_null());
}

#[tokio::test]
async fn bad_filters_and_cursors_are_422() {
    let app = spawn_app().await;
    let (_, a, _) = two_tenants(&app).await;
    let token = &a.owner.access;
    let users_cursor = {
        app.make_user(&a).await;
        let page = app.expect(Method::GET, "/api/v1/users?limit=1", token, None, 200).await;
        page["next_cursor"].as_str().unwrap().to_owned()
    };
    for (query, field) in [
        ("user_id=nope", "user_id"),
        ("resource_id=123", "resource_id"),
        ("from=yesterday", "from"),
        ("to=2024-13-01T00:00:00Z", "to"),
        ("from=2024-03-02T00:00:00Z&to=2024-03-01T00:00:00Z", "to"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=bogus", "cursor"),
        (&format!("cursor={users_cursor}"), "cursor"),
    ] {
        for path in ["/api/v1/audit-logs", "/api/v1/audit-logs/export"] {
            if path.ends_with("export") && (query.starts_with("limit") || query.starts_with("cursor")) {
                continue;
            }
            let r = app.send(Method::GET, &format!("{path}?{query}"), token, None).await;
            assert_eq!(r.status(), 422, "{path}?{query}");
            let body = crate::support::problem(r).await;
            assert_eq!(body["code"], "VALIDATION_ERROR");
            assert_eq!(body["errors"][0]["field"], field, "{path}?{query}");
        }
    }
    let action = "a".repeat(101);
    let r = app.send(Method::GET, &format!("/api/v1/audit-logs?action={action}"), token, None).await;
    assert_eq!(code_of(r).await, (422, "VALIDATION_ERROR".into()));
    for format in ["xml", "json", "CSV", ""] {
        let r = app.send(Method::GET, &format!("/api/v1/audit-logs/export?format={format}"), token, None).await;
        let (status, code) = code_of(r).await;
        assert_eq!((status, code.as_str()), (422, "VALIDATION_ERROR"), "format={format}");
    }
}

/// A minimal RFC 4180 reader: records of fields, quotes doubled inside quotes.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && record.is_empty(), "the last record ends with CRLF");
    records
}

#[tokio::test]
async fn exports_stream_ndjson_and_csv_of_the_same_rows_and_only_the_tenants() {
    let app = spawn_app().await;
    let (_, a, b) = two_tenants(&app).await;
    // More rows than one export batch (1,000), so batches are chained.
    let base = Utc::now() - Duration::days(1);
    let bulk = |n: i64| -> Vec<Seed> {
        (0..n)
            .map(|i| Seed {
                id: Uuid::new_v4(),
                user_id: None,
                action: "bulk.row".into(),
                resource_type: "bulk".into(),
                resource_id: None,
                // Every third row shares its timestamp with the next.
                created_at: base + Duration::milliseconds(i - i % 3),
            })
            .collect()
    };
    let rows = bulk(2_345);
    seed(&app, &a.id, &rows).await;
    let b_rows = bulk(1_500);
    seed(&app, &b.id, &b_rows).await;
    let want = expected(&rows, |_| true);
    let token = &a.owner.access;

    let r = app.send(Method::GET, "/api/v1/audit-logs/export?format=ndjson&action=bulk.row", token, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    assert!(r.headers()["content-disposition"].to_str().unwrap().contains("audit-logs.ndjson"));
    let text = r.text().await.unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(ids(&lines), want);
    let first = app.expect(Method::GET, "/api/v1/audit-logs?action=bulk.row&limit=1", token, None, 200).await;
    assert_eq!(lines[0], first["items"][0], "the same row shape as the list");

    // No format: NDJSON.
    let r = app.send(Method::GET, "/api/v1/audit-logs/export?resource_type=bulk", token, None).await;
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    assert_eq!(r.text().await.unwrap().lines().count(), rows.len());

    let r = app.send(Method::GET, "/api/v1/audit-logs/export?format=csv&resource_type=bulk", token, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let records = parse_csv(&r.text().await.unwrap());
    assert_eq!(
        records[0],
        [
            "id",
            "tenant_id",
            "user_id",
            "action",
            "resource_type",
            "resource_id",
            "old_values",
            "new_values",
            "ip_address",
            "user_agent",
            "created_at"
        ]
    );
    assert_eq!(records.len(), rows.len() + 1);
    assert_eq!(records[1..].iter().map(|r| r[0].clone()).collect::<Vec<_>>(), want);
    for (record, line) in records[1..].iter().zip(&lines) {
        assert_eq!(record.len(), 11);
        assert_eq!(record[1], a.id);
        assert_eq!(record[2], "", "null is an empty field");
        assert_eq!(record[3], "bulk.row");
        let new_values: Value = serde_json::from_str(&record[7]).unwrap();
        assert_eq!(new_values, line["new_values"], "JSON columns are JSON text");
        assert_eq!(record[9], "Agent/1.0 (x, \"y\")");
        let at = DateTime::parse_from_rfc3339(&record[10]).unwrap();
        assert_eq!(json!(at.with_timezone(&Utc)), line["created_at"]);
    }

    // Unfiltered exports of A hold no row of B, and vice versa.
    let b_ids: std::collections::HashSet<String> = b_rows.iter().map(|r| r.id.to_string()).collect();
    let r = app.send(Method::GET, "/api/v1/audit-logs/export", token, None).await;
    let all: Vec<Value> = r.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(all.len() > rows.len());
    assert!(all.iter().all(|l| l["tenant_id"] == json!(a.id)));
    assert!(ids(&all).iter().all(|id| !b_ids.contains(id)));
    let r = app.send(Method::GET, "/api/v1/audit-logs/export?format=csv", &b.owner.access, None).await;
    let records = parse_csv(&r.text().await.unwrap());
    assert!(records[1..].iter().all(|r| r[1] == b.id));
    assert_eq!(records[1..].iter().filter(|r| r[3] == "bulk.row").count(), b_rows.len());

    // Each export is itself recorded, with its format and filters.
    let exported = walk(&app, token, "action=audit.exported", 50).await;
    assert_eq!(exported.len(), 4);
    assert_eq!(exported[0]["user_id"], json!(a.owner.user_id));
    assert_eq!(exported.last().unwrap()["new_values"]["filters"]["action"], "bulk.row");
}

#[tokio::test]
async fn rows_under_the_system_override_name_the_tenant_and_the_operator() {
    let app = spawn_app().await;
    let (operator, a, b) = two_tenants(&app).await;
    // The operator acts in A: creates a user there.
    let r = app
        .call(Method::POST, "/api/v1/users", &operator.access, Some(json!({"email": "acted@example.com"})))
        .header("x-tenant-id", &a.slug)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let user: Value = r.json().await.unwrap();

    let mine = walk(&app, &a.owner.access, &format!("user_id={}", operator.user_id), 50).await;
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|row| row["tenant_id"] == json!(a.id) && row["user_id"] == json!(operator.user_id)));
    let actions: Vec<&str> = mine.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"users.created"), "{actions:?}");
    assert!(actions.contains(&"INSERT"), "the trigger row too: {actions:?}");
    let created = mine.iter().find(|r| r["action"] == "users.created").unwrap();
    assert_eq!(created["resource_id"], user["id"]);
    let home = created["new_values"]["operator_tenant_id"].as_str().unwrap().to_owned();
    assert_ne!(home, a.id);
    // The resource filter finds the user's rows.
    let about = walk(&app, &a.owner.access, &format!("resource_id={}", user["id"].as_str().unwrap()), 50).await;
    assert!(about.iter().any(|r| r["action"] == "users.created"));

    // The operator reads A's trail by naming A, and only A's.
    let r = app
        .call(Method::GET, "/api/v1/audit-logs?limit=200", &operator.access, None)
        .header("x-tenant-id", &a.id)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    assert!(page["items"].as_array().unwrap().iter().all(|row| row["tenant_id"] == json!(a.id)));
    // Nothing of it reached B's trail or the operator's own.
    let in_b = walk(&app, &b.owner.access, &format!("user_id={}", operator.user_id), 50).await;
    assert!(in_b.iter().all(|r| r["action"] != "users.created"));
    let own = walk(&app, &operator.access, "action=users.created", 50).await;
    assert!(own.iter().all(|r| r["tenant_id"] == json!(home)));
    assert!(own.iter().all(|r| r["resource_id"] != user["id"]));
}
