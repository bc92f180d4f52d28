//! Phase 2 runner `sentiment`: trains the from-scratch TF-IDF → MLP sentiment
//! classifier (crate `roadmap-sentiment`) on the shipped movie-review snippets
//! (or `--train/--test` CSVs), prints its test metrics next to two baselines,
//! plots the learning curve, and saves the model for `roadmap predict` and
//! `roadmap serve`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{ArgMatches, CommandFactory, Parser};
use comfy_table::Table;
use indicatif::{ProgressBar, ProgressStyle};
use roadmap_common::metrics::BinaryReport;
use roadmap_common::plot::{line_chart, Labels, Series};
use roadmap_sentiment::data::{self, Dataset};
use roadmap_sentiment::pipeline::{self, LogregBaseline, PipelineConfig};
use roadmap_sentiment::{network::EpochStats, TrainConfig};
use serde_json::json;

use super::{flags, ModelArtifact, RunContext, RunOutcome, Runner};

pub struct Sentiment;

/// The fixed split every phase-2 run, export and verification uses.
const SPLIT_SEED: u64 = 42;

#[derive(Debug, Parser)]
#[command(
    name = "roadmap run <PHASE>",
    about = "Train the from-scratch TF-IDF + MLP sentiment classifier"
)]
struct Args {
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    /// Seed for initialisation, shuffling and dropout (the data split stays fixed at 42).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Maximum epochs (early stopping on the validation split usually stops sooner).
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Hidden layer widths, comma-separated (e.g. `128` or `256,64`).
    #[arg(long, value_delimiter = ',', default_value = "128")]
    hidden: Vec<usize>,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f32,
    /// Dropout probability after each hidden layer.
    #[arg(long, default_value_t = 0.5)]
    dropout: f32,
    /// Decoupled (AdamW) weight decay.
    #[arg(long, default_value_t = 1e-4)]
    weight_decay: f32,
    /// Mini-batch size.
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// Epochs without a better validation loss before stopping (0 = never stop early).
    #[arg(long, default_value_t = 3)]
    patience: usize,
    /// Training CSV with a `label,text` header (label 0/1); needs --test.
    #[arg(long, value_name = "FILE", requires = "test")]
    train: Option<PathBuf>,
    /// Test CSV with a `label,text` header; needs --train.
    #[arg(long, value_name = "FILE", requires = "train")]
    test: Option<PathBuf>,
    /// Save the model here instead of the run's artifact directory.
    #[arg(long, value_name = "DIR")]
    save_model: Option<PathBuf>,
    /// K-fold stratified cross-validation instead of the fixed split (reports mean metrics; saves no model).
    #[arg(long, value_name = "K")]
    cv: Option<usize>,
}

#[derive(Debug, Parser)]
#[command(
    name = "roadmap verify <PHASE>",
    about = "Score your own sentiment classifier's test-set probabilities"
)]
struct VerifyArgs {
    /// One probability of "positive" per test row (`roadmap data export phase2`), in file order;
    /// an optional header line is skipped.
    #[arg(long, value_name = "FILE")]
    predictions: PathBuf,
    /// Print one JSON object.
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
    "val_accuracy",
    "best_epoch",
    "train_seconds",
    "majority_accuracy",
    "logreg_accuracy",
    "logreg_roc_auc",
    "accuracy_std",
];

fn report_metrics(r: &BinaryReport) -> serde_json::Value {
    json!({
        "accuracy": r.accuracy, "precision": r.precision, "recall": r.recall, "f1": r.f1,
        "roc_auc": r.roc_auc, "log_loss": r.log_loss,
        "confusion": { "tp": r.confusion.tp, "fp": r.confusion.fp, "tn": r.confusion.tn, "fn": r.confusion.fn_ },
    })
}

/// The shipped data split 80/10/10, or the user's CSVs with a validation ninth carved from --train.
fn load(args: &Args) -> Result<(Dataset, Dataset, Dataset, String, String)> {
    if let (Some(train_path), Some(test_path)) = (&args.train, &args.test) {
        let train = data::read_labeled_csv(train_path)?;
        let test = data::read_labeled_csv(test_path)?;
        let inner = roadmap_common::dataset::stratified_split(&train.labels, 1.0 / 9.0, SPLIT_SEED)
            .with_context(|| {
                format!(
                    "cannot carve a validation split out of {}",
                    train_path.display()
                )
            })?;
        let bytes = std::fs::read(train_path)
            .with_context(|| format!("cannot read {}", train_path.display()))?;
        let source = format!("{} / {}", train_path.display(), test_path.display());
        return Ok((
            train.select(&inner.train),
            train.select(&inner.test),
            test,
            data::sha256_hex(&bytes),
            source,
        ));
    }
    let (all, stats) = data::shipped()?;
    let s = pipeline::split_80_10_10(&all.labels, SPLIT_SEED)?;
    let source = format!(
        "shipped movie-review snippets ({} rows, {} neutral and {} duplicates dropped)",
        stats.rows, stats.neutral_dropped, stats.duplicates_dropped
    );
    Ok((
        all.select(&s.train),
        all.select(&s.val),
        all.select(&s.test),
        data::shipped_sha256(),
        source,
    ))
}

fn config(args: &Args) -> PipelineConfig {
    PipelineConfig {
        train: TrainConfig {
            hidden: args.hidden.clone(),
            dropout: args.dropout,
            lr: args.lr,
            weight_decay: args.weight_decay,
            batch_size: args.batch_size,
            max_epochs: args.epochs,
            patience: args.patience,
            seed: args.seed,
        },
        ..Default::default()
    }
}

fn learning_curve(path: &Path, history: &[EpochStats]) -> Result<()> {
    let pts = |f: &dyn Fn(&EpochStats) -> Option<f32>| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter_map(|s| f(s).map(|v| (s.epoch as f64, f64::from(v))))
            .collect()
    };
    let series = vec![
        Series::new("train loss", pts(&|s| Some(s.train_loss))),
        Series::new("validation loss", pts(&|s| s.val_loss)),
        Series::new("train accuracy", pts(&|s| Some(s.train_accuracy))),
        Series::new("validation accuracy", pts(&|s| s.val_accuracy)),
    ];
    let labels = Labels {
        title: "Sentiment MLP learning curve",
        x: "epoch",
        y: "BCE loss / accuracy",
    };
    line_chart(path, &labels, &series).with_context(|| format!("cannot write {}", path.display()))
}

fn run_cv(args: &Args, k: usize) -> Result<RunOutcome> {
    if args.train.is_some() {
        bail!("--cv uses the shipped data; drop --train/--test (or drop --cv)");
    }
    let (all, _) = data::shipped()?;
    let cfg = config(args);
    let bar = ProgressBar::new(k as u64).with_style(
        ProgressStyle::with_template("{msg} [{bar:30}] fold {pos}/{len} {elapsed}")
            .expect("template"),
    );
    bar.set_message("cross-validating");
    let folds =
        pipeline::cross_validate(&all, k, SPLIT_SEED, &cfg, &data::shipped_sha256(), |_| {
            bar.inc(1)
        })?;
    bar.finish_and_clear();
    let col =
        |f: &dyn Fn(&BinaryReport) -> f64| folds.iter().map(|r| f(&r.report)).collect::<Vec<_>>();
    let mut outcome = RunOutcome {
        params: json!({ "cv": k, "config": cfg, "split_seed": SPLIT_SEED }),
        ..Default::default()
    };
    let mut summary = serde_json::Map::new();
    for (name, values) in [
        ("accuracy", col(&|r| r.accuracy)),
        ("precision", col(&|r| r.precision)),
        ("recall", col(&|r| r.recall)),
        ("f1", col(&|r| r.f1)),
        ("roc_auc", col(&|r| r.roc_auc.unwrap_or(f64::NAN))),
        ("log_loss", col(&|r| r.log_loss)),
    ] {
        let (mean, std) = pipeline::mean_std(&values);
        outcome.metrics.insert(name.to_string(), mean);
        if name == "accuracy" {
            outcome.metrics.insert("accuracy_std".into(), std);
        }
        summary.insert(
            name.into(),
            json!({ "mean": mean, "std": std, "folds": values }),
        );
    }
    if args.json {
        println!(
            "{}",
            json!({ "mode": "cv", "folds": k, "metrics": outcome.metrics, "per_metric": summary, "config": cfg })
        );
    } else {
        let mut t = Table::new();
        t.set_header(vec![
            "fold",
            "accuracy",
            "F1",
            "ROC AUC",
            "log-loss",
            "best epoch",
        ]);
        for r in &folds {
            t.add_row(vec![
                r.fold.to_string(),
                format!("{:.4}", r.report.accuracy),
                format!("{:.4}", r.report.f1),
                format!("{:.4}", r.report.roc_auc.unwrap_or(f64::NAN)),
                format!("{:.4}", r.report.log_loss),
                r.best_epoch.to_string(),
            ]);
        }
        println!("{t}");
        let (m, s) = pipeline::mean_std(&col(&|r| r.accuracy));
        println!("{k}-fold cross-validated accuracy: {m:.4} ± {s:.4} (mean ± sample std)");
    }
    Ok(outcome)
}

impl Runner for Sentiment {
    fn name(&self) -> &'static str {
        "sentiment"
    }

    fn metrics(&self) -> &'static [&'static str] {
        METRICS
    }

    fn command(&self) -> clap::Command {
        Args::command()
    }

    fn run(&self, ctx: &RunContext, args: &ArgMatches) -> Result<RunOutcome> {
        let args: Args = flags(args)?;
        if let Some(k) = args.cv {
            return run_cv(&args, k);
        }
        let (train, val, test, sha, source) = load(&args)?;
        let cfg = config(&args);
        let bar = ProgressBar::new(cfg.train.max_epochs as u64).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] epoch {pos}/{len} {elapsed}")
                .expect("template"),
        );
        bar.set_message("training");
        let mut fitted = pipeline::fit(&train, Some(&val), &cfg, &sha, |s| {
            bar.inc(1);
            bar.set_message(format!(
                "training (val loss {:.4})",
                s.val_loss.unwrap_or(f32::NAN)
            ));
        })?;
        bar.finish_and_clear();
        let report = pipeline::evaluate(&fitted.model, &test)?;
        let val_report = pipeline::evaluate(&fitted.model, &val)?;
        let majority = pipeline::majority_baseline(&train, &test)?;
        let lr_cfg = LogregBaseline::default();
        let logreg = pipeline::logreg_baseline(&fitted.model, &train, &test, &lr_cfg)?;

        let curve = ctx.artifact_dir.join("learning_curve.svg");
        learning_curve(&curve, &fitted.trained.history)?;

        let mut outcome = RunOutcome::default();
        for (name, value) in report.metric_pairs() {
            outcome.metrics.insert(name.to_string(), value);
        }
        outcome
            .metrics
            .insert("val_accuracy".into(), val_report.accuracy);
        outcome
            .metrics
            .insert("best_epoch".into(), fitted.trained.best_epoch as f64);
        outcome
            .metrics
            .insert("train_seconds".into(), fitted.seconds);
        outcome
            .metrics
            .insert("majority_accuracy".into(), majority.accuracy);
        outcome
            .metrics
            .insert("logreg_accuracy".into(), logreg.accuracy);
        if let Some(auc) = logreg.roc_auc {
            outcome.metrics.insert("logreg_roc_auc".into(), auc);
        }
        fitted.model.metadata_mut().metrics = outcome.metrics.clone();
        let model_dir = args
            .save_model
            .clone()
            .unwrap_or_else(|| ctx.artifact_dir.join("model"));
        fitted
            .model
            .save(&model_dir)
            .with_context(|| format!("cannot save the model to {}", model_dir.display()))?;
        let model_dir = model_dir.canonicalize().unwrap_or(model_dir);
        outcome.models.push(ModelArtifact {
            name: "sentiment".into(),
            version: fitted.model.version().to_string(),
            path: model_dir.clone(),
        });
        let meta = fitted.model.metadata();
        outcome.params = json!({
            "config": cfg, "split_seed": SPLIT_SEED, "data": source, "training_data_sha256": sha,
            "n_train": train.len(), "n_val": val.len(), "n_test": test.len(),
            "vocab_size": meta.vocab_size, "n_features": meta.architecture.n_features, "layers": meta.architecture.layers,
            "logreg_baseline": lr_cfg,
        });

        if args.json {
            println!(
                "{}",
                json!({
                    "metrics": outcome.metrics, "test": report_metrics(&report), "validation": report_metrics(&val_report),
                    "baselines": { "majority": report_metrics(&majority), "tfidf_logreg": report_metrics(&logreg) },
                    "history": fitted.trained.history, "params": outcome.params,
                    "model_dir": model_dir, "learning_curve": curve,
                })
            );
        } else {
            println!("Data: {source}");
            println!(
                "Split: {} train / {} validation / {} test; vocabulary {} tokens, {} TF-IDF features; layers {:?}",
                train.len(), val.len(), test.len(), meta.vocab_size, meta.architecture.n_features, meta.architecture.layers
            );
            println!(
                "Trained in {:.2} s; early stopping kept epoch {} of {}.\n",
                fitted.seconds,
                fitted.trained.best_epoch,
                fitted.trained.history.len()
            );
            let mut t = Table::new();
            t.set_header(vec![
                "model (test split)",
                "accuracy",
                "precision",
                "recall",
                "F1",
                "ROC AUC",
                "log-loss",
            ]);
            for (name, r) in [
                ("majority class", &majority),
                (
                    &*format!(
                        "TF-IDF ({} most frequent) + phase-1 logistic regression",
                        lr_cfg.max_features
                    ),
                    &logreg,
                ),
                ("TF-IDF + MLP (this milestone)", &report),
            ] {
                t.add_row(vec![
                    name.to_string(),
                    format!("{:.4}", r.accuracy),
                    format!("{:.4}", r.precision),
                    format!("{:.4}", r.recall),
                    format!("{:.4}", r.f1),
                    r.roc_auc.map_or("n/a".into(), |a| format!("{a:.4}")),
                    format!("{:.4}", r.log_loss),
                ]);
            }
            println!("{t}");
            println!(
                "\nLearning curve: {}\nModel saved to {}",
                curve.display(),
                model_dir.display()
            );
        }
        Ok(outcome)
    }

    fn verify_command(&self) -> Option<clap::Command> {
        Some(VerifyArgs::command())
    }

    fn verify(&self, _ctx: &RunContext, args: &ArgMatches) -> Result<RunOutcome> {
        let args: VerifyArgs = flags(args)?;
        let (_, _, test, _, _) = load(&Args::parse_from(["sentiment"]))?;
        let probs = super::read_predictions(&args.predictions, test.len(), "sentiment_test.csv")?;
        let report = BinaryReport::new(&test.labels, &probs)?;
        let mut outcome = RunOutcome {
            params: json!({ "predictions": args.predictions }),
            ..Default::default()
        };
        for (name, value) in report.metric_pairs() {
            outcome.metrics.insert(name.to_string(), value);
        }
        if args.json {
            println!(
                "{}",
                json!({ "metrics": outcome.metrics, "test": report_metrics(&report) })
            );
        } else {
            for (name, value) in report.metric_pairs() {
                println!("{name:>9} = {value:.4}");
            }
        }
        Ok(outcome)
    }

    fn export(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let (train, val, test, _, _) = load(&Args::parse_from(["sentiment"]))?;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let train_path = dir.join("sentiment_train.csv");
        let mut w = csv::Writer::from_path(&train_path)
            .with_context(|| format!("cannot write {}", train_path.display()))?;
        w.write_record(["label", "text"])?;
        // The learner gets the training and validation rows together and splits them as they like.
        for d in [&train, &val] {
            for (l, t) in d.labels.iter().zip(&d.texts) {
                w.write_record([l.to_string().as_str(), t.as_str()])?;
            }
        }
        w.flush()?;
        let test_path = dir.join("sentiment_test.csv");
        let mut w = csv::Writer::from_path(&test_path)
            .with_context(|| format!("cannot write {}", test_path.display()))?;
        w.write_record(["text"])?;
        for t in &test.texts {
            w.write_record([t.as_str()])?;
        }
        w.flush()?;
        Ok(vec![train_path, test_path])
    }
}
