//! `/api/v1/notifications` and `/api/v1/notification-templates`: the outbox
//! (never the content) and the tenant's message templates.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use azth_store::NotificationView;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::{Auth, Meta, OptionalJson};
use super::json::ApiJson;
use super::query::{Params, path_id};
use crate::notify::templates::Template;
use crate::services::notifications::{self, CHANNELS, STATUSES, TemplateView};
use crate::services::page::Page;
use crate::state::AppState;

/// Routes of the outbox and the templates.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(list))
        .route("/notifications/{id}", get(get_one))
        .route("/notifications/{id}/retry", post(retry))
        .route("/notification-templates", get(templates))
        .route("/notification-templates/{name}", get(template).put(put_template).delete(reset_template))
}

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

async fn get_one(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Json<NotificationView>, ApiError> {
    Ok(Json(notifications::get(&state, &meta, &principal, path_id(&id)?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoBody {}

async fn retry(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(id): Path<String>,
    OptionalJson(_body): OptionalJson<NoBody>,
) -> Result<Json<NotificationView>, ApiError> {
    Ok(Json(notifications::retry(&state, &meta, &principal, path_id(&id)?).await?))
}

#[derive(Serialize)]
struct TemplateList {
    items: Vec<TemplateView>,
    next_cursor: Option<String>,
}

/// All six templates in one page (a fixed, small collection).
async fn templates(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
) -> Result<Json<TemplateList>, ApiError> {
    let items = notifications::templates(&state, &meta, &principal).await?;
    Ok(Json(TemplateList { items, next_cursor: None }))
}

async fn template(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(name): Path<String>,
) -> Result<Json<TemplateView>, ApiError> {
    Ok(Json(notifications::template(&state, &meta, &principal, &name).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutTemplate {
    subject: String,
    text_body: String,
    html_body: Option<String>,
}

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

async fn reset_template(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Auth(principal): Auth,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    notifications::reset_template(&state, &meta, &principal, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
