//! The retrieval latency benchmark (`roadmap rag bench`).
//!
//! Builds a collection of N chunks (default 10,000) from the sentences of the
//! shipped SQuAD subset, recombined three at a time into paragraphs (one chunk
//! each), then times every retrieval mode on the subset's questions. The
//! question vectors are computed first, in one batch: the timings are of
//! retrieval (vector scan, BM25, fusion, reading the hits back from SQLite);
//! the model's cost to embed one query is measured and reported separately.

use std::path::Path;
use std::time::Instant;

use unicode_segmentation::UnicodeSegmentation;

use crate::chunk::ExtractedDoc;
use crate::embedder::TextEmbedder;
use crate::error::{RagError, Result};
use crate::ingest::{embed_all, index_document, IngestOptions};
use crate::metrics::percentile;
use crate::retrieve::{search_with_vector, Mode, SearchOptions};
use crate::squad;
use crate::store::{SqliteStore, VectorStore};

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub chunks: usize,
    pub queries: usize,
    pub k: usize,
    pub pool: usize,
    pub progress: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            chunks: 10_000,
            queries: 500,
            k: 5,
            pool: 50,
            progress: true,
        }
    }
}

/// Latency of one mode, milliseconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Latency {
    pub mode: Mode,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
}

/// What the benchmark measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchReport {
    pub model_id: String,
    pub chunks: usize,
    pub queries: usize,
    pub ingest_seconds: f64,
    pub ingest_chunks_per_second: f64,
    /// First dense query: loading the vectors from SQLite into memory.
    pub vector_load_ms: f64,
    /// Embedding one query on its own (mean over up to 50 queries).
    pub query_embed_ms_mean: f64,
    pub modes: Vec<Latency>,
}

/// Runs the benchmark in a fresh store at `store_path` (which must not exist yet).
pub fn run(
    embedder: &dyn TextEmbedder,
    store_path: &Path,
    opts: &BenchOptions,
) -> Result<BenchReport> {
    if store_path.exists() {
        return Err(RagError::Invalid(format!(
            "{} exists; the benchmark needs a fresh store",
            store_path.display()
        )));
    }
    let file = squad::parse(squad::SHIPPED.as_bytes(), "the shipped SQuAD subset")?;
    let sentences: Vec<&str> = file
        .data
        .iter()
        .flat_map(|a| a.paragraphs.iter())
        .flat_map(|p| p.context.unicode_sentences())
        .map(str::trim)
        .filter(|s| s.len() > 20)
        .collect();
    let questions: Vec<String> = file
        .data
        .iter()
        .flat_map(|a| a.paragraphs.iter())
        .flat_map(|p| p.qas.iter().map(|q| q.question.clone()))
        .take(opts.queries)
        .collect();
    let n = sentences.len();
    let mut store = SqliteStore::open(store_path)?;
    let ingest = IngestOptions {
        collection: "bench".into(),
        progress: false,
        ..Default::default()
    };
    store.ensure_collection("bench", &embedder.model_id(), embedder.dim())?;
    let bar = if opts.progress {
        indicatif::ProgressBar::new(opts.chunks as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let per_doc = 100;
    let t = Instant::now();
    let mut chunks = 0;
    let mut next = 0usize;
    for d in 0..opts.chunks.div_ceil(per_doc) {
        let mut doc = ExtractedDoc::default();
        for _ in 0..per_doc.min(opts.chunks - d * per_doc) {
            // Three sentences from far-apart places: a paragraph that exists nowhere else.
            let i = next;
            next += 1;
            let para = [i % n, (i * 7 + 1) % n, (i * 31 + 2) % n]
                .map(|j| sentences[j])
                .join(" ");
            if !doc.text.is_empty() {
                doc.text.push_str("\n\n");
            }
            doc.sections
                .push((doc.text.len(), vec![format!("Section {i}")]));
            doc.text.push_str(&para);
        }
        chunks += index_document(
            &mut store,
            embedder,
            &ingest,
            &format!("bench/doc{d:04}.txt"),
            "text",
            "-",
            doc,
        )?;
        bar.set_position(chunks as u64);
    }
    bar.finish_and_clear();
    let ingest_seconds = t.elapsed().as_secs_f64();

    let qvecs = embed_all(embedder, &questions, 32, None)?;
    let t = Instant::now();
    store.dense_search("bench", &qvecs[0], 1, None)?;
    let vector_load_ms = t.elapsed().as_secs_f64() * 1000.0;
    let sample = questions.len().min(50);
    let t = Instant::now();
    for q in questions.iter().take(sample) {
        embedder.embed(&[q.as_str()])?;
    }
    let query_embed_ms_mean = t.elapsed().as_secs_f64() * 1000.0 / sample.max(1) as f64;

    let mut modes = Vec::new();
    for mode in Mode::ALL {
        let so = SearchOptions {
            k: opts.k,
            mode,
            mmr_lambda: None,
            source_prefix: None,
            pool: opts.pool,
            fusion: Default::default(),
        };
        // One untimed pass warms SQLite's page cache and statement cache.
        for (q, v) in questions.iter().zip(&qvecs).take(20) {
            search_with_vector(&store, "bench", q, Some(v), &so)?;
        }
        let mut lat = Vec::with_capacity(questions.len());
        for (q, v) in questions.iter().zip(&qvecs) {
            let t = Instant::now();
            let hits = search_with_vector(&store, "bench", q, Some(v), &so)?;
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(hits);
        }
        lat.sort_by(f64::total_cmp);
        modes.push(Latency {
            mode,
            p50_ms: percentile(&lat, 50.0),
            p95_ms: percentile(&lat, 95.0),
            p99_ms: percentile(&lat, 99.0),
            mean_ms: lat.iter().sum::<f64>() / lat.len().max(1) as f64,
        });
    }
    Ok(BenchReport {
        model_id: embedder.model_id(),
        chunks,
        queries: questions.len(),
        ingest_seconds,
        ingest_chunks_per_second: chunks as f64 / ingest_seconds.max(1e-9),
        vector_load_ms,
        query_embed_ms_mean,
        modes,
    })
}
