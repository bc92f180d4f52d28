//! Reading the reference fixtures of `scripts/reference.py`, shared by the integration tests.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView2};
use roadmap_audit::pipeline::{self, TabularSpec};
use roadmap_audit::Table;
use serde_json::Value;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

pub fn matrix(v: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = v.as_array().unwrap().iter().map(floats).collect();
    Array2::from_shape_fn((rows.len(), rows[0].len()), |(i, j)| rows[i][j])
}

pub fn max_abs_diff(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    (a - b).mapv(f64::abs).fold(0.0f64, |m, &v| m.max(v))
}

/// The pipeline trained on the 600-row Adult sample.
pub fn adult_sample() -> (Table, pipeline::Trained) {
    let table = Table::read_csv(&fixture("adult_sample.csv")).unwrap();
    let tr = pipeline::train(&table, &TabularSpec::adult(), 1.0).unwrap();
    (table, tr)
}

/// `σ(x·w + b)`: a scikit-learn logistic regression of a fixture, as a model to explain.
pub fn logistic(w: Vec<f64>, b: f64) -> impl Fn(ArrayView2<f64>) -> Vec<f64> + Sync {
    move |x: ArrayView2<f64>| {
        x.rows()
            .into_iter()
            .map(|r| 1.0 / (1.0 + (-(r.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>() + b)).exp()))
            .collect()
    }
}
