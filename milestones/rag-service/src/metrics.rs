//! The service's Prometheus metrics (prometheus-client).
//!
//! Names follow Prometheus conventions: the `roadmap_rag_` namespace, base
//! units in names (`_seconds`), `_total` on counters, and labels whose values
//! come from small fixed sets — route *templates*, status codes, the three
//! grounding kinds, the two ratings, a drift feature list fixed in code — never
//! from user input, so no request can create a new time series.
//! `deploy/metrics.txt` lists them for the Grafana and alert-rule tests.
//!
//! The drift gauges are written by the periodic drift check
//! ([`crate::drift_task`]) and describe its latest run. A run without a
//! verdict (a window holds no requests) removes the per-feature series and
//! `roadmap_rag_dataset_drift` rather than leave a stale or made-up value, so
//! the drift alert resolves instead of firing on old data; the run is counted
//! in `roadmap_rag_drift_runs_total{result="empty_window"}`.
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `roadmap_rag_requests_total` | counter | route, status |
//! | `roadmap_rag_request_duration_seconds` | histogram | route |
//! | `roadmap_rag_retrieval_duration_seconds` | histogram | — |
//! | `roadmap_rag_generation_duration_seconds` | histogram | generator |
//! | `roadmap_rag_time_to_first_token_seconds` | histogram | generator |
//! | `roadmap_rag_embed_batch_size` | histogram | — (queries per forward pass) |
//! | `roadmap_rag_generated_tokens_total` | counter | generator |
//! | `roadmap_rag_queue_depth`, `roadmap_rag_queue_capacity` | gauge | — |
//! | `roadmap_rag_queue_rejections_total` | counter | — |
//! | `roadmap_rag_answers_total` | counter | grounding (`cited`, `attributed`, `none`) |
//! | `roadmap_rag_no_answer_total` | counter | — |
//! | `roadmap_rag_feedback_total` | counter | rating (`up`, `down`) |
//! | `roadmap_rag_documents_total` | counter | result (`ingested`, `unchanged`, `rejected`) |
//! | `roadmap_rag_drift_score` | gauge | feature, test (`ks`, `chisquare`, `z`: a p-value; `wasserstein`, `jensenshannon`, `psi`: a distance) |
//! | `roadmap_rag_drift_detected` | gauge (0/1) | feature |
//! | `roadmap_rag_dataset_drift` | gauge (0/1, absent without a verdict) | — (1 when the share of drifted features ≥ 0.5) |
//! | `roadmap_rag_drift_last_run_timestamp_seconds` | gauge | — (end of the current window of the latest verdict; 0: none yet) |
//! | `roadmap_rag_drift_runs_total` | counter | result (`ok`, `empty_window`, `error`) |
//! | `roadmap_rag_drift_window_requests` | gauge | window (`reference`, `current`) |
//! | `roadmap_rag_request_log_dropped_total` | counter | — |
//! | `roadmap_rag_build_info` | gauge (1) | version, revision |

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

/// Request latency buckets, 1 ms to 30 s: searches answer in milliseconds,
/// local-LLM answers in seconds.
const LATENCY_BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
];

/// Batch-size buckets for the query-embedding batcher.
const BATCH_BUCKETS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// The drift features (a fixed list: the gauge's label set is bounded).
pub const DRIFT_FEATURES: &[&str] = &[
    "question_tokens",
    "top_score",
    "hits_above",
    "answer_chars",
    "grounded",
    "latency_ms",
    "no_answer",
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteStatus {
    pub route: &'static str,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    pub route: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GeneratorLabel {
    pub generator: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GroundingLabel {
    pub grounding: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RatingLabel {
    pub rating: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeatureLabel {
    pub feature: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeatureTestLabels {
    pub feature: &'static str,
    /// The deciding test's name (`roadmap_quality::StatTest::name`, six values).
    pub test: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WindowLabel {
    /// `reference` or `current`.
    pub window: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    pub version: String,
    pub revision: String,
}

type Hist<L> = Family<L, Histogram, fn() -> Histogram>;

/// A gauge that may have no value: then the family is exported (its `# TYPE`
/// line) with no sample, which Prometheus reads as "absent". Used where no
/// value is the honest answer (no drift verdict yet) and a default 0 would be
/// a claim.
#[derive(Debug, Clone)]
pub struct OptionalGauge(Arc<AtomicI64>);

/// The stored value meaning "absent".
const ABSENT: i64 = i64::MIN;

impl Default for OptionalGauge {
    fn default() -> Self {
        OptionalGauge(Arc::new(AtomicI64::new(ABSENT)))
    }
}

impl OptionalGauge {
    pub fn set(&self, v: i64) {
        debug_assert_ne!(v, ABSENT);
        self.0.store(v, Ordering::Relaxed);
    }

    pub fn clear(&self) {
        self.0.store(ABSENT, Ordering::Relaxed);
    }

    pub fn get(&self) -> Option<i64> {
        let v = self.0.load(Ordering::Relaxed);
        (v != ABSENT).then_some(v)
    }
}

impl EncodeMetric for OptionalGauge {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        match self.get() {
            Some(v) => encoder.encode_gauge(&v),
            None => Ok(()),
        }
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Gauge
    }
}

fn latency() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Every metric of the service and the registry that exports them.
pub struct Metrics {
    pub registry: Registry,
    pub requests: Family<RouteStatus, Counter>,
    pub request_duration: Hist<RouteLabel>,
    pub retrieval: Histogram,
    pub generation: Hist<GeneratorLabel>,
    pub ttft: Hist<GeneratorLabel>,
    pub embed_batch: Histogram,
    pub generated_tokens: Family<GeneratorLabel, Counter>,
    pub queue_depth: Gauge,
    pub queue_capacity: Gauge,
    pub queue_rejections: Counter,
    pub answers: Family<GroundingLabel, Counter>,
    pub no_answer: Counter,
    pub feedback: Family<RatingLabel, Counter>,
    pub documents: Family<ResultLabel, Counter>,
    pub drift_score: Family<FeatureTestLabels, Gauge<f64, AtomicU64>>,
    pub drift_detected: Family<FeatureLabel, Gauge>,
    pub dataset_drift: OptionalGauge,
    pub drift_last_run: Gauge<f64, AtomicU64>,
    pub drift_runs: Family<ResultLabel, Counter>,
    pub drift_window_requests: Family<WindowLabel, Gauge>,
    pub log_dropped: Counter,
    /// Held for writing while a drift run replaces its gauges and for reading
    /// while encoding, so a scrape sees one run's gauges, never half of two
    /// (a cleared family next to the previous run's timestamp).
    pub drift_update: std::sync::RwLock<()>,
}

impl Metrics {
    /// Registers everything; `revision` is the source revision if known.
    pub fn new(revision: &str) -> Metrics {
        let mut r = Registry::with_prefix("roadmap_rag");
        let requests = Family::<RouteStatus, Counter>::default();
        r.register(
            "requests",
            "Requests answered, by route template and status code",
            requests.clone(),
        );
        let request_duration = Hist::<RouteLabel>::new_with_constructor(latency);
        r.register_with_unit(
            "request_duration",
            "Time from request received to response (for streams: to the last event)",
            Unit::Seconds,
            request_duration.clone(),
        );
        let retrieval = latency();
        r.register_with_unit(
            "retrieval_duration",
            "Time to embed the query and retrieve passages",
            Unit::Seconds,
            retrieval.clone(),
        );
        let generation = Hist::<GeneratorLabel>::new_with_constructor(latency);
        r.register_with_unit(
            "generation_duration",
            "Time to generate an answer, by generator",
            Unit::Seconds,
            generation.clone(),
        );
        let ttft = Hist::<GeneratorLabel>::new_with_constructor(latency);
        r.register_with_unit(
            "time_to_first_token",
            "Time from request received to the first generated token",
            Unit::Seconds,
            ttft.clone(),
        );
        let embed_batch = Histogram::new(BATCH_BUCKETS);
        r.register(
            "embed_batch_size",
            "Queries embedded together in one forward pass by the adaptive batcher",
            embed_batch.clone(),
        );
        let generated_tokens = Family::<GeneratorLabel, Counter>::default();
        r.register(
            "generated_tokens",
            "Tokens generated, by generator",
            generated_tokens.clone(),
        );
        let queue_depth = Gauge::default();
        r.register(
            "queue_depth",
            "Generation requests waiting for a slot",
            queue_depth.clone(),
        );
        let queue_capacity = Gauge::default();
        r.register(
            "queue_capacity",
            "Generation slots plus queue places",
            queue_capacity.clone(),
        );
        let queue_rejections = Counter::default();
        r.register(
            "queue_rejections",
            "Generation requests refused with 429 because the queue was full",
            queue_rejections.clone(),
        );
        let answers = Family::<GroundingLabel, Counter>::default();
        r.register("answers", "Answers by grounding: cited (the answer cites passages), attributed (matched to passages), none", answers.clone());
        let no_answer = Counter::default();
        r.register(
            "no_answer",
            "Questions answered with 'not in the knowledge base'",
            no_answer.clone(),
        );
        let feedback = Family::<RatingLabel, Counter>::default();
        r.register("feedback", "Feedback received, by rating", feedback.clone());
        let documents = Family::<ResultLabel, Counter>::default();
        r.register(
            "documents",
            "Documents submitted for ingestion, by result",
            documents.clone(),
        );
        let drift_score = Family::<FeatureTestLabels, Gauge<f64, AtomicU64>>::default();
        r.register(
            "drift_score",
            "Latest drift run: the score of the test that decides for each request-log feature (Evidently \
             DataDriftPreset's choice). test=ks, chisquare or z: a p-value, drift when below the threshold \
             (0.05); test=wasserstein, jensenshannon or psi: a distance, drift when above it (0.1). The \
             verdict is roadmap_rag_drift_detected",
            drift_score.clone(),
        );
        let drift_detected = Family::<FeatureLabel, Gauge>::default();
        r.register(
            "drift_detected",
            "Latest drift run: 1 when the feature drifted (its test's score crossed its threshold), else 0",
            drift_detected.clone(),
        );
        let dataset_drift = OptionalGauge::default();
        r.register(
            "dataset_drift",
            "Latest drift run: 1 when the share of drifted request-log features is at least 0.5, else 0; \
             absent while there is no verdict (a window without requests)",
            dataset_drift.clone(),
        );
        let drift_last_run = Gauge::<f64, AtomicU64>::default();
        r.register_with_unit(
            "drift_last_run_timestamp",
            "End of the current window of the latest drift run that reached a verdict, as Unix time (0: none yet)",
            Unit::Seconds,
            drift_last_run.clone(),
        );
        let drift_runs = Family::<ResultLabel, Counter>::default();
        r.register(
            "drift_runs",
            "Drift runs by result: ok (a verdict), empty_window (a window held no requests: no verdict), \
             error (the request log could not be read or tested)",
            drift_runs.clone(),
        );
        let drift_window_requests = Family::<WindowLabel, Gauge>::default();
        r.register(
            "drift_window_requests",
            "Successful /v1/ask and /v1/search requests in the reference and current windows of the latest drift run",
            drift_window_requests.clone(),
        );
        let log_dropped = Counter::default();
        r.register(
            "request_log_dropped",
            "Request-log rows that could not be written",
            log_dropped.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
                revision: revision.to_string(),
            })
            .set(1);
        r.register("build_info", "The running build (always 1)", build);
        Metrics {
            registry: r,
            requests,
            request_duration,
            retrieval,
            generation,
            ttft,
            embed_batch,
            generated_tokens,
            queue_depth,
            queue_capacity,
            queue_rejections,
            answers,
            no_answer,
            feedback,
            documents,
            drift_score,
            drift_detected,
            dataset_drift,
            drift_last_run,
            drift_runs,
            drift_window_requests,
            log_dropped,
            drift_update: std::sync::RwLock::new(()),
        }
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        // A poisoned lock only means a drift export panicked; the gauges are still readable.
        let _drift = self
            .drift_update
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every metric name the module documents is exported (and no other),
    /// once each series has a value.
    #[test]
    fn exports_the_documented_names() {
        let m = Metrics::new("abc123");
        m.requests
            .get_or_create(&RouteStatus {
                route: "/v1/ask",
                status: 200,
            })
            .inc();
        m.request_duration
            .get_or_create(&RouteLabel { route: "/v1/ask" })
            .observe(0.01);
        m.generation
            .get_or_create(&GeneratorLabel {
                generator: "extractive",
            })
            .observe(0.01);
        m.ttft
            .get_or_create(&GeneratorLabel { generator: "local" })
            .observe(0.3);
        m.generated_tokens
            .get_or_create(&GeneratorLabel { generator: "local" })
            .inc();
        m.answers
            .get_or_create(&GroundingLabel { grounding: "cited" })
            .inc();
        m.feedback
            .get_or_create(&RatingLabel { rating: "up" })
            .inc();
        m.documents
            .get_or_create(&ResultLabel { result: "ingested" })
            .inc();
        m.drift_score
            .get_or_create(&FeatureTestLabels {
                feature: "top_score",
                test: "ks",
            })
            .set(0.2);
        m.drift_runs
            .get_or_create(&ResultLabel { result: "ok" })
            .inc();
        let text = m.encode();
        let doc = include_str!("metrics.rs");
        let documented: Vec<&str> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("//! | `roadmap_rag_"))
            .map(|l| l.split(" |").next().unwrap())
            .flat_map(|l| l.split("`, `"))
            .map(|n| {
                n.trim_start_matches("roadmap_rag_")
                    .split('`')
                    .next()
                    .unwrap()
            })
            .collect();
        assert!(documented.len() >= 18, "{documented:?}");
        for name in &documented {
            assert!(
                text.contains(&format!(
                    "# TYPE roadmap_rag_{}",
                    name.trim_end_matches("_total")
                )),
                "{name} not exported:\n{text}"
            );
        }
        assert!(text.contains("roadmap_rag_build_info{version=\""));
    }

    /// An optional gauge without a value exports its family but no sample;
    /// with one, a plain sample; cleared, none again.
    #[test]
    fn an_absent_gauge_has_a_type_line_and_no_sample() {
        let m = Metrics::new("x");
        let sample = |t: &str| {
            t.lines()
                .find(|l| l.starts_with("roadmap_rag_dataset_drift"))
                .map(str::to_owned)
        };
        let text = m.encode();
        assert!(
            text.contains("# TYPE roadmap_rag_dataset_drift gauge"),
            "{text}"
        );
        assert_eq!(sample(&text), None, "{text}");
        m.dataset_drift.set(1);
        assert_eq!(
            sample(&m.encode()).as_deref(),
            Some("roadmap_rag_dataset_drift 1")
        );
        m.dataset_drift.clear();
        assert_eq!(sample(&m.encode()), None);
    }
}
