//! The capstone's drift workload: does the service's own drift check
//! ([`crate::drift_task`]) raise its gauge when users start asking something
//! else, and stay quiet when they do not?
//!
//! Against a running service whose request log is fresh and whose `[drift]`
//! windows are seconds long (the caller configures it so), three phases of
//! traffic, each the same number of requests alternating `/v1/ask` and
//! `/v1/search`:
//!
//! 1. **A**, normal: the caller's questions about the knowledge base;
//! 2. **B**, normal again: the drift check's current window holds B and its
//!    reference A — no dataset drift may be reported;
//! 3. **D**, drifted: long off-topic questions ([`DRIFTED_QUESTIONS`]) — the
//!    current window holds D, the reference A and B, and dataset drift must be
//!    reported.
//!
//! Real timestamps decide which requests fall in which window, so the phases
//! are separated by pauses and each verdict is read at the right moment: a
//! run at time `t` sees `[t − C, t)` as its current window (`C` =
//! `drift.current_window`). For the current window to hold exactly phase X
//! (from `x0` to `x1`, the previous phase ending at `p1`), `t` must lie in
//! `[max(p1 + C, x1), x0 + C]`: the verdict is read from `/metrics` once
//! `roadmap_rag_drift_last_run_timestamp_seconds` (the end of the verdict's
//! current window) is in that interval, which is `gap` long when phase X took
//! at most `C − gap`. A phase that takes longer, or a verdict that never comes
//! in time, is an error that says so — never a guess.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use crate::requestlog::now_unix;
use crate::workload::Check;

/// Long questions about nothing in the knowledge base (baking, gardening,
/// travel, housework): 45 to 55 words each where the normal ones have 5 to
/// 8. Apart from function words they use no word of the capstone's built-in
/// knowledge base (a test of the runner checks it), so retrieval finds only
/// weak matches and the extractive answer is "I don't know" — what an
/// off-topic question should get.
pub const DRIFTED_QUESTIONS: [&str; 4] = [
    "What is the best way to bake a sourdough bread with rye flour in a cold kitchen during the winter, \
     how many hours should the dough proof ahead of baking in the oven, and should I use a cast iron pot \
     with a lid or a baking stone with a tray of water underneath?",
    "My tomato plants show yellow leaves with brown spots near the bottom of the stems and the fruit \
     cracks whenever heavy rain falls, which fertiliser, watering routine and pruning method would suit a \
     small balcony garden that enjoys roughly six hours of direct sun a day?",
    "Which train connections linking Lisbon, Madrid and Barcelona are the comfiest for a family with \
     small children and a lot of luggage, are night trains still running on that route in the autumn, and \
     how far in advance should the tickets be bought to get a good price?",
    "How do I remove an old red wine stain from a light wool carpet without damaging the fibres, is white \
     vinegar or baking soda safer to use, and what should I do if the stain reappears whenever the carpet \
     dried completely in a warm room overnight?",
];

/// What to drive and how the service's drift check is timed.
#[derive(Debug, Clone)]
pub struct DriftWorkload {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    /// Normal questions (about the knowledge base).
    pub questions: Vec<String>,
    /// The collection they are asked of.
    pub collection: String,
    /// Requests per phase.
    pub requests_per_phase: usize,
    /// The service's `drift.current_window`, in seconds.
    pub current_window_secs: f64,
    /// Pause between phases (longer than the service's `drift.interval_seconds`).
    pub gap: Duration,
    /// Deadline of each request.
    pub timeout: Duration,
}

/// The drift gauges of one `/metrics` scrape.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DriftGauges {
    /// `roadmap_rag_drift_last_run_timestamp_seconds` (0: no verdict yet).
    pub last_run: f64,
    /// `roadmap_rag_dataset_drift`; `None` when absent (no verdict).
    pub dataset_drift: Option<f64>,
    /// `roadmap_rag_drift_detected` by feature.
    pub detected: BTreeMap<String, f64>,
    /// `roadmap_rag_drift_score` by feature: (test, score).
    pub scores: BTreeMap<String, (String, f64)>,
    /// `roadmap_rag_drift_window_requests` by window.
    pub window_requests: BTreeMap<String, f64>,
}

impl DriftGauges {
    /// Share of the tested features that drifted (`None` without a verdict).
    pub fn share_drifted(&self) -> Option<f64> {
        (!self.detected.is_empty())
            .then(|| self.detected.values().sum::<f64>() / self.detected.len() as f64)
    }

    /// The features whose gauge says drifted.
    pub fn drifted(&self) -> Vec<&str> {
        self.detected
            .iter()
            .filter(|(_, v)| **v == 1.0)
            .map(|(k, _)| k.as_str())
            .collect()
    }
}

/// The value of label `name` in a sample line's label set.
fn label<'a>(labels: &'a str, name: &str) -> Option<&'a str> {
    labels.split(',').find_map(|kv| {
        kv.strip_prefix(name)?
            .strip_prefix("=\"")?
            .strip_suffix('"')
    })
}

/// Reads the drift gauges from an OpenMetrics text.
pub fn parse_gauges(text: &str) -> DriftGauges {
    let mut g = DriftGauges::default();
    for (name, labels, v) in crate::workload::samples(text) {
        match name {
            "roadmap_rag_drift_last_run_timestamp_seconds" => g.last_run = v,
            "roadmap_rag_dataset_drift" => g.dataset_drift = Some(v),
            "roadmap_rag_drift_detected" => {
                if let Some(f) = label(labels, "feature") {
                    g.detected.insert(f.to_string(), v);
                }
            }
            "roadmap_rag_drift_score" => {
                if let (Some(f), Some(t)) = (label(labels, "feature"), label(labels, "test")) {
                    g.scores.insert(f.to_string(), (t.to_string(), v));
                }
            }
            "roadmap_rag_drift_window_requests" => {
                if let Some(w) = label(labels, "window") {
                    g.window_requests.insert(w.to_string(), v);
                }
            }
            _ => {}
        }
    }
    g
}

/// One phase of traffic: when it started and ended (Unix seconds) and how it went.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub start_unix: f64,
    pub end_unix: f64,
    pub requests: usize,
    /// Requests not answered with 200 (each is left out of the drift windows).
    pub failed: usize,
}

/// What the drift workload observed.
#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    pub phases: BTreeMap<String, Phase>,
    /// The verdict over A (reference) vs B (current): normal traffic only.
    pub normal: DriftGauges,
    /// The verdict over A and B (reference) vs D (current): drifted traffic.
    pub drifted: DriftGauges,
    pub checks: Vec<Check>,
}

struct Driver {
    client: reqwest::Client,
    w: DriftWorkload,
}

impl Driver {
    async fn phase(&self, questions: &[String]) -> Phase {
        let start_unix = now_unix();
        let mut failed = 0;
        for i in 0..self.w.requests_per_phase {
            let q = &questions[(i / 2) % questions.len()];
            let (path, body) = if i % 2 == 0 {
                (
                    "/v1/ask",
                    json!({"question": q, "collection": self.w.collection}),
                )
            } else {
                (
                    "/v1/search",
                    json!({"query": q, "collection": self.w.collection}),
                )
            };
            let ok = self
                .client
                .post(format!("{}{path}", self.w.base_url))
                .timeout(self.w.timeout)
                .json(&body)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            failed += usize::from(!ok);
        }
        Phase {
            start_unix,
            end_unix: now_unix(),
            requests: self.w.requests_per_phase,
            failed,
        }
    }

    async fn scrape(&self) -> Result<DriftGauges, String> {
        let text = self
            .client
            .get(format!("{}/metrics", self.w.base_url))
            .timeout(self.w.timeout)
            .send()
            .await
            .map_err(|e| format!("GET /metrics: {e}"))?
            .text()
            .await
            .map_err(|e| format!("GET /metrics: {e}"))?;
        Ok(parse_gauges(&text))
    }

    /// The first verdict whose current window is exactly `phase` (the one
    /// before it ended at `previous_end`): see the module doc.
    async fn verdict_for(&self, previous_end: f64, phase: &Phase) -> Result<DriftGauges, String> {
        let c = self.w.current_window_secs;
        let (lo, hi) = ((previous_end + c).max(phase.end_unix), phase.start_unix + c);
        if lo > hi {
            return Err(format!(
                "the phase took {:.1} s and began {:.1} s after the previous one: no current window of {c} s \
                 holds it alone (raise drift.current_window or lower the requests per phase)",
                phase.end_unix - phase.start_unix,
                phase.start_unix - previous_end
            ));
        }
        // The verdict is due by `hi`; 30 s more covers a slow run on a busy machine.
        let deadline = Instant::now() + Duration::from_secs_f64((hi - now_unix()).max(0.0) + 30.0);
        loop {
            let g = self.scrape().await?;
            if g.last_run >= lo && g.last_run <= hi {
                return Ok(g);
            }
            if g.last_run > hi {
                return Err(format!(
                    "the drift check's latest verdict ends at {:.2}, past [{lo:.2}, {hi:.2}] where its \
                     current window holds exactly the phase, and none was seen inside it (is \
                     drift.interval_seconds shorter than the {:.1} s gap?)",
                    g.last_run,
                    self.w.gap.as_secs_f64()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no drift verdict in [{lo:.2}, {hi:.2}] (latest: {:.2}; is the drift check running?)",
                    g.last_run
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Drives the three phases and reads the two verdicts (see the module doc).
pub async fn run(w: DriftWorkload) -> Result<DriftReport, String> {
    if w.questions.is_empty() || w.requests_per_phase < 2 {
        return Err("the drift workload needs questions and at least 2 requests per phase".into());
    }
    let client = reqwest::Client::builder()
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let d = Driver { client, w };
    let drifted_questions: Vec<String> = DRIFTED_QUESTIONS.iter().map(|q| q.to_string()).collect();
    let mut phases = BTreeMap::new();

    let a = d.phase(&d.w.questions).await;
    tokio::time::sleep(d.w.gap).await;
    let b = d.phase(&d.w.questions).await;
    let normal = d.verdict_for(a.end_unix, &b).await?;
    tokio::time::sleep(d.w.gap).await;
    let x = d.phase(&drifted_questions).await;
    let drifted = d.verdict_for(b.end_unix, &x).await?;

    let mut checks = Vec::new();
    let failed = a.failed + b.failed + x.failed;
    checks.push(Check {
        name: "drift_traffic".into(),
        passed: failed == 0,
        detail: format!(
            "{} requests in 3 phases (normal, normal, drifted), {failed} not answered with 200",
            a.requests + b.requests + x.requests
        ),
    });
    let describe = |g: &DriftGauges| {
        format!(
            "dataset drift {} ({} of {} features drifted: {}; {} reference vs {} current requests)",
            g.dataset_drift.map_or("absent".into(), |v| v.to_string()),
            g.drifted().len(),
            g.detected.len(),
            if g.drifted().is_empty() {
                "none".to_string()
            } else {
                g.drifted().join(", ")
            },
            g.window_requests.get("reference").copied().unwrap_or(0.0),
            g.window_requests.get("current").copied().unwrap_or(0.0),
        )
    };
    checks.push(Check {
        name: "drift_quiet_on_normal_traffic".into(),
        passed: normal.dataset_drift == Some(0.0),
        detail: format!("normal vs normal traffic: {}", describe(&normal)),
    });
    checks.push(Check {
        name: "drift_fires_on_drifted_traffic".into(),
        passed: drifted.dataset_drift == Some(1.0)
            && drifted.detected.get("question_tokens") == Some(&1.0),
        detail: format!(
            "long off-topic questions after normal traffic: {}",
            describe(&drifted)
        ),
    });
    phases.insert("a_normal".to_string(), a);
    phases.insert("b_normal".to_string(), b);
    phases.insert("d_drifted".to_string(), x);
    Ok(DriftReport {
        phases,
        normal,
        drifted,
        checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_are_read_from_the_metrics_text() {
        let text = "# TYPE roadmap_rag_dataset_drift gauge\n\
            roadmap_rag_dataset_drift 1\n\
            roadmap_rag_drift_detected{feature=\"question_tokens\"} 1\n\
            roadmap_rag_drift_detected{feature=\"latency_ms\"} 0\n\
            roadmap_rag_drift_score{feature=\"question_tokens\",test=\"ks\"} 1.2e-9\n\
            roadmap_rag_drift_last_run_timestamp_seconds 1700000000.5\n\
            roadmap_rag_drift_window_requests{window=\"current\"} 40\n\
            roadmap_rag_drift_runs_total{result=\"ok\"} 3\n";
        let g = parse_gauges(text);
        assert_eq!(g.dataset_drift, Some(1.0));
        assert_eq!(g.last_run, 1_700_000_000.5);
        assert_eq!(g.drifted(), ["question_tokens"]);
        assert_eq!(g.share_drifted(), Some(0.5));
        assert_eq!(g.scores["question_tokens"], ("ks".to_string(), 1.2e-9));
        assert_eq!(g.window_requests["current"], 40.0);
        let none = parse_gauges("# TYPE roadmap_rag_dataset_drift gauge\n");
        assert_eq!(none.dataset_drift, None);
        assert_eq!(none.share_drifted(), None);
    }

    #[test]
    fn drifted_questions_are_long_and_valid() {
        for q in DRIFTED_QUESTIONS {
            let words = q.split_whitespace().count();
            assert!((40..=60).contains(&words), "{words} words: {q}");
            assert!(q.chars().count() <= crate::validate::MAX_QUESTION_CHARS);
        }
    }
}
