//! Prometheus metrics, exported with the `prometheus-client` crate.
//!
//! Names follow the Prometheus conventions: a `roadmap_` namespace, base
//! units in the name (`_seconds`), `_total` on counters (added by the
//! exporter), and labels with a small, bounded set of values: the *route
//! template* (`/v1/predict`), never the raw path, so a scanner probing random
//! URLs cannot create unbounded series — unknown paths share `route="unmatched"`,
//! and methods outside the standard set share `method="other"`. The HTTP
//! metrics and the access log (target `roadmap_http::access`) come from
//! [`roadmap_http::observe`], shared with the phase-6 service.
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `roadmap_http_requests_total` | counter | method, route, status |
//! | `roadmap_http_request_duration_seconds` | histogram | method, route |
//! | `roadmap_http_requests_in_flight` | gauge | — |
//! | `roadmap_inference_duration_seconds` | histogram | — (one model call, single or batch) |
//! | `roadmap_predictions_total` | counter | label |
//! | `roadmap_model_info` | info | name, version |

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use roadmap_http::HttpMetrics;

use crate::classifier::ModelInfo;

/// The `Content-Type` of `GET /metrics` (Prometheus scrapes OpenMetrics natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets in seconds, 100 µs to 2.5 s: a fast model answers in well under
/// a millisecond, so the usual 5 ms lowest bucket would hide everything interesting.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PredictionLabels {
    label: String,
}

/// Every metric the server keeps, plus the registry that exports them.
pub struct Metrics {
    registry: Registry,
    /// The HTTP metrics, fed by [`roadmap_http::observe`] (which also writes the access log).
    pub http: std::sync::Arc<HttpMetrics>,
    inference: Histogram,
    predictions: Family<PredictionLabels, Counter>,
}

impl Metrics {
    pub fn new(model: &ModelInfo) -> Self {
        let mut registry = Registry::with_prefix("roadmap");
        let http = std::sync::Arc::new(HttpMetrics::register(&mut registry, &LATENCY_BUCKETS));
        let inference = Histogram::new(LATENCY_BUCKETS);
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
            http,
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
