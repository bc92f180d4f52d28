//! `roadmap audit train`: the tabular model the audit and the explanations run
//! on. A CSV (or the `adult-census` asset) is cleaned, split deterministically
//! (`position % 5 == 0` → test, no random generator), standardised and one-hot
//! encoded, and fitted by phase 1's Newton solver to scikit-learn's exact
//! optimum (`roadmap_audit::pipeline`). The output folder gets `model.json`
//! (weights, preprocessing, training means) and `predictions.csv` (the test
//! rows: `position, y_true, y_pred, score` and the sensitive columns), which
//! `roadmap audit fairness` and `roadmap explain` read.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use roadmap_audit::pipeline::{self, TabularSpec, MODEL_FILE, PREDICTIONS_FILE};
use roadmap_audit::Table;
use serde_json::json;

use super::super::Globals;

/// A dataset the project ships or fetches, with documented columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Dataset {
    /// UCI Adult census income (the `adult-census` asset): 6 numeric, 8 categorical columns,
    /// target `income-per-year` = `>50K`, sensitive `sex` and `race`
    Adult,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data: a CSV with a header row (rows with a `?` or empty cell are dropped)
    #[arg(long, value_name = "FILE.csv", required_unless_present = "dataset")]
    data: Option<PathBuf>,
    /// A known dataset instead of --data (fetched into the asset cache on first use)
    #[arg(
        long,
        value_enum,
        conflicts_with_all = ["data", "target", "positive", "numeric", "categorical"]
    )]
    dataset: Option<Dataset>,
    /// The column to predict (with --data)
    #[arg(long, value_name = "COL", required_unless_present = "dataset")]
    target: Option<String>,
    /// The target value that is the positive class, exactly as written (with --data)
    #[arg(long, value_name = "VALUE", required_unless_present = "dataset")]
    positive: Option<String>,
    /// Numeric feature columns [default: every other column whose cells are all numbers]
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    numeric: Option<Vec<String>>,
    /// Categorical feature columns, one-hot encoded [default: every other non-numeric column]
    #[arg(long, value_name = "C,D", value_delimiter = ',')]
    categorical: Option<Vec<String>>,
    /// Columns copied into the predictions file for the audit, e.g. `sex,race`
    /// [default: none for --data; `sex,race` for --dataset adult]
    #[arg(long, value_name = "S,T", value_delimiter = ',')]
    sensitive: Option<Vec<String>>,
    /// Inverse L2 regularisation strength (scikit-learn's C; the intercept is not penalised)
    #[arg(long = "c", value_name = "C", default_value_t = 1.0, value_parser = positive_finite)]
    c: f64,
    /// Output folder for model.json and predictions.csv [default: <data dir>/audit/train-<time>-<pid>]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

/// A strictly positive, finite number (C = 0 or ∞ has no optimum to reach).
fn positive_finite(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("must be a positive finite number, got {s}"))
    }
}

pub fn run(a: Args, g: &Globals) -> Result<ExitCode> {
    let (data_path, spec) = match a.dataset {
        Some(Dataset::Adult) => {
            let dir = roadmap_common::assets::ensure(&g.cache_dir(), pipeline::ADULT_ASSET)
                .with_context(|| {
                    format!(
                        "cannot get the `{}` dataset: `roadmap assets fetch {}` says more, or point \
                         ROADMAP_ADULT_CENSUS_DIR at a folder holding {}",
                        pipeline::ADULT_ASSET,
                        pipeline::ADULT_ASSET,
                        pipeline::ADULT_FILE
                    )
                })?;
            let mut spec = TabularSpec::adult();
            if let Some(s) = &a.sensitive {
                spec.sensitive = s.clone();
            }
            (dir.join(pipeline::ADULT_FILE), Some(spec))
        }
        None => (a.data.clone().expect("clap: --data or --dataset"), None),
    };
    let table = Table::read_csv(&data_path)
        .with_context(|| format!("cannot read the training data {}", data_path.display()))?;
    let spec = match spec {
        Some(s) => s,
        None => TabularSpec::infer(
            &table,
            a.target.as_deref().expect("clap: --target with --data"),
            a.positive.as_deref().expect("clap: --positive with --data"),
            a.numeric.clone(),
            a.categorical.clone(),
            a.sensitive.clone().unwrap_or_default(),
        )
        .context("the columns given do not fit the data: check --target, --numeric, --categorical and --sensitive")?,
    };
    let trained = pipeline::train(&table, &spec, a.c)
        .with_context(|| format!("cannot train on {}", data_path.display()))?;

    let out = match &a.out {
        Some(d) => d.clone(),
        None => g.data_dir()?.join("audit").join(format!(
            "train-{}-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
            std::process::id()
        )),
    };
    std::fs::create_dir_all(&out)
        .with_context(|| format!("cannot create the output folder {}", out.display()))?;
    let model_path = out.join(MODEL_FILE);
    let predictions_path = out.join(PREDICTIONS_FILE);
    trained
        .model
        .save(&model_path)
        .context("cannot save the model: choose another --out folder")?;
    trained
        .test_predictions
        .write_csv(&predictions_path)
        .context("cannot write the test predictions")?;
    let mut warnings = trained.warnings.clone();
    if spec.sensitive.is_empty() {
        warnings.push(
            "no --sensitive columns: the predictions file has none to audit by; train again with \
             --sensitive COL[,COL2] (they may also be features)"
                .into(),
        );
    }

    let m = &trained.model;
    let t = &m.training;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "data": data_path,
                "out_dir": out,
                "model": model_path,
                "predictions": predictions_path,
                "target": m.target,
                "positive": m.positive,
                "numeric": spec.numeric,
                "categorical": spec.categorical,
                "sensitive": spec.sensitive,
                "c": m.c,
                "features": m.feature_names.len(),
                "training": t,
                "warnings": warnings,
            }))?
        );
    } else {
        print_summary(&data_path, &out, &spec, &trained, &warnings);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(
    data: &Path,
    out: &Path,
    spec: &TabularSpec,
    trained: &pipeline::Trained,
    warnings: &[String],
) {
    let m = &trained.model;
    let t = &m.training;
    println!(
        "Data: {} ({} rows kept, {} dropped for a missing cell)",
        data.display(),
        t.rows_train + t.rows_test,
        t.dropped_missing
    );
    println!(
        "Split: {} training rows, {} test rows (test iff position % 5 == 0)",
        t.rows_train, t.rows_test
    );
    println!(
        "Features: {} ({} numeric standardised: {}; {} categorical one-hot: {})",
        m.feature_names.len(),
        spec.numeric.len(),
        list(&spec.numeric),
        spec.categorical.len(),
        list(&spec.categorical)
    );
    println!(
        "Model: L2 logistic regression, C = {}, target `{}` = `{}`; Newton {} iterations, max |gradient| {:.1e}{}",
        m.c,
        m.target,
        m.positive,
        t.newton_iterations,
        t.grad_max,
        if t.converged { " (converged)" } else { " (NOT converged)" }
    );
    println!(
        "Accuracy: train {:.4}, test {:.4}",
        t.train_accuracy, t.test_accuracy
    );
    println!("Wrote {}", out.join(MODEL_FILE).display());
    println!(
        "Wrote {} ({} test rows; columns position, y_true, y_pred, score{})",
        out.join(PREDICTIONS_FILE).display(),
        t.rows_test,
        spec.sensitive
            .iter()
            .map(|s| format!(", {s}"))
            .collect::<String>()
    );
    for w in warnings {
        eprintln!("warning: {w}");
    }
    println!("Next:");
    if !spec.sensitive.is_empty() {
        println!(
            "  roadmap audit fairness --predictions {} --sensitive {}",
            out.join(PREDICTIONS_FILE).display(),
            spec.sensitive.join(",")
        );
    }
    println!(
        "  roadmap explain --model {} --data {} --test-set",
        out.display(),
        data.display()
    );
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}
