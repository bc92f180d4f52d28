//! The HTTP contract: request/response types, their validation, and the handlers.
//!
//! Request bodies are read by [`roadmap_http::json::ValidJson`], in four steps so
//! that every failure gets the right status code and a precise message:
//!
//! 1. the `Content-Type` must be JSON, otherwise **415**;
//! 2. the body is buffered up to [`BODY_LIMIT_BYTES`], otherwise **413**;
//! 3. it must parse as JSON, otherwise **400**;
//! 4. the parsed value is checked field by field against the schema,
//!    collecting *every* problem with its location, otherwise **422**.
//!
//! Step 4 walks a `serde_json::Value` instead of deriving `Deserialize`
//! because serde stops at the first error and reports it as a string; here a
//! client learns about all bad texts of a batch at once, with their indices.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::classifier::{ClassifierError, ModelInfo, Prediction};
use crate::error::{ApiError, HttpErrorBody, LocItem, ValidationErrorBody, ValidationIssue};
use crate::server::AppState;

/// Longest accepted text, in Unicode scalar values (characters).
pub const MAX_TEXT_CHARS: usize = 5_000;
/// Most texts accepted by `POST /v1/predict/batch`.
pub const MAX_BATCH_TEXTS: usize = 128;
/// Largest accepted request body. Chosen so that every *valid* request fits:
/// 128 texts × 5,000 characters × 6 bytes (the worst case, a `\uXXXX` escape
/// per character) ≈ 3.7 MiB, plus the JSON around them.
pub const BODY_LIMIT_BYTES: usize = 4 * 1024 * 1024;
/// Longest pause while a request body arrives: past it the request is
/// answered 408 (a stalled client does not keep its connection).
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `POST /v1/predict` body.
#[derive(Debug, Clone, ToSchema)]
pub struct PredictRequest {
    /// The text to classify: 1 to 5,000 characters, not only whitespace.
    #[schema(
        min_length = 1,
        max_length = 5000,
        example = "A gripping, beautifully acted film."
    )]
    pub text: String,
}

/// `POST /v1/predict/batch` body.
#[derive(Debug, Clone, ToSchema)]
pub struct BatchPredictRequest {
    /// 1 to 128 texts, each 1 to 5,000 characters.
    #[schema(min_items = 1, max_items = 128, example = json!(["Loved it.", "A tedious mess."]))]
    pub texts: Vec<String>,
}

/// One prediction inside a batch response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LabelScore {
    /// `positive` or `negative`.
    #[schema(example = "positive")]
    pub label: String,
    /// Probability of the `positive` class, in [0, 1].
    #[schema(example = 0.93)]
    pub score: f32,
}

impl From<Prediction> for LabelScore {
    fn from(p: Prediction) -> Self {
        LabelScore {
            label: p.label,
            score: p.score,
        }
    }
}

/// `POST /v1/predict` response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PredictResponse {
    /// `positive` or `negative`.
    #[schema(example = "positive")]
    pub label: String,
    /// Probability of the `positive` class, in [0, 1].
    #[schema(example = 0.93)]
    pub score: f32,
    /// The model that answered.
    pub model: ModelInfo,
}

/// `POST /v1/predict/batch` response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchPredictResponse {
    /// One prediction per input text, in the same order.
    pub predictions: Vec<LabelScore>,
    /// The model that answered.
    pub model: ModelInfo,
}

/// `GET /healthz` and `GET /readyz` response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusResponse {
    /// `ok` (alive) or `ready` (model loaded, accepting traffic).
    #[schema(example = "ok")]
    pub status: &'static str,
}

pub use roadmap_http::json::{FromJson, ValidJson};

/// Checks one text; `loc` is where it sits in the body.
fn check_text(
    value: Value,
    loc: Vec<LocItem>,
    issues: &mut Vec<ValidationIssue>,
) -> Option<String> {
    let Value::String(text) = value else {
        issues.push(ValidationIssue::new(
            loc,
            "Input should be a valid string",
            "string_type",
        ));
        return None;
    };
    if text.trim().is_empty() {
        let msg = if text.is_empty() {
            "String should have at least 1 character"
        } else {
            "String should contain at least one non-whitespace character"
        };
        issues.push(ValidationIssue::new(loc, msg, "string_too_short"));
        return None;
    }
    // Byte length bounds the character count from above: skip counting for short texts.
    if text.len() > MAX_TEXT_CHARS {
        let chars = text.chars().count();
        if chars > MAX_TEXT_CHARS {
            let msg = format!("String should have at most {MAX_TEXT_CHARS} characters, got {chars}: split the text");
            issues.push(ValidationIssue::new(loc, msg, "string_too_long"));
            return None;
        }
    }
    Some(text)
}

/// Takes `field` out of a JSON object body, or records why it cannot.
fn take_field(value: Value, field: &str, issues: &mut Vec<ValidationIssue>) -> Option<Value> {
    let Value::Object(mut map) = value else {
        issues.push(ValidationIssue::new(
            vec!["body".into()],
            format!("Input should be a JSON object like {{\"{field}\": ...}}"),
            "model_attributes_type",
        ));
        return None;
    };
    match map.remove(field) {
        Some(v) => Some(v),
        None => {
            issues.push(ValidationIssue::new(
                vec!["body".into(), field.into()],
                "Field required",
                "missing",
            ));
            None
        }
    }
}

impl FromJson for PredictRequest {
    fn from_json(value: Value) -> Result<Self, Vec<ValidationIssue>> {
        let mut issues = Vec::new();
        let text = take_field(value, "text", &mut issues)
            .and_then(|v| check_text(v, vec!["body".into(), "text".into()], &mut issues));
        match text {
            Some(text) => Ok(PredictRequest { text }),
            None => Err(issues),
        }
    }
}

impl FromJson for BatchPredictRequest {
    fn from_json(value: Value) -> Result<Self, Vec<ValidationIssue>> {
        let mut issues = Vec::new();
        let Some(texts) = take_field(value, "texts", &mut issues) else {
            return Err(issues);
        };
        let loc = || vec![LocItem::from("body"), LocItem::from("texts")];
        let Value::Array(items) = texts else {
            return Err(vec![ValidationIssue::new(
                loc(),
                "Input should be a valid list",
                "list_type",
            )]);
        };
        if items.is_empty() {
            return Err(vec![ValidationIssue::new(
                loc(),
                "List should have at least 1 item, got 0",
                "too_short",
            )]);
        }
        if items.len() > MAX_BATCH_TEXTS {
            let msg = format!(
                "List should have at most {MAX_BATCH_TEXTS} items, got {}: split the batch",
                items.len()
            );
            return Err(vec![ValidationIssue::new(loc(), msg, "too_long")]);
        }
        let mut texts = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let mut item_loc = loc();
            item_loc.push(i.into());
            if let Some(text) = check_text(item, item_loc, &mut issues) {
                texts.push(text);
            }
        }
        if issues.is_empty() {
            Ok(BatchPredictRequest { texts })
        } else {
            Err(issues)
        }
    }
}

/// Runs the model on `texts`: inline for one short text (cheaper than a
/// thread hop), otherwise on a blocking thread, at most one per core at a time.
async fn infer(
    state: &AppState,
    texts: Vec<String>,
    batch: bool,
) -> Result<Vec<Prediction>, ApiError> {
    let started = std::time::Instant::now();
    let total_bytes: usize = texts.iter().map(String::len).sum();
    let result = if texts.len() == 1 && total_bytes <= state.inline_max_bytes {
        state.classifier.predict_batch(&[texts[0].as_str()])
    } else {
        // The permit bounds concurrent CPU-heavy batches to the number of
        // cores; extra batches wait here (asynchronously) instead of piling
        // up threads that would only fight over the same cores.
        let _permit = state
            .blocking_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| {
                ApiError::http(StatusCode::SERVICE_UNAVAILABLE, "server is shutting down")
            })?;
        let classifier = state.classifier.clone();
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            classifier.predict_batch(&refs)
        })
        .await
        .map_err(|e| {
            ApiError::http(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("inference task failed: {e}"),
            )
        })?
    };
    state.metrics.observe_inference(started.elapsed());
    let predictions = result.map_err(|e| match e {
        ClassifierError::InvalidInput { index, message } => {
            let loc = if batch {
                vec!["body".into(), "texts".into(), index.into()]
            } else {
                vec!["body".into(), "text".into()]
            };
            ApiError::Validation(vec![ValidationIssue::new(loc, message, "value_error")])
        }
        ClassifierError::Internal(msg) => {
            tracing::error!(error = %msg, "inference failed");
            ApiError::http(
                StatusCode::INTERNAL_SERVER_ERROR,
                "inference failed; see the server log",
            )
        }
    })?;
    for p in &predictions {
        state.metrics.count_prediction(&p.label);
    }
    Ok(predictions)
}

/// Classify one text.
#[utoipa::path(
    post,
    path = "/v1/predict",
    tag = "predict",
    request_body = PredictRequest,
    responses(
        (status = 200, description = "The prediction", body = PredictResponse),
        (status = 400, description = "Malformed JSON", body = HttpErrorBody),
        (status = 413, description = "Body over the 4 MiB limit", body = HttpErrorBody),
        (status = 415, description = "Content-Type is not JSON", body = HttpErrorBody),
        (status = 422, description = "Missing field, wrong type, empty or too long text", body = ValidationErrorBody),
    )
)]
pub async fn predict(
    State(state): State<AppState>,
    ValidJson(req): ValidJson<PredictRequest>,
) -> Result<Json<PredictResponse>, ApiError> {
    let prediction = infer(&state, vec![req.text], false)
        .await?
        .pop()
        .ok_or_else(|| {
            ApiError::http(
                StatusCode::INTERNAL_SERVER_ERROR,
                "model returned no prediction",
            )
        })?;
    Ok(Json(PredictResponse {
        label: prediction.label,
        score: prediction.score,
        model: state.info.clone(),
    }))
}

/// Classify up to 128 texts in one request (cheaper per text than single calls).
#[utoipa::path(
    post,
    path = "/v1/predict/batch",
    tag = "predict",
    request_body = BatchPredictRequest,
    responses(
        (status = 200, description = "One prediction per text, in order", body = BatchPredictResponse),
        (status = 400, description = "Malformed JSON", body = HttpErrorBody),
        (status = 413, description = "Body over the 4 MiB limit", body = HttpErrorBody),
        (status = 415, description = "Content-Type is not JSON", body = HttpErrorBody),
        (status = 422, description = "Missing field, wrong type, no texts, more than 128 texts, or a bad text", body = ValidationErrorBody),
    )
)]
pub async fn predict_batch(
    State(state): State<AppState>,
    ValidJson(req): ValidJson<BatchPredictRequest>,
) -> Result<Json<BatchPredictResponse>, ApiError> {
    let n = req.texts.len();
    let predictions = infer(&state, req.texts, true).await?;
    if predictions.len() != n {
        return Err(ApiError::http(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "model returned {} predictions for {n} texts",
                predictions.len()
            ),
        ));
    }
    Ok(Json(BatchPredictResponse {
        predictions: predictions.into_iter().map(LabelScore::from).collect(),
        model: state.info.clone(),
    }))
}

/// Liveness: the process is up and serving HTTP.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "Alive", body = StatusResponse)))]
pub async fn healthz() -> Json<StatusResponse> {
    Json(StatusResponse { status: "ok" })
}

/// Readiness: the model is loaded and warmed up, and the server is not shutting down.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses(
        (status = 200, description = "Ready for traffic", body = StatusResponse),
        (status = 503, description = "Not ready (starting or draining)", body = HttpErrorBody),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.ready.load(Ordering::Acquire) {
        Json(StatusResponse { status: "ready" }).into_response()
    } else {
        ApiError::http(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the server is starting or shutting down",
        )
        .into_response()
    }
}

/// Prometheus metrics in the OpenMetrics text format.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "OpenMetrics text", body = String,
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    match state.metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
        Err(e) => ApiError::http(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics failed: {e}"),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn batch_collects_every_bad_text_with_its_index() {
        let issues =
            BatchPredictRequest::from_json(json!({"texts": ["ok", "", 3, "  "]})).unwrap_err();
        let locs: Vec<_> = issues
            .iter()
            .map(|i| serde_json::to_value(&i.loc).unwrap())
            .collect();
        assert_eq!(
            locs,
            vec![
                json!(["body", "texts", 1]),
                json!(["body", "texts", 2]),
                json!(["body", "texts", 3])
            ]
        );
        let kinds: Vec<_> = issues.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["string_too_short", "string_type", "string_too_short"]
        );
    }

    #[test]
    fn text_length_counts_characters_not_bytes() {
        // 5,000 two-byte characters: 10,000 bytes but within the limit.
        let ok = "é".repeat(MAX_TEXT_CHARS);
        assert!(PredictRequest::from_json(json!({ "text": ok })).is_ok());
        let long = "é".repeat(MAX_TEXT_CHARS + 1);
        let issues = PredictRequest::from_json(json!({ "text": long })).unwrap_err();
        assert_eq!(issues[0].kind, "string_too_long");
    }

    #[test]
    fn every_valid_request_fits_the_body_limit() {
        let worst = MAX_BATCH_TEXTS * MAX_TEXT_CHARS * "\\u0001".len();
        assert!(
            worst + 1024 < BODY_LIMIT_BYTES,
            "{worst} bytes would be rejected with 413"
        );
    }
}
