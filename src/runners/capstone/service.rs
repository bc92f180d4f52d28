//! Capstone part `service` (issue 12): the RAG HTTP service started in-process
//! on a free 127.0.0.1 port, driven by the scripted capstone workload
//! (`roadmap_rag_service::workload`), its `/metrics` scraped.
//!
//! The service gets a SQLite store in the run's folder (`service.sqlite`,
//! also its request log) holding the built-in knowledge base (the roadmap and
//! its docs, `crate::knowledge`), the `hash` embedder, and one API key made
//! for this run (never printed or stored). With `--service-burst N > 0` the
//! local LLM (SmolLM2-135M-Instruct from the asset cache) is loaded as the
//! `local` generator with one generation slot and one queue place, and the
//! workload fires N local asks at once: the ones past the 2 the service holds
//! must be refused with 429 + `Retry-After`, none may time out or fail (the
//! request deadline is raised to 120 s for this: see [`REQUEST_TIMEOUT_SECONDS`]).
//!
//! Every workload check becomes a check of this part (`service.<name>`):
//! readiness, an ingest with one bad document (rejected with its reason, the
//! rest ingested), searches and extractive asks, a streamed ask, feedback,
//! invalid requests (each its 4xx), the burst, the `/metrics` counters.
//! Recorded: p50/p95 latency of `/v1/search` and `/v1/ask` (the client's view,
//! NumPy-linear percentiles), error ratio (5xx or no answer over requests), 429s
//! under the burst, share of grounded answers, validation rejections.
//!
//! Then the drift check (issue 13): a second service over the same knowledge
//! base, with a fresh request log (`drift-requests.sqlite`) and its periodic
//! drift check every [`DRIFT_INTERVAL_SECONDS`] over a current window of
//! [`DRIFT_CURRENT_WINDOW_SECONDS`] (a reference window of a minute before
//! it), is driven by `roadmap_rag_service::drift_workload`: normal questions,
//! normal again — `roadmap_rag_dataset_drift` read from `/metrics` must be 0 —
//! then long off-topic questions — it must be 1, with `question_tokens` among
//! the drifted features. Recorded: the share of drifted features in each
//! verdict (from `roadmap_rag_drift_detected`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use roadmap_rag::generate::LocalGenerator;
use roadmap_rag::{HashEmbedder, SqliteStore, TextEmbedder};
use roadmap_rag_service::config::ServiceConfig;
use roadmap_rag_service::drift_workload::{self, DriftWorkload};
use roadmap_rag_service::state::{BoxedGenerator, Store};
use roadmap_rag_service::workload::{self, Workload};
use roadmap_rag_service::{BackgroundService, Resources};
use serde_json::json;

use super::{Ran, Reporter, Settings};
use crate::knowledge;

pub const METRICS: &[&str] = &[
    "service_requests",
    "service_error_ratio",
    "service_search_p50_ms",
    "service_search_p95_ms",
    "service_ask_p50_ms",
    "service_ask_p95_ms",
    "service_grounded_share",
    "service_validation_rejected",
    "service_ingest_rejected",
    "service_burst_429",
    "service_drift_share_normal",
    "service_drift_share_drifted",
];

/// The drift check's service: a drift run every quarter second, over a current
/// window of 4 s (each phase of [`DRIFT_REQUESTS_PER_PHASE`] extractive
/// requests takes well under a second here) and a reference window of a
/// minute (which holds every earlier phase of the fresh log).
const DRIFT_INTERVAL_SECONDS: f64 = 0.25;
const DRIFT_CURRENT_WINDOW_SECONDS: f64 = 4.0;
const DRIFT_REQUESTS_PER_PHASE: usize = 30;
/// Pause between phases: several drift runs fall in it (see `drift_workload`).
const DRIFT_GAP: Duration = Duration::from_millis(1500);

/// Generation slots and queue places of the service under test (the `deploy`
/// part's container gets the same settings and questions).
pub(super) const CONCURRENCY: usize = 1;
pub(super) const QUEUE_DEPTH: usize = 1;
/// Tokens per local answer in the burst (enough to keep the slot busy).
pub(super) const BURST_MAX_TOKENS: usize = 24;
/// Every request's deadline. The service's default is 30 s, but one local answer over a
/// retrieved context took 18 s on a busy 2-core machine, so a queued ask would time out
/// behind it; the burst checks refusals (429), not the deadline.
pub(super) const REQUEST_TIMEOUT_SECONDS: f64 = 120.0;

/// Questions about the built-in knowledge base.
pub(super) const QUESTIONS: [&str; 5] = [
    "what do I build in phase 4",
    "what is phase 5 about",
    "how is a run recorded in the progress database",
    "what does the capstone check",
    "how do I log study time",
];

/// Loads SmolLM2 as the `local` generator.
fn local_generator(cache_dir: &std::path::Path) -> Result<BoxedGenerator> {
    let dir = roadmap_common::assets::ensure(cache_dir, "smollm2-135m-instruct")
        .context("cannot get the SmolLM2 model (`roadmap assets fetch smollm2-135m-instruct`)")?;
    let llm = roadmap_llm::LocalLlm::load(&dir, &roadmap_llm::LoadOptions::default())
        .with_context(|| format!("cannot load SmolLM2 from {}", dir.display()))?;
    let mut g = LocalGenerator::new(llm);
    g.params.max_tokens = BURST_MAX_TOKENS;
    Ok(Box::new(g))
}

/// The workload's request count, error ratio and client-side p50/p95 of
/// search and ask, named `{prefix}_requests`, `{prefix}_search_p50_ms`…
/// (the `deploy` part records the same figures for the container).
pub(super) fn workload_figures(
    prefix: &str,
    report: &workload::WorkloadReport,
) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    m.insert(format!("{prefix}_requests"), report.requests as f64);
    m.insert(format!("{prefix}_error_ratio"), report.error_ratio);
    for (route, name) in [("/v1/search", "search"), ("/v1/ask", "ask")] {
        if let Some(l) = report.latency.get(route) {
            m.insert(format!("{prefix}_{name}_p50_ms"), l.p50_ms);
            m.insert(format!("{prefix}_{name}_p95_ms"), l.p95_ms);
        }
    }
    m
}

pub fn run(s: &Settings, rep: &mut Reporter) -> Result<Ran> {
    let db = s.artifact_dir.join("service.sqlite");
    let embedder: Arc<dyn TextEmbedder + Send + Sync> = Arc::new(HashEmbedder::default());
    rep.progress("indexing the built-in knowledge base (hash embedder)");
    {
        let mut store = SqliteStore::open(&db)
            .with_context(|| format!("cannot create the service store {}", db.display()))?;
        // The embedded roadmap (the run does not see `--roadmap`), as prose.
        let roadmap = crate::roadmap::Roadmap::load(None, &|name| {
            super::super::find(name).map(|r| r.metrics().iter().map(|m| m.to_string()).collect())
        })
        .context("cannot load the embedded roadmap")?;
        knowledge::ensure(&mut store, embedder.as_ref(), &roadmap, false)
            .context("cannot index the built-in knowledge base")?;
    }

    let mut burst = s.service_burst;
    let mut generators: Vec<(&'static str, Vec<BoxedGenerator>)> = Vec::new();
    let mut unavailable = Vec::new();
    if burst > 0 {
        rep.progress("loading the local LLM for the burst (SmolLM2-135M-Instruct)");
        match local_generator(&s.cache_dir) {
            Ok(g) => generators.push(("local", vec![g])),
            Err(e) => {
                let why = format!("{e:#}");
                rep.check(
                    "local_llm",
                    false,
                    format!("no burst: the local LLM is not available ({why}); --service-burst 0 runs without it"),
                );
                unavailable.push(("local", why));
                burst = 0;
            }
        }
    }

    let mut config = ServiceConfig::default();
    config.server.addr = "127.0.0.1:0".parse().expect("a socket address");
    config.retrieval.embedder = "hash".into();
    config.retrieval.default_collection = knowledge::COLLECTION.into();
    config.generation.concurrency = CONCURRENCY;
    config.generation.queue_depth = QUEUE_DEPTH;
    config.generation.max_tokens = BURST_MAX_TOKENS;
    config.server.request_timeout_seconds = REQUEST_TIMEOUT_SECONDS;
    // A key for this run only: kept in memory, never printed or recorded.
    let key = format!(
        "capstone-{:x}-{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let mut keys = roadmap_http::ApiKeys::none();
    keys.add(&key, "the capstone run")
        .context("cannot register the run's API key")?;
    let open_path = db.clone();
    let resources = Resources {
        open_store: Arc::new(move || Ok(Box::new(SqliteStore::open(&open_path)?) as Store)),
        store_label: db.display().to_string(),
        embedder: embedder.clone(),
        generators,
        unavailable,
        api_keys: keys,
        request_log: Some(db.clone()),
        user_salt: "capstone".into(),
        revision: env!("CARGO_PKG_VERSION").into(),
    };
    let service = BackgroundService::start(config, resources)
        .context("cannot start the RAG service on 127.0.0.1")?;
    rep.progress(&format!(
        "service listening on {}; driving the workload{}",
        service.base_url(),
        if burst > 0 {
            format!(" (burst of {burst} local asks)")
        } else {
            String::new()
        }
    ));
    let w = Workload {
        base_url: service.base_url(),
        api_key: key,
        questions: QUESTIONS
            .iter()
            .map(|q| (q.to_string(), knowledge::COLLECTION.to_string()))
            .collect(),
        ingest_collection: "capstone".into(),
        burst,
        burst_capacity: CONCURRENCY + QUEUE_DEPTH,
        timeout: Duration::from_secs_f64(REQUEST_TIMEOUT_SECONDS + 30.0),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime for the workload")?;
    let result = runtime.block_on(workload::run(w, |step| {
        eprintln!("  … service: {step}");
    }));
    let stopped = service.shutdown();
    let report = result.map_err(|e| anyhow::anyhow!("the workload could not run: {e}"))?;
    stopped.context("the service did not stop cleanly")?;

    for c in &report.checks {
        rep.check(&c.name, c.passed, c.detail.clone());
    }
    let drift = drift_check(s, &db, embedder, &runtime, rep)?;
    let mut metrics = BTreeMap::new();
    if let Some(d) = &drift {
        for c in &d.checks {
            rep.check(&c.name, c.passed, c.detail.clone());
        }
        for (name, g) in [("normal", &d.normal), ("drifted", &d.drifted)] {
            if let Some(share) = g.share_drifted() {
                metrics.insert(format!("service_drift_share_{name}"), share);
            }
        }
    }
    metrics.extend(workload_figures("service", &report));
    metrics.insert("service_grounded_share".to_string(), report.grounded_share);
    metrics.insert(
        "service_validation_rejected".to_string(),
        report.validation_rejected as f64,
    );
    metrics.insert(
        "service_ingest_rejected".to_string(),
        report.ingest_rejected as f64,
    );
    if burst > 0 {
        metrics.insert("service_burst_429".to_string(), report.burst_429 as f64);
    }
    Ok(Ran::Done {
        metrics,
        details: json!({
            "latency": report.latency,
            "requests": report.requests,
            "server_errors": report.server_errors,
            "burst": burst,
            "burst_ok": report.burst_ok,
            "burst_429": report.burst_429,
            "burst_other": report.burst_other,
            "validation_expected": report.validation_expected,
            "drift": drift,
        }),
    })
}

/// Starts the drift check's service (see the module doc), drives the drift
/// workload and stops it. `None` (with a failed check) when it could not run.
fn drift_check(
    s: &Settings,
    db: &std::path::Path,
    embedder: Arc<dyn TextEmbedder + Send + Sync>,
    runtime: &tokio::runtime::Runtime,
    rep: &mut Reporter,
) -> Result<Option<drift_workload::DriftReport>> {
    let log = s.artifact_dir.join("drift-requests.sqlite");
    for f in ["", "-wal", "-shm"] {
        let p = std::path::PathBuf::from(format!("{}{f}", log.display()));
        if p.exists() {
            std::fs::remove_file(&p)
                .with_context(|| format!("cannot remove the old {}", p.display()))?;
        }
    }
    let mut config = ServiceConfig::default();
    config.server.addr = "127.0.0.1:0".parse().expect("a socket address");
    config.retrieval.embedder = "hash".into();
    config.retrieval.default_collection = knowledge::COLLECTION.into();
    config.drift.interval_seconds = DRIFT_INTERVAL_SECONDS;
    config.drift.current_window = format!("{DRIFT_CURRENT_WINDOW_SECONDS}s");
    config.drift.reference_window = "60s".into();
    let open_path = db.to_path_buf();
    let resources = Resources {
        open_store: Arc::new(move || Ok(Box::new(SqliteStore::open(&open_path)?) as Store)),
        store_label: db.display().to_string(),
        embedder,
        generators: Vec::new(),
        unavailable: Vec::new(),
        api_keys: roadmap_http::ApiKeys::none(),
        request_log: Some(log),
        user_salt: "capstone-drift".into(),
        revision: env!("CARGO_PKG_VERSION").into(),
    };
    let service = BackgroundService::start(config, resources)
        .context("cannot start the drift check's RAG service on 127.0.0.1")?;
    rep.progress(&format!(
        "drift check: normal, normal, then off-topic traffic against {} (a drift run every {DRIFT_INTERVAL_SECONDS} s)",
        service.base_url()
    ));
    let result = runtime.block_on(drift_workload::run(DriftWorkload {
        base_url: service.base_url(),
        questions: QUESTIONS.iter().map(|q| q.to_string()).collect(),
        collection: knowledge::COLLECTION.into(),
        requests_per_phase: DRIFT_REQUESTS_PER_PHASE,
        current_window_secs: DRIFT_CURRENT_WINDOW_SECONDS,
        gap: DRIFT_GAP,
        timeout: Duration::from_secs(30),
    }));
    service
        .shutdown()
        .context("the drift check's service did not stop cleanly")?;
    match result {
        Ok(r) => Ok(Some(r)),
        Err(e) => {
            rep.check("drift", false, e);
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use roadmap_rag_service::drift_workload::DRIFTED_QUESTIONS;

    /// The extractive answerer's function words (`roadmap_rag::generate::STOPWORDS`):
    /// the only words a drifted question may share with the knowledge base.
    const FUNCTION_WORDS: &[&str] = &[
        "a", "an", "the", "of", "in", "on", "at", "to", "for", "by", "with", "from", "and", "or",
        "is", "are", "was", "were", "be", "been", "it", "its", "this", "that", "these", "those",
        "as", "do", "does", "did", "what", "which", "who", "whom", "whose", "when", "where", "why",
        "how", "s",
    ];

    fn words(text: &str) -> BTreeSet<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    }

    /// The drift check relies on the off-topic questions finding nothing to
    /// answer from (see `DRIFTED_QUESTIONS`): if the knowledge base grows a word
    /// they use, this says which, before the runner's check turns flaky.
    #[test]
    fn drifted_questions_share_no_content_word_with_the_knowledge_base() {
        let roadmap = crate::roadmap::Roadmap::load(None, &|name| {
            crate::runners::find(name).map(|r| r.metrics().iter().map(|m| m.to_string()).collect())
        })
        .unwrap();
        let mut kb = BTreeSet::new();
        for d in crate::knowledge::documents(&roadmap) {
            kb.extend(words(std::str::from_utf8(&d.bytes).unwrap()));
        }
        assert!(
            kb.len() > 300,
            "{} words: the knowledge base is not loaded",
            kb.len()
        );
        for q in DRIFTED_QUESTIONS {
            let shared: Vec<String> = words(q)
                .into_iter()
                .filter(|w| kb.contains(w) && !FUNCTION_WORDS.contains(&w.as_str()))
                .collect();
            assert!(
                shared.is_empty(),
                "{shared:?} of `{q}` are in the knowledge base"
            );
        }
    }
}
