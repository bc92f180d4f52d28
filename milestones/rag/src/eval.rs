//! Offline retrieval evaluation on SQuAD, the way LlamaIndex's and Haystack's
//! retrieval evaluators work, without a hosted judge.
//!
//! The paragraphs of a SQuAD file are the corpus (the questions are never
//! ingested). Every question is a query whose one relevant *paragraph* is
//! known; a retrieved chunk is relevant when its byte span overlaps that
//! paragraph (chunks never cross paragraphs, so in practice a chunk is inside
//! it). Reported per retrieval mode: hit@1, hit@5, MRR@10, nDCG@10 (see
//! [`crate::metrics`]) and the search latency per query, with the question
//! already embedded (query embedding time is reported once, separately,
//! because it is the model's cost and identical for dense and hybrid).

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::embedder::TextEmbedder;
use crate::error::Result;
use crate::ingest::{embed_all, index_document, IngestOptions};
use crate::metrics::{hit_at, mrr_at, ndcg_at, percentile, Judged};
use crate::retrieve::{search_with_vector, Fusion, Mode, SearchOptions, RRF_K};
use crate::squad::{self, SquadFile};
use crate::store::{SqliteStore, VectorStore};

/// Evaluation settings.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Use only the first N articles.
    pub articles: Option<usize>,
    pub modes: Vec<Mode>,
    pub ingest: IngestOptions,
    /// Candidates per retriever before fusion.
    pub pool: usize,
    /// Fusion methods evaluated for hybrid mode, one row each; the first is
    /// reported as `hybrid`, the others as `hybrid_<method>`.
    pub fusions: Vec<Fusion>,
    pub progress: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            articles: None,
            modes: Mode::ALL.to_vec(),
            ingest: IngestOptions {
                collection: "squad-eval".into(),
                progress: false,
                ..Default::default()
            },
            pool: 50,
            fusions: vec![Fusion::default(), Fusion::Rrf { k: RRF_K }],
            progress: true,
        }
    }
}

/// Quality and speed of one retrieval mode.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModeReport {
    /// `dense`, `bm25`, `hybrid`, or `hybrid_<method>` for further fusion methods.
    pub name: String,
    pub mode: Mode,
    /// The fusion method (hybrid rows).
    pub fusion: Option<Fusion>,
    pub hit_at_1: f64,
    pub hit_at_5: f64,
    pub mrr_at_10: f64,
    pub ndcg_at_10: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p95: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_mean: f64,
}

/// The whole evaluation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EvalReport {
    pub model_id: String,
    pub articles: usize,
    pub paragraphs: usize,
    pub chunks: usize,
    pub questions: usize,
    pub ingest_seconds: f64,
    pub ingest_chunks_per_second: f64,
    /// Mean time to embed one question (batched).
    pub query_embed_ms_mean: f64,
    pub modes: Vec<ModeReport>,
}

impl EvalReport {
    /// The first row of mode `m` (for hybrid: the first fusion method).
    pub fn mode(&self, m: Mode) -> Option<&ModeReport> {
        self.modes.iter().find(|r| r.mode == m)
    }
}

/// Runs the evaluation in a private in-memory store.
pub fn evaluate(
    file: &SquadFile,
    embedder: &dyn TextEmbedder,
    opts: &EvalOptions,
) -> Result<EvalReport> {
    evaluate_in(&mut SqliteStore::in_memory()?, file, embedder, opts)
}

/// Runs the evaluation in `store` (e.g. PostgreSQL), in the collection named by
/// `opts.ingest.collection`, which is dropped first: it is scratch space.
pub fn evaluate_in(
    store: &mut dyn VectorStore,
    file: &SquadFile,
    embedder: &dyn TextEmbedder,
    opts: &EvalOptions,
) -> Result<EvalReport> {
    let corpus = squad::corpus(file, opts.articles);
    let articles = file.data.len().min(opts.articles.unwrap_or(usize::MAX));
    let coll = opts.ingest.collection.as_str();
    store.drop_collection(coll)?;
    store.ensure_collection(coll, &embedder.model_id(), embedder.dim())?;
    let source = "squad";

    let t = Instant::now();
    let chunks = index_document(
        store,
        embedder,
        &opts.ingest,
        source,
        "squad-json",
        "-",
        corpus.doc.clone(),
    )?;
    let ingest_seconds = t.elapsed().as_secs_f64();
    let spans = store.chunk_spans(coll, source)?;

    let questions: Vec<String> = corpus
        .questions
        .iter()
        .map(|q| q.question.clone())
        .collect();
    let needs_vec = opts.modes.iter().any(|m| *m != Mode::Bm25);
    let bar = bar(opts.progress, questions.len() as u64, "embed questions");
    let t = Instant::now();
    let qvecs = if needs_vec {
        embed_all(embedder, &questions, opts.ingest.batch_size, Some(&bar))?
    } else {
        Vec::new()
    };
    let query_embed_ms_mean = if needs_vec && !questions.is_empty() {
        t.elapsed().as_secs_f64() * 1000.0 / questions.len() as f64
    } else {
        0.0
    };
    bar.finish_and_clear();

    // One row per (mode, fusion): fusion only varies for hybrid.
    let mut rows: Vec<(String, Mode, Option<Fusion>)> = Vec::new();
    for &mode in &opts.modes {
        if mode == Mode::Hybrid {
            for (i, &f) in opts.fusions.iter().enumerate() {
                let name = if i == 0 {
                    "hybrid".to_string()
                } else {
                    format!("hybrid_{}", f.method())
                };
                rows.push((name, mode, Some(f)));
            }
        } else {
            rows.push((mode.as_str().to_string(), mode, None));
        }
    }
    let mut modes = Vec::new();
    for (name, mode, fusion) in rows {
        let bar = self::bar(opts.progress, questions.len() as u64, &name);
        let search = SearchOptions {
            k: 10,
            mode,
            mmr_lambda: None,
            source_prefix: None,
            pool: opts.pool,
            fusion: fusion.unwrap_or_default(),
        };
        let (mut h1, mut h5, mut mrr, mut ndcg) = (0.0, 0.0, 0.0, 0.0);
        let mut lat = Vec::with_capacity(questions.len());
        for (i, q) in corpus.questions.iter().enumerate() {
            let overlaps = |s: usize, e: usize| s < q.gold_end && q.gold_start < e;
            let t = Instant::now();
            let hits = search_with_vector(
                &*store,
                coll,
                &q.question,
                qvecs.get(i).map(Vec::as_slice),
                &search,
            )?;
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
            let judged = Judged {
                relevant: hits.iter().map(|h| overlaps(h.start, h.end)).collect(),
                total_relevant: spans.iter().filter(|s| overlaps(s.start, s.end)).count(),
            };
            h1 += hit_at(&judged, 1);
            h5 += hit_at(&judged, 5);
            mrr += mrr_at(&judged, 10);
            ndcg += ndcg_at(&judged, 10);
            bar.inc(1);
        }
        bar.finish_and_clear();
        let n = corpus.questions.len().max(1) as f64;
        lat.sort_by(f64::total_cmp);
        modes.push(ModeReport {
            name,
            mode,
            fusion,
            hit_at_1: h1 / n,
            hit_at_5: h5 / n,
            mrr_at_10: mrr / n,
            ndcg_at_10: ndcg / n,
            latency_ms_p50: percentile(&lat, 50.0),
            latency_ms_p95: percentile(&lat, 95.0),
            latency_ms_p99: percentile(&lat, 99.0),
            latency_ms_mean: lat.iter().sum::<f64>() / n,
        });
    }
    Ok(EvalReport {
        model_id: embedder.model_id(),
        articles,
        paragraphs: corpus.paragraphs.len(),
        chunks,
        questions: corpus.questions.len(),
        ingest_seconds,
        ingest_chunks_per_second: chunks as f64 / ingest_seconds.max(1e-9),
        query_embed_ms_mean,
        modes,
    })
}

fn bar(enabled: bool, len: u64, what: &str) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template("{spinner} {prefix:>15} [{bar:30}] {pos}/{len} {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    b.set_prefix(what.to_string());
    b
}
