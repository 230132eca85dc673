//! The OpenAPI 3.1 document, generated from the code: every handler carries
//! `#[utoipa::path]` and is mounted with `.routes(routes!(…))` on a
//! `utoipa_axum` `OpenApiRouter`, so a route and its description come from
//! one call. This module holds what the operations share — the problem
//! document and its responses, the security schemes, the `X-Tenant-ID`
//! header, the list parameters — and serves the document and `/docs`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response as OaResponse, ResponseBuilder};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, Required};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi};

use super::error::Problem;

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The root of the document: metadata, tags and the shared components.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "azth",
        description = "Multi-tenant identity and access server. Errors are RFC 9457 problem documents \
            (`application/problem+json`) whose `code` names the error; every response carries `X-Request-ID`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(Problem, azth_core::FieldError, azth_core::ErrorCode)),
    modifiers(&Shared),
    tags(
        (name = "auth", description = "Registration, sign-in, tokens and the caller's sessions"),
        (name = "recovery", description = "Email verification, password reset and one-time codes"),
        (name = "me", description = "The caller's own account and second factors"),
        (name = "users", description = "Users of the tenant (administration)"),
        (name = "roles", description = "Roles, the permission catalog and authorization checks"),
        (name = "tenants", description = "The caller's tenant, and every tenant for system operators"),
        (name = "audit", description = "The audit trail"),
        (name = "notifications", description = "The outbox and the message templates"),
        (name = "service", description = "Health, readiness, metrics, signing keys and this document"),
    )
)]
pub struct ApiDoc;

/// Security scheme names.
pub const BEARER: &str = "bearerAuth";
pub const COOKIE: &str = "cookieAuth";

/// Adds the security schemes and one response component per error status.
struct Shared;

impl Modify for Shared {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access JWT from login, `login/mfa`, `otp/verify` or `refresh`, verifiable with \
                         `/.well-known/jwks.json`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                super::extract::SESSION_COOKIE,
                "The session cookie of cookie mode (`\"mode\": \"cookie\"` at login). Unsafe methods \
                 (POST, PUT, PATCH, DELETE) must also echo the `azth_csrf` cookie in `X-CSRF-Token`, \
                 else 403 `CSRF_FAILED`.",
            ))),
        );
        for (status, _, _) in ERRORS {
            components.responses.insert(response_name(status), RefOr::T(problem_response(status)));
        }
    }
}

/// Each documented error status: its description and the codes it carries.
const ERRORS: [(u16, &str, &str); 11] = [
    (
        400,
        "Bad request",
        "`INVALID_JSON` (malformed body), `TENANT_REQUIRED` (no `X-Tenant-ID` and no tenant domain matches `Host`)",
    ),
    (
        401,
        "Not authenticated",
        "`UNAUTHENTICATED` (no credential), `TOKEN_INVALID`, `TOKEN_EXPIRED`, `TOKEN_REUSED` (a refresh token spent by rotation; its session is revoked), `INVALID_CREDENTIALS`, `INVALID_MFA_CODE`",
    ),
    (
        403,
        "Forbidden",
        "`FORBIDDEN` (missing permission, closed registration, inactive user), `CSRF_FAILED`, `TENANT_SUSPENDED`, `TENANT_MISMATCH`, `EMAIL_NOT_VERIFIED`, `MFA_ENROLLMENT_REQUIRED`",
    ),
    (
        404,
        "Not found",
        "`NOT_FOUND` (no such resource in the tenant — resources of other tenants included), `TENANT_NOT_FOUND`",
    ),
    (409, "Conflict", "`CONFLICT`; `field` names the clashing field when there is one"),
    (413, "Payload too large", "`PAYLOAD_TOO_LARGE`: the body exceeds the configured limit (64 KiB by default)"),
    (415, "Unsupported media type", "`UNSUPPORTED_MEDIA_TYPE`: a body without `Content-Type: application/json`"),
    (
        422,
        "Unprocessable entity",
        "`VALIDATION_ERROR`: a wrong type, a missing, unknown or out-of-range field or parameter; `errors` has one entry per field",
    ),
    (
        423,
        "Locked",
        "`ACCOUNT_LOCKED`: too many failed sign-ins for the identifier (passwords, second factors and current-password checks all count for an account); `Retry-After` gives the seconds left",
    ),
    (429, "Too many requests", "`RATE_LIMITED`; `Retry-After` and the `RateLimit-*` headers say when to retry"),
    (
        503,
        "Unavailable",
        "`UNAVAILABLE`: a dependency (database, cache) is down or the request timed out; `Retry-After` is set",
    ),
];

fn response_name(status: u16) -> String {
    format!("Problem{status}")
}

fn problem_response(status: u16) -> OaResponse {
    let (title, codes) =
        ERRORS.iter().find(|(s, _, _)| *s == status).map(|(_, t, c)| (*t, *c)).unwrap_or(("Error", ""));
    let mut builder = ResponseBuilder::new()
        .description(format!("{title}: {codes}."))
        .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build());
    let integer = || utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::Integer).build();
    let string = || utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String).build();
    if matches!(status, 423 | 429 | 503) {
        builder = builder.header(
            "Retry-After",
            HeaderBuilder::new().schema(Some(integer())).description(Some("Seconds to wait before retrying")).build(),
        );
    }
    if status == 429 {
        for (name, what) in [
            ("RateLimit-Limit", "Requests allowed in the window"),
            ("RateLimit-Remaining", "Requests left in the window"),
            ("RateLimit-Reset", "Seconds until the window resets"),
        ] {
            builder =
                builder.header(name, HeaderBuilder::new().schema(Some(integer())).description(Some(what)).build());
        }
    }
    if status == 401 {
        builder = builder.header("WWW-Authenticate", HeaderBuilder::new().schema(Some(string())).build());
    }
    builder.build()
}

/// Declares a set of error statuses an operation can answer, as references
/// to the shared `Problem<status>` responses.
macro_rules! error_set {
    ($($(#[$meta:meta])* $name:ident => [$($status:literal),+ $(,)?];)+) => {$(
        $(#[$meta])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<OaResponse>> {
                [$($status),+].into_iter().map(|s: u16| (s.to_string(), problem_ref(s))).collect()
            }
        }
    )+};
}

fn problem_ref(status: u16) -> RefOr<OaResponse> {
    RefOr::Ref(Ref::from_response_name(response_name(status)))
}

error_set! {
    /// What any request can meet: a dependency outage or a timeout.
    Unavailable => [503];
    /// An authenticated operation: no/bad credential, CSRF, tenant state,
    /// missing permission, enforced MFA enrolment; `X-Tenant-ID` naming an
    /// unknown tenant (system operators).
    AuthErrors => [401, 403, 404, 503];
    /// An operation whose tenant comes from `X-Tenant-ID` or `Host`.
    TenantErrors => [400, 403, 404, 503];
    /// An operation reading a JSON body.
    BodyErrors => [400, 413, 415, 422];
    /// A list: `limit` or `cursor` out of range.
    QueryErrors => [422];
    /// A per-IP limited sign-in endpoint.
    RateLimited => [429];
    /// A unique name or email taken, or a state that forbids the change.
    ConflictError => [409];
    /// Too many failed sign-ins.
    Locked => [423];
    /// A token-bearing unauthenticated operation (refresh, reset, verify,
    /// `login/mfa`): bad, spent, expired or foreign token.
    TokenErrors => [401, 403];
    /// A path id naming nothing in the tenant.
    NotFound => [404];
    /// Wrong credentials or code on an unauthenticated operation.
    Unauthorized => [401];
}

/// `X-Tenant-ID` on an operation whose tenant is resolved from the request.
/// Documented as required: OpenAPI cannot say "this header or a `Host`
/// naming a tenant domain", and without a tenant domain the header is the
/// only way to name the tenant (400 `TENANT_REQUIRED` otherwise).
pub struct ResolvedTenantHeader;

impl IntoParams for ResolvedTenantHeader {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut header = tenant_header(
            "The tenant (id or slug). Required unless the `Host` header names a tenant's `domain`; \
             neither → 400 `TENANT_REQUIRED`. Unknown or deleted → 404 `TENANT_NOT_FOUND`, suspended → 403 \
             `TENANT_SUSPENDED`.",
        );
        header.required = Required::True;
        vec![header]
    }
}

/// `X-Tenant-ID` on an operation open to callers with and without
/// credentials (`email/verify/resend`, `otp/send`).
pub struct MaybeAuthTenantHeader;

impl IntoParams for MaybeAuthTenantHeader {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![tenant_header(
            "Without credentials: the tenant (id or slug), required unless the `Host` header names a tenant's \
             `domain` (neither → 400 `TENANT_REQUIRED`; unknown or deleted → 404 `TENANT_NOT_FOUND`, suspended \
             → 403 `TENANT_SUSPENDED`). With credentials the caller's tenant applies and another one here → 403 \
             `TENANT_MISMATCH`.",
        )]
    }
}

/// `X-Tenant-ID` on an operation whose token names its own tenant.
pub struct TokenTenantHeader;

impl IntoParams for TokenTenantHeader {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![tenant_header(
            "Optional. The token identifies its own tenant; an `X-Tenant-ID` naming another tenant → 401 \
             `TOKEN_INVALID`.",
        )]
    }
}

/// `X-Tenant-ID` on an authenticated operation.
pub struct AuthTenantHeader;

impl IntoParams for AuthTenantHeader {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![tenant_header(
            "Optional. The request acts in the caller's tenant; naming another tenant → 403 `TENANT_MISMATCH`, \
             unless the caller holds a system-scope permission (operators of the `system` tenant), in which \
             case the request acts in the named tenant.",
        )]
    }
}

/// `X-CSRF-Token` on an unsafe authenticated operation (cookie mode).
pub struct CsrfHeader;

impl IntoParams for CsrfHeader {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            ParameterBuilder::new()
                .name("X-CSRF-Token")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "Cookie mode only: the value of the `azth_csrf` cookie; missing or different → 403 `CSRF_FAILED`.",
                ))
                .schema(Some(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String)))
                .build(),
        ]
    }
}

fn tenant_header(description: &str) -> Parameter {
    ParameterBuilder::new()
        .name("X-Tenant-ID")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String)))
        .build()
}

/// `limit` and `cursor` of every list.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by `Params::page`; this type only describes them
pub struct PageQuery {
    /// Page size, 1–200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page (opaque); any other value → 422.
    #[param(pattern = "^[A-Za-z0-9_-]{1,1024}$")]
    cursor: Option<String>,
}

/// Optional request bodies (`request_body(content = Option<T>)`) come out
/// of utoipa as `oneOf: [T, null]`, which tells clients a JSON `null` body
/// is accepted. It is not (422): the body is either absent (empty, no
/// content type) or a `T`. This rewrites them to `T` with `required: false`.
pub fn optional_bodies_are_absent_not_null(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{Schema, SchemaType, Type};
    for item in doc.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for body in operations.into_iter().flatten().filter_map(|op| op.request_body.as_mut()) {
            let RefOr::T(body) = body else { continue };
            for content in body.content.values_mut() {
                let RefOr::T(content) = content else { continue };
                // `Option<Object>` comes out as `type: [object, null]`.
                if let Some(RefOr::T(Schema::Object(object))) = &mut content.schema
                    && object.schema_type == SchemaType::from_iter([Type::Object, Type::Null])
                {
                    object.schema_type = SchemaType::Type(Type::Object);
                    body.required = Some(Required::False);
                    continue;
                }
                let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema else { continue };
                let is_null = |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
                if one_of.items.iter().any(is_null) {
                    let rest: Vec<_> = one_of.items.iter().filter(|s| !is_null(s)).cloned().collect();
                    if let [only] = rest.as_slice() {
                        content.schema = Some(only.clone());
                        body.required = Some(Required::False);
                    }
                }
            }
        }
    }
}

/// `GET /api/v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    operation_id = "openapi_document",
    responses(
        (status = 200, description = "This OpenAPI 3.1 document", body = Object),
        Unavailable,
    )
)]
pub async fn openapi_json() -> Response {
    let mut response = Json(document_json()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    response
}

/// The document as JSON, built once.
fn document_json() -> &'static serde_json::Value {
    static DOC: OnceLock<serde_json::Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(super::openapi_document()).unwrap_or_default())
}

/// The Content-Security-Policy of the `/docs` page: its own scripts and
/// styles (Swagger UI sets inline styles), data: images from its CSS,
/// fetches to this server only, and still never framed.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// `/docs`: Swagger UI, its assets compiled into the binary, reading
/// `/api/v1/openapi.json`.
pub fn docs_router<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    let ui = utoipa_swagger_ui::SwaggerUi::new("/docs").config(
        utoipa_swagger_ui::Config::from("/api/v1/openapi.json")
            .try_it_out_enabled(true)
            // No call to the public validator service: the page talks to azth only.
            .validator_url("none"),
    );
    axum::Router::from(ui).layer(axum::middleware::map_response(|mut response: Response| async move {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_CSP));
        response
    }))
}
