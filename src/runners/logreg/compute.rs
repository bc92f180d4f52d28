//! Phase 1, compute: load the data, fit both from-scratch solvers and the
//! linfa baseline on the same standardised split, cross-validate on request.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use roadmap_common::dataset::{self, Dataset};
use roadmap_common::metrics::BinaryReport;
use roadmap_logreg::data::{self as logreg_data, Standardised, SPLIT_SEED};
use roadmap_logreg::{baseline, Fitted, GradientDescent, LogisticRegression, Newton, Solver};

use super::{RunArgs, SolverArg};

/// The train and test tables the run uses, and where they came from.
pub(super) fn load(args: &RunArgs) -> Result<(Dataset, Dataset, String)> {
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

pub(super) fn solver_for(args: &RunArgs, which: SolverArg) -> Solver {
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
pub(super) struct Row {
    pub label: String,
    pub report: BinaryReport,
    pub probabilities: Vec<f64>,
    pub fit_seconds: f64,
    pub iterations: Option<usize>,
    pub weights: Vec<f64>,
    pub intercept: f64,
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

/// Everything a phase-1 run computed, before anything is printed or saved.
pub(super) struct Fits {
    pub train: Dataset,
    pub test: Dataset,
    pub source: String,
    pub std: Standardised,
    pub primary_model: LogisticRegression,
    pub other_model: LogisticRegression,
    pub fitted: Fitted,
    pub primary: Row,
    pub other_fitted: Fitted,
    pub other_row: Row,
    pub linfa: Option<Row>,
    pub cv: Option<Vec<BinaryReport>>,
}

impl Fits {
    /// The rows of the comparison: the reported solver, the other, linfa.
    pub fn rows(&self) -> Vec<&Row> {
        let mut rows = vec![&self.primary, &self.other_row];
        rows.extend(self.linfa.as_ref());
        rows
    }
}

/// Fits the reported solver, the other solver and linfa-logistic; runs CV
/// when asked.
pub(super) fn fit_all(args: &RunArgs) -> Result<Fits> {
    let (train, test, source) = load(args)?;
    let std = logreg_data::standardise(&train, &test)?;

    let primary_model = LogisticRegression {
        c: args.c,
        solver: solver_for(args, args.solver),
    };
    let other = match args.solver {
        SolverArg::Gd => SolverArg::Newton,
        SolverArg::Newton => SolverArg::Gd,
    };
    let other_model = LogisticRegression {
        c: args.c,
        solver: solver_for(args, other),
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
    Ok(Fits {
        train,
        test,
        source,
        std,
        primary_model,
        other_model,
        fitted,
        primary,
        other_fitted,
        other_row,
        linfa,
        cv,
    })
}
