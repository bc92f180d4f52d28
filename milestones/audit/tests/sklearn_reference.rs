//! The pipeline, linear SHAP and the k-means background against scikit-learn
//! and shap, on the first 600 rows of Adult (`tests/fixtures/`, made by
//! `scripts/reference.py`).

mod common;

use common::{adult_sample as trained, fixture, floats, json, matrix, max_abs_diff};
use ndarray::{Array2, Axis};
use roadmap_audit::pipeline::{self, TabularSpec};
use roadmap_audit::shap::background::Background;
use roadmap_audit::shap::linear::linear_shap;
use roadmap_audit::Table;

#[test]
fn pipeline_matches_scikit_learn_to_1e_6() {
    let (table, tr) = trained();
    let r = json("sklearn_pipeline.json");
    assert_eq!(
        table.len() as u64,
        r["rows_after_cleaning"].as_u64().unwrap()
    );
    let names: Vec<String> = r["feature_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        tr.model.feature_names, names,
        "same columns, categories sorted byte-wise"
    );
    let coef = floats(&r["coef"]);
    let max_diff = tr
        .model
        .weights
        .iter()
        .zip(&coef)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    eprintln!("pipeline: max |coef − scikit-learn| = {max_diff:e}");
    assert!(max_diff < 1e-6, "max |coef − sklearn| = {max_diff:e}");
    assert!((tr.model.intercept - r["intercept"].as_f64().unwrap()).abs() < 1e-6);
    assert!(tr.model.training.converged);
    let positions: Vec<u64> = r["test_positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(
        tr.test_rows.iter().map(|&p| p as u64).collect::<Vec<_>>(),
        positions
    );
    for (a, b) in tr
        .test_predictions
        .score
        .iter()
        .zip(floats(&r["test_scores"]))
    {
        assert!((a - b).abs() < 1e-7, "{a} vs {b}");
    }
    let pred: Vec<u8> = floats(&r["test_pred"]).iter().map(|&v| v as u8).collect();
    assert_eq!(tr.test_predictions.y_pred, pred);
    for (a, b) in tr
        .model
        .train_feature_means
        .iter()
        .zip(floats(&r["train_means"]))
    {
        assert!((a - b).abs() < 1e-12);
    }
}

#[test]
fn leading_spaces_give_the_same_model() {
    let text = std::fs::read_to_string(fixture("adult_sample.csv")).unwrap();
    let spaced = text.replace(',', ", ");
    let table = Table::parse(spaced.as_bytes(), "spaced.csv").unwrap();
    let a = pipeline::train(&table, &TabularSpec::adult(), 1.0).unwrap();
    let (_, b) = trained();
    assert_eq!(a.model.weights, b.model.weights);
    assert_eq!(a.model.feature_names, b.model.feature_names);
    assert_eq!(
        table.dropped_missing, 50,
        "the 50 rows with a `?` are dropped either way"
    );
}

#[test]
fn linear_shap_matches_shap_linear_explainer_to_1e_9() {
    // Known coefficients (scikit-learn's) on this crate's design matrix.
    let (_, tr) = trained();
    let r = json("sklearn_pipeline.json");
    let s = json("linear_shap.json");
    let coef = floats(&r["coef"]);
    let means = tr.x_train.mean_axis(Axis(0)).unwrap().to_vec();
    let x = tr.x_test.slice(ndarray::s![..25, ..]);
    let e = linear_shap(
        &coef,
        r["intercept"].as_f64().unwrap(),
        &means,
        &tr.model.feature_names,
        x,
    )
    .unwrap();
    let expect = matrix(&s["values"]);
    let diff = max_abs_diff(&e.values, &expect);
    eprintln!("linear SHAP: max |ours − shap| = {diff:e}");
    assert!(diff < 1e-9, "max |SHAP − shap| = {diff:e}");
    assert!((e.base_value - s["expected_value"].as_f64().unwrap()).abs() < 1e-9);
    assert!(e.max_additivity_error() < 1e-9);
    // And with the crate's own fit, through the model API.
    let own = tr.model.explain_linear(x).unwrap();
    assert!(own.max_additivity_error() < 1e-9);
    let grouped = own
        .grouped(
            &tr.model.preprocessor.feature_groups(),
            &tr.model.preprocessor.source_columns(),
        )
        .unwrap();
    assert_eq!(grouped.feature_names.len(), 14);
    assert!(grouped.max_additivity_error() < 1e-9);
}

#[test]
fn kmeans_background_rounds_and_weights_like_shap() {
    let (_, tr) = trained();
    let k = json("kmeans.json");
    let labels: Vec<usize> = k["sklearn_labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let b = Background::from_centres(
        tr.x_train.view(),
        matrix(&k["sklearn_centres"]).view(),
        &labels,
    )
    .unwrap();
    let shap_data = matrix(&k["shap_data"]);
    let diff = max_abs_diff(&b.data, &shap_data);
    assert!(diff < 1e-12, "rounded centres differ by {diff:e}");
    for (a, e) in b.weights.iter().zip(floats(&k["shap_weights"])) {
        assert!((a - e).abs() < 1e-15);
    }
    // Our own clustering (linfa, different generator): as compact as scikit-learn's.
    let ours = Background::kmeans(tr.x_train.view(), 10).unwrap();
    let sse = |c: &Array2<f64>| -> f64 {
        tr.x_train
            .rows()
            .into_iter()
            .map(|r| {
                c.rows()
                    .into_iter()
                    .map(|m| {
                        r.iter()
                            .zip(m.iter())
                            .map(|(a, b)| (a - b) * (a - b))
                            .sum::<f64>()
                    })
                    .fold(f64::INFINITY, f64::min)
            })
            .sum()
    };
    let (mine, theirs) = (sse(&ours.data), sse(&shap_data));
    assert!(
        mine <= 1.15 * theirs,
        "SSE to rounded centres: ours {mine:.1}, shap's {theirs:.1}"
    );
}
