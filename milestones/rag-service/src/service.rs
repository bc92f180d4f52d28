//! Building, starting and stopping the service.
//!
//! [`start`] binds the configured address (port 0: a free one), builds the
//! shared state from the caller's [`Resources`] and serves in the background;
//! the returned [`RunningService`] knows its address and stops gracefully
//! ([`RunningService::shutdown`]: `/readyz` turns 503, new connections are
//! refused, requests in flight finish within `server.drain_seconds`, the
//! request log is flushed). It also starts the periodic drift check of the
//! request log ([`crate::drift_task`], every `drift.interval_seconds`), which
//! stops with the service. `roadmap rag serve` calls it and waits for
//! SIGTERM/Ctrl-C; the phase-6 runner calls it on `127.0.0.1:0`, drives its
//! workload and shuts it down:
//!
//! ```no_run
//! # async fn demo(resources: roadmap_rag_service::Resources) -> Result<(), roadmap_rag_service::ServiceError> {
//! let mut config = roadmap_rag_service::config::ServiceConfig::default();
//! config.server.addr = "127.0.0.1:0".parse().unwrap();
//! let service = roadmap_rag_service::start(config, resources).await?;
//! println!("listening on http://{}", service.addr());
//! // ... drive requests ...
//! service.shutdown().await?;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{delete, get, post};
use axum::Router;
use roadmap_http::observe::{Observer, RequestInfo};
use roadmap_http::ApiKeys;
use roadmap_rag::TextEmbedder;
use tokio::net::TcpListener;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::batcher::{BatchLimits, Batcher};
use crate::config::ServiceConfig;
use crate::metrics::{Metrics, RouteLabel, RouteStatus};
use crate::queue::GenerationQueue;
use crate::requestlog::{RequestLog, Retention, SqliteLog};
use crate::state::{GeneratorPool, Resources, StorePool};
use crate::{documents, routes, ServiceError};
use tower::limit::GlobalConcurrencyLimitLayer;

/// Everything the handlers share.
pub struct Shared {
    pub config: ServiceConfig,
    pub stores: StorePool,
    pub store_label: String,
    pub embedder: Arc<dyn TextEmbedder + Send + Sync>,
    pub embedder_id: String,
    pub embedder_dim: usize,
    pub batcher: Batcher,
    pub generators: HashMap<&'static str, GeneratorPool>,
    pub unavailable: Vec<(&'static str, String)>,
    pub queue: GenerationQueue,
    pub log: Option<RequestLog>,
    pub metrics: Metrics,
    pub keys: ApiKeys,
    pub draining: AtomicBool,
    pub user_salt: String,
    /// The running A/B experiments (`crate::experiments`).
    pub experiments: crate::experiments::Experiments,
    /// Request-log drops already added to the counter.
    log_dropped_seen: AtomicU64,
    /// Serialises ingests (one writer connection; keeps per-batch duplicate checks exact).
    pub ingest_lock: tokio::sync::Mutex<()>,
}

/// The handlers' state.
pub type AppState = Arc<Shared>;

/// The route templates, as bounded `route` label values.
pub const ROUTES: [&str; 10] = [
    "/v1/ask",
    "/v1/search",
    "/v1/collections",
    "/v1/collections/{name}/documents",
    "/v1/collections/{name}/documents/{id}",
    "/v1/feedback",
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
];

/// A matched route as a `&'static str` label: a known template, `/docs` for
/// the Swagger UI's pages, else `unmatched`.
pub fn route_label(route: &str) -> &'static str {
    if let Some(r) = ROUTES.iter().find(|r| **r == route) {
        return r;
    }
    if route.starts_with("/docs") {
        return "/docs";
    }
    "unmatched"
}

impl Shared {
    /// Copies the gauges that are read, not pushed (queue, dropped log rows).
    pub fn refresh_gauges(&self) {
        self.metrics.queue_depth.set(self.queue.waiting() as i64);
        self.metrics
            .queue_capacity
            .set(self.queue.capacity() as i64);
        if let Some(log) = &self.log {
            let now = log.dropped();
            let seen = self.log_dropped_seen.swap(now, Ordering::AcqRel);
            if now > seen {
                self.metrics.log_dropped.inc_by(now - seen);
            }
        }
    }

    /// Records a finished stream's duration (the middleware saw only its headers).
    pub fn observe_stream(&self, route: &'static str, elapsed: Duration) {
        self.metrics
            .request_duration
            .get_or_create(&RouteLabel { route })
            .observe(elapsed.as_secs_f64());
    }
}

/// Feeds the middleware's observations into the service's metrics.
struct RagObserver(AppState);

impl Observer for RagObserver {
    fn observe(&self, info: &RequestInfo<'_>) {
        let route = route_label(info.route);
        self.0
            .metrics
            .requests
            .get_or_create(&RouteStatus {
                route,
                status: info.status,
            })
            .inc();
        if !info.fields.is_some_and(|f| f.streamed) {
            self.0
                .metrics
                .request_duration
                .get_or_create(&RouteLabel { route })
                .observe(info.elapsed.as_secs_f64());
        }
    }
}

/// The OpenAPI document served at `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "roadmap RAG service",
        description = "Questions answered from your documents with citations, hybrid search, \
            ingestion, feedback. Errors follow FastAPI: 422 `{\"detail\": [{\"loc\", \"msg\", \"type\"}]}` \
            lists every problem of a body; other errors are `{\"detail\": \"message\"}` (400 malformed \
            JSON, 401 missing or wrong API key, 404 unknown collection, document or request, 413 body \
            too large, 415 not JSON, 429 generation queue full (with Retry-After), 503 store or model \
            unavailable, 504 deadline passed). Write endpoints need `Authorization: Bearer KEY`. Every \
            response carries `x-request-id`."
    ),
    paths(
        routes::ask, routes::search, documents::ingest, routes::collections,
        documents::delete_document, routes::feedback, routes::healthz, routes::readyz, routes::metrics
    ),
    tags(
        (name = "rag", description = "Questions and search"),
        (name = "collections", description = "Documents and collections"),
        (name = "ops", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

/// The application: routes, auth, docs, standard middleware.
pub fn router(state: AppState) -> Router {
    let reads = Router::new()
        .route("/v1/ask", post(routes::ask))
        .route("/v1/search", post(routes::search))
        .route("/v1/collections", get(routes::collections))
        .route("/v1/feedback", post(routes::feedback))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::require_read_key,
        ));
    let writes = Router::new()
        .route("/v1/collections/{name}/documents", post(documents::ingest))
        .route(
            "/v1/collections/{name}/documents/{id}",
            delete(documents::delete_document),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::require_write_key,
        ));
    let ops = Router::new()
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/metrics", get(routes::metrics));
    // At most server.max_in_flight /v1 requests at once; the probes and the
    // scrape stay outside the limit so an overloaded replica is still seen.
    let api = reads.merge(writes).layer(GlobalConcurrencyLimitLayer::new(
        state.config.server.max_in_flight,
    ));
    let app = api
        .merge(ops)
        .with_state(state.clone())
        .merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()));
    let limit = state.config.server.max_body_bytes;
    let body_timeout = Duration::from_secs_f64(state.config.server.body_timeout_seconds);
    roadmap_http::with_standard_layers(app, Arc::new(RagObserver(state)), limit, body_timeout)
}

/// A service running in the background on this tokio runtime.
pub struct RunningService {
    addr: SocketAddr,
    shared: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The periodic drift check and its stop signal (none when it is off).
    drift: Option<(
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    )>,
}

impl RunningService {
    /// The bound address (the real port when the config said 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (metrics, queue), for in-process callers.
    pub fn shared(&self) -> &AppState {
        &self.shared
    }

    /// Drains and stops: `/readyz` turns 503, no new connections, in-flight
    /// requests finish (within `server.drain_seconds`), the request log is flushed.
    pub async fn shutdown(mut self) -> Result<(), ServiceError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.finish().await
    }

    /// Serves until `signal` completes, then shuts down as [`Self::shutdown`].
    pub async fn run_until(
        mut self,
        signal: impl std::future::Future<Output = ()>,
    ) -> Result<(), ServiceError> {
        tokio::select! {
            () = signal => {
                if let Some(stop) = self.stop.take() {
                    let _ = stop.send(());
                }
            }
            r = &mut self.task => {
                return match r {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(ServiceError::Io(e.to_string())),
                    Err(e) => Err(ServiceError::Io(e.to_string())),
                };
            }
        }
        self.finish().await
    }

    async fn finish(self) -> Result<(), ServiceError> {
        let r = self.task.await;
        // Before the log closes: the drift check flushes and reads it.
        if let Some((stop, task)) = self.drift {
            let _ = stop.send(true);
            let _ = task.await;
        }
        if let Some(log) = self.shared.log.clone() {
            let _ = tokio::task::spawn_blocking(move || log.shutdown()).await;
        }
        tracing::info!("service stopped");
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ServiceError::Io(e.to_string())),
            Err(e) => Err(ServiceError::Io(e.to_string())),
        }
    }
}

/// Builds the shared state (no I/O on the network).
pub fn build(config: ServiceConfig, resources: Resources) -> Result<AppState, ServiceError> {
    config.validate()?;
    let loaded: Vec<&str> = resources.generators.iter().map(|(n, _)| *n).collect();
    let experiments =
        crate::experiments::Experiments::start(&config, resources.request_log.as_deref(), &loaded)?;
    let metrics = Metrics::new(&resources.revision);
    let embedder = resources.embedder;
    let embedder_id = embedder.model_id();
    let embedder_dim = embedder.dim();
    let batch_embedder = embedder.clone();
    let batch_hist = metrics.embed_batch.clone();
    let r = &config.retrieval;
    let batcher = Batcher::start(
        Box::new(move |texts: &[&str]| batch_embedder.embed(texts).map_err(|e| e.to_string())),
        BatchLimits {
            max_batch: r.max_batch,
            max_wait: Duration::from_secs_f64(r.max_batch_wait_ms / 1e3),
            queue: r.max_queued_queries,
        },
        move |n| batch_hist.observe(n as f64),
    );
    let g = &config.generation;
    let queue = GenerationQueue::new(g.concurrency, g.queue_depth);
    let log = match (&resources.request_log, config.request_log.enabled) {
        (Some(path), true) => {
            let rl = &config.request_log;
            Some(RequestLog::start(
                SqliteLog::open(path)?,
                Retention {
                    max_age: (rl.retention_days > 0.0)
                        .then(|| Duration::from_secs_f64(rl.retention_days * 86_400.0)),
                    max_rows: (rl.max_rows > 0).then_some(rl.max_rows),
                    every: Duration::from_secs(600),
                },
            ))
        }
        _ => None,
    };
    let readers = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
    let generators = resources
        .generators
        .into_iter()
        .map(|(name, instances)| (name, GeneratorPool::new(instances)))
        .collect();
    Ok(Arc::new(Shared {
        stores: StorePool::new(resources.open_store, readers),
        store_label: resources.store_label,
        embedder,
        embedder_id,
        embedder_dim,
        batcher,
        generators,
        unavailable: resources.unavailable,
        queue,
        log,
        metrics,
        keys: resources.api_keys,
        draining: AtomicBool::new(false),
        user_salt: resources.user_salt,
        experiments,
        log_dropped_seen: AtomicU64::new(0),
        ingest_lock: tokio::sync::Mutex::new(()),
        config,
    }))
}

/// Binds `config.server.addr` and serves in the background (see the module doc).
pub async fn start(
    config: ServiceConfig,
    resources: Resources,
) -> Result<RunningService, ServiceError> {
    let addr = config.server.addr;
    let drain = Duration::from_secs_f64(config.server.drain_seconds);
    let drift_schedule = crate::drift_task::DriftSchedule::from_config(&config.drift)?;
    let log_path = resources.request_log.clone();
    let shared = build(config, resources)?;
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        ServiceError::Io(format!(
            "cannot listen on {addr}: {e} (is another server using the port? try --addr 127.0.0.1:0 for a free one)"
        ))
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServiceError::Io(e.to_string()))?;
    if shared.keys.is_empty() {
        tracing::warn!("no API keys configured: the write endpoints answer 401 to everyone (set auth.api_keys_file or ROADMAP_API_KEYS)");
    }
    let app = router(shared.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let draining = shared.clone();
    let shutdown = async move {
        let _ = stopped.await;
        draining.draining.store(true, Ordering::Release);
    };
    let task = tokio::spawn(roadmap_http::serve(listener, app, shutdown, Some(drain)));
    tracing::info!(addr = %addr, store = %shared.store_label, embedder = %shared.embedder_id, "listening");
    let drift = match (drift_schedule, log_path.filter(|_| shared.log.is_some())) {
        (Some(schedule), Some(db)) => {
            let (stop, stopped) = tokio::sync::watch::channel(false);
            tracing::info!(
                every_seconds = schedule.every.as_secs_f64(),
                reference_seconds = schedule.reference_secs,
                current_seconds = schedule.current_secs,
                "drift check of the request log started"
            );
            let task = crate::drift_task::spawn(shared.clone(), db, schedule, stopped);
            Some((stop, task))
        }
        (Some(_), None) => {
            tracing::info!("no drift check: the request log is off");
            None
        }
        (None, _) => None,
    };
    Ok(RunningService {
        addr,
        shared,
        stop: Some(stop),
        task,
        drift,
    })
}

/// Blocking entry point for a command-line program: builds a multi-threaded
/// runtime, starts the service, tells `on_listening` the bound address, serves
/// until SIGTERM or Ctrl-C, drains and returns.
pub fn run_until_signal(
    config: ServiceConfig,
    resources: Resources,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), ServiceError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServiceError::Io(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let service = start(config, resources).await?;
        on_listening(service.addr());
        service.run_until(roadmap_http::shutdown_signal()).await
    })
}

/// A service on its own runtime, for synchronous callers (the phase-6 runner):
/// [`BackgroundService::start`] returns once the port is bound;
/// [`BackgroundService::shutdown`] drains and stops it.
pub struct BackgroundService {
    addr: SocketAddr,
    service: Option<RunningService>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl BackgroundService {
    pub fn start(config: ServiceConfig, resources: Resources) -> Result<Self, ServiceError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| ServiceError::Io(format!("cannot start the async runtime: {e}")))?;
        let service = runtime.block_on(start(config, resources))?;
        Ok(BackgroundService {
            addr: service.addr(),
            service: Some(service),
            runtime: Some(runtime),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Drains, stops and flushes the request log.
    pub fn shutdown(mut self) -> Result<(), ServiceError> {
        let (Some(service), Some(runtime)) = (self.service.take(), self.runtime.take()) else {
            return Ok(());
        };
        let r = runtime.block_on(service.shutdown());
        runtime.shutdown_timeout(Duration::from_secs(5));
        r
    }
}

impl Drop for BackgroundService {
    fn drop(&mut self) {
        if let (Some(service), Some(runtime)) = (self.service.take(), self.runtime.take()) {
            let _ = runtime.block_on(service.shutdown());
            runtime.shutdown_timeout(Duration::from_secs(5));
        }
    }
}
