//! Capstone part `audit` (issue 15): the Adult census model trained, audited for
//! bias on `sex` and `race`, and explained with SHAP.
//!
//! 1. `roadmap_audit::pipeline::train` on the `adult-census` asset: rows with a
//!    missing cell dropped, deterministic split (`position % 5 == 0` → test),
//!    standardise + one-hot, L2 logistic regression at scikit-learn's optimum
//!    (`C = 1`). Check: Newton converged and test accuracy ≥ 0.80 (a model this
//!    simple reaches about 0.85 on Adult; less means the data or fit is broken).
//! 2. `FairnessReport::compute` on the test predictions — fairlearn 0.15's
//!    definitions: demographic parity difference `DPD = max_g SR_g − min_g SR_g`
//!    and ratio `DPR = min_g SR_g / max_g SR_g` (SR = selection rate, share of
//!    positive predictions), equalized odds difference `EOD = max(ΔTPR, ΔFPR)`,
//!    and the four-fifths rule (every group's selection rate ≥ 0.8 × the
//!    reference group's, the reference being the highest selection rate).
//!    Check per column: every one of these is defined (no group too small to
//!    compare). The verdict itself is a *finding* (Adult's model fails the
//!    four-fifths rule on sex), recorded as `audit_<col>_four_fifths` (1 = passes).
//! 3. Exact linear SHAP of every test row in log-odds (shap's `LinearExplainer`
//!    with the interventional masker over the training rows:
//!    `φⱼ = wⱼ (xⱼ − E[xⱼ])`), summed back to source columns, with global
//!    importance `mean |φ|`. Check: additivity `|φ₀ + Σφ − f(x)| ≤ 1e-9` on every
//!    row.
//!
//! Artifacts: `adult-model.json`, `adult-predictions.csv`, `fairness.md`,
//! `fairness.json`, `shap-bar.svg`.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use roadmap_audit::fairness::{AuditOptions, FairnessReport, GroupAudit};
use roadmap_audit::pipeline::{self, TabularSpec};
use roadmap_audit::Table;
use serde_json::json;

use super::{Ran, Reporter, Settings};

/// The part's metrics; `<col>` is `sex` then `race`.
pub const METRICS: &[&str] = &[
    "audit_test_accuracy",
    "audit_sex_dpd",
    "audit_sex_dpr",
    "audit_sex_eod",
    "audit_sex_four_fifths",
    "audit_race_dpd",
    "audit_race_dpr",
    "audit_race_eod",
    "audit_race_four_fifths",
    "audit_additivity_error",
];

/// Test accuracy below this means the data or the fit is broken.
pub const MIN_TEST_ACCURACY: f64 = 0.80;
/// Largest additivity error accepted for an exact explainer.
pub const MAX_ADDITIVITY_ERROR: f64 = 1e-9;
/// Top features reported.
const TOP: usize = 5;

pub fn run(s: &Settings, rep: &mut Reporter) -> Result<Ran> {
    let dir = match roadmap_common::assets::ensure(&s.cache_dir, pipeline::ADULT_ASSET) {
        Ok(d) => d,
        Err(e) => {
            return Ok(Ran::Skipped(format!(
            "the Adult census data is not available ({e}); `roadmap assets fetch {}` fetches it, \
                 or point ROADMAP_ADULT_CENSUS_DIR at a folder holding {}",
            pipeline::ADULT_ASSET,
            pipeline::ADULT_FILE
        )))
        }
    };
    let path = dir.join(pipeline::ADULT_FILE);
    rep.progress("training the Adult model (logistic regression, Newton)");
    let table =
        Table::read_csv(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let trained = pipeline::train(&table, &TabularSpec::adult(), 1.0)
        .with_context(|| format!("cannot train on {}", path.display()))?;
    let model = &trained.model;
    let t = &model.training;
    rep.check(
        "model",
        t.converged && t.test_accuracy >= MIN_TEST_ACCURACY,
        format!(
            "logistic regression on {} train / {} test rows ({} dropped for a missing cell), Newton {} in {} \
             iterations, test accuracy {:.4} (≥ {MIN_TEST_ACCURACY} needed)",
            t.rows_train,
            t.rows_test,
            t.dropped_missing,
            if t.converged { "converged" } else { "did NOT converge" },
            t.newton_iterations,
            t.test_accuracy
        ),
    );
    model
        .save(&s.artifact_dir.join("adult-model.json"))
        .context("cannot save the Adult model")?;
    trained
        .test_predictions
        .write_csv(&s.artifact_dir.join("adult-predictions.csv"))
        .context("cannot save the test predictions")?;
    let mut metrics = BTreeMap::new();
    metrics.insert("audit_test_accuracy".to_string(), t.test_accuracy);

    rep.progress(&format!(
        "auditing {} test predictions by sex and race ({} bootstrap replicates)",
        trained.test_predictions.y_pred.len(),
        s.bootstrap
    ));
    let mut input = trained.test_predictions.to_audit_input();
    input.source_name = "Adult test rows".into();
    let report = FairnessReport::compute(
        &input,
        &AuditOptions {
            bootstrap: s.bootstrap,
            seed: s.seed,
            ..Default::default()
        },
    )
    .context("cannot audit the Adult test predictions")?;
    std::fs::write(s.artifact_dir.join("fairness.md"), report.render_markdown())?;
    std::fs::write(
        s.artifact_dir.join("fairness.json"),
        serde_json::to_vec_pretty(&report.to_json())?,
    )?;
    let mut fairness = serde_json::Map::new();
    for col in pipeline::ADULT_SENSITIVE {
        let Some(a) = report
            .audits
            .iter()
            .find(|a| !a.intersectional && a.sensitive == [col])
        else {
            rep.check(col, false, format!("the report has no audit by `{col}`"));
            continue;
        };
        let g = Figures::of(a);
        let defined = g.dpd.is_some() && g.dpr.is_some() && g.eod.is_some() && g.passes.is_some();
        let show = |v: Option<f64>| v.map_or("undefined".to_string(), |v| format!("{v:.4}"));
        rep.check(
            col,
            defined,
            format!(
                "{} groups; DPD {}{}, DPR {}, EOD {}; four-fifths rule: {} (lowest {})",
                a.by_group.len(),
                show(g.dpd),
                g.dpd_ci
                    .map(|[lo, hi]| format!(" [{lo:.4}, {hi:.4}]"))
                    .unwrap_or_default(),
                show(g.dpr),
                show(g.eod),
                match g.passes {
                    Some(true) => "passes",
                    Some(false) => "FAILS",
                    None => "undefined",
                },
                g.lowest
                    .as_ref()
                    .map_or("undefined".to_string(), |(grp, r)| format!(
                        "{grp} at {r:.3} of {}",
                        a.four_fifths.reference
                    )),
            ),
        );
        for (name, v) in [("dpd", g.dpd), ("dpr", g.dpr), ("eod", g.eod)] {
            if let Some(v) = v {
                metrics.insert(format!("audit_{col}_{name}"), v);
            }
        }
        if let Some(p) = g.passes {
            metrics.insert(format!("audit_{col}_four_fifths"), f64::from(u8::from(p)));
        }
        fairness.insert(
            col.to_string(),
            json!({
                "demographic_parity_difference": g.dpd,
                "demographic_parity_difference_ci95": g.dpd_ci,
                "demographic_parity_ratio": g.dpr,
                "equalized_odds_difference": g.eod,
                "four_fifths_passes": g.passes,
                "four_fifths_reference": a.four_fifths.reference,
                "lowest_impact": g.lowest,
            }),
        );
    }

    rep.progress("explaining the test rows (exact linear SHAP, log-odds)");
    let pre = &model.preprocessor;
    let e = model
        .explain_linear(trained.x_test.view())
        .context("cannot explain the test rows")?;
    let by_column = e
        .grouped(&pre.feature_groups(), &pre.source_columns())
        .context("cannot group the SHAP values by source column")?;
    let additivity = by_column.max_additivity_error();
    let top: Vec<(String, f64)> = by_column
        .importance()
        .into_iter()
        .take(TOP)
        .map(|i| (i.feature, i.mean_abs_shap))
        .collect();
    rep.check(
        "shap",
        additivity <= MAX_ADDITIVITY_ERROR && !top.is_empty(),
        format!(
            "{} rows, base value {:.4} log-odds, max |φ₀ + Σφ − f(x)| = {additivity:.2e} (≤ {MAX_ADDITIVITY_ERROR:.0e}); \
             top features by mean |SHAP|: {}",
            e.values.nrows(),
            e.base_value,
            top.iter()
                .map(|(f, v)| format!("{f} {v:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    metrics.insert("audit_additivity_error".into(), additivity);
    match roadmap_audit::shap::plot::bar_svg(&by_column, 10) {
        Ok(svg) => std::fs::write(s.artifact_dir.join("shap-bar.svg"), svg)?,
        Err(err) => rep.progress(&format!("no SHAP bar chart: {err}")),
    }
    Ok(Ran::Done {
        metrics,
        details: json!({
            "rows_train": t.rows_train,
            "rows_test": t.rows_test,
            "fairness": fairness,
            "shap_base_value": e.base_value,
            "top_features": top.iter().map(|(f, v)| json!({"feature": f, "mean_abs_shap": v})).collect::<Vec<_>>(),
        }),
    })
}

/// The figures the part records from one column's audit.
struct Figures {
    dpd: Option<f64>,
    dpd_ci: Option<[f64; 2]>,
    dpr: Option<f64>,
    eod: Option<f64>,
    passes: Option<bool>,
    /// The group with the lowest disparate-impact ratio, and the ratio.
    lowest: Option<(String, f64)>,
}

impl Figures {
    fn of(a: &GroupAudit) -> Figures {
        let agg = |name: &str| a.aggregates.iter().find(|x| x.name == name);
        let value = |name: &str| agg(name).and_then(|x| x.value.value);
        let lowest = a
            .four_fifths
            .impacts
            .iter()
            .filter_map(|i| i.ratio.value.map(|r| (i.group.clone(), r)))
            .min_by(|x, y| x.1.total_cmp(&y.1));
        Figures {
            dpd: value("demographic_parity_difference"),
            dpd_ci: agg("demographic_parity_difference").and_then(|x| x.ci95),
            dpr: value("demographic_parity_ratio"),
            eod: value("equalized_odds_difference"),
            passes: a.four_fifths.passes,
            lowest,
        }
    }
}
