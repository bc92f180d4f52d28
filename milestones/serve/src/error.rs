//! Error responses shaped like FastAPI's, so clients written for the Python
//! service keep working. The contract is shared with the phase-6 RAG service
//! and lives in [`roadmap_http::error`]; this module re-exports it.
//!
//! * 422: `{"detail": [{"loc": ["body", "text"], "msg": "...", "type": "..."}]}`
//!   — the body is valid JSON but does not satisfy the schema, one entry per problem
//!   (pydantic v2's codes: `missing`, `string_type`, `string_too_short`,
//!   `string_too_long`, `too_long`, `list_type`, `model_attributes_type`).
//! * every other error: `{"detail": "human readable message"}`: 400 malformed
//!   JSON, 404, 405, 413, 415, 500.

pub use roadmap_http::error::{
    json_method_not_allowed, not_found, ApiError, HttpErrorBody, LocItem, ValidationErrorBody,
    ValidationIssue,
};
