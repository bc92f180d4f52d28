//! `roadmap audit`: the bias audit of phase 6 (capstone requirement 5), thin
//! wrappers over the `roadmap-audit` crate, one file per subcommand:
//!
//! - `train` ([`train`]): the tabular model the audit runs on (Adult or any
//!   CSV), saved with its preprocessing, and its test predictions as CSV;
//! - `fairness` ([`fairness`]): fairlearn's group metrics and aggregates on a
//!   predictions file (or a model applied to data), with bootstrap intervals,
//!   the four-fifths rule and an optional threshold mitigation;
//! - `text` ([`text`]): the counterfactual template audit of the phase-2
//!   sentiment network.
//!
//! The definitions (and which fairlearn / shap / scipy numbers they equal)
//! are documented in the library; this module only parses flags, reads and
//! writes files, and says what went wrong in terms of the flags.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use roadmap_audit::pipeline::{TabularModel, MODEL_FILE};
use roadmap_sentiment::SentimentModel;

use super::Globals;

mod fairness;
mod text;
mod train;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// Train the tabular model to audit (logistic regression, scikit-learn's objective) and write its
    /// test predictions
    Train(train::Args),
    /// Group fairness metrics (fairlearn's MetricFrame and aggregates), four-fifths rule, bootstrap
    /// intervals, threshold mitigation
    Fairness(fairness::Args),
    /// Counterfactual template audit of the phase-2 sentiment model (identity terms swapped)
    Text(text::Args),
}

pub fn run(args: Args, g: &Globals) -> Result<ExitCode> {
    match args.cmd {
        Cmd::Train(a) => train::run(a, g),
        Cmd::Fairness(a) => fairness::run(a),
        Cmd::Text(a) => text::run(a, g),
    }
}

/// A `--model` argument: the folder `roadmap audit train` wrote, or its `model.json`.
pub(super) fn model_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(MODEL_FILE)
    } else {
        path.to_path_buf()
    }
}

/// Loads the tabular model named by `--model` (a folder or its `model.json`).
pub(super) fn load_tabular_model(path: &Path) -> Result<TabularModel> {
    let file = model_file(path);
    TabularModel::load(&file).with_context(|| {
        format!(
            "cannot load the audit model {}: pass the folder `roadmap audit train` wrote (it holds {MODEL_FILE})",
            file.display()
        )
    })
}

/// The phase-2 sentiment model: `--model DIR`, else the newest one a passed
/// `roadmap run phase2` registered.
pub(super) fn load_sentiment_model(
    model: Option<&Path>,
    g: &Globals,
) -> Result<(PathBuf, SentimentModel)> {
    let dir = match model {
        Some(d) => d.to_path_buf(),
        None => g.open_db()?.latest_model("sentiment")?.context(
            "no phase-2 sentiment model is registered yet: run `roadmap run phase2` first \
             (a passed run registers its model), or pass --model DIR",
        )?,
    };
    let m = SentimentModel::load(&dir).with_context(|| {
        format!(
            "cannot load the sentiment model in {}: pass a folder saved by `roadmap run phase2` \
             (e.g. with --save-model DIR)",
            dir.display()
        )
    })?;
    Ok((dir, m))
}

/// Writes a text file, creating its folder; the error names the file.
pub(super) fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
