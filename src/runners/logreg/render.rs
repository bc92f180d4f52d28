//! Phase 1, render: the comparison table, the CV table and the plots.

use std::path::{Path, PathBuf};

use anyhow::Result;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use roadmap_common::metrics::{roc_curve, BinaryReport};
use roadmap_common::plot::{line_chart, roc_chart, Labels, Series};
use roadmap_logreg::Fitted;

use super::compute::{Fits, Row};

pub(super) fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

pub(super) fn fmt_opt(v: Option<f64>) -> String {
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

/// One row of the usual binary metrics.
pub(super) fn report_table(report: &BinaryReport) -> Table {
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
    t
}

/// The plots of a run: loss per iteration of both solvers, ROC of every model.
pub(super) fn plots(dir: &Path, f: &Fits) -> Result<Vec<PathBuf>> {
    let primary_name = format!("roadmap-logreg ({})", f.primary_model.solver.short_name());
    let other_name = format!("roadmap-logreg ({})", f.other_model.solver.short_name());
    write_plots(
        dir,
        &[(&primary_name, &f.fitted), (&other_name, &f.other_fitted)],
        &f.rows(),
        &f.test.y,
    )
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

/// The human-readable report of a run.
pub(super) fn print_human(f: &Fits, c: f64, seed: u64, artifacts: &[PathBuf]) {
    println!("Phase 1: logistic regression from scratch, C = {c}");
    println!(
        "data: {}; {} training rows, {} test rows, {} features (standardised with training statistics)",
        f.source,
        f.train.len(),
        f.test.len(),
        f.train.feature_names.len()
    );
    println!();
    println!("{}", metrics_table(&f.rows(), &f.primary.weights));
    if let Some(reports) = &f.cv {
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
        println!();
        println!(
            "{}-fold stratified cross-validation on the training split (seed {seed}):",
            reports.len(),
        );
        println!("{t}");
        println!(
            "accuracy {:.4} ± {:.4}",
            roadmap_common::stats::mean(&acc),
            roadmap_common::stats::std_population(&acc)
        );
    }
    let cm = &f.primary.report.confusion;
    println!();
    println!(
        "confusion ({}): tp {}  fp {}  tn {}  fn {}",
        f.primary.label, cm.tp, cm.fp, cm.tn, cm.fn_
    );
    println!("artifacts:");
    for a in artifacts {
        println!("  {}", a.display());
    }
}
