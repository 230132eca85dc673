//! `GET /notifications`, `GET /notifications/{id}`, `POST
//! /notifications/{id}/retry` and `/notification-templates` (issue 6):
//! filters and pages, never the content, retries (409 for a sent one, 404
//! across tenants, the worker delivers what was retried), and templates
//! read, validated, saved, used by the next message, and reset.

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::admin_support::code_of;
use crate::db::Arg;
use crate::support::{Spawn, TestApp, eventually, problem, spawn_app, spawn_with};

/// A notification of `tenant` written directly with `status` (one
/// statement, so no worker sees it in another state first). `sending` rows
/// hold a lease an hour long.
pub async fn notification(
    app: &TestApp,
    tenant: &str,
    channel: &str,
    recipient: &str,
    status: &str,
    created_at: DateTime<Utc>,
) -> String {
    let id = Uuid::now_v7();
    let now = Utc::now();
    let subject = (channel == "email").then(|| "Your code".to_owned());
    let sent_at = (status == "sent").then_some(now);
    let error = matches!(status, "failed" | "retrying").then(|| "550 no such user".to_owned());
    let retries = match status {
        "failed" => 4,
        "retrying" => 1,
        _ => 0,
    };
    let scheduled = if status == "sending" { now + Duration::hours(1) } else { now };
    app.exec(
        "insert into notifications (id, tenant_id, type, template, recipient, subject, content, status,
                                    sent_at, error_message, retry_count, scheduled_at, created_at)
         values ($1, $2, $3, 'otp', $4, $5, 'Your code is 123456. It expires in 10 minutes.', $6,
                 $7, $8, $9, $10, $11)",
        &[
            Arg::Uuid(id),
            Arg::Uuid(tenant.parse().unwrap()),
            Arg::Text(channel.to_owned()),
            Arg::Text(recipient.to_owned()),
            match subject {
                Some(s) => Arg::Text(s),
                None => Arg::OptText(None),
            },
            Arg::Text(status.to_owned()),
            Arg::OptTime(sent_at),
            Arg::OptText(error),
            Arg::Int(retries),
            Arg::Time(scheduled),
            Arg::Time(created_at),
        ],
    )
    .await;
    id.to_string()
}

/// A failed email notification of `tenant` (for the permission matrix and cross-tenant checks).
pub async fn failed_notification(app: &TestApp, tenant: &str) -> String {
    notification(app, tenant, "email", &format!("f-{}@example.com", Uuid::new_v4().simple()), "failed", Utc::now())
        .await
}

async fn walk(app: &TestApp, token: &str, query: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("/api/v1/notifications?limit={limit}&{query}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = app.expect(Method::GET, &url, token, None, 200).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

const FIELDS: [&str; 12] = [
    "created_at",
    "error_message",
    "id",
    "max_retries",
    "recipient",
    "retry_count",
    "scheduled_at",
    "sent_at",
    "status",
    "subject",
    "template",
    "type",
];

fn assert_shape(item: &Value) {
    let mut keys: Vec<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, FIELDS, "never the content");
    assert!(!item.to_string().contains("123456"), "no code leaks: {item}");
}

#[tokio::test]
async fn lists_filter_exactly_page_newest_first_and_never_show_content() {
    // No delivery: statuses stay as written.
    let app = spawn_with(Spawn { tweak: Some(Box::new(|c| c.outbox.workers = 0)), ..Spawn::default() }).await;
    let operator = app.operator().await;
    let a = app.admin_tenant(&operator, "notes-a").await;
    let b = app.admin_tenant(&operator, "notes-b").await;
    let channels = ["email", "sms", "push"];
    let statuses = ["pending", "sending", "retrying", "sent", "failed"];
    let recipients = ["ann@example.com", "+15550001111", "bob@example.com"];
    let base = Utc::now() - Duration::hours(1);
    let mut seeded = Vec::new();
    for i in 0..25usize {
        let (c, s, r) = (channels[i % 3], statuses[i % 5], recipients[i % 3]);
        // Pairs share a creation time: the id breaks the tie.
        let at = base + Duration::seconds(i64::try_from(i / 2).unwrap());
        seeded.push((notification(&app, &a.id, c, r, s, at).await, c, s, r, at));
        notification(&app, &b.id, c, r, s, at).await;
    }
    let expect = |keep: &dyn Fn(&str, &str, &str) -> bool| -> Vec<String> {
        let mut kept: Vec<_> = seeded.iter().filter(|(_, c, s, r, _)| keep(c, s, r)).collect();
        kept.sort_by(|x, y| (y.4, &y.0).cmp(&(x.4, &x.0)));
        kept.iter().map(|x| x.0.clone()).collect()
    };
    let token = &a.owner.access;
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("", expect(&|_, _, _| true)),
        ("status=failed", expect(&|_, s, _| s == "failed")),
        ("status=sending", expect(&|_, s, _| s == "sending")),
        ("channel=sms", expect(&|c, _, _| c == "sms")),
        ("recipient=ann@example.com", expect(&|_, _, r| r == "ann@example.com")),
        // Recipients compare case-insensitively; `+` must be escaped in a query.
        ("recipient=BOB@Example.com", expect(&|_, _, r| r == "bob@example.com")),
        ("recipient=%2B15550001111", expect(&|_, _, r| r == "+15550001111")),
        ("status=sent&channel=email", expect(&|c, s, _| s == "sent" && c == "email")),
        (
            "status=pending&channel=push&recipient=bob@example.com",
            expect(&|c, s, r| s == "pending" && c == "push" && r == "bob@example.com"),
        ),
        ("recipient=nobody@example.com", vec![]),
    ];
    for (query, want) in &cases {
        for limit in [4, 200] {
            let got = walk(&app, token, query, limit).await;
            assert_eq!(ids(&got), *want, "{query} (limit {limit})");
            got.iter().for_each(assert_shape);
        }
    }
    for (query, field) in
        [("status=bogus", "status"), ("channel=fax", "channel"), ("limit=0", "limit"), ("cursor=bogus", "cursor")]
    {
        let r = app.send(Method::GET, &format!("/api/v1/notifications?{query}"), token, None).await;
        assert_eq!(r.status(), 422, "{query}");
        assert_eq!(problem(r).await["errors"][0]["field"], field);
    }
    let one = app.expect(Method::GET, &format!("/api/v1/notifications/{}", seeded[4].0), token, None, 200).await;
    assert_shape(&one);
    assert_eq!((one["status"].as_str(), one["type"].as_str()), (Some("failed"), Some("sms")));
    assert_eq!(one["error_message"], "550 no such user");
    assert_eq!((one["retry_count"].as_i64(), one["max_retries"].as_i64()), (Some(4), Some(3)));
}

#[tokio::test]
async fn a_failed_notification_is_retried_and_delivered_a_sent_one_is_409_another_tenants_404() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let a = app.admin_tenant(&operator, "retry-a").await;
    let b = app.admin_tenant(&operator, "retry-b").await;
    let token = &a.owner.access;
    let now = Utc::now();
    let failed = notification(&app, &a.id, "email", "late@example.com", "failed", now).await;
    let sent = notification(&app, &a.id, "email", "done@example.com", "sent", now).await;
    let sending = notification(&app, &a.id, "sms", "+15550002222", "sending", now).await;
    let theirs = notification(&app, &b.id, "email", "theirs@example.com", "failed", now).await;

    // Retry: back to pending, due now, a fresh retry budget, the last error kept.
    let r = app.send(Method::POST, &format!("/api/v1/notifications/{failed}/retry"), token, None).await;
    assert_eq!(r.status(), 200);
    let retried: Value = r.json().await.unwrap();
    assert_shape(&retried);
    assert_eq!(retried["status"], "pending");
    assert_eq!(retried["retry_count"], 0);
    assert_eq!(retried["error_message"], "550 no such user");
    let due: DateTime<Utc> = serde_json::from_value(retried["scheduled_at"].clone()).unwrap();
    assert!((Utc::now() - due).num_seconds().abs() < 60);
    // The worker is woken and delivers it.
    let delivered = app.message("late@example.com", "otp").await;
    assert!(delivered.body.contains("123456"));
    let path = format!("/api/v1/notifications/{failed}");
    assert!(
        eventually(std::time::Duration::from_secs(10), || async {
            app.expect(Method::GET, &path, token, None, 200).await["status"] == "sent"
        })
        .await
    );
    let done = app.expect(Method::GET, &path, token, None, 200).await;
    assert!(done["sent_at"].is_string());
    assert!(done["error_message"].is_null());

    // Sent (now, and from the start) → 409 naming status; so is one being delivered.
    for id in [&failed, &sent, &sending] {
        let r = app.send(Method::POST, &format!("/api/v1/notifications/{id}/retry"), token, None).await;
        assert_eq!(r.status(), 409, "{id}");
        let body = problem(r).await;
        assert_eq!((body["code"].as_str(), body["field"].as_str()), (Some("CONFLICT"), Some("status")));
    }
    // A JSON body is allowed, if empty.
    let r = app.send(Method::POST, &format!("/api/v1/notifications/{sent}/retry"), token, Some(json!({}))).await;
    assert_eq!(r.status(), 409);

    // Another tenant's notification, an unknown one and a malformed id: 404, no data.
    for id in [theirs.clone(), Uuid::now_v7().to_string(), "not-a-uuid".to_owned()] {
        for (method, path) in [
            (Method::GET, format!("/api/v1/notifications/{id}")),
            (Method::POST, format!("/api/v1/notifications/{id}/retry")),
        ] {
            let r = app.send(method.clone(), &path, token, None).await;
            assert_eq!(r.status(), 404, "{method} {path}");
            let body = problem(r).await;
            assert_eq!(body["code"], "NOT_FOUND");
            assert!(!body.to_string().contains("theirs@"));
        }
    }
    let list = walk(&app, token, "", 200).await;
    assert!(!ids(&list).contains(&theirs));
    let still = app.expect(Method::GET, &format!("/api/v1/notifications/{theirs}"), &b.owner.access, None, 200).await;
    assert_eq!((still["status"].as_str(), still["retry_count"].as_i64()), (Some("failed"), Some(4)));

    // The retry is in the audit trail.
    let trail = app.expect(Method::GET, "/api/v1/audit-logs?action=notifications.retried", token, None, 200).await;
    let items = trail["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["resource_id"], json!(failed));
    assert_eq!(items[0]["user_id"], json!(a.owner.user_id));
}

#[tokio::test]
async fn templates_are_read_validated_saved_used_by_the_next_message_and_reset() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let a = app.admin_tenant(&operator, "tpl-a").await;
    let b = app.admin_tenant(&operator, "tpl-b").await;
    let token = &a.owner.access;

    let all = app.expect(Method::GET, "/api/v1/notification-templates", token, None, 200).await;
    let names: Vec<&str> = all["items"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["account_locked", "invitation", "new_sign_in", "otp", "password_reset", "verification"]);
    assert!(all["items"].as_array().unwrap().iter().all(|t| t["source"] == "builtin" && t["updated_at"].is_null()));
    assert!(all["next_cursor"].is_null());
    let builtin = app.expect(Method::GET, "/api/v1/notification-templates/password_reset", token, None, 200).await;
    assert_eq!(builtin["source"], "builtin");
    assert!(builtin["subject"].as_str().unwrap().contains("Reset your"));
    assert!(builtin["html_body"].as_str().unwrap().contains("{{ link }}"));

    let good = json!({"subject": "Reset for {{ tenant_name }} ✓", "text_body": "Go here: {{ link }} (custom)"});
    for name in ["nope", "PASSWORD_RESET", "password_reset.txt"] {
        let path = format!("/api/v1/notification-templates/{name}");
        let r = app.send(Method::GET, &path, token, None).await;
        assert_eq!(code_of(r).await, (404, "NOT_FOUND".into()), "{name}");
        let r = app.send(Method::PUT, &path, token, Some(good.clone())).await;
        assert_eq!(code_of(r).await, (404, "NOT_FOUND".into()), "{name}");
    }
    // A template that does not render is refused, naming its part.
    for (body, field) in [
        (json!({"subject": "{{ no_such_variable }}", "text_body": "x"}), "subject"),
        (json!({"subject": "Hi", "text_body": "{{ link "}), "text_body"),
        (json!({"subject": "Hi", "text_body": "{{ link }}", "html_body": "{% if %}"}), "html_body"),
        (json!({"subject": "", "text_body": "x"}), "subject"),
        (json!({"subject": "Hi"}), "text_body"),
        (json!({"subject": "Hi", "text_body": "x", "colour": "red"}), "colour"),
    ] {
        let r = app.send(Method::PUT, "/api/v1/notification-templates/password_reset", token, Some(body.clone())).await;
        assert_eq!(r.status(), 422, "{body}");
        assert_eq!(problem(r).await["errors"][0]["field"], field, "{body}");
    }
    let still = app.expect(Method::GET, "/api/v1/notification-templates/password_reset", token, None, 200).await;
    assert_eq!(still["source"], "builtin", "nothing was saved");

    let saved =
        app.expect(Method::PUT, "/api/v1/notification-templates/password_reset", token, Some(good.clone()), 200).await;
    assert_eq!(saved["source"], "tenant");
    assert_eq!(saved["subject"], good["subject"]);
    assert!(saved["html_body"].is_null());
    assert!(saved["updated_at"].is_string());
    let read = app.expect(Method::GET, "/api/v1/notification-templates/password_reset", token, None, 200).await;
    assert_eq!(read, saved);
    // B is untouched.
    let theirs =
        app.expect(Method::GET, "/api/v1/notification-templates/password_reset", &b.owner.access, None, 200).await;
    assert_eq!(theirs["source"], "builtin");

    // The next message of A uses the override.
    let (_, email, _) = app.make_user(&a).await;
    let r = app.post_json("/api/v1/auth/password/forgot", Some(&a.slug), json!({"email": email})).await;
    assert_eq!(r.status(), 202);
    let message = app.message(&email, "password_reset").await;
    assert_eq!(message.subject.as_deref(), Some("Reset for Tenant tpl-a ✓"));
    assert!(message.body.starts_with("Go here: ") && message.body.ends_with(" (custom)"), "{}", message.body);
    assert!(message.body.contains("/reset-password?token="));
    let listed = walk(&app, token, &format!("recipient={email}"), 10).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["subject"], "Reset for Tenant tpl-a ✓");
    assert_eq!(listed[0]["template"], "password_reset");
    assert_shape(&listed[0]);
    // B's messages do not.
    let (_, b_email, _) = app.make_user(&b).await;
    app.post_json("/api/v1/auth/password/forgot", Some(&b.slug), json!({"email": b_email})).await;
    assert!(app.message(&b_email, "password_reset").await.subject.unwrap().starts_with("Reset your"));

    // Reset: the built-in template applies again.
    app.expect(Method::DELETE, "/api/v1/notification-templates/password_reset", token, None, 204).await;
    app.expect(Method::DELETE, "/api/v1/notification-templates/password_reset", token, None, 204).await;
    let back = app.expect(Method::GET, "/api/v1/notification-templates/password_reset", token, None, 200).await;
    assert_eq!(back, builtin);
    app.post_json("/api/v1/auth/password/forgot", Some(&a.slug), json!({"email": email})).await;
    let second = app.nth_message(&email, "password_reset", 2).await;
    assert!(second.subject.unwrap().starts_with("Reset your"));

    let trail =
        app.expect(Method::GET, "/api/v1/audit-logs?resource_type=notification_templates", token, None, 200).await;
    let actions: Vec<&str> = trail["items"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["notification_templates.reset", "notification_templates.updated"]);
}
