//! The from-scratch solvers against scikit-learn's optimum on the identical split.
//!
//! Fixtures (copied from the project's Python anchors, see `fixtures/README.md`):
//! the raw train/test rows of scikit-learn's stratified 80/20 split
//! (`random_state=42`) and `LogisticRegression(C=1, tol=1e-12)`'s coefficients
//! after standardising with the training mean and population std.

use std::path::{Path, PathBuf};

use roadmap_common::dataset::{read_csv, Dataset, StandardScaler};
use roadmap_common::metrics::BinaryReport;
use roadmap_logreg::{GradientDescent, LogisticRegression, Newton, Solver};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

struct Reference {
    coef: Vec<f64>,
    intercept: f64,
    test_accuracy: f64,
    features: Vec<String>,
}

fn reference() -> Reference {
    let text = std::fs::read_to_string(fixture("breast_cancer_sklearn_coef.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let floats = |k: &str| {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect::<Vec<_>>()
    };
    Reference {
        coef: floats("coef"),
        intercept: v["intercept"].as_f64().unwrap(),
        test_accuracy: v["test_accuracy"].as_f64().unwrap(),
        features: v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect(),
    }
}

fn split() -> (Dataset, Dataset, ndarray::Array2<f64>, ndarray::Array2<f64>) {
    let train = read_csv(&fixture("breast_cancer_train.csv"), "target").unwrap();
    let test = read_csv(&fixture("breast_cancer_test.csv"), "target").unwrap();
    let scaler = StandardScaler::fit(train.x.view()).unwrap();
    let xtr = scaler.transform(train.x.view()).unwrap();
    let xte = scaler.transform(test.x.view()).unwrap();
    (train, test, xtr, xte)
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn newton_matches_scikit_learn_coefficients_and_accuracy() {
    let r = reference();
    let (train, test, xtr, xte) = split();
    assert_eq!(train.feature_names, r.features);
    let fitted = LogisticRegression {
        c: 1.0,
        solver: Solver::Newton(Newton::default()),
    }
    .fit(xtr.view(), &train.y)
    .unwrap();
    assert!(fitted.trace.converged);
    assert!(
        fitted.trace.iterations < 15,
        "Newton took {} steps",
        fitted.trace.iterations
    );
    let d = max_diff(fitted.weights.as_slice().unwrap(), &r.coef);
    assert!(d < 1e-3, "max |Δcoef| vs scikit-learn = {d}");
    assert!((fitted.intercept - r.intercept).abs() < 1e-3);
    let p = fitted.predict_proba(xte.view()).unwrap();
    let report = BinaryReport::new(&test.y, p.as_slice().unwrap()).unwrap();
    assert!(
        (report.accuracy - r.test_accuracy).abs() < 1e-12,
        "accuracy {}",
        report.accuracy
    );
}

#[test]
fn gradient_descent_and_newton_reach_the_same_optimum() {
    // C = 0.1 makes the problem well enough conditioned for gradient descent to
    // converge fully in a test-friendly number of epochs (with C = 1, 5000 epochs
    // at η = 0.1 still stop short: α = 1/(C·n) is the smallest curvature).
    let (train, _, xtr, _) = split();
    let newton = LogisticRegression {
        c: 0.1,
        solver: Solver::newton(),
    }
    .fit(xtr.view(), &train.y)
    .unwrap();
    let gd = LogisticRegression {
        c: 0.1,
        solver: Solver::GradientDescent(GradientDescent {
            learning_rate: 0.5,
            epochs: 50_000,
            tol: 1e-10,
            record_loss: true,
        }),
    }
    .fit(xtr.view(), &train.y)
    .unwrap();
    assert!(
        gd.trace.converged,
        "GD stopped at |∇F| = {}",
        gd.trace.grad_max
    );
    let d = max_diff(
        gd.weights.as_slice().unwrap(),
        newton.weights.as_slice().unwrap(),
    );
    assert!(d < 1e-7, "max |Δw| GD vs Newton = {d}");
    assert!((gd.intercept - newton.intercept).abs() < 1e-7);
    // The recorded loss never increases for a small enough step on a convex problem.
    assert!(gd.trace.loss.windows(2).all(|w| w[1] <= w[0] + 1e-15));
    let f_gd = *gd.trace.loss.last().unwrap();
    let f_newton = *newton.trace.loss.last().unwrap();
    assert!((f_gd - f_newton).abs() < 1e-12);
}

#[test]
fn gradient_descent_with_the_anchor_settings_is_close_to_scikit_learn() {
    // The NumPy anchor's loop (η = 0.1, 5000 epochs, C = 1) ends near, not at,
    // the optimum; it must still classify the test rows as well.
    let r = reference();
    let (train, test, xtr, xte) = split();
    let gd = LogisticRegression {
        c: 1.0,
        solver: Solver::GradientDescent(GradientDescent {
            tol: 0.0,
            ..Default::default()
        }),
    }
    .fit(xtr.view(), &train.y)
    .unwrap();
    assert_eq!(gd.trace.iterations, 5000);
    assert!(max_diff(gd.weights.as_slice().unwrap(), &r.coef) < 0.5);
    let p = gd.predict_proba(xte.view()).unwrap();
    let report = BinaryReport::new(&test.y, p.as_slice().unwrap()).unwrap();
    assert!(report.accuracy >= 0.97, "accuracy {}", report.accuracy);
}

#[test]
fn linfa_baseline_lands_near_the_same_optimum() {
    let r = reference();
    let (train, _, xtr, _) = split();
    let fit = roadmap_logreg::baseline::fit_linfa(xtr.view(), &train.y, 1.0).unwrap();
    let d = max_diff(fit.weights.as_slice().unwrap(), &r.coef);
    assert!(d < 1e-2, "linfa max |Δcoef| = {d}");
}
