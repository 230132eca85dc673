//! `/api/v1/notifications` and `/api/v1/notification-templates`: the outbox
//! (never the content) and the tenant's message templates.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use azth_store::NotificationView;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::admin_users::NoBody;
use super::error::ApiError;
use super::extract::{Auth, Meta, OptionalJson};
use super::json::ApiJson;
use super::openapi::{AuthErrors, AuthTenantHeader, BodyErrors, ConflictError, CsrfHeader, PageQuery, QueryErrors};
use super::query::{Params, path_id};
use crate::notify::templates::Template;
use crate::services::notifications::{self, CHANNELS, STATUSES, TemplateView};
use crate::services::page::Page;
use crate::state::AppState;

/// Routes of the outbox and the templates.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(retry))
        .routes(routes!(templates))
        .routes(routes!(template, put_template, reset_template))
}

/// The filters of `GET /notifications` (read by `Params`; this type describes them).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct NotificationFilters {
    /// `pending`, `sending`, `retrying`, `sent` or `failed`.
    #[param(pattern = "^(pending|sending|retrying|sent|failed)$")]
    status: Option<String>,
    /// `email`, `sms` or `push`.
    #[param(pattern = "^(email|sms|push)$")]
    channel: Option<String>,
    /// The exact recipient.
    recipient: Option<String>,
}

/// The outbox, newest first, without content (notifications:read).
#[utoipa::path(
    get,
    operation_id = "notifications_list",
    path = "/notifications",
    tag = "notifications",
    params(NotificationFilters, PageQuery, AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "A page of notifications", body = Page<NotificationView>), AuthErrors, QueryErrors)
)]
async fn list(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    params: Params,
) -> Result<Json<Page<NotificationView>>, ApiError> {
    let input = notifications::ListInput {
        status: notifications::one_of("status", params.get("status"), &STATUSES)?,
        channel: notifications::one_of("channel", params.get("channel"), &CHANNELS)?,
        recipient: params.get("recipient").map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned),
        page: params.page()?,
    };
    Ok(Json(notifications::list(&state, &meta, &principal, input).await?))
}

/// A notification, without its content (notifications:read).
#[utoipa::path(
    get,
    operation_id = "notifications_get_one",
    path = "/notifications/{id}",
    tag = "notifications",
    params(("id" = Uuid, Path, description = "Notification id"), AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The notification", body = NotificationView), AuthErrors)
)]
async fn get_one(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<NotificationView>, ApiError> {
    Ok(Json(notifications::get(&state, &meta, &principal, path_id(&id)?).await?))
}

/// Queues a failed notification again (notifications:manage); a sent one → 409.
#[utoipa::path(
    post,
    operation_id = "notifications_retry",
    path = "/notifications/{id}/retry",
    tag = "notifications",
    params(CsrfHeader, ("id" = Uuid, Path, description = "Notification id"), AuthTenantHeader),
    request_body(content = Option<NoBody>, description = "None; an empty body is accepted"),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The notification, queued", body = NotificationView), AuthErrors, BodyErrors, ConflictError)
)]
async fn retry(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    OptionalJson(_body): OptionalJson<NoBody>,
) -> Result<Json<NotificationView>, ApiError> {
    Ok(Json(notifications::retry(&state, &meta, &principal, path_id(&id)?).await?))
}

/// Every template, in one page.
#[derive(Serialize, ToSchema)]
struct TemplateList {
    items: Vec<TemplateView>,
    next_cursor: Option<String>,
}

/// All six templates in one page (a fixed, small collection).
/// The tenant's message templates, overrides or built-in (notifications:read).
#[utoipa::path(
    get,
    operation_id = "notifications_templates",
    path = "/notification-templates",
    tag = "notifications",
    params(AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "Every template", body = TemplateList), AuthErrors)
)]
async fn templates(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
) -> Result<Json<TemplateList>, ApiError> {
    let items = notifications::templates(&state, &meta, &principal).await?;
    Ok(Json(TemplateList { items, next_cursor: None }))
}

/// One message template (notifications:read).
#[utoipa::path(
    get,
    operation_id = "notifications_template",
    path = "/notification-templates/{name}",
    tag = "notifications",
    params(("name" = String, Path, description = "Template name, e.g. `verify_email`"), AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The template", body = TemplateView), AuthErrors)
)]
async fn template(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(name): Path<String>,
) -> Result<Json<TemplateView>, ApiError> {
    Ok(Json(notifications::template(&state, &meta, &principal, &name).await?))
}

/// A template override (MiniJinja syntax).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PutTemplate {
    /// 1–500 bytes.
    #[schema(min_length = 1, max_length = 500)]
    subject: String,
    /// 1–20000 bytes.
    #[schema(min_length = 1, max_length = 20000)]
    text_body: String,
    /// At most 50000 bytes.
    #[schema(max_length = 50000)]
    html_body: Option<String>,
}

/// Overrides a message template for the tenant (notifications:manage).
#[utoipa::path(
    put,
    operation_id = "notifications_put_template",
    path = "/notification-templates/{name}",
    tag = "notifications",
    params(CsrfHeader, ("name" = String, Path, description = "Template name, e.g. `verify_email`"), AuthTenantHeader),
    request_body = PutTemplate,
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 200, description = "The saved template", body = TemplateView), AuthErrors, BodyErrors)
)]
async fn put_template(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<PutTemplate>,
) -> Result<Json<TemplateView>, ApiError> {
    let template = Template { subject: body.subject, text_body: body.text_body, html_body: body.html_body };
    Ok(Json(notifications::put_template(&state, &meta, &principal, &name, template).await?))
}

/// Drops the tenant's override: the built-in template applies again (notifications:manage).
#[utoipa::path(
    delete,
    operation_id = "notifications_reset_template",
    path = "/notification-templates/{name}",
    tag = "notifications",
    params(CsrfHeader, ("name" = String, Path, description = "Template name, e.g. `verify_email`"), AuthTenantHeader),
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    responses((status = 204, description = "Reset"), AuthErrors)
)]
async fn reset_template(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    notifications::reset_template(&state, &meta, &principal, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
