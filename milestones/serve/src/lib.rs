//! Phase 3 of the roadmap: serve a text classifier over HTTP.
//!
//! The FastAPI-equivalent in Rust: [axum](https://docs.rs/axum) on tokio,
//! with request ids and body limits from tower-http, Prometheus metrics from
//! prometheus-client, an OpenAPI document from utoipa and a locally served
//! Swagger UI. The server is written against the small [`Classifier`] trait,
//! so any model can be served; the roadmap serves the phase-2 sentiment
//! network (see [`sentiment`]).
//!
//! * [`server`]: building the router, graceful shutdown, logging.
//! * [`api`]: the HTTP contract — types, validation, handlers.
//! * [`error`]: FastAPI-shaped error bodies.
//! * [`metrics`]: the Prometheus metrics and the access-log middleware.
//! * [`sentiment`]: the phase-2 model behind the [`Classifier`] trait.
//! * [`verify`]: an HTTP client that checks any server against the contract
//!   and measures its latency under a short bounded load.
//!
//! ```no_run
//! use std::sync::Arc;
//! use roadmap_serve::{Classifier, ClassifierError, ModelInfo, Prediction, ServerConfig};
//!
//! struct Always;
//! impl Classifier for Always {
//!     fn info(&self) -> ModelInfo { ModelInfo { name: "always".into(), version: "1".into() } }
//!     fn predict_batch(&self, texts: &[&str]) -> Result<Vec<Prediction>, ClassifierError> {
//!         Ok(texts.iter().map(|_| Prediction { label: "positive".into(), score: 1.0 }).collect())
//!     }
//! }
//! roadmap_serve::run_until_signal(Arc::new(Always), "127.0.0.1:8000".parse().unwrap(),
//!     ServerConfig::default(), |addr| println!("listening on http://{addr}")).unwrap();
//! ```

pub mod api;
pub mod classifier;
pub mod error;
pub mod metrics;
pub mod sentiment;
pub mod server;
pub mod verify;

pub use classifier::{Classifier, ClassifierError, ModelInfo, Prediction};
pub use sentiment::SentimentClassifier;
pub use server::{
    init_json_logging, run_until_signal, shutdown_signal, ApiDoc, ServeError, Server, ServerConfig,
};
pub use verify::{verify, VerifyOptions, VerifyReport};
