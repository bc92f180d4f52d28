//! `roadmap monitor service`: is the RAG service seeing something new?
//!
//! The request log's per-request features (question length in tokens, top
//! retrieval score, hits above the relevance threshold, answer length,
//! grounding, latency, no-answer) in a reference window are compared with a
//! current window by the same Evidently-default drift tests as `monitor
//! drift`. The windows end at `--end` (default: now): the current one is the
//! last `--current-window`, the reference the `--reference-window` before it.
//! Feature extraction and the drift call live in
//! `roadmap_rag_service::features`, so the service computes the same numbers
//! for its drift gauges.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use roadmap_quality::drift::parse_stattest_arg;
use roadmap_quality::DriftOptions;
use roadmap_rag_service::config::parse_window;
use roadmap_rag_service::features::{open_read_only, service_drift, Window};

use super::Globals;
use crate::cli::ab::{shown, store_path};

#[derive(Debug, clap::Args)]
pub struct ServiceArgs {
    /// The service's SQLite store holding the request log [default: rag.sqlite in the data directory, the store of `roadmap rag serve`]
    #[arg(
        long,
        env = "ROADMAP_RAG_STORE",
        hide_env_values = true,
        value_name = "PATH"
    )]
    store: Option<String>,
    /// Length of the reference window, which ends where the current one starts (e.g. 7d, 12h, 30m)
    #[arg(long, default_value = "7d", value_name = "DURATION")]
    reference_window: String,
    /// Length of the current window, which ends at --end (e.g. 1d, 6h)
    #[arg(long, default_value = "1d", value_name = "DURATION")]
    current_window: String,
    /// End of the current window, RFC 3339 (e.g. 2026-12-02T00:00:00Z) [default: now]
    #[arg(long, value_name = "TIME")]
    end: Option<String>,
    /// Override a feature's test, e.g. `--stattest latency_ms=psi` (ks, wasserstein, chisquare, z,
    /// jensenshannon, psi); repeatable
    #[arg(long, value_name = "FEATURE=TEST")]
    stattest: Vec<String>,
    /// Dataset drift when at least this share of the tested features drifted
    #[arg(long, default_value_t = 0.5)]
    drift_share: f64,
    /// Print one JSON object (the windows, then one entry per feature with every statistic)
    #[arg(long)]
    json: bool,
    /// Also write the HTML report (binned histograms, never the raw rows)
    #[arg(long, value_name = "OUT.html")]
    html: Option<PathBuf>,
}

fn window_secs(flag: &str, value: &str) -> Result<f64> {
    parse_window(value).map(|d| d.as_secs_f64()).with_context(|| {
        format!("--{flag} `{value}` is not a duration: write a positive number and a unit d, h, m or s (e.g. 7d, 12h)")
    })
}

pub fn run(a: ServiceArgs, g: &Globals) -> Result<ExitCode> {
    if !(a.drift_share > 0.0 && a.drift_share <= 1.0) {
        bail!("--drift-share must be in (0, 1], got {}", a.drift_share);
    }
    let reference_secs = window_secs("reference-window", &a.reference_window)?;
    let current_secs = window_secs("current-window", &a.current_window)?;
    let end_unix = match &a.end {
        Some(t) => {
            let t = chrono::DateTime::parse_from_rfc3339(t.trim()).with_context(|| {
                format!("--end `{t}` is not an RFC 3339 time (e.g. 2026-12-02T00:00:00Z)")
            })?;
            t.timestamp_micros() as f64 / 1e6
        }
        None => roadmap_rag_service::requestlog::now_unix(),
    };
    let mut opts = DriftOptions {
        drift_share: a.drift_share,
        ..Default::default()
    };
    for s in &a.stattest {
        let (feature, test) = parse_stattest_arg(s)?;
        if !roadmap_rag_service::metrics::DRIFT_FEATURES.contains(&feature.as_str()) {
            bail!(
                "--stattest `{s}`: no feature `{feature}`; the features are {}",
                roadmap_rag_service::metrics::DRIFT_FEATURES.join(", ")
            );
        }
        opts.stattest.insert(feature, test);
    }
    let store = store_path(a.store.as_deref(), g)?;
    let conn = open_read_only(&store)?;
    let (reference, current) = Window::pair(end_unix, reference_secs, current_secs);
    let drift = service_drift(&conn, &shown(&store), reference, current, &opts)?;
    if let Some(path) = &a.html {
        std::fs::write(path, drift.report.to_html()?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    if a.json {
        let mut v = serde_json::to_value(&drift)?;
        v["store"] = serde_json::Value::String(shown(&store));
        v["drift"] = drift.report.to_json();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "request log {}: reference {} ({} requests), current {} ({} requests)",
            shown(&store),
            reference.describe(),
            drift.reference_requests,
            current.describe(),
            drift.current_requests
        );
        println!("{}", drift.report.render_table());
    }
    Ok(ExitCode::SUCCESS)
}
