//! Phase 1 runner `logreg`: logistic regression from scratch (crate
//! `roadmap-logreg`) on the shipped breast cancer data or the learner's CSVs.
//!
//! `run` fits the from-scratch model with the chosen solver (and the other
//! solver for comparison), prints its test metrics next to `linfa-logistic` on
//! the same standardised split, plots the loss per iteration and the ROC curves
//! into the run's artifact directory, and saves the model. `export` writes the
//! fixed split (seed 42) for the learner's own implementation; `verify` scores
//! the probabilities they submit for the test rows.

mod compute;
mod export;
mod render;
mod report;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{ArgMatches, CommandFactory, Parser};
use roadmap_common::metrics::BinaryReport;
use roadmap_logreg::data::{self as logreg_data, SPLIT_SEED};
use roadmap_logreg::model::{SavedModel, FORMAT};
use serde_json::json;

use super::{flags, ModelArtifact, RunContext, RunOutcome, Runner};

pub struct LogReg;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SolverArg {
    /// Full-batch gradient descent (--lr, --epochs, --tol)
    Gd,
    /// Newton / IRLS with line search: the exact optimum in a few steps
    Newton,
}

#[derive(Debug, Parser)]
#[command(
    name = "roadmap run <PHASE>",
    about = "Logistic regression from scratch (gradient descent or Newton) vs linfa-logistic"
)]
struct RunArgs {
    /// One CSV with a header row to split here (stratified 80/20 with --seed)
    #[arg(long, value_name = "CSV", conflicts_with_all = ["train", "test"])]
    data: Option<PathBuf>,
    /// Training CSV with a header row (needs --test)
    #[arg(long, value_name = "CSV", requires = "test")]
    train: Option<PathBuf>,
    /// Test CSV with the same columns as --train
    #[arg(long, value_name = "CSV", requires = "train")]
    test: Option<PathBuf>,
    /// Name of the 0/1 target column in the CSVs
    #[arg(long, value_name = "COL", default_value = "target")]
    target: String,
    /// Inverse regularisation strength as in scikit-learn (`inf` = no penalty)
    #[arg(long, default_value_t = 1.0, value_parser = positive_c)]
    c: f64,
    /// Solver whose model is reported, saved and checked
    #[arg(long, value_enum, default_value_t = SolverArg::Newton)]
    solver: SolverArg,
    /// Gradient descent epochs (1..=10000000) [default: 5000]
    #[arg(long, value_parser = crate::flags::count_in(1..=10_000_000))]
    epochs: Option<usize>,
    /// Gradient descent learning rate [default: 0.1]
    #[arg(long)]
    lr: Option<f64>,
    /// Gradient descent stops early once every gradient component is below this [default: 1e-6]
    #[arg(long)]
    tol: Option<f64>,
    /// Seed of the train/test split and the cross-validation folds
    #[arg(long, default_value_t = SPLIT_SEED)]
    seed: u64,
    /// Also run stratified K-fold cross-validation on the training split (2..=1000 folds)
    #[arg(long, value_name = "K",
          value_parser = crate::flags::count_in(2..=1000))]
    cv: Option<usize>,
    /// Also write the trained model (scaler + weights + feature names, JSON) to FILE
    #[arg(long, value_name = "FILE")]
    save_model: Option<PathBuf>,
    /// Print one JSON object on stdout instead of tables
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Parser)]
#[command(
    name = "roadmap verify <PHASE>",
    about = "Score your own logistic regression's test-set probabilities"
)]
struct VerifyArgs {
    /// One probability of class 1 per test row (from `roadmap data export phase1`), in file order;
    /// an optional header line is skipped
    #[arg(long, value_name = "FILE")]
    predictions: PathBuf,
    /// Print one JSON object on stdout instead of a table
    #[arg(long)]
    json: bool,
}
/// `--c`: a positive number or `inf`, checked before the run is recorded.
fn positive_c(s: &str) -> Result<f64, String> {
    let c: f64 = s
        .parse()
        .map_err(|e| format!("`{s}` is not a number: {e}"))?;
    if c.is_nan() || c <= 0.0 {
        return Err(format!(
            "must be a positive number or `inf` (no penalty), got {s}"
        ));
    }
    Ok(c)
}

const METRICS: &[&str] = &[
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "fit_seconds",
    "iterations",
    "converged",
    "linfa_accuracy",
    "linfa_roc_auc",
    "linfa_log_loss",
    "linfa_fit_seconds",
    "linfa_max_coef_diff",
    "cv_accuracy_mean",
    "cv_accuracy_std",
    "cv_roc_auc_mean",
    "cv_roc_auc_std",
    "cv_f1_mean",
    "cv_log_loss_mean",
];

impl Runner for LogReg {
    fn name(&self) -> &'static str {
        "logreg"
    }

    fn metrics(&self) -> &'static [&'static str] {
        METRICS
    }

    fn command(&self) -> clap::Command {
        RunArgs::command()
    }

    fn run(&self, ctx: &RunContext, args: &ArgMatches) -> Result<RunOutcome> {
        let args: RunArgs = flags(args)?;
        if args.solver == SolverArg::Newton
            && (args.epochs.is_some() || args.lr.is_some() || args.tol.is_some())
        {
            eprintln!("note: --epochs/--lr/--tol tune gradient descent; they only affect the `gd` comparison row with --solver newton");
        }
        let fits = compute::fit_all(&args)?;

        // Artifacts: plots and the model.
        let mut artifacts = render::plots(&ctx.artifact_dir, &fits)?;
        let saved = SavedModel {
            format: FORMAT.to_string(),
            feature_names: fits.train.feature_names.clone(),
            target_name: fits.train.target_name.clone(),
            scaler: fits.std.scaler.clone(),
            weights: fits.primary.weights.clone(),
            intercept: fits.primary.intercept,
            c: args.c.is_finite().then_some(args.c),
            solver: fits.primary_model.solver.short_name().to_string(),
        };
        let model_path = ctx.artifact_dir.join("model.json");
        saved.save(&model_path)?;
        artifacts.push(model_path.clone());
        if let Some(path) = &args.save_model {
            saved.save(path)?;
            artifacts.push(path.clone());
        }

        if args.json {
            println!("{}", report::json_output(&fits, &args, &artifacts));
        } else {
            render::print_human(&fits, args.c, args.seed, &artifacts);
        }
        Ok(RunOutcome {
            metrics: report::metrics(&fits),
            params: report::params(&fits, &args),
            models: vec![ModelArtifact {
                name: "logreg".to_string(),
                version: FORMAT.to_string(),
                path: model_path,
            }],
            completes: Vec::new(),
        })
    }

    fn export(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let (train, test) = logreg_data::reference_split();
        let train_path = dir.join("train.csv");
        let test_path = dir.join("test.csv");
        export::write_csv(&train_path, &train, true)?;
        export::write_csv(&test_path, &test, false)?;
        let readme = dir.join("README.txt");
        std::fs::write(&readme, export::export_readme(&train, &test))
            .with_context(|| format!("cannot write {}", readme.display()))?;
        Ok(vec![train_path, test_path, readme])
    }

    fn verify_command(&self) -> Option<clap::Command> {
        Some(VerifyArgs::command())
    }

    fn verify(&self, _ctx: &RunContext, args: &ArgMatches) -> Result<RunOutcome> {
        let args: VerifyArgs = flags(args)?;
        let (_, test) = logreg_data::reference_split();
        let p = super::read_predictions(&args.predictions, test.len(), "test.csv")?;
        let report = BinaryReport::new(&test.y, &p)?;
        let metrics = report
            .metric_pairs()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        if args.json {
            println!(
                "{}",
                json!({ "metrics": report, "predictions": args.predictions, "n_test": test.len() })
            );
        } else {
            let t = render::report_table(&report);
            println!(
                "your predictions for the {} test rows ({}):",
                test.len(),
                args.predictions.display()
            );
            println!("{t}");
            let c = report.confusion;
            println!(
                "confusion: tp {}  fp {}  tn {}  fn {}",
                c.tp, c.fp, c.tn, c.fn_
            );
        }
        Ok(RunOutcome {
            metrics,
            params: json!({ "predictions": args.predictions, "n_test": test.len() }),
            ..Default::default()
        })
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use roadmap_common::dataset;
    use roadmap_logreg::LogisticRegression;

    fn ctx(dir: &Path) -> RunContext {
        RunContext {
            artifact_dir: dir.to_path_buf(),
            cache_dir: dir.join("cache"),
            latest_models: Default::default(),
        }
    }

    use crate::runners::{run_with, verify_with};
    use std::ffi::OsString;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn default_run_passes_the_phase_criteria_and_writes_artifacts() {
        let dir = tempfile::tempdir().unwrap();
        let out = run_with(&LogReg, &ctx(dir.path()), &[]).unwrap();
        for k in out.metrics.keys() {
            assert!(METRICS.contains(&k.as_str()), "{k} not listed in metrics()");
        }
        assert!(out.metrics["accuracy"] >= 0.95, "{:?}", out.metrics);
        assert!(out.metrics["roc_auc"] >= 0.98, "{:?}", out.metrics);
        assert_eq!(out.metrics["converged"], 1.0);
        for f in ["loss.svg", "roc.svg", "model.json"] {
            assert!(dir.path().join(f).is_file(), "{f} missing");
        }
        let model = SavedModel::load(&dir.path().join("model.json")).unwrap();
        assert_eq!(model.feature_names.len(), 30);
    }

    #[test]
    fn emitted_metrics_are_exactly_the_declared_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut emitted = std::collections::BTreeSet::new();
        for args in [&[][..], &["--cv", "3"][..]] {
            let out = run_with(&LogReg, &ctx(dir.path()), &os(args)).unwrap();
            emitted.extend(out.metrics.into_keys());
        }
        let declared: std::collections::BTreeSet<String> =
            METRICS.iter().map(|m| m.to_string()).collect();
        assert_eq!(emitted, declared);
    }

    #[test]
    fn export_then_verify_round_trip_with_the_reference_model() {
        let dir = tempfile::tempdir().unwrap();
        let files = LogReg.export(dir.path()).unwrap();
        assert_eq!(files.len(), 3);
        // Train on the exported files the way a learner would, predict test.csv.
        let train = dataset::read_csv(&dir.path().join("train.csv"), "target").unwrap();
        assert_eq!(train.len(), 455);
        let test_text = std::fs::read_to_string(dir.path().join("test.csv")).unwrap();
        assert!(!test_text.lines().next().unwrap().contains("target"));
        let mut rdr = csv::Reader::from_reader(test_text.as_bytes());
        let rows: Vec<Vec<f64>> = rdr
            .records()
            .map(|r| r.unwrap().iter().map(|c| c.parse().unwrap()).collect())
            .collect();
        let x_test = ndarray::Array2::from_shape_vec((rows.len(), 30), rows.concat()).unwrap();
        let scaler = dataset::StandardScaler::fit(train.x.view()).unwrap();
        let fitted = LogisticRegression::default()
            .fit(scaler.transform(train.x.view()).unwrap().view(), &train.y)
            .unwrap();
        let p = fitted
            .predict_proba(scaler.transform(x_test.view()).unwrap().view())
            .unwrap();
        let preds = dir.path().join("preds.csv");
        let text: String = std::iter::once("probability".to_string())
            .chain(p.iter().map(|v| v.to_string()))
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&preds, text).unwrap();
        let out = verify_with(
            &LogReg,
            &ctx(dir.path()),
            &os(&["--predictions", preds.to_str().unwrap()]),
        )
        .unwrap();
        assert!(
            out.metrics["accuracy"] >= 0.95 && out.metrics["roc_auc"] >= 0.98,
            "{:?}",
            out.metrics
        );
    }

    #[test]
    fn verify_rejects_bad_prediction_files() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.csv");
        let check = |content: &str, expect: &str| {
            std::fs::write(&f, content).unwrap();
            let e = verify_with(
                &LogReg,
                &ctx(dir.path()),
                &os(&["--predictions", f.to_str().unwrap()]),
            )
            .unwrap_err();
            assert!(format!("{e:#}").contains(expect), "{e:#} lacks {expect}");
        };
        check(
            "0.5\n0.2\n",
            "holds 2 probabilities but the test split has 114",
        );
        check("p\n0.5\nabc\n", "line 3: `abc` is not a number");
        check("0.5\n1.5\n", "line 2: 1.5 is not a probability");
        check("0.5,1\n", "2 columns");
    }

    #[test]
    fn run_reports_csv_errors_and_supports_gd_json_cv() {
        let dir = tempfile::tempdir().unwrap();
        let csv_path = dir.path().join("d.csv");
        std::fs::write(&csv_path, "a,b,label\n1,2,0\n3,x,1\n").unwrap();
        let e = run_with(
            &LogReg,
            &ctx(dir.path()),
            &os(&["--data", csv_path.to_str().unwrap(), "--target", "label"]),
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("line 3, column `b`"), "{e:#}");
        let e = run_with(
            &LogReg,
            &ctx(dir.path()),
            &os(&["--data", csv_path.to_str().unwrap()]),
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("`target` not found"), "{e:#}");

        let model_path = dir.path().join("saved.json");
        let out = run_with(
            &LogReg,
            &ctx(dir.path()),
            &os(&[
                "--solver",
                "gd",
                "--epochs",
                "300",
                "--lr",
                "0.5",
                "--cv",
                "3",
                "--json",
                "--save-model",
            ])
            .into_iter()
            .chain([model_path.clone().into_os_string()])
            .collect::<Vec<_>>(),
        )
        .unwrap();
        assert!(out.metrics.contains_key("cv_accuracy_mean"));
        assert!(SavedModel::load(&model_path).unwrap().solver == "gd");
        let e = run_with(&LogReg, &ctx(dir.path()), &os(&["--cv", "1000"])).unwrap_err();
        assert!(format!("{e:#}").contains("only 455"), "{e:#}");
    }
}
