//! Request ids, the access log and HTTP metrics: one middleware for every request.
//!
//! * **Request id**: a client's `x-request-id` is kept when it is a sane token
//!   (1–64 characters of `[A-Za-z0-9._:-]`, so it can go into logs and
//!   databases as is); anything else is replaced by a fresh UUID v4. The id
//!   is returned in the response's `x-request-id` header.
//! * **Access log**: one structured line per request at `info`, target
//!   `roadmap_http::access` (`RUST_LOG=roadmap_http::access=off` silences it):
//!   request id, method, route template, status, latency and, when the handler
//!   set them ([`AccessFields`]), collection and generator. Never headers or bodies
//!   (API keys and documents stay out of logs).
//! * **Metrics**: each service passes an [`Observer`]; [`HttpMetrics`] is the
//!   stock one (`<prefix>_http_requests_total{method,route,status}`,
//!   `<prefix>_http_request_duration_seconds{method,route}`,
//!   `<prefix>_http_requests_in_flight`).
//!
//! **Bounded labels**: a label value must never come from the client, or a
//! scanner can create unbounded time series and exhaust the Prometheus server.
//! The route is the matched *template* (`/v1/collections/{name}/documents`),
//! `unmatched` for unknown paths; the method is one of [`METHODS`] or `other`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tower_http::request_id::{MakeRequestId, MakeRequestUuid};

/// The request-id header.
pub const REQUEST_ID: &str = "x-request-id";

/// Methods reported by name in metrics; any other is `other`.
pub const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/// A method as a bounded label value.
pub fn bounded_method(m: &Method) -> &'static str {
    METHODS
        .iter()
        .find(|k| **k == m.as_str())
        .copied()
        .unwrap_or("other")
}

/// Is a client-sent request id acceptable as is?
pub fn is_sane_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The request id of a request that went through [`observe`] (empty before).
pub fn request_id(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Extra fields of the access-log line, set by a handler as a response extension.
#[derive(Debug, Clone, Default)]
pub struct AccessFields {
    pub collection: Option<String>,
    pub generator: Option<&'static str>,
    /// The response is a stream: its duration is recorded when it ends, not here.
    pub streamed: bool,
}

/// What the middleware saw of one request.
#[derive(Debug)]
pub struct RequestInfo<'a> {
    pub method: &'static str,
    /// The route template, or `unmatched`.
    pub route: &'a str,
    pub status: u16,
    /// Request received → response headers ready.
    pub elapsed: Duration,
    pub request_id: &'a str,
    pub fields: Option<&'a AccessFields>,
}

/// Receives every request's outcome (to count it in a service's own metrics).
pub trait Observer: Send + Sync + 'static {
    /// A request started (for an in-flight gauge).
    fn started(&self) {}
    /// A request finished or was dropped (client gone).
    fn ended(&self) {}
    /// A response is ready.
    fn observe(&self, info: &RequestInfo<'_>);
}

struct InFlight<'a>(&'a dyn Observer);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.ended();
    }
}

/// The middleware: request id, metrics, access log.
pub async fn observe(
    State(observer): State<Arc<dyn Observer>>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = match req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()) {
        Some(v) if is_sane_request_id(v) => HeaderValue::from_str(v).ok(),
        _ => None,
    }
    .or_else(|| {
        MakeRequestUuid
            .make_request_id(&req)
            .map(|r| r.into_header_value())
    })
    .unwrap_or_else(|| HeaderValue::from_static("unknown"));
    req.headers_mut().insert(REQUEST_ID, id.clone());
    let method = bounded_method(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    observer.started();
    let guard = InFlight(observer.as_ref());
    let mut response = next.run(req).await;
    drop(guard);
    let elapsed = started.elapsed();
    response.headers_mut().insert(REQUEST_ID, id.clone());
    let status = response.status().as_u16();
    let request_id = id.to_str().unwrap_or("");
    let fields = response.extensions().get::<AccessFields>();
    tracing::info!(
        target: "roadmap_http::access",
        request_id = %request_id,
        method,
        route = %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1e3,
        collection = fields.and_then(|f| f.collection.as_deref()),
        generator = fields.and_then(|f| f.generator),
        "request"
    );
    observer.observe(&RequestInfo {
        method,
        route: &route,
        status,
        elapsed,
        request_id,
        fields,
    });
    response
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

/// Builds histograms with fixed buckets (a `Family` needs a cloneable constructor).
#[derive(Debug, Clone, Copy)]
pub struct Buckets(pub &'static [f64]);

impl prometheus_client::metrics::family::MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

type Hist<L> = Family<L, Histogram, Buckets>;

/// The stock HTTP metrics (registered under the registry's prefix):
///
/// | metric | type | labels |
/// | --- | --- | --- |
/// | `http_requests_total` | counter | method, route, status |
/// | `http_request_duration_seconds` | histogram | method, route |
/// | `http_requests_in_flight` | gauge | — |
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    durations: Hist<RouteLabels>,
    in_flight: Gauge,
}

impl HttpMetrics {
    /// Registers the three metrics in `registry` with the given latency buckets (seconds).
    pub fn register(registry: &mut Registry, buckets: &'static [f64]) -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let durations: Hist<RouteLabels> = Family::new_with_constructor(Buckets(buckets));
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
        HttpMetrics {
            requests,
            durations,
            in_flight,
        }
    }
}

impl Observer for HttpMetrics {
    fn started(&self) {
        self.in_flight.inc();
    }

    fn ended(&self) {
        self.in_flight.dec();
    }

    fn observe(&self, info: &RequestInfo<'_>) {
        self.durations
            .get_or_create(&RouteLabels {
                method: info.method,
                route: info.route.to_string(),
            })
            .observe(info.elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                method: info.method,
                route: info.route.to_string(),
                status: info.status,
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_and_ids_are_bounded() {
        assert_eq!(bounded_method(&Method::POST), "POST");
        assert_eq!(
            bounded_method(&Method::from_bytes(b"BREW").unwrap()),
            "other"
        );
        assert!(is_sane_request_id("abc-123_x.y:z"));
        assert!(!is_sane_request_id(""));
        assert!(!is_sane_request_id(&"a".repeat(65)));
        assert!(!is_sane_request_id("a b"));
        assert!(!is_sane_request_id("a\"b"));
    }
}
