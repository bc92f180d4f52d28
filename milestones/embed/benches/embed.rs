//! `cargo bench -p roadmap-embed`: embedding throughput (batch 32 and batch 1,
//! 2 threads, sentences of the shipped sample document) and exact search over
//! 10,000 vectors. The model comes from the asset manager (`$ROADMAP_CACHE_DIR`,
//! else a folder under `target/`, or `$ROADMAP_ALL_MINILM_L6_V2_DIR`).
//!
//! The side-by-side comparison with sentence-transformers uses
//! `examples/throughput.rs` on the same sentence file (see the README).

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use roadmap_embed::{split_sentences, Embedder, EmbedderOptions, Index};

fn model_dir() -> PathBuf {
    let cache = std::env::var_os("ROADMAP_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("roadmap-assets"));
    roadmap_common::assets::ensure(&cache, roadmap_embed::ASSET_NAME)
        .expect("the all-MiniLM-L6-v2 model files")
}

fn embedding(c: &mut Criterion) {
    let doc = include_str!("../../../data/sample_document.txt");
    let sents: Vec<String> = split_sentences(doc).into_iter().map(|s| s.text).collect();
    let texts: Vec<&str> = sents.iter().map(String::as_str).take(64).collect();
    let dir = model_dir();
    let mut g = c.benchmark_group("embed");
    g.sample_size(10);
    g.throughput(Throughput::Elements(texts.len() as u64));
    for batch in [32, 1] {
        let e = Embedder::load(
            &dir,
            EmbedderOptions {
                threads: 2,
                batch_size: batch,
                max_seq_len: 256,
            },
        )
        .unwrap();
        g.bench_with_input(
            BenchmarkId::new("sample_sentences_threads2_batch", batch),
            &texts,
            |b, t| b.iter(|| e.embed(t).unwrap()),
        );
    }
    g.finish();
}

fn search(c: &mut Criterion) {
    let mut state = 1u64;
    let mut rnd = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let mut idx = Index::new(384);
    for _ in 0..10_000 {
        let mut v: Vec<f32> = (0..384).map(|_| rnd()).collect();
        roadmap_embed::bert::normalize(&mut v);
        idx.push(&v);
    }
    let mut q: Vec<f32> = (0..384).map(|_| rnd()).collect();
    roadmap_embed::bert::normalize(&mut q);
    c.bench_function("search/top5_of_10000x384", |b| b.iter(|| idx.top_k(&q, 5)));
}

criterion_group!(benches, embedding, search);
criterion_main!(benches);
