//! Error responses shaped like FastAPI's, so clients written for the Python
//! service keep working.
//!
//! * 422: `{"detail": [{"loc": ["body", "text"], "msg": "...", "type": "..."}]}`
//!   — the body is valid JSON but does not satisfy the schema. One entry per
//!   problem; `loc` is the path to the offending value (strings for object
//!   keys, numbers for array indices) and `type` is a stable machine-readable
//!   code (the same codes pydantic v2 uses: `missing`, `string_type`,
//!   `string_too_short`, `string_too_long`, `too_long`, `list_type`,
//!   `model_attributes_type`).
//! * every other error: `{"detail": "human readable message"}`, like FastAPI's
//!   `HTTPException`: 400 malformed JSON, 404, 405, 413, 415, 500.
//!
//! Every error is JSON, including the ones axum produces itself (unknown
//! route, wrong method), so a client never has to parse an HTML or plain-text
//! error page.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// One path element of a [`ValidationIssue::loc`]: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LocItem {
    /// An object key, for example `"text"`.
    Key(String),
    /// An array index, for example `3` in `["body", "texts", 3]`.
    Index(usize),
}

impl From<&str> for LocItem {
    fn from(s: &str) -> Self {
        LocItem::Key(s.to_string())
    }
}

impl From<usize> for LocItem {
    fn from(i: usize) -> Self {
        LocItem::Index(i)
    }
}

/// One validation problem (FastAPI's `ValidationError` item).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ValidationIssue {
    /// Where the problem is, starting with `"body"`.
    #[schema(example = json!(["body", "text"]))]
    pub loc: Vec<LocItem>,
    /// What is wrong and how to fix it.
    #[schema(example = "text must not be empty")]
    pub msg: String,
    /// A stable machine-readable error code.
    #[serde(rename = "type")]
    #[schema(example = "string_too_short")]
    pub kind: String,
}

impl ValidationIssue {
    /// An issue at `loc` (`["body", "field"]`), with a message and a pydantic error code.
    pub fn new(loc: Vec<LocItem>, msg: impl Into<String>, kind: &str) -> Self {
        Self {
            loc,
            msg: msg.into(),
            kind: kind.to_string(),
        }
    }
}

/// The 422 body (FastAPI's `HTTPValidationError`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationErrorBody {
    pub detail: Vec<ValidationIssue>,
}

/// The body of every non-validation error (FastAPI's `HTTPException` shape).
#[derive(Debug, Serialize, ToSchema)]
pub struct HttpErrorBody {
    /// What went wrong and, where possible, how to fix it.
    #[schema(example = "Not Found")]
    pub detail: String,
}

/// An error a handler returns; converted to the JSON bodies above.
#[derive(Debug)]
pub enum ApiError {
    /// 422 with one or more validation issues.
    Validation(Vec<ValidationIssue>),
    /// Any other status with a message.
    Http(StatusCode, String),
    /// A status with a message and extra response headers (`Retry-After`,
    /// `WWW-Authenticate`).
    HttpWithHeaders(StatusCode, String, HeaderMap),
}

impl ApiError {
    pub fn http(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError::Http(status, detail.into())
    }

    /// Adds a response header (kept only on non-validation errors).
    pub fn header(self, name: HeaderName, value: HeaderValue) -> Self {
        match self {
            ApiError::Http(status, detail) => {
                let mut headers = HeaderMap::new();
                headers.insert(name, value);
                ApiError::HttpWithHeaders(status, detail, headers)
            }
            ApiError::HttpWithHeaders(status, detail, mut headers) => {
                headers.insert(name, value);
                ApiError::HttpWithHeaders(status, detail, headers)
            }
            v @ ApiError::Validation(_) => v,
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Http(s, _) | ApiError::HttpWithHeaders(s, _, _) => *s,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Validation(detail) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(ValidationErrorBody { detail }),
            )
                .into_response(),
            ApiError::Http(status, detail) => {
                (status, Json(HttpErrorBody { detail })).into_response()
            }
            ApiError::HttpWithHeaders(status, detail, headers) => {
                (status, headers, Json(HttpErrorBody { detail })).into_response()
            }
        }
    }
}

/// Fallback for unknown routes: FastAPI's `{"detail": "Not Found"}`.
pub async fn not_found() -> ApiError {
    ApiError::http(StatusCode::NOT_FOUND, "Not Found")
}

/// Rewrites axum's built-in plain-text 405 into JSON, keeping its `Allow` header.
pub async fn json_method_not_allowed(response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let body = ApiError::http(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed").into_response();
    let (body_parts, body) = body.into_parts();
    parts.headers.extend(body_parts.headers);
    Response::from_parts(parts, body)
}
