//! `roadmap ab report`: an experiment's report from the service's request
//! log — per variant users, exposures and metrics; health (sample-ratio
//! mismatch against the configured weights, users in several variants,
//! exposures before the start); effects against the control (two-proportion
//! z-test, Welch's t-test, delta-method lift, mSPRT, Bayesian chance to win).
//!
//! The request log is read per (user, variant) by
//! `roadmap_rag_service::experiment_log::experiment_users`; the rows become
//! `roadmap_abtest::analysis::UserRow`s and go through
//! `analysis::analyze_rows`, so the numbers are the library's on the same rows.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use roadmap_abtest::analysis::{analyze_rows, AnalysisOptions, Metric, Report, UserRow, METRICS};
use roadmap_abtest::config::Experiment;
use roadmap_abtest::render;
use roadmap_abtest::simulate::SIMULATION_METRICS;
use roadmap_rag_service::experiment_log::{
    experiment_users, logged_experiments, open_store, ExperimentUser,
};

use super::{experiments_file, shown, store_path, Globals};

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The experiment's key in the experiments file
    #[arg(long)]
    experiment: String,
    /// The experiments file [default: the shipped example]
    #[arg(long, env = "ROADMAP_RAG_EXPERIMENTS", value_name = "FILE")]
    experiments: Option<PathBuf>,
    /// The service's SQLite store holding the request log [default: rag.db in the data directory]
    #[arg(
        long,
        env = "ROADMAP_RAG_STORE",
        hide_env_values = true,
        value_name = "PATH"
    )]
    store: Option<String>,
    /// Significance level of every test and 1 − alpha intervals
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Print the report as one JSON object
    #[arg(long)]
    json: bool,
    /// Also write the report as a self-contained HTML page (inline SVG lift chart)
    #[arg(long, value_name = "OUT.html")]
    html: Option<PathBuf>,
}

pub fn run(a: ReportArgs, g: &Globals) -> Result<ExitCode> {
    if !(a.alpha > 0.0 && a.alpha < 1.0) {
        bail!(
            "--alpha must be between 0 and 1 (exclusive), got {}",
            a.alpha
        );
    }
    let file = experiments_file(a.experiments.as_deref())?;
    let exp = file.get(&a.experiment)?;
    let store = store_path(a.store.as_deref(), g)?;
    let report = from_store(exp, &store, a.alpha)?;
    emit(&report, a.json, a.html.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the report (text or JSON) and writes the HTML page if asked.
pub fn emit(report: &Report, json: bool, html: Option<&Path>) -> Result<()> {
    if let Some(path) = html {
        let page = render::html(report).context("cannot draw the report's chart")?;
        std::fs::write(path, page).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    if json {
        println!("{}", render::json(report));
    } else {
        println!("{}", render::text(report));
    }
    Ok(())
}

/// The metrics of a log: the replay's (with hit@k) when any request has a
/// replay score, else the live service's.
pub fn metrics_for(users: &[ExperimentUser]) -> &'static [Metric] {
    if users.iter().any(|u| u.hit_at_k.is_some()) {
        &SIMULATION_METRICS
    } else {
        &METRICS
    }
}

fn flag(b: Option<bool>) -> Option<f64> {
    b.map(|b| if b { 1.0 } else { 0.0 })
}

/// A logged user as the analysis' row, values in `metrics` order.
pub fn user_row(u: &ExperimentUser, metrics: &[Metric]) -> Result<UserRow> {
    let first_exposure =
        DateTime::<Utc>::from_timestamp_micros((u.first_at_unix * 1e6).round() as i64)
            .with_context(|| {
                format!(
                    "user {}: first exposure time {} is out of range",
                    u.user_hash, u.first_at_unix
                )
            })?;
    let values = metrics
        .iter()
        .map(|m| match m.key {
            "thumbs_up" => Ok(flag(u.thumbs_up)),
            "grounded" => Ok(flag(u.grounded)),
            "no_answer" => Ok(flag(u.no_answer)),
            "latency_ms" => Ok(u.latency_ms),
            "answer_length" => Ok(u.answer_chars),
            "answer_f1" => Ok(u.answer_f1),
            "hit_at_k" => Ok(flag(u.hit_at_k)),
            other => bail!("metric `{other}` is not in the request log"),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(UserRow {
        user: u.user_hash.clone(),
        variant: u.variant.clone(),
        first_exposure,
        exposures: u.requests,
        values,
    })
}

/// Reads the experiment's users from the store and analyses them.
pub fn from_store(exp: &Experiment, store: &Path, alpha: f64) -> Result<Report> {
    let conn = open_store(store)?;
    let users = experiment_users(&conn, store, &exp.key)?;
    if users.is_empty() {
        let logged = logged_experiments(&conn)
            .with_context(|| format!("cannot list the experiments in {}", shown(store)))?;
        let list = if logged.is_empty() {
            "none".to_owned()
        } else {
            logged
                .iter()
                .map(|(k, n)| format!("{k} ({n} users)"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        eprintln!(
            "note: {} holds no exposures of experiment `{}` (experiments it holds: {list})",
            shown(store),
            exp.key
        );
    }
    let metrics = metrics_for(&users);
    let rows = users
        .iter()
        .map(|u| user_row(u, metrics))
        .collect::<Result<Vec<_>>>()?;
    let options = AnalysisOptions {
        alpha,
        ..Default::default()
    };
    analyze_rows(exp, metrics, &rows, &options).with_context(|| {
        format!(
            "cannot analyse experiment `{}` from {}",
            exp.key,
            shown(store)
        )
    })
}
