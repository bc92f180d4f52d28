//! `roadmap ab report`: an experiment's report from the service's request
//! log — per variant users, exposures and metrics; health (sample-ratio
//! mismatch against the configured weights, users in several variants,
//! exposures before the start); effects against the control (two-proportion
//! z-test, Welch's t-test, delta-method lift, mSPRT, Bayesian chance to win).
//!
//! The request log is read per (user, variant) by
//! `roadmap_rag_service::experiment_log::experiment_users`; the rows become
//! `roadmap_abtest::analysis::UserRow`s (`experiment_log::user_rows`) and go
//! through `analysis::analyze_rows`, so the numbers are the library's on the
//! same rows. `milestones/rag-service/examples/ab_report_rate.rs` times this
//! same sequence over a million-user log.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use roadmap_abtest::analysis::{analyze_rows, AnalysisOptions, Report};
use roadmap_abtest::config::Experiment;
use roadmap_abtest::render;
use roadmap_rag_service::experiment_log::{
    experiment_users, logged_experiments, metrics_for, open_store, user_rows,
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
    /// The service's SQLite store holding the request log [default: rag.sqlite in the data directory, the store of `roadmap rag serve`]
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
    let rows = user_rows(users, metrics)?;
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
