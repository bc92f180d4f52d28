//! The phase-2 sentiment network behind the real server: trained briefly on
//! the shipped reviews, saved, loaded back the way `roadmap serve` loads it,
//! then checked from the outside with the verifier.

mod common;

use std::sync::{Arc, OnceLock};

use roadmap_sentiment::network::TrainConfig;
use roadmap_sentiment::pipeline::{self, PipelineConfig};
use roadmap_sentiment::{data, SentimentModel};
use roadmap_serve::{Classifier, SentimentClassifier, VerifyOptions};
use serde_json::json;

/// A small, quickly trained model (3,000 reviews, one hidden layer of 16,
/// 2 epochs), trained once per test binary and saved to a temporary directory.
fn small_model_dir() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let (all, _) = data::shipped().unwrap();
        let subset: Vec<usize> = (0..all.len()).step_by(all.len().div_ceil(3000)).collect();
        let cfg = PipelineConfig {
            train: TrainConfig {
                hidden: vec![16],
                max_epochs: 2,
                patience: 0,
                ..TrainConfig::default()
            },
            ..PipelineConfig::default()
        };
        let fitted = pipeline::fit(
            &all.select(&subset),
            None,
            &cfg,
            &data::shipped_sha256(),
            |_| {},
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        fitted.model.save(dir.path()).unwrap();
        dir
    })
    .path()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_phase2_model_and_passes_verification() {
    let dir = small_model_dir();
    let reference = SentimentModel::load(dir).unwrap();
    let classifier = SentimentClassifier::load(dir).unwrap();
    assert_eq!(classifier.info().name, "sentiment");
    let server = common::start_with(Arc::new(classifier)).await;

    // The HTTP answer is the library's answer.
    let text = "An engaging, funny and heartfelt film with a terrific cast.";
    let resp: serde_json::Value = common::client()
        .post(server.url("/v1/predict"))
        .json(&json!({ "text": text }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expected = reference.predict(text).unwrap();
    assert_eq!(resp["label"], expected.label);
    assert!(
        (resp["score"].as_f64().unwrap() - f64::from(expected.score)).abs() < 1e-6,
        "{resp}"
    );

    let opts = VerifyOptions {
        requests: 200,
        concurrency: 8,
        ..Default::default()
    };
    let report = roadmap_serve::verify(&server.url(""), &opts).await.unwrap();
    let failed: Vec<_> = report.checks.iter().filter(|c| !c.passed).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(report.load.errors, 0);
    server.shutdown().await.unwrap();
}

#[test]
fn model_input_errors_map_to_invalid_input() {
    let classifier = SentimentClassifier::load(small_model_dir()).unwrap();
    let err = classifier.predict_batch(&["fine", "   "]).unwrap_err();
    assert!(
        matches!(
            err,
            roadmap_serve::ClassifierError::InvalidInput { index: 1, .. }
        ),
        "{err}"
    );
}
