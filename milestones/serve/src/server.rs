//! Building and running the HTTP server.
//!
//! * The model is loaded by the caller, then **warmed up** (one prediction)
//!   before the port is bound: a model that cannot answer fails at start, not
//!   on the first user request.
//! * `/readyz` turns ready once serving starts and unready as soon as shutdown
//!   begins, so a load balancer stops routing new traffic while in-flight
//!   requests finish.
//! * Shutdown is graceful: on SIGTERM or Ctrl-C the listener closes, idle
//!   keep-alive connections are closed, and requests already being handled run
//!   to completion before [`Server::serve`] returns.
//! * Middleware ([`roadmap_http::with_standard_layers`]), outermost first:
//!   request id (a UUID v4 unless the client sent a sane one), metrics and
//!   access log → cap the body at [`BODY_LIMIT_BYTES`] → 408 when the body stalls for
//!   [`BODY_TIMEOUT`] → JSON 405 → the handler.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::api::{self, BODY_LIMIT_BYTES, BODY_TIMEOUT};
use crate::classifier::{Classifier, ClassifierError, ModelInfo};
use crate::metrics::Metrics;

pub use roadmap_http::{init_json_logging, shutdown_signal};

/// Tuning knobs; [`ServerConfig::default`] suits a small machine.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// A single text up to this many bytes is classified directly on the async
    /// worker thread: the model needs only microseconds for it, less than
    /// handing it to another thread costs. Longer texts and every batch go to
    /// the blocking pool. (Measured: see the crate README.)
    pub inline_max_bytes: usize,
    /// How many model calls may run on blocking threads at once (defaults to
    /// the number of cores: more would only time-slice the same cores).
    pub inference_threads: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            inline_max_bytes: 2048,
            inference_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// What handlers share. Cloned per request: every field is a cheap handle.
#[derive(Clone)]
pub struct AppState {
    pub(crate) classifier: Arc<dyn Classifier>,
    pub(crate) info: ModelInfo,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) ready: Arc<AtomicBool>,
    pub(crate) blocking_permits: Arc<Semaphore>,
    pub(crate) inline_max_bytes: usize,
}

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("the model failed its warm-up prediction: {0}")]
    WarmUp(#[source] ClassifierError),
    #[error("cannot listen on {addr}: {source} (is another server using the port? try `--addr 127.0.0.1:0` for a free one)")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("server I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// The OpenAPI document served at `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "roadmap sentiment service",
        description = "Classifies English movie-review-like text as positive or negative.\n\n\
            Limits: a text has 1 to 5,000 characters; a batch has 1 to 128 texts; a request body \
            has at most 4 MiB. Errors follow FastAPI: 422 `{\"detail\": [{\"loc\", \"msg\", \"type\"}]}` \
            for a body that fails validation, otherwise `{\"detail\": \"message\"}` (400 malformed \
            JSON, 404 unknown path, 405 wrong method, 413 body too large, 415 not JSON). Every \
            response carries an `x-request-id` header (the client's, or a generated UUID)."
    ),
    paths(api::predict, api::predict_batch, api::healthz, api::readyz, api::metrics),
    tags(
        (name = "predict", description = "Sentiment predictions"),
        (name = "ops", description = "Health, readiness and metrics for operators"),
    )
)]
pub struct ApiDoc;

/// A server ready to be bound: model warmed up, metrics registered.
pub struct Server {
    state: AppState,
}

impl Server {
    /// Wraps a loaded model. Runs one warm-up prediction.
    pub fn new(classifier: Arc<dyn Classifier>, config: ServerConfig) -> Result<Self, ServeError> {
        classifier
            .predict_batch(&["warm-up"])
            .map_err(ServeError::WarmUp)?;
        let info = classifier.info();
        let metrics = Arc::new(Metrics::new(&info));
        Ok(Server {
            state: AppState {
                classifier,
                info,
                metrics,
                ready: Arc::new(AtomicBool::new(false)),
                blocking_permits: Arc::new(Semaphore::new(config.inference_threads.max(1))),
                inline_max_bytes: config.inline_max_bytes,
            },
        })
    }

    /// The model being served.
    pub fn model_info(&self) -> &ModelInfo {
        &self.state.info
    }

    /// The complete application: routes, docs, fallbacks and middleware.
    pub fn router(&self) -> Router {
        let state = self.state.clone();
        let routes = Router::new()
            .route("/v1/predict", post(api::predict))
            .route("/v1/predict/batch", post(api::predict_batch))
            .route("/healthz", get(api::healthz))
            .route("/readyz", get(api::readyz))
            .route("/metrics", get(api::metrics))
            .with_state(state.clone())
            .merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()));
        roadmap_http::with_standard_layers(
            routes,
            state.metrics.http.clone(),
            BODY_LIMIT_BYTES,
            BODY_TIMEOUT,
        )
    }

    /// Serves on `listener` until `shutdown` completes, then drains in-flight
    /// requests and returns.
    pub async fn serve<F>(self, listener: TcpListener, shutdown: F) -> Result<(), ServeError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let app = self.router();
        let ready = self.state.ready.clone();
        ready.store(true, Ordering::Release);
        let draining = ready.clone();
        let shutdown = async move {
            shutdown.await;
            draining.store(false, Ordering::Release);
        };
        roadmap_http::serve(listener, app, shutdown, None).await?;
        ready.store(false, Ordering::Release);
        tracing::info!("server stopped");
        Ok(())
    }
}

/// Blocking entry point for a command-line program: builds a multi-threaded
/// runtime, binds `addr`, serves until SIGTERM/Ctrl-C, drains, returns.
/// `on_listening` gets the bound address (useful with port 0).
pub fn run_until_signal(
    classifier: Arc<dyn Classifier>,
    addr: SocketAddr,
    config: ServerConfig,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let server = Server::new(classifier, config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        let local = listener.local_addr()?;
        let info = server.model_info().clone();
        tracing::info!(addr = %local, model = %info.name, version = %info.version, "listening");
        on_listening(local);
        server.serve(listener, shutdown_signal()).await
    })
}
