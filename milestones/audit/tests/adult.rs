//! The whole audit on the real Adult data (the `adult-census` asset, fetched by
//! the project's asset manager into the shared test cache, or the folder
//! `$ROADMAP_ADULT_CENSUS_DIR` names). No silent skip: without the data these
//! tests fail and say why.

use std::path::PathBuf;
use std::sync::OnceLock;

use roadmap_audit::fairness::{AuditOptions, FairnessReport};
use roadmap_audit::mitigation::{mitigate, Constraint};
use roadmap_audit::pipeline::{self, TabularModel, TabularSpec, ADULT_ASSET, ADULT_FILE};
use roadmap_audit::shap::background::Background;
use roadmap_audit::shap::kernel::{KernelExplainer, KernelOptions, NSamples};
use roadmap_audit::shap::Link;
use roadmap_audit::{AuditError, Table};

fn adult() -> &'static (Table, pipeline::Trained) {
    static A: OnceLock<(Table, pipeline::Trained)> = OnceLock::new();
    A.get_or_init(|| {
        let cache = roadmap_common::assets::test_cache_dir(env!("CARGO_TARGET_TMPDIR"));
        let dir: PathBuf =
            roadmap_common::assets::ensure(&cache, ADULT_ASSET).unwrap_or_else(|e| {
                panic!("cannot get the Adult census data (needed by these tests): {e}")
            });
        let table = Table::read_csv(&dir.join(ADULT_FILE)).unwrap();
        let tr = pipeline::train(&table, &TabularSpec::adult(), 1.0).unwrap();
        (table, tr)
    })
}

#[test]
fn adult_pipeline_rows_split_and_fit() {
    let (table, tr) = adult();
    assert_eq!(
        table.len(),
        30_162,
        "32,561 rows minus the 2,399 with a `?`"
    );
    assert_eq!(table.dropped_missing, 2_399);
    assert_eq!(tr.test_rows.len(), 6_033);
    assert_eq!(tr.train_rows.len(), 24_129);
    assert!(tr.model.training.converged && tr.model.training.grad_max <= 1e-10);
    assert!(
        tr.model.training.test_accuracy > 0.83,
        "{:?}",
        tr.model.training
    );
    assert_eq!(tr.test_predictions.sensitive.len(), 2);
}

#[test]
fn adult_audit_on_sex_and_race() {
    let (_, tr) = adult();
    let input = tr.test_predictions.to_audit_input();
    let r = FairnessReport::compute(
        &input,
        &AuditOptions {
            privileged: Some("Male".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let sex = &r.audits[0];
    assert_eq!(sex.sensitive, ["sex"]);
    let dpd = sex
        .aggregates
        .iter()
        .find(|a| a.name == "demographic_parity_difference")
        .unwrap();
    // Men are selected far more often than women by this model.
    assert!(dpd.value.value.unwrap() > 0.1);
    assert_eq!(sex.four_fifths.reference, "Male");
    assert_eq!(sex.four_fifths.passes, Some(false));
    assert!(r.audits.iter().any(|a| a.intersectional));
    let m = mitigate(&input, "sex", Constraint::DemographicParity, 0.01).unwrap();
    assert!(m.after.demographic_parity_difference <= 0.01);
    assert!(
        m.accuracy_cost > 0.0,
        "parity costs some accuracy here: {m:?}"
    );
}

#[test]
fn adult_shap_linear_and_kernel_are_additive() {
    let (_, tr) = adult();
    let lin = tr.model.explain_linear(tr.x_test.view()).unwrap();
    assert!(lin.max_additivity_error() < 1e-9);
    let pre = &tr.model.preprocessor;
    let by_source = lin
        .grouped(&pre.feature_groups(), &pre.source_columns())
        .unwrap();
    let top: Vec<String> = by_source
        .importance()
        .into_iter()
        .take(3)
        .map(|i| i.feature)
        .collect();
    assert!(
        top.iter()
            .any(|f| f == "capital-gain" || f == "relationship" || f == "marital-status"),
        "{top:?}"
    );
    // Ten training rows as the background: the k-means summary is tested on the
    // fixture (tests/sklearn_reference.rs) and timed in the benchmark; linfa's
    // generic k-means is compiled at this crate's optimisation level, which is
    // unoptimised in a debug test build.
    let sample = tr.x_train.select(
        ndarray::Axis(0),
        &(0..10).map(|i| i * 997).collect::<Vec<_>>(),
    );
    let bg = Background::new(sample, None).unwrap();
    let ex =
        KernelExplainer::new(&tr.model, bg, Link::Logit, tr.model.feature_names.clone()).unwrap();
    let rows = tr.x_test.slice(ndarray::s![..5, ..]);
    let k = ex
        .explain(
            rows,
            &KernelOptions {
                nsamples: NSamples::Fixed(512),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(k.max_additivity_error() < 1e-9);
}

#[test]
fn saved_model_refuses_data_without_its_columns() {
    let (table, tr) = adult();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(pipeline::MODEL_FILE);
    tr.model.save(&path).unwrap();
    let back = TabularModel::load(&path).unwrap();
    let p = back.predict(table, None).unwrap();
    assert_eq!(p.score.len(), table.len());
    // Position 0 is the first test row (equal up to the summation order of a longer product).
    assert!((p.score[0] - tr.test_predictions.score[0]).abs() < 1e-12);
    let csv_path = dir.path().join(pipeline::PREDICTIONS_FILE);
    p.write_csv(&csv_path).unwrap();
    let header = std::fs::read_to_string(&csv_path)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(header, "position,y_true,y_pred,score,sex,race");
    let mut cut = table.clone();
    let j = cut.columns.iter().position(|c| c == "education").unwrap();
    cut.columns.remove(j);
    for r in &mut cut.rows {
        r.remove(j);
    }
    assert!(matches!(
        back.predict(&cut, None),
        Err(AuditError::ModelMismatch { .. })
    ));
}
