//! Fit times of both solvers on the phase's data, for the side-by-side
//! comparison with the Python anchors (NumPy gradient descent, scikit-learn lbfgs).
//!
//! The Python anchor trains on scikit-learn's own 80/20 split; the same rows are
//! in `tests/fixtures/breast_cancer_{train,test}.csv`, so both sides fit the
//! identical 455×30 standardised matrix. Run: `cargo bench -p roadmap-logreg`.

use std::path::Path;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use roadmap_common::dataset::{read_csv, StandardScaler};
use roadmap_logreg::{GradientDescent, LogisticRegression, Newton, Solver};

fn train_matrix() -> (ndarray::Array2<f64>, Vec<u8>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/breast_cancer_train.csv");
    let train = read_csv(&path, "target").expect("fixture");
    let scaler = StandardScaler::fit(train.x.view()).expect("rows");
    (
        scaler.transform(train.x.view()).expect("same columns"),
        train.y,
    )
}

fn solvers(c: &mut Criterion) {
    let (x, y) = train_matrix();
    let gd = |record_loss| LogisticRegression {
        c: 1.0,
        // tol 0: run all 5000 epochs, exactly the NumPy anchor's loop.
        solver: Solver::GradientDescent(GradientDescent {
            learning_rate: 0.1,
            epochs: 5000,
            tol: 0.0,
            record_loss,
        }),
    };
    let newton = LogisticRegression {
        c: 1.0,
        solver: Solver::Newton(Newton::default()),
    };
    let mut group = c.benchmark_group("breast_cancer_fit");
    group.sample_size(30);
    group.bench_function("gd_5000_epochs_lr0.1", |b| {
        let m = gd(false);
        b.iter(|| black_box(m.fit(x.view(), &y).unwrap()))
    });
    group.bench_function("gd_5000_epochs_lr0.1_with_loss_history", |b| {
        let m = gd(true);
        b.iter(|| black_box(m.fit(x.view(), &y).unwrap()))
    });
    group.bench_function("newton", |b| {
        b.iter(|| black_box(newton.fit(x.view(), &y).unwrap()))
    });
    group.bench_function("linfa_logistic_lbfgs", |b| {
        b.iter(|| black_box(roadmap_logreg::baseline::fit_linfa(x.view(), &y, 1.0).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, solvers);
criterion_main!(benches);
