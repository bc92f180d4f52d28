//! Verifying a sentiment server from the outside, over HTTP.
//!
//! `roadmap verify phase3 --url URL` points this at a learner's own server
//! (in any language); `roadmap run phase3` points it at ours. It checks the
//! contract the way a client would experience it — health, the predict and
//! batch responses, the FastAPI-style error codes, request ids, metrics — and
//! then measures latency under a short, bounded load: a fixed number of
//! requests from a fixed number of concurrent clients (500 and 16 by default),
//! each request timed end to end. p50/p99 are nearest-rank percentiles of
//! those times; requests/s is completed requests over the load's wall time.
//!
//! A failed check is a result, not an error: the report lists every check
//! with what was expected and what came back. Only an unreachable server or a
//! bad URL is an error.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode, Url};
use serde::Serialize;
use serde_json::{json, Value};

use crate::classifier::Classifier;
use crate::server::{ServeError, Server, ServerConfig};

/// The review every load request sends: the same 17 words the FastAPI
/// baseline's load test uses, so latencies are comparable.
pub const LOAD_TEXT: &str =
    "A feel-good movie that doesn't give you enough to feel good about, though the cast is charming.";
const POSITIVE: &str =
    "A wonderful, moving film: brilliant performances and a beautiful, funny script. A joy.";
const NEGATIVE: &str =
    "A dull, boring, lifeless mess. The worst film of the year; a waste of time.";

/// How hard to probe.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyOptions {
    /// Requests in the load phase.
    pub requests: usize,
    /// Concurrent clients in the load phase.
    pub concurrency: usize,
    /// Per-request timeout.
    #[serde(serialize_with = "ser_secs")]
    pub timeout: Duration,
}

fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            requests: 500,
            concurrency: 16,
            timeout: Duration::from_secs(10),
        }
    }
}

/// One contract check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    /// What was expected and what came back.
    pub detail: String,
}

/// The load phase's measurements.
#[derive(Debug, Clone, Serialize)]
pub struct LoadStats {
    pub requests: usize,
    pub concurrency: usize,
    /// Requests that failed (transport error or non-2xx status).
    pub errors: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub requests_per_second: f64,
    pub wall_seconds: f64,
}

/// Everything the verifier found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub url: String,
    pub checks: Vec<Check>,
    pub load: LoadStats,
}

impl VerifyReport {
    pub fn checks_passed(&self) -> usize {
        self.checks.iter().filter(|c| c.passed).count()
    }

    pub fn checks_failed(&self) -> usize {
        self.checks.len() - self.checks_passed()
    }

    /// The numbers the tracker records (names listed in [`METRIC_NAMES`]).
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        BTreeMap::from([
            ("p50_ms".to_string(), self.load.p50_ms),
            ("p99_ms".to_string(), self.load.p99_ms),
            (
                "requests_per_second".to_string(),
                self.load.requests_per_second,
            ),
            ("checks_passed".to_string(), self.checks_passed() as f64),
            ("checks_failed".to_string(), self.checks_failed() as f64),
            ("load_errors".to_string(), self.load.errors as f64),
        ])
    }
}

/// Names of the metrics in [`VerifyReport::metrics`].
pub const METRIC_NAMES: &[&str] = &[
    "p50_ms",
    "p99_ms",
    "requests_per_second",
    "checks_passed",
    "checks_failed",
    "load_errors",
];

/// Why verification could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("`{url}` is not a usable base URL ({reason}); expected something like http://127.0.0.1:8000")]
    BadUrl { url: String, reason: String },
    #[error(
        "cannot reach {url}: {source} — is your server running and listening on that address?"
    )]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("the server under test failed: {0}")]
    Server(#[from] ServeError),
}

/// A response reduced to what the checks look at.
struct Reply {
    status: StatusCode,
    request_id: Option<String>,
    json: Option<Value>,
    text: String,
}

struct Prober {
    client: Client,
    base: Url,
}

impl Prober {
    fn url(&self, path: &str) -> Url {
        // `base` always ends with '/', and paths are relative, so joins append.
        self.base
            .join(path.trim_start_matches('/'))
            .expect("static paths join onto a valid base")
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Reply, reqwest::Error> {
        let resp = req.send().await?;
        let status = resp.status();
        let request_id = resp
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp.text().await?;
        let json = serde_json::from_str(&text).ok();
        Ok(Reply {
            status,
            request_id,
            json,
            text,
        })
    }

    async fn get(&self, path: &str) -> Result<Reply, reqwest::Error> {
        self.send(self.client.get(self.url(path))).await
    }

    async fn post_json(&self, path: &str, body: &Value) -> Result<Reply, reqwest::Error> {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: String,
    ) -> Result<Reply, reqwest::Error> {
        self.send(
            self.client
                .post(self.url(path))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }
}

fn short(text: &str) -> String {
    let mut s: String = text.chars().take(160).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

/// Is `json` a single prediction: `label` a string, `score` a number in [0, 1]?
fn prediction_problem(json: &Value) -> Option<String> {
    let label = json.get("label").and_then(Value::as_str);
    let score = json.get("score").and_then(Value::as_f64);
    match (label, score) {
        (Some(l), _) if l != "positive" && l != "negative" => {
            Some(format!("label `{l}` is not positive/negative"))
        }
        (Some(_), Some(s)) if (0.0..=1.0).contains(&s) => None,
        (Some(_), Some(s)) => Some(format!("score {s} is outside [0, 1]")),
        _ => Some("expected {\"label\": string, \"score\": number}".to_string()),
    }
}

fn model_problem(json: &Value) -> Option<String> {
    let model = json.get("model")?;
    if model.get("name").and_then(Value::as_str).is_some()
        && model.get("version").and_then(Value::as_str).is_some()
    {
        None
    } else {
        Some("`model` should be {\"name\": string, \"version\": string}".to_string())
    }
}

fn check(name: &'static str, result: Result<String, String>) -> Check {
    match result {
        Ok(detail) => Check {
            name,
            passed: true,
            detail,
        },
        Err(detail) => Check {
            name,
            passed: false,
            detail,
        },
    }
}

/// Expects one of `statuses` with a FastAPI-style `detail`; a 422 needs the list form.
fn expect_error(reply: Result<Reply, reqwest::Error>, statuses: &[u16]) -> Result<String, String> {
    let reply = reply.map_err(|e| format!("request failed: {e}"))?;
    let code = reply.status.as_u16();
    if !statuses.contains(&code) {
        return Err(format!(
            "expected HTTP {statuses:?}, got {code}: {}",
            short(&reply.text)
        ));
    }
    let detail = reply.json.as_ref().and_then(|j| j.get("detail"));
    match (code, detail) {
        (422, Some(Value::Array(items)))
            if !items.is_empty()
                && items.iter().all(|i| {
                    i.get("loc").is_some_and(Value::is_array)
                        && i.get("msg").is_some()
                        && i.get("type").is_some()
                }) =>
        {
            Ok(format!("422 with {} detail item(s)", items.len()))
        }
        (422, _) => Err(format!(
            "422 body should be {{\"detail\": [{{\"loc\", \"msg\", \"type\"}}]}}, got {}",
            short(&reply.text)
        )),
        (_, Some(_)) => Ok(format!("{code} with a JSON `detail`")),
        (_, None) => Err(format!(
            "{code} body should be JSON with a `detail` field, got {}",
            short(&reply.text)
        )),
    }
}

async fn predict_score(p: &Prober, text: &str) -> Result<f64, String> {
    let reply = p
        .post_json("/v1/predict", &json!({ "text": text }))
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    if reply.status != StatusCode::OK {
        return Err(format!(
            "expected 200, got {}: {}",
            reply.status.as_u16(),
            short(&reply.text)
        ));
    }
    let json = reply
        .json
        .ok_or_else(|| format!("response is not JSON: {}", short(&reply.text)))?;
    if let Some(problem) = prediction_problem(&json) {
        return Err(format!("{problem}: {json}"));
    }
    if let Some(problem) = model_problem(&json).or_else(|| {
        json.get("model")
            .is_none()
            .then(|| "missing `model`".into())
    }) {
        return Err(format!("{problem}: {json}"));
    }
    Ok(json["score"].as_f64().unwrap_or(f64::NAN))
}

async fn contract_checks(p: &Prober) -> Vec<Check> {
    let mut checks = Vec::new();
    let ok_status = |r: Result<Reply, reqwest::Error>, what: &str| -> Result<String, String> {
        let r = r.map_err(|e| format!("request failed: {e}"))?;
        if r.status == StatusCode::OK {
            Ok(format!("{what}: 200"))
        } else {
            Err(format!(
                "{what}: expected 200, got {}: {}",
                r.status.as_u16(),
                short(&r.text)
            ))
        }
    };
    checks.push(check(
        "healthz",
        ok_status(p.get("/healthz").await, "GET /healthz"),
    ));
    checks.push(check(
        "readyz",
        ok_status(p.get("/readyz").await, "GET /readyz"),
    ));

    let pos = predict_score(p, POSITIVE).await;
    let neg = predict_score(p, NEGATIVE).await;
    checks.push(check(
        "predict_contract",
        pos.clone()
            .map(|s| format!("label, score {s:.4} and model returned")),
    ));
    checks.push(check(
        "predict_scores_sentiment",
        match (&pos, &neg) {
            (Ok(a), Ok(b)) if a > b => {
                Ok(format!("positive review {a:.3} > negative review {b:.3}"))
            }
            (Ok(a), Ok(b)) => Err(format!(
                "expected the positive review to score higher: {a:.3} vs {b:.3}"
            )),
            _ => Err("predict failed (see predict_contract)".to_string()),
        },
    ));

    let batch = p
        .post_json(
            "/v1/predict/batch",
            &json!({ "texts": [POSITIVE, NEGATIVE, POSITIVE] }),
        )
        .await;
    checks.push(check(
        "batch_contract",
        (|| {
            let r = batch.map_err(|e| format!("request failed: {e}"))?;
            if r.status != StatusCode::OK {
                return Err(format!(
                    "expected 200, got {}: {}",
                    r.status.as_u16(),
                    short(&r.text)
                ));
            }
            let json = r.json.ok_or("response is not JSON")?;
            let preds = json
                .get("predictions")
                .and_then(Value::as_array)
                .ok_or("missing `predictions` array")?;
            if preds.len() != 3 {
                return Err(format!("sent 3 texts, got {} predictions", preds.len()));
            }
            if let Some(problem) = preds.iter().find_map(prediction_problem) {
                return Err(problem);
            }
            if let Some(problem) = model_problem(&json) {
                return Err(problem);
            }
            let scores: Vec<f64> = preds
                .iter()
                .map(|p| p["score"].as_f64().unwrap_or(f64::NAN))
                .collect();
            if let (Ok(a), Ok(b)) = (&pos, &neg) {
                let expected = [*a, *b, *a];
                if scores
                    .iter()
                    .zip(expected)
                    .any(|(s, e)| (s - e).abs() > 1e-4)
                {
                    return Err(format!(
                        "batch scores {scores:?} differ from single predictions {expected:?}"
                    ));
                }
            }
            Ok("3 predictions in order, matching single predictions".to_string())
        })(),
    ));

    checks.push(check(
        "error_missing_field",
        expect_error(p.post_json("/v1/predict", &json!({})).await, &[422]),
    ));
    checks.push(check(
        "error_wrong_type",
        expect_error(
            p.post_json("/v1/predict", &json!({ "text": 42 })).await,
            &[422],
        ),
    ));
    checks.push(check(
        "error_empty_text",
        expect_error(
            p.post_json("/v1/predict", &json!({ "text": "" })).await,
            &[422],
        ),
    ));
    let many: Vec<&str> = vec!["fine"; 10_000];
    checks.push(check(
        "error_too_many_texts",
        expect_error(
            p.post_json("/v1/predict/batch", &json!({ "texts": many }))
                .await,
            &[422, 413],
        ),
    ));
    let long = "word ".repeat(200_000);
    checks.push(check(
        "error_text_too_long",
        expect_error(
            p.post_json("/v1/predict", &json!({ "text": long })).await,
            &[422, 413],
        ),
    ));
    checks.push(check(
        "error_malformed_json",
        expect_error(
            p.post_raw("/v1/predict", "application/json", "{\"text\": ".to_string())
                .await,
            &[400],
        ),
    ));
    checks.push(check(
        "error_content_type",
        expect_error(
            p.post_raw("/v1/predict", "text/plain", "a nice film".to_string())
                .await,
            &[415],
        ),
    ));
    checks.push(check(
        "error_not_found",
        expect_error(p.get("/no/such/path").await, &[404]),
    ));
    checks.push(check(
        "error_method_not_allowed",
        expect_error(p.get("/v1/predict").await, &[405]),
    ));

    let echoed = p
        .send(
            p.client
                .get(p.url("/healthz"))
                .header("x-request-id", "verify-7f3a"),
        )
        .await;
    let generated = p.get("/healthz").await;
    checks.push(check(
        "request_id",
        match (echoed, generated) {
            (Ok(a), Ok(b)) => match (a.request_id.as_deref(), b.request_id.as_deref()) {
                (Some("verify-7f3a"), Some(id)) if !id.is_empty() => Ok(format!("echoed, and generated `{id}`")),
                (echo, generated) => Err(format!(
                    "expected x-request-id echoed (`verify-7f3a`) and generated when absent; got {echo:?} and {generated:?}"
                )),
            },
            (Err(e), _) | (_, Err(e)) => Err(format!("request failed: {e}")),
        },
    ));
    checks.push(check(
        "metrics",
        match p.get("/metrics").await {
            Ok(r) if r.status == StatusCode::OK && r.text.contains("# TYPE ") => Ok(format!(
                "{} metric families",
                r.text.matches("# TYPE ").count()
            )),
            Ok(r) => Err(format!(
                "expected 200 with Prometheus text, got {}: {}",
                r.status.as_u16(),
                short(&r.text)
            )),
            Err(e) => Err(format!("request failed: {e}")),
        },
    ));
    checks
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn load(p: Arc<Prober>, opts: &VerifyOptions) -> LoadStats {
    let body = json!({ "text": LOAD_TEXT });
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let total = opts.requests;
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..opts.concurrency.max(1) {
        let (p, next, errors, body) = (p.clone(), next.clone(), errors.clone(), body.clone());
        workers.push(tokio::spawn(async move {
            let mut times = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let t0 = Instant::now();
                let ok = match p.client.post(p.url("/v1/predict")).json(&body).send().await {
                    Ok(resp) => resp.status().is_success() && resp.bytes().await.is_ok(),
                    Err(_) => false,
                };
                times.push(t0.elapsed().as_secs_f64() * 1e3);
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            times
        }));
    }
    let mut times = Vec::with_capacity(total);
    for w in workers {
        match w.await {
            Ok(t) => times.extend(t),
            Err(_) => {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let wall = started.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    LoadStats {
        requests: times.len(),
        concurrency: opts.concurrency,
        errors: errors.load(Ordering::Relaxed),
        p50_ms: percentile(&times, 50.0),
        p99_ms: percentile(&times, 99.0),
        requests_per_second: times.len() as f64 / wall,
        wall_seconds: wall,
    }
}

/// Checks the server at `base_url` and measures it under load.
pub async fn verify(base_url: &str, opts: &VerifyOptions) -> Result<VerifyReport, VerifyError> {
    let bad = |reason: String| VerifyError::BadUrl {
        url: base_url.to_string(),
        reason,
    };
    let mut base = Url::parse(base_url).map_err(|e| bad(e.to_string()))?;
    if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
        return Err(bad(
            "it needs an http:// or https:// scheme and a host".to_string()
        ));
    }
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    let client = Client::builder()
        .timeout(opts.timeout)
        // The server under test is addressed directly, never through a proxy from the environment.
        .no_proxy()
        .pool_max_idle_per_host(opts.concurrency.max(1))
        .build()
        .map_err(VerifyError::Client)?;
    let prober = Arc::new(Prober { client, base });
    prober
        .get("/healthz")
        .await
        .map_err(|source| VerifyError::Unreachable {
            url: base_url.to_string(),
            source,
        })?;

    let mut checks = contract_checks(&prober).await;
    // Warm-up: open the connections and let the server settle before timing.
    load(
        prober.clone(),
        &VerifyOptions {
            requests: opts.concurrency * 4,
            ..opts.clone()
        },
    )
    .await;
    let stats = load(prober.clone(), opts).await;
    checks.push(check(
        "load_without_errors",
        if stats.errors == 0 {
            Ok(format!(
                "{} requests, {} concurrent, no errors",
                stats.requests, stats.concurrency
            ))
        } else {
            Err(format!(
                "{} of {} requests failed",
                stats.errors, stats.requests
            ))
        },
    ));
    Ok(VerifyReport {
        url: base_url.to_string(),
        checks,
        load: stats,
    })
}

/// [`verify`] for synchronous callers (it builds its own runtime).
pub fn verify_blocking(base_url: &str, opts: &VerifyOptions) -> Result<VerifyReport, VerifyError> {
    runtime()?.block_on(verify(base_url, opts))
}

fn runtime() -> Result<tokio::runtime::Runtime, VerifyError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(VerifyError::Runtime)
}

/// Serves `classifier` on a free 127.0.0.1 port, verifies it, shuts it down
/// gracefully and returns the report (what `roadmap run phase3` does).
pub fn verify_in_process(
    classifier: Arc<dyn Classifier>,
    config: ServerConfig,
    opts: &VerifyOptions,
) -> Result<VerifyReport, VerifyError> {
    let server = Server::new(classifier, config)?;
    runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(ServeError::Io)?;
        let addr = listener.local_addr().map_err(ServeError::Io)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(listener, async move {
            let _ = stopped.await;
        }));
        let report = verify(&format!("http://{addr}"), opts).await;
        let _ = stop.send(());
        match serving.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.into()),
            Err(e) => return Err(ServeError::Io(std::io::Error::other(e)).into()),
        }
        report
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn rejects_unusable_urls() {
        for url in ["localhost:8000", "ftp://127.0.0.1/", "not a url"] {
            let err = verify_blocking(url, &VerifyOptions::default()).unwrap_err();
            assert!(matches!(err, VerifyError::BadUrl { .. }), "{url}: {err}");
        }
    }
}
