//! Prometheus metrics, exported with the `prometheus-client` crate.
//!
//! Names follow the Prometheus conventions: a `roadmap_` namespace, base
//! units in the name (`_seconds`), `_total` on counters (added by the
//! exporter), and labels with a small, bounded set of values: the *route
//! template* (`/v1/predict`), never the raw path, so a scanner probing random
//! URLs cannot create unbounded series — unknown paths share `route="unmatched"`.
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `roadmap_http_requests_total` | counter | method, route, status |
//! | `roadmap_http_request_duration_seconds` | histogram | method, route |
//! | `roadmap_http_requests_in_flight` | gauge | — |
//! | `roadmap_inference_duration_seconds` | histogram | — (one model call, single or batch) |
//! | `roadmap_predictions_total` | counter | label |
//! | `roadmap_model_info` | info | name, version |

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::classifier::ModelInfo;
use crate::server::AppState;

/// The `Content-Type` of `GET /metrics` (Prometheus scrapes OpenMetrics natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets in seconds, 100 µs to 2.5 s: a fast model answers in well under
/// a millisecond, so the usual 5 ms lowest bucket would hide everything interesting.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PredictionLabels {
    label: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Every metric the server keeps, plus the registry that exports them.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
    inference: Histogram,
    predictions: Family<PredictionLabels, Counter>,
}

impl Metrics {
    pub fn new(model: &ModelInfo) -> Self {
        let mut registry = Registry::with_prefix("roadmap");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let durations = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time from request received to response headers ready",
            Unit::Seconds,
            durations.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "http_requests_in_flight",
            "HTTP requests being handled right now",
            in_flight.clone(),
        );
        let inference = latency_histogram();
        registry.register_with_unit(
            "inference_duration",
            "Time spent in one model call (a single text or a whole batch)",
            Unit::Seconds,
            inference.clone(),
        );
        let predictions = Family::<PredictionLabels, Counter>::default();
        registry.register(
            "predictions",
            "Texts classified, by predicted label",
            predictions.clone(),
        );
        registry.register(
            "model",
            "The model being served",
            Info::new(vec![
                ("name".to_string(), model.name.clone()),
                ("version".to_string(), model.version.clone()),
            ]),
        );
        Metrics {
            registry,
            requests,
            durations,
            in_flight,
            inference,
            predictions,
        }
    }

    /// The OpenMetrics text exposition of every metric.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }

    pub fn observe_inference(&self, elapsed: Duration) {
        self.inference.observe(elapsed.as_secs_f64());
    }

    pub fn count_prediction(&self, label: &str) {
        self.predictions
            .get_or_create(&PredictionLabels {
                label: label.to_string(),
            })
            .inc();
    }
}

/// Decrements the in-flight gauge even if the request future is dropped
/// (client went away mid-request).
struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Middleware: counts, times and logs every request.
///
/// One structured log line per request at `info` (target `roadmap_serve::access`),
/// so `RUST_LOG=roadmap_serve::access=off` silences the access log alone.
pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let metrics = &state.metrics;
    metrics.in_flight.inc();
    let guard = InFlight(&metrics.in_flight);
    let response = next.run(req).await;
    drop(guard);
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    metrics
        .durations
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(elapsed.as_secs_f64());
    tracing::info!(
        target: "roadmap_serve::access",
        method = %method,
        route = %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1e3,
        request_id = %request_id,
        "request"
    );
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status,
        })
        .inc();
    response
}
