//! HTTP plumbing shared by the roadmap's services.
//!
//! Phase 3 (`roadmap serve`, the sentiment classifier) and phase 6
//! (`roadmap rag serve`, the RAG service) speak the same HTTP contract; this
//! crate is its one owner, so the two servers cannot drift apart:
//!
//! * [`error`]: FastAPI-shaped error bodies (`{"detail": ...}`), JSON 404/405.
//! * [`json`]: the validating JSON extractor — 415 not JSON, 413 too large,
//!   400 malformed, 422 with *every* schema problem of a well-formed body.
//! * [`observe`]: request ids, the access log (one JSON line per request) and
//!   the HTTP metrics, with bounded label values only.
//! * [`auth`]: API keys, stored as SHA-256 hashes and compared in constant time.
//! * [`server`]: graceful drain on SIGTERM/Ctrl-C, JSON logging, the `serve` helper.

pub mod auth;
pub mod error;
pub mod json;
pub mod observe;
pub mod server;

pub use auth::ApiKeys;
pub use error::{ApiError, HttpErrorBody, LocItem, ValidationErrorBody, ValidationIssue};
pub use json::{BodyLimit, FromJson, ValidJson};
pub use observe::{AccessFields, HttpMetrics, Observer, RequestInfo};
pub use server::{init_json_logging, serve, shutdown_signal, with_standard_layers};
