//! Side-by-side with the NumPy anchor (`sentiment_numpy.py`): the same CSV
//! files, the same recipe, the same timing method (median of 3 trainings,
//! median of 5 whole-test-set inferences, single document as median of 5×200).
//! Usage: `cargo run --release -p roadmap-sentiment --example anchor -- TRAIN.csv TEST.csv`
//! Prints one JSON line per configuration: `anchor` (unigram TF-IDF ≤ 10k → 128
//! ReLU → sigmoid, Adam 1e-3, batch 128, 3 epochs) and `default` (this crate's
//! shipped configuration, early stopping on a ninth of the training rows).

use std::path::Path;
use std::time::Instant;

use roadmap_common::dataset::stratified_split;
use roadmap_sentiment::data::{read_labeled_csv, Dataset};
use roadmap_sentiment::pipeline::{self, PipelineConfig};
use roadmap_sentiment::SentimentModel;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn timed<T>(repeats: usize, inner: usize, mut f: impl FnMut() -> T) -> (T, f64) {
    let mut times = Vec::new();
    let mut out = None;
    for _ in 0..repeats {
        let t = Instant::now();
        for _ in 0..inner {
            out = Some(f());
        }
        times.push(t.elapsed().as_secs_f64() / inner as f64);
    }
    (out.unwrap(), median(times))
}

fn measure(
    name: &str,
    cfg: &PipelineConfig,
    train: &Dataset,
    val: Option<&Dataset>,
    test: &Dataset,
) {
    let (model, train_s): (SentimentModel, f64) = timed(3, 1, || {
        pipeline::fit(train, val, cfg, "", |_| {}).unwrap().model
    });
    let texts = test.text_refs();
    let (preds, infer_s) = timed(5, 1, || model.predict_batch(&texts).unwrap());
    let (_, one_s) = timed(5, 200, || model.predict(texts[0]).unwrap());
    let correct = preds
        .iter()
        .zip(&test.labels)
        .filter(|(p, &l)| (p.score >= 0.5) == (l == 1))
        .count();
    println!(
        "{}",
        serde_json::json!({
            "config": name, "n_train": train.len(), "n_test": test.len(),
            "accuracy": correct as f64 / test.len() as f64, "train_s": train_s,
            "infer_docs_per_s": test.len() as f64 / infer_s, "single_doc_us": one_s * 1e6,
            "layers": model.metadata().architecture.layers, "rayon_threads": rayon::current_num_threads(),
        })
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let train = read_labeled_csv(Path::new(&args[0])).unwrap();
    let test = read_labeled_csv(Path::new(&args[1])).unwrap();
    let anchor = PipelineConfig::anchor();
    measure("anchor", &anchor, &train, None, &test);
    let inner = stratified_split(&train.labels, 1.0 / 9.0, 42).unwrap();
    let (tr, va) = (train.select(&inner.train), train.select(&inner.test));
    measure("default", &PipelineConfig::default(), &tr, Some(&va), &test);
}
