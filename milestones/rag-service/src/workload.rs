//! The capstone's scripted workload: what `roadmap run phase6` drives against
//! a running service (in-process, or the containerized stack) to check it
//! behaves as a production service should.
//!
//! In order: wait for `/readyz`; ingest a batch with one bad document (it must
//! be rejected with its reason while the rest is ingested); searches and
//! extractive asks over the given questions; one streamed ask (tokens, then a
//! final event with sources and timings); feedback on some answers; a set of
//! invalid requests (each must get its 4xx, none a 5xx); then a burst of
//! concurrent local-LLM asks larger than the generation queue (some must be
//! refused with 429 and `Retry-After`, none may time out or fail with 5xx).
//! Finally `/metrics` is scraped to check the service counted what it did.
//!
//! Latency percentiles are the client's view (request sent → response read),
//! computed with NumPy's linear definition ([`roadmap_common::stats`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

use roadmap_common::stats::percentiles;

/// What to drive.
#[derive(Debug, Clone)]
pub struct Workload {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    /// A key for the write endpoints.
    pub api_key: String,
    /// Questions for searches and asks, with the collection they belong to.
    pub questions: Vec<(String, String)>,
    /// The collection the ingest step writes (created if missing).
    pub ingest_collection: String,
    /// Concurrent local-LLM asks in the burst (0 = no burst).
    pub burst: usize,
    /// The service's generation capacity (slots + queue places), for the check.
    pub burst_capacity: usize,
    /// Deadline of each request.
    pub timeout: Duration,
}

/// Latency summary of one route, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct RouteLatency {
    pub requests: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
}

/// One named check of the workload and whether it held.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// Everything the workload observed.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadReport {
    pub latency: BTreeMap<String, RouteLatency>,
    pub requests: usize,
    pub server_errors: usize,
    pub error_ratio: f64,
    pub burst_429: usize,
    pub burst_ok: usize,
    pub burst_other: usize,
    pub grounded_share: f64,
    pub validation_rejected: usize,
    pub validation_expected: usize,
    pub ingest_rejected: usize,
    pub ingest_ingested: usize,
    pub checks: Vec<Check>,
}

impl WorkloadReport {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
}

struct Driver {
    client: reqwest::Client,
    w: Workload,
    timings: BTreeMap<&'static str, Vec<f64>>,
    requests: usize,
    server_errors: usize,
    checks: Vec<Check>,
}

impl Driver {
    fn check(&mut self, name: &str, passed: bool, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.to_string(),
            passed,
            detail: detail.into(),
        });
    }

    /// Sends one request, timing it under `route`; a transport error counts
    /// as a server error (the client saw no answer).
    async fn send(
        &mut self,
        route: &'static str,
        req: reqwest::RequestBuilder,
    ) -> Option<(u16, reqwest::header::HeaderMap, Value)> {
        let started = Instant::now();
        let res = req.timeout(self.w.timeout).send().await;
        self.requests += 1;
        let res = match res {
            Ok(r) => r,
            Err(_) => {
                self.server_errors += 1;
                return None;
            }
        };
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        self.timings
            .entry(route)
            .or_default()
            .push(started.elapsed().as_secs_f64() * 1e3);
        if status >= 500 {
            self.server_errors += 1;
        }
        Some((status, headers, body))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.w.base_url)
    }
}

/// Runs the workload. Errors only when the service never becomes ready;
/// everything else is a check in the report.
pub async fn run(w: Workload, progress: impl Fn(&str)) -> Result<WorkloadReport, String> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| e.to_string())?;
    let mut d = Driver {
        client,
        w,
        timings: BTreeMap::new(),
        requests: 0,
        server_errors: 0,
        checks: Vec::new(),
    };

    // Ready.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = d.client.get(d.url("/readyz")).send().await;
        if matches!(&r, Ok(r) if r.status().is_success()) {
            break;
        }
        if Instant::now() > deadline {
            let why = match r {
                Ok(r) => r.text().await.unwrap_or_default(),
                Err(e) => e.to_string(),
            };
            return Err(format!(
                "the service did not become ready within 120 s: {why}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    progress("ready");

    // Ingest: three good documents and an empty one.
    let docs = json!({ "documents": [
        {"id": "capstone-a", "title": "Monitoring", "text": "Prometheus scrapes the service's /metrics endpoint. Grafana draws the dashboards from Prometheus. Alert rules fire when the p95 latency or the 5xx ratio is too high."},
        {"id": "capstone-b", "title": "Validation", "text": "Every request body is validated before any work starts. A bad request gets a 422 response that lists every problem at once."},
        {"id": "capstone-c", "title": "Back-pressure", "text": "Local generation runs through a bounded queue. When the queue is full the service answers 429 with a Retry-After header instead of letting requests time out."},
        {"id": "capstone-empty", "text": "   "}
    ]});
    let path = format!("/v1/collections/{}/documents", d.w.ingest_collection);
    let req = d
        .client
        .post(d.url(&path))
        .bearer_auth(&d.w.api_key)
        .json(&docs);
    let (mut ingested, mut rejected) = (0, 0);
    if let Some((status, _, body)) = d.send("ingest", req).await {
        for r in body["results"].as_array().into_iter().flatten() {
            match r["status"].as_str() {
                Some("ingested") | Some("unchanged") => ingested += 1,
                Some("rejected") => rejected += 1,
                _ => {}
            }
        }
        d.check(
            "ingest_with_one_bad_document",
            status == 200 && ingested == 3 && rejected == 1,
            format!("status {status}, {ingested} ingested or unchanged, {rejected} rejected"),
        );
    } else {
        d.check("ingest_with_one_bad_document", false, "no response");
    }
    progress("ingest");

    // Searches and extractive asks.
    let questions = d.w.questions.clone();
    let mut request_ids = Vec::new();
    let (mut answered, mut grounded) = (0usize, 0usize);
    for (i, (q, collection)) in questions.iter().enumerate() {
        let body = json!({ "query": q, "collection": collection, "k": 5, "mode": "hybrid" });
        let req = d.client.post(d.url("/v1/search")).json(&body);
        if let Some((status, _, body)) = d.send("/v1/search", req).await {
            if status != 200 || body["hits"].as_array().is_none_or(|h| h.is_empty()) {
                d.check("search", false, format!("`{q}`: status {status}"));
            }
        }
        let body = json!({ "question": q, "collection": collection, "generator": "extractive",
                           "user": format!("capstone-user-{}", i % 7) });
        let req = d.client.post(d.url("/v1/ask")).json(&body);
        if let Some((status, _, body)) = d.send("/v1/ask", req).await {
            if status == 200 {
                answered += 1;
                if matches!(
                    body["grounding"].as_str(),
                    Some("cited") | Some("attributed")
                ) {
                    grounded += 1;
                }
                if let Some(id) = body["request_id"].as_str() {
                    request_ids.push(id.to_string());
                }
            } else {
                d.check("ask", false, format!("`{q}`: status {status}"));
            }
        }
    }
    let grounded_share = if answered == 0 {
        0.0
    } else {
        grounded as f64 / answered as f64
    };
    d.check(
        "asks_answered",
        answered == questions.len(),
        format!("{answered} of {} asks answered", questions.len()),
    );
    progress("searches and asks");

    // One streamed ask.
    if let Some((q, collection)) = questions.first().cloned() {
        let body = json!({ "question": q, "collection": collection, "generator": "extractive", "stream": true });
        let started = Instant::now();
        let res = d
            .client
            .post(d.url("/v1/ask"))
            .json(&body)
            .timeout(d.w.timeout)
            .send()
            .await;
        d.requests += 1;
        let (ok, detail) = match res {
            Ok(r) if r.status().is_success() => {
                let ctype = r
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let text = r.text().await.unwrap_or_default();
                let tokens = text.matches("event: token").count();
                let done = text.contains("event: done");
                let has_sources = text
                    .lines()
                    .filter_map(|l| l.strip_prefix("data: "))
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                    .any(|v| v.get("sources").is_some() && v.get("timings").is_some());
                (
                    ctype.starts_with("text/event-stream") && tokens > 0 && done && has_sources,
                    format!("{tokens} token events, final event {done}, sources and timings {has_sources}"),
                )
            }
            Ok(r) => (false, format!("status {}", r.status())),
            Err(e) => {
                d.server_errors += 1;
                (false, e.to_string())
            }
        };
        d.timings
            .entry("/v1/ask (stream)")
            .or_default()
            .push(started.elapsed().as_secs_f64() * 1e3);
        d.check("streamed_ask", ok, detail);
    }
    progress("streamed ask");

    // Feedback on some answers, and on an unknown id (404).
    let mut fb_ok = 0;
    for (i, id) in request_ids.iter().take(6).enumerate() {
        let rating = if i % 3 == 2 { "down" } else { "up" };
        let req = d.client.post(d.url("/v1/feedback")).json(
            &json!({ "request_id": id, "rating": rating, "comment": "from the capstone workload" }),
        );
        if let Some((status, _, _)) = d.send("/v1/feedback", req).await {
            if (200..300).contains(&status) {
                fb_ok += 1;
            }
        }
    }
    let req = d
        .client
        .post(d.url("/v1/feedback"))
        .json(&json!({ "request_id": "no-such-request", "rating": "up" }));
    let unknown = d.send("/v1/feedback", req).await.map(|r| r.0);
    d.check(
        "feedback",
        fb_ok == request_ids.len().min(6) && unknown == Some(404),
        format!("{fb_ok} stored; unknown request id → {unknown:?}"),
    );

    // Invalid requests: each its own 4xx, all problems of a body at once.
    let invalid: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        (
            "blank question",
            d.client
                .post(d.url("/v1/ask"))
                .json(&json!({"question": "  "})),
            422,
        ),
        (
            "k out of range",
            d.client
                .post(d.url("/v1/search"))
                .json(&json!({"query": "x", "k": 0})),
            422,
        ),
        (
            "bad collection name",
            d.client
                .post(d.url("/v1/search"))
                .json(&json!({"query": "x", "collection": "Bad Name"})),
            422,
        ),
        (
            "wrong type",
            d.client
                .post(d.url("/v1/ask"))
                .json(&json!({"question": 42})),
            422,
        ),
        (
            "malformed JSON",
            d.client
                .post(d.url("/v1/ask"))
                .header("content-type", "application/json")
                .body("{\"question\": "),
            400,
        ),
        (
            "bad rating",
            d.client
                .post(d.url("/v1/feedback"))
                .json(&json!({"request_id": "x", "rating": "meh"})),
            422,
        ),
        (
            "write without key",
            d.client
                .post(d.url("/v1/collections/capstone/documents"))
                .json(&json!({"documents": []})),
            401,
        ),
        (
            "unknown collection",
            d.client
                .post(d.url("/v1/search"))
                .json(&json!({"query": "x", "collection": "no-such-collection"})),
            404,
        ),
    ];
    let expected = invalid.len();
    let mut as_expected = 0;
    let mut wrong = Vec::new();
    for (what, req, want) in invalid {
        match d.send("invalid", req).await {
            Some((status, _, _)) if status == want => as_expected += 1,
            Some((status, _, _)) => wrong.push(format!("{what}: {status} (want {want})")),
            None => wrong.push(format!("{what}: no response")),
        }
    }
    d.check(
        "validation",
        wrong.is_empty(),
        if wrong.is_empty() {
            format!("{as_expected} invalid requests refused with the right status")
        } else {
            wrong.join("; ")
        },
    );
    progress("validation");

    // The burst: more local-LLM asks at once than the queue holds.
    let (mut b429, mut bok, mut bother, mut retry_after_ok) = (0, 0, 0, true);
    if d.w.burst > 0 {
        let (q, collection) = questions
            .first()
            .cloned()
            .unwrap_or(("What is the roadmap?".into(), "roadmap".into()));
        let tasks: Vec<_> = (0..d.w.burst)
            .map(|_| {
                let req = d
                    .client
                    .post(d.url("/v1/ask"))
                    .json(&json!({ "question": q, "collection": collection, "generator": "local" }))
                    .timeout(d.w.timeout);
                tokio::spawn(async move {
                    let started = Instant::now();
                    let r = req.send().await;
                    let ms = started.elapsed().as_secs_f64() * 1e3;
                    match r {
                        Ok(r) => {
                            let ra = r.headers().get("retry-after").is_some();
                            (Some(r.status().as_u16()), ra, ms)
                        }
                        Err(_) => (None, false, ms),
                    }
                })
            })
            .collect();
        for t in tasks {
            let (status, has_retry_after, ms) = t.await.map_err(|e| e.to_string())?;
            d.requests += 1;
            d.timings.entry("/v1/ask (local)").or_default().push(ms);
            match status {
                Some(200) => bok += 1,
                Some(429) => {
                    b429 += 1;
                    retry_after_ok &= has_retry_after;
                }
                Some(s) if s >= 500 => {
                    bother += 1;
                    d.server_errors += 1;
                }
                Some(_) => bother += 1,
                None => {
                    bother += 1;
                    d.server_errors += 1;
                }
            }
        }
        let must_refuse = d.w.burst > d.w.burst_capacity;
        d.check(
            "burst_back_pressure",
            bother == 0 && retry_after_ok && (!must_refuse || b429 > 0) && bok > 0,
            format!(
                "{} concurrent local asks, capacity {}: {bok} answered, {b429} refused with 429 (Retry-After {}), {bother} other",
                d.w.burst,
                d.w.burst_capacity,
                if retry_after_ok { "present" } else { "MISSING" }
            ),
        );
        progress("burst");
    }

    // The service's own count agrees.
    let metrics = match d.client.get(d.url("/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(e) => format!("# scrape failed: {e}"),
    };
    let served = counter_sum(&metrics, "roadmap_rag_requests_total");
    d.check(
        "metrics_count_requests",
        served >= (d.requests as f64) * 0.99,
        format!(
            "the service counted {served} requests, the workload sent {}",
            d.requests
        ),
    );

    let latency = d
        .timings
        .iter()
        .map(|(route, v)| {
            let p = percentiles(v, &[50.0, 95.0, 100.0]);
            (
                route.to_string(),
                RouteLatency {
                    requests: v.len(),
                    p50_ms: p[0],
                    p95_ms: p[1],
                    max_ms: p[2],
                },
            )
        })
        .collect();
    let error_ratio = if d.requests == 0 {
        0.0
    } else {
        d.server_errors as f64 / d.requests as f64
    };
    Ok(WorkloadReport {
        latency,
        requests: d.requests,
        server_errors: d.server_errors,
        error_ratio,
        burst_429: b429,
        burst_ok: bok,
        burst_other: bother,
        grounded_share,
        validation_rejected: as_expected,
        validation_expected: expected,
        ingest_rejected: rejected,
        ingest_ingested: ingested,
        checks: d.checks,
    })
}

/// Every sample of a Prometheus text exposition as `(name, labels, value)`,
/// `labels` being the text between the braces (empty without labels).
/// Comment lines and lines whose value is not a number are skipped.
pub fn samples(text: &str) -> impl Iterator<Item = (&str, &str, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let v = value.parse::<f64>().ok()?;
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            Some((name, labels, v))
        })
}

/// Sum of every series of a counter in Prometheus text output.
pub fn counter_sum(text: &str, name: &str) -> f64 {
    samples(text)
        .filter(|(n, _, _)| *n == name)
        .map(|(_, _, v)| v)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_counter_series() {
        let text = "# TYPE roadmap_rag_requests counter\nroadmap_rag_requests_total{route=\"/v1/ask\",status=\"200\"} 3\nroadmap_rag_requests_total{route=\"/v1/search\",status=\"200\"} 4\nroadmap_rag_requests_total_other 9\n";
        assert_eq!(counter_sum(text, "roadmap_rag_requests_total"), 7.0);
    }
}
