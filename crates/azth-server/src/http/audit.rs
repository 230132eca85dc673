//! `/api/v1/audit-logs`: the audit trail, paged or streamed as NDJSON/CSV.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use azth_core::FieldError;
use azth_store::AuditEntry;
use chrono::{DateTime, Utc};
use tokio_stream::wrappers::ReceiverStream;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{Auth, Meta};
use super::openapi::{AuthErrors, AuthTenantHeader, PageQuery, QueryErrors};
use super::query::Params;
use crate::services::audit::{self, ExportFormat, Filters};
use crate::services::page::Page;
use crate::state::AppState;

/// Routes under `/audit-logs`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(export))
}

/// The filters of the audit trail (read by [`filters`]; this type describes them).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct AuditFilters {
    /// The acting user.
    user_id: Option<Uuid>,
    /// E.g. `auth.login.failed`, `INSERT` (at most 100 characters).
    action: Option<String>,
    /// E.g. `users` (at most 50 characters).
    resource_type: Option<String>,
    resource_id: Option<Uuid>,
    /// Rows at or after this time (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Rows before this time (RFC 3339).
    to: Option<DateTime<Utc>>,
}

/// `format` of the export.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ExportQuery {
    /// `ndjson` (default) or `csv`.
    #[param(pattern = "^(ndjson|csv)$")]
    format: Option<String>,
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::validation(vec![FieldError::new(field, "invalid_value", message)])
}

/// The filters of API.md. An empty value counts as absent; every present
/// one must parse (422 naming it otherwise).
fn filters(params: &Params) -> Result<Filters, ApiError> {
    let text = |name: &str, max: usize| -> Result<Option<String>, ApiError> {
        match params.get(name).map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) if v.chars().count() <= max => Ok(Some(v.to_owned())),
            Some(_) => Err(invalid(name, &format!("at most {max} characters"))),
        }
    };
    let id = |name: &str| -> Result<Option<Uuid>, ApiError> {
        match params.get(name).map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => Uuid::parse_str(v).map(Some).map_err(|_| invalid(name, "must be a UUID")),
        }
    };
    let time = |name: &str| -> Result<Option<DateTime<Utc>>, ApiError> {
        match params.get(name).map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => DateTime::parse_from_rfc3339(v)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|_| invalid(name, "must be an RFC 3339 time, e.g. 2025-01-31T00:00:00Z")),
        }
    };
    Ok(Filters {
        user_id: id("user_id")?,
        action: text("action", 100)?,
        resource_type: text("resource_type", 50)?,
        resource_id: id("resource_id")?,
        from: time("from")?,
        to: time("to")?,
        ..Filters::default()
    })
}

/// The audit trail, newest first (audit:read).
#[utoipa::path(
    get,
    operation_id = "audit_list",
    path = "/audit-logs",
    tag = "audit",
    params(AuditFilters, PageQuery, AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "A page of audit rows", body = Page<AuditEntry>), AuthErrors, QueryErrors)
)]
async fn list(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    params: Params,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let filters = filters(&params)?;
    Ok(Json(audit::list(&state, &meta, &principal, filters, params.page()?).await?))
}

/// The whole filtered audit trail, streamed (audit:read).
#[utoipa::path(
    get,
    operation_id = "audit_export",
    path = "/audit-logs/export",
    tag = "audit",
    params(ExportQuery, AuditFilters, AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "NDJSON (one audit row a line) or CSV with a header row of the audit row's fields", content(
            (String = "application/x-ndjson"),
            (String = "text/csv"),
        )),
        AuthErrors, QueryErrors)
)]
async fn export(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    params: Params,
) -> Result<Response, ApiError> {
    let format = ExportFormat::parse(params.get("format"))?;
    let filters = filters(&params)?;
    let export = audit::export(&state, &meta, &principal, filters, format).await?;
    let mut response = Body::from_stream(ReceiverStream::new(export.chunks)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.media_type()));
    let disposition = format!("attachment; filename=\"{}\"", format.file_name());
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(ApiError::internal)?);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
