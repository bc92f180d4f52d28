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

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use roadmap_rag::generate::LocalGenerator;
use roadmap_rag::{HashEmbedder, SqliteStore, TextEmbedder};
use roadmap_rag_service::config::ServiceConfig;
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
];

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
        embedder,
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
    let mut metrics = BTreeMap::new();
    metrics.insert("service_requests".to_string(), report.requests as f64);
    metrics.insert("service_error_ratio".to_string(), report.error_ratio);
    for (route, name) in [("/v1/search", "search"), ("/v1/ask", "ask")] {
        if let Some(l) = report.latency.get(route) {
            metrics.insert(format!("service_{name}_p50_ms"), l.p50_ms);
            metrics.insert(format!("service_{name}_p95_ms"), l.p95_ms);
        }
    }
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
        }),
    })
}
