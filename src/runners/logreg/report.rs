//! Phase 1, report: what a run hands the tracker (metrics, parameters) and
//! the `--json` object.

use std::collections::BTreeMap;
use std::path::PathBuf;

use roadmap_common::stats::{mean, std_population};
use serde_json::{json, Value};

use super::compute::{Fits, Row};
use super::render::max_abs_diff;
use super::RunArgs;

/// The metrics the acceptance criteria are checked against. CV spreads are
/// population standard deviations over the folds (`numpy.std` of the fold
/// scores, as scikit-learn's examples report them).
pub(super) fn metrics(f: &Fits) -> BTreeMap<String, f64> {
    let mut metrics = BTreeMap::new();
    for (name, v) in f.primary.report.metric_pairs() {
        metrics.insert(name.to_string(), v);
    }
    metrics.insert("fit_seconds".into(), f.primary.fit_seconds);
    metrics.insert("iterations".into(), f.fitted.trace.iterations as f64);
    metrics.insert(
        "converged".into(),
        f64::from(u8::from(f.fitted.trace.converged)),
    );
    if let Some(l) = &f.linfa {
        metrics.insert("linfa_accuracy".into(), l.report.accuracy);
        if let Some(auc) = l.report.roc_auc {
            metrics.insert("linfa_roc_auc".into(), auc);
        }
        metrics.insert("linfa_log_loss".into(), l.report.log_loss);
        metrics.insert("linfa_fit_seconds".into(), l.fit_seconds);
        metrics.insert(
            "linfa_max_coef_diff".into(),
            max_abs_diff(&l.weights, &f.primary.weights),
        );
    }
    if let Some(reports) = &f.cv {
        let acc: Vec<f64> = reports.iter().map(|r| r.accuracy).collect();
        let f1: Vec<f64> = reports.iter().map(|r| r.f1).collect();
        let ll: Vec<f64> = reports.iter().map(|r| r.log_loss).collect();
        let auc: Vec<f64> = reports.iter().filter_map(|r| r.roc_auc).collect();
        metrics.insert("cv_accuracy_mean".into(), mean(&acc));
        metrics.insert("cv_accuracy_std".into(), std_population(&acc));
        metrics.insert("cv_f1_mean".into(), mean(&f1));
        metrics.insert("cv_log_loss_mean".into(), mean(&ll));
        if !auc.is_empty() {
            metrics.insert("cv_roc_auc_mean".into(), mean(&auc));
            metrics.insert("cv_roc_auc_std".into(), std_population(&auc));
        }
    }
    metrics
}

/// The effective parameters of the run.
pub(super) fn params(f: &Fits, args: &RunArgs) -> Value {
    json!({
        "source": f.source,
        "target": f.train.target_name,
        "c": args.c.is_finite().then_some(args.c),
        "solver": f.primary_model.solver,
        "seed": args.seed,
        "cv": args.cv,
        "n_train": f.train.len(),
        "n_test": f.test.len(),
    })
}

/// The `--json` output of a run.
pub(super) fn json_output(f: &Fits, args: &RunArgs, artifacts: &[PathBuf]) -> Value {
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
    for (name, v) in f.primary.report.metric_pairs() {
        metrics_obj.insert(name.to_string(), json!(v));
    }
    let cv =
        f.cv.as_ref()
            .map(|reports| json!({ "folds": reports.len(), "per_fold": reports }));
    json!({
        "model": "roadmap-logreg",
        "solver": f.primary_model.solver.short_name(),
        "c": args.c.is_finite().then_some(args.c),
        "metrics": metrics_obj,
        "confusion": f.primary.report.confusion,
        "coefficients": f.primary.weights,
        "feature_names": f.train.feature_names,
        "intercept": f.primary.intercept,
        "fit_seconds": f.primary.fit_seconds,
        "iterations": f.fitted.trace.iterations,
        "converged": f.fitted.trace.converged,
        "n_train": f.train.len(),
        "n_test": f.test.len(),
        "seed": args.seed,
        "source": f.source,
        "comparison": {
            f.other_model.solver.short_name(): row_json(&f.other_row),
            "linfa_logistic": f.linfa.as_ref().map(row_json),
        },
        "cv": cv,
        "artifacts": artifacts,
    })
}
