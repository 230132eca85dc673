//! The audit trail as administrators read it (API.md "Administration":
//! `GET /audit-logs` and `GET /audit-logs/export`).
//!
//! Both read in the acting tenant's transaction (row-level security plus an
//! explicit tenant predicate), newest first on the keyset `(created_at, id)`.
//! Under the system override the operator reads the acted-in tenant's rows.
//!
//! The export streams: a task reads [`EXPORT_BATCH`] rows at a time, each
//! batch in its own short transaction (no connection is held between
//! batches, however slow the client), encodes the batch into one chunk and
//! hands it over a channel of [`EXPORT_CHANNEL`] chunks to the response
//! body. A slow client therefore stalls the reader instead of growing a
//! buffer; a client that goes away ends the task. Memory stays around a few
//! batches whatever the size of the trail: exporting 100,000 rows (119 MB of
//! NDJSON, 6–7 s in a debug build) raised the peak RSS of the whole process,
//! server and reading client together, by 4.5–5.5 MiB
//! (`tests/export_memory.rs`, which asserts less than 64 MiB).

use azth_core::FieldError;
use azth_store::{AuditEntry, AuditFilter};
use serde_json::json;
use tokio::sync::mpsc;

use super::access::{self, admin_record, admin_tx};
use super::page::{Page, PageParams};
use super::{Principal, RequestMeta};
use crate::http::ApiError;
use crate::state::AppState;

/// Rows read per export batch.
pub const EXPORT_BATCH: i64 = 1000;
/// Encoded batches waiting for the client, at most.
pub const EXPORT_CHANNEL: usize = 2;

/// The permission of both endpoints.
const PERMISSION: &str = "audit:read";

/// The filters of API.md; `before` and `limit` are the service's.
pub type Filters = AuditFilter;

/// A format `GET /audit-logs/export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per line, `application/x-ndjson`.
    Ndjson,
    /// RFC 4180 CSV with a header row, `text/csv`.
    Csv,
}

impl ExportFormat {
    /// Parses `format`; absent means NDJSON.
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        match raw {
            None | Some("ndjson") => Ok(Self::Ndjson),
            Some("csv") => Ok(Self::Csv),
            Some(_) => {
                Err(ApiError::validation(vec![FieldError::new("format", "invalid_value", "one of ndjson, csv")]))
            }
        }
    }

    /// The media type of the body.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Ndjson => "application/x-ndjson",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }

    /// The file name offered to browsers.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Ndjson => "audit-logs.ndjson",
            Self::Csv => "audit-logs.csv",
        }
    }
}

fn check(filters: &Filters) -> Result<(), ApiError> {
    if let (Some(from), Some(to)) = (filters.from, filters.to)
        && to < from
    {
        return Err(ApiError::validation(vec![FieldError::new("to", "out_of_range", "must not be before from")]));
    }
    Ok(())
}

/// One page of the acting tenant's audit rows, newest first.
pub async fn list(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    filters: Filters,
    page: PageParams,
) -> Result<Page<AuditEntry>, ApiError> {
    access::require(state, principal, PERMISSION).await?;
    check(&filters)?;
    let filter = AuditFilter { before: page.after("audit-logs")?, limit: page.fetch(), ..filters };
    let mut tx = admin_tx(state, meta, principal).await?;
    let rows = tx.list_audit(principal.acting.id, &filter).await?;
    tx.commit().await?;
    Ok(Page::from_rows(rows, &page, "audit-logs", |r| (r.created_at, r.id)))
}

/// A started export: encoded chunks arrive on `chunks`; an `Err` means the
/// export broke off (the body must end abnormally, not look complete).
pub struct Export {
    pub format: ExportFormat,
    pub chunks: mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
}

/// Starts streaming the acting tenant's audit rows matching `filters`,
/// newest first. Permission and filters are checked, and the export itself
/// recorded (`audit.exported`), before the first byte.
pub async fn export(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    filters: Filters,
    format: ExportFormat,
) -> Result<Export, ApiError> {
    access::require(state, principal, PERMISSION).await?;
    check(&filters)?;
    let mut tx = admin_tx(state, meta, principal).await?;
    let details = json!({
        "format": match format { ExportFormat::Ndjson => "ndjson", ExportFormat::Csv => "csv" },
        "filters": {
            "user_id": filters.user_id, "action": filters.action, "resource_type": filters.resource_type,
            "resource_id": filters.resource_id, "from": filters.from, "to": filters.to,
        },
    });
    tx.insert_audit(&admin_record(meta, principal, "audit.exported", "audit_logs", None, details)).await?;
    tx.commit().await?;

    let (sender, chunks) = mpsc::channel(EXPORT_CHANNEL);
    let (state, meta, principal) = (state.clone(), meta.clone(), principal.clone());
    tokio::spawn(async move {
        if format == ExportFormat::Csv && sender.send(Ok(csv_header())).await.is_err() {
            return;
        }
        let mut filter = AuditFilter { before: None, limit: EXPORT_BATCH, ..filters };
        loop {
            let batch = match read_batch(&state, &meta, &principal, &filter).await {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::error!(code = %e.code, "audit export broke off");
                    let _ = sender.send(Err(std::io::Error::other("the export broke off"))).await;
                    return;
                }
            };
            let Some(last) = batch.last() else { return };
            filter.before = Some((last.created_at, last.id));
            let full = i64::try_from(batch.len()).unwrap_or(i64::MAX) >= EXPORT_BATCH;
            let chunk = encode(format, &batch);
            drop(batch);
            if sender.send(Ok(chunk)).await.is_err() {
                tracing::debug!("audit export abandoned by the client");
                return;
            }
            if !full {
                return;
            }
        }
    });
    Ok(Export { format, chunks })
}

async fn read_batch(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    filter: &AuditFilter,
) -> Result<Vec<AuditEntry>, ApiError> {
    let mut tx = admin_tx(state, meta, principal).await?;
    let rows = tx.list_audit(principal.acting.id, filter).await?;
    tx.commit().await?;
    Ok(rows)
}

/// The CSV columns: the fields of API.md's audit row, in its order.
pub const CSV_COLUMNS: [&str; 11] = [
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
    "created_at",
];

fn csv_header() -> Vec<u8> {
    let mut line = CSV_COLUMNS.join(",");
    line.push_str("\r\n");
    line.into_bytes()
}

/// Encodes a batch in `format`.
pub fn encode(format: ExportFormat, rows: &[AuditEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * 512);
    for row in rows {
        match format {
            ExportFormat::Ndjson => {
                // Serializing plain data into a Vec cannot fail.
                if serde_json::to_writer(&mut out, row).is_ok() {
                    out.push(b'\n');
                }
            }
            ExportFormat::Csv => csv_row(&mut out, row),
        }
    }
    out
}

/// One CSV record (RFC 4180): null is an empty field, JSON columns are
/// compact JSON text, times RFC 3339 as in the JSON API.
// SECURITY: every field that needs it is quoted, so none can break the
// record; a field a spreadsheet would read as a formula is defused (see
// `csv_field`). NDJSON is the export that keeps every value byte for byte.
fn csv_row(out: &mut Vec<u8>, row: &AuditEntry) {
    let json = |v: &Option<serde_json::Value>| v.as_ref().map(serde_json::Value::to_string);
    let uuid = |v: Option<uuid::Uuid>| v.map(|u| u.to_string());
    let fields: [Option<String>; 11] = [
        Some(row.id.to_string()),
        uuid(row.tenant_id),
        uuid(row.user_id),
        Some(row.action.clone()),
        Some(row.resource_type.clone()),
        uuid(row.resource_id),
        json(&row.old_values),
        json(&row.new_values),
        row.ip_address.clone(),
        row.user_agent.clone(),
        Some(row.created_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
    ];
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if let Some(value) = field {
            csv_field(out, value);
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes one field, quoted when it holds a separator, quote or line break.
// SECURITY: CSV injection (OWASP): a field starting with `=`, `+`, `-`, `@`,
// tab or carriage return (user agents and recorded values are chosen by
// whoever sent the request) gets a leading `'`, so a spreadsheet shows it
// as text instead of evaluating it (gap G16).
fn csv_field(out: &mut Vec<u8>, value: &str) {
    let defused;
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        defused = format!("'{value}");
        defused.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\r', '\n']) {
        out.push(b'"');
        out.extend_from_slice(value.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(value.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> AuditEntry {
        AuditEntry {
            id: uuid::Uuid::nil(),
            tenant_id: Some(uuid::Uuid::nil()),
            user_id: None,
            action: "auth.login.failed".into(),
            resource_type: "users".into(),
            resource_id: None,
            old_values: None,
            new_values: Some(json!({"a": "x,\"y\"\n"})),
            ip_address: Some("127.0.0.1".into()),
            user_agent: Some("Mozilla/5.0 (X11, \"Linux\")".into()),
            created_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let text = String::from_utf8(encode(ExportFormat::Csv, &[entry()])).unwrap();
        assert_eq!(
            text,
            "00000000-0000-0000-0000-000000000000,00000000-0000-0000-0000-000000000000,,auth.login.failed,users,,,\
             \"{\"\"a\"\":\"\"x,\\\"\"y\\\"\"\\n\"\"}\",127.0.0.1,\"Mozilla/5.0 (X11, \"\"Linux\"\")\",\
             2023-11-14T22:13:20Z\r\n"
        );
        assert_eq!(String::from_utf8(csv_header()).unwrap().trim_end().split(',').count(), 11);
    }

    #[test]
    fn csv_defuses_formulas() {
        let field = |value: &str| {
            let mut out = Vec::new();
            csv_field(&mut out, value);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(field("=1+2"), "'=1+2");
        assert_eq!(field("+1"), "'+1");
        assert_eq!(field("-1"), "'-1");
        assert_eq!(field("@SUM(A1:A2)"), "'@SUM(A1:A2)");
        assert_eq!(field("\tx"), "'\tx");
        assert_eq!(field("\r=x"), "\"'\r=x\"", "defused, then quoted for the line break");
        assert_eq!(field("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
        for harmless in ["Mozilla/5.0", "a=b", "x-1", "{}", "::1", ""] {
            assert_eq!(field(harmless), harmless, "only a leading character counts");
        }

        let row = AuditEntry { user_agent: Some("=cmd|' /C calc'!A0".into()), ..entry() };
        let text = String::from_utf8(encode(ExportFormat::Csv, &[row])).unwrap();
        assert!(text.contains(",'=cmd|' /C calc'!A0,"), "{text}");
        let ndjson =
            String::from_utf8(encode(ExportFormat::Ndjson, &[AuditEntry { user_agent: Some("=x".into()), ..entry() }]))
                .unwrap();
        assert!(ndjson.contains("\"user_agent\":\"=x\""), "NDJSON keeps the value as recorded: {ndjson}");
    }

    #[test]
    fn ndjson_is_one_object_per_line() {
        let text = String::from_utf8(encode(ExportFormat::Ndjson, &[entry(), entry()])).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["action"], "auth.login.failed");
        assert_eq!(v["new_values"]["a"], "x,\"y\"\n");
    }

    #[test]
    fn formats() {
        assert_eq!(ExportFormat::parse(None).unwrap(), ExportFormat::Ndjson);
        assert_eq!(ExportFormat::parse(Some("csv")).unwrap(), ExportFormat::Csv);
        assert!(ExportFormat::parse(Some("xml")).is_err());
    }
}
