//! KernelSHAP and exact Shapley values against shap 0.51's KernelExplainer
//! (`tests/fixtures/kernel_*.json`, made by `scripts/reference.py`).

mod common;

use common::{adult_sample, floats, json, logistic, matrix, max_abs_diff};
use ndarray::ArrayView2;
use roadmap_audit::pipeline::Trained;
use roadmap_audit::shap::background::Background;
use roadmap_audit::shap::exact::exact_tabular;
use roadmap_audit::shap::kernel::{KernelExplainer, KernelOptions, L1Reg, NSamples};
use roadmap_audit::shap::Link;

/// scikit-learn's model of the Adult sample, shap's k-means background of it, and our pipeline.
fn full_model() -> (
    impl Fn(ArrayView2<f64>) -> Vec<f64> + Sync,
    Background,
    Trained,
) {
    let p = json("sklearn_pipeline.json");
    let k = json("kmeans.json");
    let f = logistic(floats(&p["coef"]), p["intercept"].as_f64().unwrap());
    let bg = Background::new(matrix(&k["shap_data"]), Some(floats(&k["shap_weights"]))).unwrap();
    (f, bg, adult_sample().1)
}

fn opts512() -> KernelOptions {
    KernelOptions {
        nsamples: NSamples::Fixed(512),
        ..Default::default()
    }
}

#[test]
fn kernel_shap_equals_shap_where_shap_enumerates() {
    let r = json("kernel_exact.json");
    let f = logistic(floats(&r["coef"]), r["intercept"].as_f64().unwrap());
    let bg = Background::new(matrix(&r["background"]), Some(floats(&r["weights"]))).unwrap();
    let rows = matrix(&r["rows"]);
    let names: Vec<String> = (0..6).map(|j| format!("x{j}")).collect();
    let ex = KernelExplainer::new(&f, bg.clone(), Link::Logit, names.clone()).unwrap();
    assert!((ex.expected_value() - r["expected_value"].as_f64().unwrap()).abs() < 1e-12);
    let e = ex.explain(rows.view(), &opts512()).unwrap();
    let expect = matrix(&r["values"]);
    let diff = max_abs_diff(&e.values, &expect);
    eprintln!("enumerated KernelSHAP: max |ours − shap| = {diff:e}");
    assert!(diff < 1e-9, "max |KernelSHAP − shap| = {diff:e}");
    assert!(e.max_additivity_error() < 1e-12);
    // Enumeration is the exact Shapley value of the same game.
    let x = exact_tabular(&f, &bg, Link::Logit, rows.view(), None, &names).unwrap();
    let diff = max_abs_diff(&x.values, &expect);
    eprintln!("exact Shapley: max |ours − shap| = {diff:e}");
    assert!(diff < 1e-9, "max |exact − shap| = {diff:e}");
}

#[test]
fn kernel_shap_agrees_with_shap_within_its_sampling_error() {
    let s = json("kernel_sampled.json");
    let (f, bg, tr) = full_model();
    let rows = tr.x_test.slice(ndarray::s![..5, ..]).to_owned();
    let ex = KernelExplainer::new(&f, bg, Link::Logit, tr.model.feature_names.clone()).unwrap();
    assert!((ex.expected_value() - s["expected_value"].as_f64().unwrap()).abs() < 1e-12);
    let (mean, std) = (matrix(&s["mean"]), matrix(&s["std"]));
    // Several seeds of ours, so a rare unlucky draw cannot decide the test.
    let mut worst_z = 0.0f64;
    let mut max_d = 0.0f64;
    let mut outside = 0;
    let mut total = 0;
    for seed in 0..3 {
        let e = ex
            .explain(rows.view(), &KernelOptions { seed, ..opts512() })
            .unwrap();
        assert!(e.max_additivity_error() < 1e-9);
        for i in 0..5 {
            let nonzero = e.values.row(i).iter().filter(|v| **v != 0.0).count();
            assert!(
                nonzero <= 10,
                "l1_reg=num_features(10) keeps at most 10 features, row {i} has {nonzero}"
            );
            for j in 0..e.values.ncols() {
                let d = (e.values[[i, j]] - mean[[i, j]]).abs();
                // Our estimate and shap's 20-seed mean differ by sampling noise of
                // standard deviation ≈ σ·√(1 + 1/20); allow 5σ plus 0.02 log-odds for
                // features LAR selects in some samples and not others.
                total += 1;
                if d > 3.0 * std[[i, j]] + 1e-6 {
                    outside += 1;
                }
                worst_z = worst_z.max(d - 5.0 * std[[i, j]]);
                max_d = max_d.max(d);
                assert!(
                    d <= 5.0 * std[[i, j]] + 0.02,
                    "row {i} feature {} (seed {seed}): ours {:.4}, shap {:.4} ± {:.4}",
                    e.feature_names[j],
                    e.values[[i, j]],
                    mean[[i, j]],
                    std[[i, j]]
                );
            }
        }
    }
    eprintln!(
        "sampled KernelSHAP: max |ours − shap's 20-seed mean| = {max_d:.4}; {outside} of {total} values beyond 3σ"
    );
    assert!(
        outside * 20 <= total,
        "{outside} of {total} values beyond 3σ of shap's mean (worst excess over 5σ: {worst_z:.4})"
    );
}

#[test]
fn l1_off_keeps_every_varying_feature_and_exact_grouped_shapley_is_additive() {
    let (f, bg, tr) = full_model();
    let row = tr.x_test.slice(ndarray::s![..1, ..]).to_owned();
    let pre = &tr.model.preprocessor;
    let (groups, names) = (pre.feature_groups(), pre.source_columns());
    // 14 source columns as players: exact enumeration (16,384 coalitions) …
    let exact = exact_tabular(
        &f,
        &bg,
        Link::Logit,
        row.view(),
        Some((&groups, &names)),
        &tr.model.feature_names,
    )
    .unwrap();
    assert!(exact.max_additivity_error() < 1e-9);
    // … and KernelSHAP over the same groups with a budget covering every coalition, no selection.
    let ex = KernelExplainer::new(&f, bg, Link::Logit, tr.model.feature_names.clone())
        .unwrap()
        .with_groups(groups.clone(), names.clone())
        .unwrap();
    let all = KernelOptions {
        nsamples: NSamples::Fixed(1 << 14),
        l1_reg: L1Reg::Off,
        seed: 0,
    };
    let kern = ex.explain(row.view(), &all).unwrap();
    let diff = max_abs_diff(&kern.values, &exact.values);
    assert!(
        diff < 1e-8,
        "grouped KernelSHAP with every coalition vs exact: {diff:e}"
    );
}
