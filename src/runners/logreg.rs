//! Phase 1 runner `logreg`: logistic regression from scratch (crate
//! `roadmap-logreg`) on the shipped breast cancer data or the learner's CSVs.
//!
//! `run` fits the from-scratch model with the chosen solver (and the other
//! solver for comparison), prints its test metrics next to `linfa-logistic` on
//! the same standardised split, plots the loss per iteration and the ROC curves
//! into the run's artifact directory, and saves the model. `export` writes the
//! fixed split (seed 42) for the learner's own implementation; `verify` scores
//! the probabilities they submit for the test rows.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use roadmap_common::dataset::{self, Dataset};
use roadmap_common::metrics::{roc_curve, BinaryReport};
use roadmap_common::plot::{line_chart, roc_chart, Labels, Series};
use roadmap_logreg::data::{self as logreg_data, SPLIT_SEED};
use roadmap_logreg::model::{SavedModel, FORMAT};
use roadmap_logreg::{baseline, Fitted, GradientDescent, LogisticRegression, Newton, Solver};
use serde_json::json;

use super::{ModelArtifact, RunContext, RunOutcome, Runner};

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
    #[arg(long, default_value_t = 1.0)]
    c: f64,
    /// Solver whose model is reported, saved and checked
    #[arg(long, value_enum, default_value_t = SolverArg::Newton)]
    solver: SolverArg,
    /// Gradient descent epochs [default: 5000]
    #[arg(long)]
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
    /// Also run stratified K-fold cross-validation on the training split
    #[arg(long, value_name = "K")]
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

fn parse<P: Parser>(name: &str, args: &[OsString]) -> Result<P> {
    Ok(P::try_parse_from(
        std::iter::once(OsString::from(name)).chain(args.iter().cloned()),
    )?)
}

/// The train and test tables the run uses, and where they came from.
fn load(args: &RunArgs) -> Result<(Dataset, Dataset, String)> {
    if let Some(path) = &args.data {
        let data = dataset::read_csv(path, &args.target)?;
        let (train, test) = logreg_data::split(&data, args.seed)?;
        return Ok((
            train,
            test,
            format!("{} (80/20, seed {})", path.display(), args.seed),
        ));
    }
    if let (Some(tr), Some(te)) = (&args.train, &args.test) {
        let train = dataset::read_csv(tr, &args.target)?;
        let test = dataset::read_csv(te, &args.target)?;
        if train.feature_names != test.feature_names {
            bail!(
                "{} and {} have different feature columns:\n  train: {}\n  test:  {}",
                tr.display(),
                te.display(),
                train.feature_names.join(", "),
                test.feature_names.join(", ")
            );
        }
        return Ok((train, test, format!("{} / {}", tr.display(), te.display())));
    }
    if args.target != "target" {
        bail!("--target names a column of your CSV: use it with --data or --train/--test");
    }
    let (train, test) = if args.seed == SPLIT_SEED {
        logreg_data::reference_split()
    } else {
        logreg_data::split(&logreg_data::breast_cancer(), args.seed)?
    };
    Ok((
        train,
        test,
        format!("shipped breast cancer data (80/20, seed {})", args.seed),
    ))
}

fn solver_for(args: &RunArgs, which: SolverArg) -> Solver {
    match which {
        SolverArg::Gd => {
            let d = GradientDescent::default();
            Solver::GradientDescent(GradientDescent {
                learning_rate: args.lr.unwrap_or(d.learning_rate),
                epochs: args.epochs.unwrap_or(d.epochs),
                tol: args.tol.unwrap_or(d.tol),
                record_loss: true,
            })
        }
        SolverArg::Newton => Solver::Newton(Newton::default()),
    }
}

/// One fitted model's test results.
struct Row {
    label: String,
    report: BinaryReport,
    probabilities: Vec<f64>,
    fit_seconds: f64,
    iterations: Option<usize>,
    weights: Vec<f64>,
    intercept: f64,
}

fn fit_ours(
    model: &LogisticRegression,
    x_train: &ndarray::Array2<f64>,
    y_train: &[u8],
    x_test: &ndarray::Array2<f64>,
    y_test: &[u8],
) -> Result<(Fitted, Row)> {
    let start = Instant::now();
    let fitted = model.fit(x_train.view(), y_train)?;
    let fit_seconds = start.elapsed().as_secs_f64();
    let p = fitted.predict_proba(x_test.view())?.to_vec();
    let report = BinaryReport::new(y_test, &p)?;
    let row = Row {
        label: format!("roadmap-logreg ({})", model.solver.short_name()),
        report,
        probabilities: p,
        fit_seconds,
        iterations: Some(fitted.trace.iterations),
        weights: fitted.weights.to_vec(),
        intercept: fitted.intercept,
    };
    Ok((fitted, row))
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.4}"))
}

fn metrics_table(rows: &[&Row], reference: &[f64]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "model",
        "accuracy",
        "precision",
        "recall",
        "F1",
        "ROC AUC",
        "log-loss",
        "fit time",
        "iterations",
        "max |Δw| vs reported",
    ]);
    for r in rows {
        t.add_row([
            r.label.clone(),
            format!("{:.4}", r.report.accuracy),
            format!("{:.4}", r.report.precision),
            format!("{:.4}", r.report.recall),
            format!("{:.4}", r.report.f1),
            fmt_opt(r.report.roc_auc),
            format!("{:.4}", r.report.log_loss),
            format!("{:.2} ms", r.fit_seconds * 1e3),
            r.iterations
                .map_or_else(|| "-".to_string(), |i| i.to_string()),
            format!("{:.1e}", max_abs_diff(&r.weights, reference)),
        ]);
    }
    t
}

/// Mean and population standard deviation.
fn mean_std(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64;
    (m, var.sqrt())
}

/// Stratified K-fold CV on `data`: per fold, scaler and model are fitted on the
/// fold's training rows only and scored on its held-out rows.
fn cross_validate(
    data: &Dataset,
    model: &LogisticRegression,
    k: usize,
    seed: u64,
) -> Result<Vec<BinaryReport>> {
    let folds = dataset::stratified_kfold(&data.y, k, seed)?;
    folds
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (train, test) = (data.select(&f.train), data.select(&f.test));
            let std = logreg_data::standardise(&train, &test)?;
            let fitted = model
                .fit(std.train.view(), &train.y)
                .with_context(|| format!("cross-validation fold {}", i + 1))?;
            let p = fitted.predict_proba(std.test.view())?.to_vec();
            Ok(BinaryReport::new(&test.y, &p)?)
        })
        .collect()
}

fn write_plots(
    dir: &Path,
    fits: &[(&str, &Fitted)],
    rows: &[&Row],
    y_test: &[u8],
) -> Result<Vec<PathBuf>> {
    let loss_path = dir.join("loss.svg");
    let series: Vec<Series> = fits
        .iter()
        .map(|(name, f)| {
            Series::new(
                *name,
                f.trace
                    .loss
                    .iter()
                    .enumerate()
                    .map(|(i, &l)| (i as f64, l))
                    .collect(),
            )
        })
        .collect();
    line_chart(
        &loss_path,
        &Labels {
            title: "Training objective F = mean log-loss + penalty, per iteration",
            x: "iteration",
            y: "F(w, b)",
        },
        &series,
    )?;
    let roc_path = dir.join("roc.svg");
    let curves = rows
        .iter()
        .map(|r| {
            let pts = roc_curve(y_test, &r.probabilities)?;
            Ok(Series::new(
                format!("{} (AUC {})", r.label, fmt_opt(r.report.roc_auc)),
                pts,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    roc_chart(&roc_path, "ROC curve on the test split", &curves)?;
    Ok(vec![loss_path, roc_path])
}

impl Runner for LogReg {
    fn name(&self) -> &'static str {
        "logreg"
    }

    fn metrics(&self) -> &'static [&'static str] {
        METRICS
    }

    fn run(&self, ctx: &RunContext, args: &[OsString]) -> Result<RunOutcome> {
        let args: RunArgs = parse("logreg", args)?;
        if args.c.is_nan() || args.c <= 0.0 {
            bail!(
                "--c must be a positive number or `inf` (no penalty), got {}",
                args.c
            );
        }
        if args.solver == SolverArg::Newton
            && (args.epochs.is_some() || args.lr.is_some() || args.tol.is_some())
        {
            eprintln!("note: --epochs/--lr/--tol tune gradient descent; they only affect the `gd` comparison row with --solver newton");
        }
        let (train, test, source) = load(&args)?;
        let std = logreg_data::standardise(&train, &test)?;

        let primary_model = LogisticRegression {
            c: args.c,
            solver: solver_for(&args, args.solver),
        };
        let other = match args.solver {
            SolverArg::Gd => SolverArg::Newton,
            SolverArg::Newton => SolverArg::Gd,
        };
        let other_model = LogisticRegression {
            c: args.c,
            solver: solver_for(&args, other),
        };
        let (fitted, primary) = fit_ours(&primary_model, &std.train, &train.y, &std.test, &test.y)
            .with_context(|| format!("fitting with {}", primary_model.solver.short_name()))?;
        let (other_fitted, other_row) =
            fit_ours(&other_model, &std.train, &train.y, &std.test, &test.y)
                .with_context(|| format!("fitting with {}", other_model.solver.short_name()))?;
        if !fitted.trace.converged {
            eprintln!(
                "warning: {} stopped after {} iterations without converging (max |∇F| = {:.2e}){}",
                primary_model.solver.short_name(),
                fitted.trace.iterations,
                fitted.trace.grad_max,
                if args.c.is_infinite() {
                    "; with --c inf and separable data there is no finite optimum"
                } else {
                    "; raise --epochs or --lr"
                }
            );
        }

        let linfa = {
            let start = Instant::now();
            match baseline::fit_linfa(std.train.view(), &train.y, args.c) {
                Ok(fit) => {
                    let fit_seconds = start.elapsed().as_secs_f64();
                    let p = fit.predict_proba(std.test.view()).to_vec();
                    Some(Row {
                        label: "linfa-logistic (L-BFGS)".to_string(),
                        report: BinaryReport::new(&test.y, &p)?,
                        probabilities: p,
                        fit_seconds,
                        iterations: None,
                        weights: fit.weights.to_vec(),
                        intercept: fit.intercept,
                    })
                }
                Err(e) => {
                    eprintln!("warning: the linfa-logistic baseline failed: {e}");
                    None
                }
            }
        };

        let cv = match args.cv {
            Some(k) => Some(cross_validate(&train, &primary_model, k, args.seed)?),
            None => None,
        };

        // Artifacts: plots and the model.
        let primary_name = format!("roadmap-logreg ({})", primary_model.solver.short_name());
        let other_name = format!("roadmap-logreg ({})", other_model.solver.short_name());
        let mut rows: Vec<&Row> = vec![&primary, &other_row];
        if let Some(l) = &linfa {
            rows.push(l);
        }
        let mut artifacts = write_plots(
            &ctx.artifact_dir,
            &[(&primary_name, &fitted), (&other_name, &other_fitted)],
            &rows,
            &test.y,
        )?;
        let saved = SavedModel {
            format: FORMAT.to_string(),
            feature_names: train.feature_names.clone(),
            target_name: train.target_name.clone(),
            scaler: std.scaler.clone(),
            weights: primary.weights.clone(),
            intercept: primary.intercept,
            c: args.c.is_finite().then_some(args.c),
            solver: primary_model.solver.short_name().to_string(),
        };
        let model_path = ctx.artifact_dir.join("model.json");
        saved.save(&model_path)?;
        artifacts.push(model_path.clone());
        if let Some(path) = &args.save_model {
            saved.save(path)?;
            artifacts.push(path.clone());
        }

        // Metrics for the tracker.
        let mut metrics = std::collections::BTreeMap::new();
        for (name, v) in primary.report.metric_pairs() {
            metrics.insert(name.to_string(), v);
        }
        metrics.insert("fit_seconds".into(), primary.fit_seconds);
        metrics.insert("iterations".into(), fitted.trace.iterations as f64);
        metrics.insert(
            "converged".into(),
            f64::from(u8::from(fitted.trace.converged)),
        );
        if let Some(l) = &linfa {
            metrics.insert("linfa_accuracy".into(), l.report.accuracy);
            if let Some(auc) = l.report.roc_auc {
                metrics.insert("linfa_roc_auc".into(), auc);
            }
            metrics.insert("linfa_log_loss".into(), l.report.log_loss);
            metrics.insert("linfa_fit_seconds".into(), l.fit_seconds);
            metrics.insert(
                "linfa_max_coef_diff".into(),
                max_abs_diff(&l.weights, &primary.weights),
            );
        }
        let cv_summary = cv.as_ref().map(|reports| {
            let acc: Vec<f64> = reports.iter().map(|r| r.accuracy).collect();
            let f1: Vec<f64> = reports.iter().map(|r| r.f1).collect();
            let ll: Vec<f64> = reports.iter().map(|r| r.log_loss).collect();
            let auc: Vec<f64> = reports.iter().filter_map(|r| r.roc_auc).collect();
            let (am, asd) = mean_std(&acc);
            metrics.insert("cv_accuracy_mean".into(), am);
            metrics.insert("cv_accuracy_std".into(), asd);
            metrics.insert("cv_f1_mean".into(), mean_std(&f1).0);
            metrics.insert("cv_log_loss_mean".into(), mean_std(&ll).0);
            if !auc.is_empty() {
                let (m, s) = mean_std(&auc);
                metrics.insert("cv_roc_auc_mean".into(), m);
                metrics.insert("cv_roc_auc_std".into(), s);
            }
            json!({ "folds": reports.len(), "per_fold": reports })
        });
        debug_assert!(metrics.keys().all(|k| METRICS.contains(&k.as_str())));

        let params = json!({
            "source": source,
            "target": train.target_name,
            "c": saved.c,
            "solver": primary_model.solver,
            "seed": args.seed,
            "cv": args.cv,
            "n_train": train.len(),
            "n_test": test.len(),
        });

        if args.json {
            let row_json = |r: &Row| {
                json!({
                    "metrics": r.report,
                    "fit_seconds": r.fit_seconds,
                    "iterations": r.iterations,
                    "coefficients": r.weights,
                    "intercept": r.intercept,
                })
            };
            let mut metrics_obj = serde_json::Map::new();
            for (name, v) in primary.report.metric_pairs() {
                metrics_obj.insert(name.to_string(), json!(v));
            }
            let out = json!({
                "model": "roadmap-logreg",
                "solver": primary_model.solver.short_name(),
                "c": saved.c,
                "metrics": metrics_obj,
                "confusion": primary.report.confusion,
                "coefficients": primary.weights,
                "feature_names": train.feature_names,
                "intercept": primary.intercept,
                "fit_seconds": primary.fit_seconds,
                "iterations": fitted.trace.iterations,
                "converged": fitted.trace.converged,
                "n_train": train.len(),
                "n_test": test.len(),
                "seed": args.seed,
                "source": source,
                "comparison": {
                    other_model.solver.short_name(): row_json(&other_row),
                    "linfa_logistic": linfa.as_ref().map(row_json),
                },
                "cv": cv_summary,
                "artifacts": artifacts,
            });
            println!("{out}");
        } else {
            println!("Phase 1: logistic regression from scratch, C = {}", args.c);
            println!(
                "data: {source}; {} training rows, {} test rows, {} features (standardised with training statistics)",
                train.len(),
                test.len(),
                train.feature_names.len()
            );
            println!();
            println!("{}", metrics_table(&rows, &primary.weights));
            if let Some(reports) = &cv {
                let mut t = Table::new();
                t.load_preset(UTF8_FULL_CONDENSED);
                t.set_header(["fold", "accuracy", "F1", "ROC AUC", "log-loss"]);
                for (i, r) in reports.iter().enumerate() {
                    t.add_row([
                        (i + 1).to_string(),
                        format!("{:.4}", r.accuracy),
                        format!("{:.4}", r.f1),
                        fmt_opt(r.roc_auc),
                        format!("{:.4}", r.log_loss),
                    ]);
                }
                let acc: Vec<f64> = reports.iter().map(|r| r.accuracy).collect();
                let (m, s) = mean_std(&acc);
                println!();
                println!(
                    "{}-fold stratified cross-validation on the training split (seed {}):",
                    reports.len(),
                    args.seed
                );
                println!("{t}");
                println!("accuracy {m:.4} ± {s:.4}");
            }
            let c = &primary.report.confusion;
            println!();
            println!(
                "confusion ({}): tp {}  fp {}  tn {}  fn {}",
                primary.label, c.tp, c.fp, c.tn, c.fn_
            );
            println!("artifacts:");
            for a in &artifacts {
                println!("  {}", a.display());
            }
        }

        Ok(RunOutcome {
            metrics,
            params,
            models: vec![ModelArtifact {
                name: "logreg".to_string(),
                version: FORMAT.to_string(),
                path: model_path,
            }],
        })
    }

    fn export(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let (train, test) = logreg_data::reference_split();
        let train_path = dir.join("train.csv");
        let test_path = dir.join("test.csv");
        write_csv(&train_path, &train, true)?;
        write_csv(&test_path, &test, false)?;
        let readme = dir.join("README.txt");
        std::fs::write(&readme, export_readme(&train, &test))
            .with_context(|| format!("cannot write {}", readme.display()))?;
        Ok(vec![train_path, test_path, readme])
    }

    fn can_verify(&self) -> bool {
        true
    }

    fn verify(&self, _ctx: &RunContext, args: &[OsString]) -> Result<RunOutcome> {
        let args: VerifyArgs = parse("logreg-verify", args)?;
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
            let mut t = Table::new();
            t.load_preset(UTF8_FULL_CONDENSED);
            t.set_header([
                "accuracy",
                "precision",
                "recall",
                "F1",
                "ROC AUC",
                "log-loss",
            ]);
            t.add_row([
                format!("{:.4}", report.accuracy),
                format!("{:.4}", report.precision),
                format!("{:.4}", report.recall),
                format!("{:.4}", report.f1),
                fmt_opt(report.roc_auc),
                format!("{:.4}", report.log_loss),
            ]);
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
            models: Vec::new(),
        })
    }
}

/// Writes `data` as CSV with a header; the target column only when `with_target`.
fn write_csv(path: &Path, data: &Dataset, with_target: bool) -> Result<()> {
    let mut w = csv::Writer::from_path(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let mut header = data.feature_names.clone();
    if with_target {
        header.push(data.target_name.clone());
    }
    w.write_record(&header)?;
    for (row, &label) in data.x.rows().into_iter().zip(&data.y) {
        // `{}` on f64 prints the shortest text that parses back to the same number.
        let mut rec: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        if with_target {
            rec.push(label.to_string());
        }
        w.write_record(&rec)?;
    }
    w.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn export_readme(train: &Dataset, test: &Dataset) -> String {
    format!(
        "Phase 1 milestone: logistic regression from scratch\n\
         ===================================================\n\n\
         Data: Wisconsin Diagnostic Breast Cancer (UCI, CC BY 4.0), as shipped in scikit-learn.\n\
         Each row describes a breast mass from 30 measurements of its cell nuclei.\n\
         target: 1 = benign, 0 = malignant.\n\n\
         train.csv  {} rows: the 30 feature columns and `target` (header row included).\n\
         test.csv   {} rows: the same 30 feature columns, no target.\n\
         (A stratified 80/20 split with seed 42; the test labels stay with `roadmap`.)\n\n\
         Your task: implement logistic regression yourself (sigmoid, log-loss, its gradient,\n\
         gradient descent). Standardise each feature with the mean and standard deviation of\n\
         train.csv (never of test.csv), train on train.csv, then predict test.csv.\n\n\
         What to submit: a text file with exactly {} lines, one per test.csv row in the same order,\n\
         each the predicted probability that the row is class 1 (benign), a number in [0, 1].\n\
         A header line (e.g. `probability`) is allowed. Then run:\n\n\
         \x20   roadmap verify phase1 --predictions YOUR_FILE\n\n\
         It reports accuracy, precision, recall, F1, ROC AUC and log-loss, records the result,\n\
         and passes when accuracy >= 0.95 and ROC AUC >= 0.98 (the criteria in roadmap.toml).\n",
        train.len(),
        test.len(),
        test.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(dir: &Path) -> RunContext {
        RunContext {
            artifact_dir: dir.to_path_buf(),
            cache_dir: dir.join("cache"),
            latest_models: Default::default(),
        }
    }

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn default_run_passes_the_phase_criteria_and_writes_artifacts() {
        let dir = tempfile::tempdir().unwrap();
        let out = LogReg.run(&ctx(dir.path()), &[]).unwrap();
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
        let out = LogReg
            .verify(
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
            let e = LogReg
                .verify(
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
        let e = LogReg
            .run(
                &ctx(dir.path()),
                &os(&["--data", csv_path.to_str().unwrap(), "--target", "label"]),
            )
            .unwrap_err();
        assert!(format!("{e:#}").contains("line 3, column `b`"), "{e:#}");
        let e = LogReg
            .run(
                &ctx(dir.path()),
                &os(&["--data", csv_path.to_str().unwrap()]),
            )
            .unwrap_err();
        assert!(format!("{e:#}").contains("`target` not found"), "{e:#}");

        let model_path = dir.path().join("saved.json");
        let out = LogReg
            .run(
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
        let e = LogReg
            .run(&ctx(dir.path()), &os(&["--cv", "1000"]))
            .unwrap_err();
        assert!(format!("{e:#}").contains("only 455"), "{e:#}");
    }
}
