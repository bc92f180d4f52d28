//! The validating JSON extractor: every failure gets its own status code and a
//! message that says how to fix the request.
//!
//! 1. the `Content-Type` must be JSON (`application/json` or
//!    `application/*+json`), otherwise **415**;
//! 2. the body is buffered up to the router's [`BodyLimit`], otherwise **413**;
//! 3. it must parse as JSON, otherwise **400** (with line and column);
//! 4. the parsed value is checked against the schema by [`FromJson`],
//!    collecting *every* problem with its location, otherwise **422**.
//!
//! Step 4 walks a `serde_json::Value` instead of deriving `Deserialize`
//! because serde stops at the first error and reports it as a string; a
//! client should learn about all the problems of its request at once.

use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde_json::Value;

use crate::error::{ApiError, ValidationIssue};

/// A request body that can be built from an already parsed JSON value,
/// reporting every problem at once.
pub trait FromJson: Sized {
    fn from_json(value: Value) -> Result<Self, Vec<ValidationIssue>>;
}

/// The body limit in force (a request extension set by
/// [`crate::server::with_standard_layers`]), quoted in 413 messages.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Extractor running the four steps of the module docs.
pub struct ValidJson<T>(pub T);

/// Is this `Content-Type` JSON (`application/json` or `application/*+json`, any parameters)?
pub fn is_json_content_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Steps 1–3: the body as a JSON value, or the 415/413/400 error.
pub async fn json_value<S: Send + Sync>(req: Request, state: &S) -> Result<Value, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match content_type {
        Some(ct) if is_json_content_type(ct) => {}
        Some(ct) => {
            return Err(ApiError::http(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Type `{ct}` is not supported: send the body as JSON with `Content-Type: application/json`"),
            ))
        }
        None => {
            return Err(ApiError::http(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "missing Content-Type header: send the body as JSON with `Content-Type: application/json`",
            ))
        }
    }
    let limit = req.extensions().get::<BodyLimit>().map(|l| l.0);
    let bytes = read_body(req, state, limit).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::http(
            StatusCode::BAD_REQUEST,
            format!(
                "malformed JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })
}

/// Buffers a body, turning axum's 413 rejection into a message quoting the limit.
pub async fn read_body<S: Send + Sync>(
    req: Request,
    state: &S,
    limit: Option<usize>,
) -> Result<axum::body::Bytes, ApiError> {
    match axum::body::Bytes::from_request(req, state).await {
        Ok(bytes) => Ok(bytes),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(
            ApiError::http(StatusCode::PAYLOAD_TOO_LARGE, too_large(limit)),
        ),
        Err(rejection) if timed_out(&rejection) => Err(ApiError::http(
            StatusCode::REQUEST_TIMEOUT,
            "the request body stopped arriving: the server waited too long for the next part of it; \
             send the whole body without pauses",
        )),
        Err(rejection) => Err(ApiError::http(rejection.status(), rejection.body_text())),
    }
}

/// Whether buffering failed because the body went idle past the server's
/// body timeout (tower-http's `TimeoutError`, somewhere in the error chain).
fn timed_out(rejection: &axum::extract::rejection::BytesRejection) -> bool {
    let mut e: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(err) = e {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        e = err.source();
    }
    false
}

/// The 413 message.
pub fn too_large(limit: Option<usize>) -> String {
    match limit {
        Some(n) => format!("request body is larger than the {n}-byte limit: send less per request"),
        None => "request body is larger than the server's limit: send less per request".into(),
    }
}

impl<S, T> FromRequest<S> for ValidJson<T>
where
    S: Send + Sync,
    T: FromJson,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = json_value(req, state).await?;
        T::from_json(value)
            .map(ValidJson)
            .map_err(ApiError::Validation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("Application/JSON; charset=utf-8"));
        assert!(is_json_content_type("application/vnd.api+json"));
        assert!(!is_json_content_type("text/plain"));
        assert!(!is_json_content_type("application/jsonx"));
    }
}
