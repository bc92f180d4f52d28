//! Speed of the phase-2 network on the shipped data (80 % training split):
//!
//! * `train/anchor_3_epochs`: the NumPy anchor's recipe — unigram TF-IDF
//!   (min count 2, ≤ 10,000 tokens) → 128 ReLU → sigmoid, Adam lr 1e-3,
//!   batch 128, 3 epochs, no dropout, no weight decay — timed end to end:
//!   tokenizer training, featurisation, training.
//! * `train/default_config`: the shipped configuration (unigrams + bigrams,
//!   dropout 0.5, AdamW, batch 64) with early stopping on the validation split.
//! * `infer/batch`: tokenize → TF-IDF → network on the whole test split
//!   (throughput = test rows / time).
//! * `infer/single`: one snippet through `SentimentModel::predict`.
//!
//! Run: `cargo bench -p roadmap-sentiment` (the README lists the measured numbers).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use roadmap_sentiment::data;
use roadmap_sentiment::pipeline::{self, PipelineConfig};

fn benches(c: &mut Criterion) {
    let (all, _) = data::shipped().unwrap();
    let split = pipeline::split_80_10_10(&all.labels, 42).unwrap();
    let (train, val, test) = (
        all.select(&split.train),
        all.select(&split.val),
        all.select(&split.test),
    );

    let mut g = c.benchmark_group("train");
    g.sample_size(10);
    g.bench_function("anchor_3_epochs", |b| {
        b.iter(|| pipeline::fit(&train, None, &PipelineConfig::anchor(), "", |_| {}).unwrap())
    });
    g.bench_function("default_config", |b| {
        b.iter(|| {
            pipeline::fit(&train, Some(&val), &PipelineConfig::default(), "", |_| {}).unwrap()
        })
    });
    g.finish();

    let model = pipeline::fit(&train, Some(&val), &PipelineConfig::default(), "", |_| {})
        .unwrap()
        .model;
    let texts = test.text_refs();
    let mut g = c.benchmark_group("infer");
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("batch", |b| b.iter(|| model.predict_batch(&texts).unwrap()));
    g.throughput(Throughput::Elements(1));
    g.bench_function("single", |b| b.iter(|| model.predict(texts[0]).unwrap()));
    g.finish();
}

criterion_group!(sentiment, benches);
criterion_main!(sentiment);
