//! Phase 6 of the roadmap: the phase-5 RAG system as a production service.
//!
//! `roadmap rag serve` runs this crate: an axum + tokio HTTP service that an
//! engineer could put behind a load balancer — validated requests, API keys
//! for writes, back-pressure on CPU-bound generation, deadlines, graceful
//! drain, Prometheus metrics, structured logs and a durable request log that
//! drift monitoring, A/B analysis and the mentor read. The HTTP plumbing it
//! shares with phase 3 (errors, JSON extraction, request ids, access log,
//! API keys, drain) is the `roadmap-http` crate.
//!
//! * [`service`]: [`start`] a service, stop it; the router and OpenAPI document.
//! * [`state`]: what the caller hands in ([`Resources`]) and the store pool.
//! * [`routes`]: ask (JSON and SSE), search, collections, feedback, health, metrics.
//! * [`drift_task`]: the periodic drift check of the request log and its gauges.
//! * [`documents`]: ingestion (JSON or multipart) and deletion.
//! * [`api`]: request and response bodies and their validation.
//! * [`batcher`]: adaptive batching of query embeddings.
//! * [`config`]: the one TOML file, environment overrides, validation.
//! * [`experiment_log`]: an experiment's users and outcomes read back from
//!   the request log; replays written into it in one transaction.
//! * [`experiments`]: A/B experiments in requests: the user's variant, its
//!   overrides, and the start-up guard of running experiments' splits.
//! * [`features`]: the request log's drift features per time window, and
//!   their drift (reference vs current window).
//! * [`metrics`]: the Prometheus metrics, all bounded label sets.
//! * [`queue`]: admission control for generation (429 + Retry-After).
//! * [`requestlog`]: the durable per-request log and its retention.
//! * [`validate`]: request-body rules, every problem reported at once.
//! * [`workload`]: the scripted workload `roadmap run phase6` drives.
//! * [`drift_workload`]: normal then drifted traffic, and the drift gauges'
//!   verdicts on it (the runner's drift check).

pub mod api;
pub mod batcher;
pub mod config;
pub mod documents;
pub mod drift_task;
pub mod drift_workload;
pub mod experiment_log;
pub mod experiments;
pub mod features;
pub mod metrics;
pub mod queue;
pub mod requestlog;
pub mod routes;
pub mod service;
pub mod state;
pub mod validate;
pub mod workload;

pub use service::{run_until_signal, start, BackgroundService, RunningService};
pub use state::Resources;

/// What can go wrong in the service outside a request.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A bad configuration file, override or value (the message names it).
    #[error("{0}")]
    Config(String),
    /// The request log could not be opened or written.
    #[error("request log: {0}")]
    RequestLog(String),
    /// Binding or serving failed.
    #[error("{0}")]
    Io(String),
}
