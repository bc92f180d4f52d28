//! The saved model: round trip, and each load/predict error path.

use roadmap_sentiment::data::{self, Dataset};
use roadmap_sentiment::pipeline::{self, PipelineConfig};
use roadmap_sentiment::{Error, SentimentModel, TrainConfig, FORMAT_VERSION, MAX_TEXT_CHARS};

fn small_model() -> (SentimentModel, Dataset) {
    let (all, _) = data::shipped().unwrap();
    let idx: Vec<usize> = (0..800).collect();
    let d = all.select(&idx);
    let cfg = PipelineConfig {
        train: TrainConfig {
            hidden: vec![8],
            max_epochs: 3,
            ..Default::default()
        },
        ..Default::default()
    };
    let fitted = pipeline::fit(&d, None, &cfg, "test-sha", |_| {}).unwrap();
    (fitted.model, d)
}

#[test]
fn save_load_round_trip_and_errors() {
    let (model, d) = small_model();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m");
    model.save(&path).unwrap();
    let loaded = SentimentModel::load(&path).unwrap();
    assert_eq!(loaded.name(), "sentiment");
    assert_eq!(loaded.version(), env!("CARGO_PKG_VERSION"));
    assert_eq!(loaded.metadata(), model.metadata());
    let texts = d.text_refs();
    let a = model.predict_batch(&texts[..50]).unwrap();
    let b = loaded.predict_batch(&texts[..50]).unwrap();
    assert_eq!(a, b, "identical predictions after a round trip");
    assert!(a.iter().all(|p| (0.0..=1.0).contains(&p.score)
        && p.label
            == if p.score >= 0.5 {
                "positive"
            } else {
                "negative"
            }));
    // Batch and single agree.
    assert_eq!(loaded.predict(texts[3]).unwrap(), b[3]);

    // Bad texts.
    assert!(matches!(
        loaded.predict("  \n\t"),
        Err(Error::EmptyText { index: 0 })
    ));
    assert!(matches!(
        loaded.predict_batch(&["good", ""]),
        Err(Error::EmptyText { index: 1 })
    ));
    let long = "a".repeat(MAX_TEXT_CHARS + 1);
    assert!(
        matches!(loaded.predict(&long), Err(Error::TextTooLong { chars, .. }) if chars == MAX_TEXT_CHARS + 1)
    );
    assert!(
        loaded.predict(&"é".repeat(MAX_TEXT_CHARS)).is_ok(),
        "the limit counts characters, not bytes"
    );
    assert!(loaded.predict_batch(&[]).unwrap().is_empty());

    // Incompatible version.
    let meta_path = path.join("metadata.json");
    let meta = std::fs::read_to_string(&meta_path).unwrap();
    let newer = meta.replace(
        &format!("\"format_version\": {FORMAT_VERSION}"),
        "\"format_version\": 99",
    );
    assert_ne!(meta, newer);
    std::fs::write(&meta_path, newer).unwrap();
    let err = SentimentModel::load(&path).unwrap_err();
    assert!(
        matches!(err, Error::IncompatibleVersion { found: 99, .. }),
        "{err}"
    );
    std::fs::write(&meta_path, &meta).unwrap();

    // Weights that do not match the metadata.
    let wrong = meta.replace(
        &format!("\"vocab_size\": {}", model.metadata().vocab_size),
        "\"vocab_size\": 3",
    );
    std::fs::write(&meta_path, wrong).unwrap();
    assert!(matches!(
        SentimentModel::load(&path),
        Err(Error::Tokenizer(_))
    ));
    std::fs::write(&meta_path, &meta).unwrap();
    std::fs::write(path.join("model.safetensors"), b"not safetensors").unwrap();
    assert!(matches!(
        SentimentModel::load(&path),
        Err(Error::Weights { .. })
    ));

    // Missing files and directory.
    std::fs::remove_file(path.join("tokenizer.json")).unwrap();
    let err = SentimentModel::load(&path).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MissingModelFile {
                file: "tokenizer.json",
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(
        SentimentModel::load(dir.path().join("nope")),
        Err(Error::ModelDirMissing { .. })
    ));
}
