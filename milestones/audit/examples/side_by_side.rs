//! The Rust side of the phase-6 anchor's `kernelshap` and `fairness` tasks,
//! timed the same way (best of `--reps`), one JSON line per task.
//!
//! ```sh
//! cargo run --release -p roadmap-audit --example side_by_side -- --adult adult.csv [--reference shap_adult.json] [--reps 3]
//! ```
//!
//! - `kernelshap`: the anchor's recipe (five numeric columns, eight one-hot
//!   categoricals, C = 1 logistic regression, `shap.kmeans`-style background of
//!   10, the first 50 test rows, nsamples 512, logit link), all rows in
//!   parallel and one row at a time on one thread.
//! - `fairness`: the audit of all 30,162 rows' predictions by sex and by race
//!   and their intersection (MetricFrame, aggregates, four-fifths, 1,000
//!   bootstrap replicates), and the anchor's subset (by sex, no bootstrap).
//! - `--reference` (written by `scripts/kernelshap_adult.py`): explains shap's
//!   own model, background and rows and compares with shap's mean over seeds:
//!   the max |difference|, and how many values are within 3 standard
//!   deviations of shap's sampling error. This is also the like-for-like timing.

use std::path::PathBuf;
use std::time::Instant;

use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use roadmap_audit::fairness::{AuditOptions, FairnessReport};
use roadmap_audit::pipeline::{self, TabularSpec};
use roadmap_audit::shap::background::Background;
use roadmap_audit::shap::kernel::{KernelExplainer, KernelOptions, NSamples};
use roadmap_audit::shap::Link;
use roadmap_audit::Table;

fn best_of<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(v);
    }
    (best, out.expect("at least one repetition"))
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn matrix(v: &serde_json::Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = v
        .as_array()
        .expect("a matrix")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("a row")
                .iter()
                .map(|x| x.as_f64().expect("a number"))
                .collect()
        })
        .collect();
    Array2::from_shape_fn((rows.len(), rows[0].len()), |(i, j)| rows[i][j])
}

fn sequential(ex: &KernelExplainer, x: ArrayView2<f64>, opts: &KernelOptions) -> usize {
    let mut n = 0;
    for i in 0..x.nrows() {
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        rng.set_stream(i as u64);
        n += ex
            .explain_row(x.row(i), opts, &mut rng)
            .expect("explained")
            .0
            .len();
    }
    n
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let adult = PathBuf::from(arg(&args, "--adult").expect("--adult PATH/adult.csv"));
    let reps: usize = arg(&args, "--reps").map_or(3, |r| r.parse().expect("--reps N"));
    let opts = KernelOptions {
        nsamples: NSamples::Fixed(512),
        ..Default::default()
    };

    let table = Table::read_csv(&adult).expect("the Adult CSV");
    let mut spec = TabularSpec::adult();
    spec.numeric.retain(|c| c != "fnlwgt"); // the anchor's five numeric columns
    let tr = pipeline::train(&table, &spec, 1.0).expect("trained");
    let (t_bg, bg) = best_of(reps, || {
        Background::kmeans(tr.x_train.view(), 10).expect("k-means")
    });
    let rows = tr.x_test.slice(ndarray::s![..50, ..]);
    let ex = KernelExplainer::new(&tr.model, bg, Link::Logit, tr.model.feature_names.clone())
        .expect("explainer");
    let (t_par, e) = best_of(reps, || ex.explain(rows, &opts).expect("explained"));
    let (t_seq, _) = best_of(reps, || sequential(&ex, rows, &opts));
    println!(
        "{}",
        serde_json::json!({
            "task": "kernelshap", "rows_explained": 50, "features": rows.ncols(), "nsamples": 512, "background": 10,
            "seconds_parallel": t_par, "seconds_one_thread": t_seq, "seconds_kmeans_background": t_bg,
            "threads": rayon::current_num_threads(), "max_additivity_error": e.max_additivity_error(),
        })
    );

    let all = tr
        .model
        .predict(&table, Some(&["sex".to_string(), "race".to_string()]))
        .expect("predicted");
    let input = all.to_audit_input();
    let (t_full, r) = best_of(reps, || {
        FairnessReport::compute(&input, &AuditOptions::default()).expect("audit")
    });
    let mut by_sex = input.clone();
    by_sex.sensitive.truncate(1);
    let no_boot = AuditOptions {
        bootstrap: 0,
        ..Default::default()
    };
    let (t_sex, _) = best_of(reps, || {
        FairnessReport::compute(&by_sex, &no_boot).expect("audit")
    });
    let dpd = r.audits[0]
        .aggregates
        .iter()
        .find(|a| a.name == "demographic_parity_difference")
        .and_then(|a| a.value.value);
    println!(
        "{}",
        serde_json::json!({
            "task": "fairness", "rows": input.y_true.len(), "seconds_full_audit_sex_race_bootstrap_1000": t_full,
            "seconds_sex_only_no_bootstrap": t_sex, "demographic_parity_difference_sex": dpd,
        })
    );

    if let Some(path) = arg(&args, "--reference") {
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("the reference JSON"))
                .expect("JSON");
        let w: Vec<f64> = r["coef"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let b = r["intercept"].as_f64().unwrap();
        let f = move |x: ArrayView2<f64>| -> Vec<f64> {
            x.rows()
                .into_iter()
                .map(|row| {
                    1.0 / (1.0 + (-(row.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>() + b)).exp())
                })
                .collect()
        };
        let weights: Vec<f64> = r["weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let bg = Background::new(matrix(&r["background"]), Some(weights)).expect("background");
        let rows = matrix(&r["rows"]);
        let names: Vec<String> = (0..rows.ncols()).map(|j| format!("x{j}")).collect();
        let ex = KernelExplainer::new(&f, bg, Link::Logit, names).expect("explainer");
        let (t_par, e) = best_of(reps, || ex.explain(rows.view(), &opts).expect("explained"));
        let (t_seq, _) = best_of(reps, || sequential(&ex, rows.view(), &opts));
        let (mean, std) = (matrix(&r["mean"]), matrix(&r["std"]));
        let diff = &e.values - &mean;
        let max_abs = diff.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let within3 = diff
            .iter()
            .zip(std.iter())
            .filter(|(d, s)| d.abs() <= 3.0 * **s + 1e-9)
            .count();
        let shap_t = r["seconds_predict_proba_2_outputs"]
            .as_f64()
            .unwrap_or(f64::NAN);
        let shap_t1 = r["seconds_class1_output"].as_f64().unwrap_or(f64::NAN);
        println!(
            "{}",
            serde_json::json!({
                "task": "kernelshap_vs_shap", "reference": path, "shap_seeds": r["seeds"],
                "expected_value_diff": (ex.expected_value() - r["expected_value"].as_f64().unwrap()).abs(),
                "max_abs_diff_vs_shap_mean": max_abs, "max_shap_std": std.iter().fold(0.0f64, |m, v| m.max(*v)),
                "values": diff.len(), "within_3_sd": within3,
                "seconds_parallel": t_par, "seconds_one_thread": t_seq,
                "shap_seconds_2_outputs": shap_t, "shap_seconds_class1": shap_t1,
                "speedup_one_thread_vs_shap_2_outputs": shap_t / t_seq,
                "speedup_one_thread_vs_shap_class1": shap_t1 / t_seq,
            })
        );
    }
}
