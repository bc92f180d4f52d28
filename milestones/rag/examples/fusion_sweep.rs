//! Tunes hybrid fusion on a SQuAD-format file *outside* the shipped evaluation
//! set: `cargo run --release -p roadmap-rag --example fusion_sweep -- MODEL_DIR SQUAD.json`.
//!
//! Retrieves the dense and BM25 candidate pools once per question, then scores
//! fusion variants offline (weighted reciprocal rank fusion at several weights,
//! and a convex combination of min-max-normalised scores) with the same
//! relevance rule and metrics as `roadmap rag eval`. Prints one row per variant.

use roadmap_rag::eval::EvalOptions;
use roadmap_rag::ingest::{embed_all, index_document};
use roadmap_rag::metrics::{hit_at, mrr_at, ndcg_at, Judged};
use roadmap_rag::{squad, SqliteStore, VectorStore};
use std::collections::HashMap;

type Pools = (Vec<(i64, f64)>, Vec<(i64, f64)>);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, path] = args.as_slice() else {
        return Err("usage: fusion_sweep MODEL_DIR SQUAD.json".into());
    };
    let file = squad::parse(&std::fs::read(path)?, path)?;
    let embedder = roadmap_embed::Embedder::load(std::path::Path::new(model), Default::default())?;
    let opts = EvalOptions::default();
    let corpus = squad::corpus(&file, None);
    let mut store = SqliteStore::in_memory()?;
    let coll = opts.ingest.collection.as_str();
    store.ensure_collection(coll, embedder.model_id(), embedder.dim())?;
    index_document(
        &mut store,
        &embedder,
        &opts.ingest,
        "squad",
        "squad-json",
        "-",
        corpus.doc.clone(),
    )?;
    let spans = store.chunk_spans(coll, "squad")?;
    let span_of: HashMap<i64, (usize, usize)> = spans
        .iter()
        .map(|s| (s.chunk_id, (s.start, s.end)))
        .collect();
    let questions: Vec<String> = corpus
        .questions
        .iter()
        .map(|q| q.question.clone())
        .collect();
    let qvecs = embed_all(&embedder, &questions, 32, None)?;
    let pool = opts.pool;
    let pools: Vec<Pools> = corpus
        .questions
        .iter()
        .zip(&qvecs)
        .map(|(q, v)| {
            Ok((
                store.dense_search(coll, v, pool, None)?,
                store.bm25_search(coll, &q.question, pool, None)?,
            ))
        })
        .collect::<roadmap_rag::Result<_>>()?;

    let score = |fuse: &dyn Fn(&Pools) -> Vec<i64>| {
        let (mut h1, mut h5, mut mrr, mut ndcg) = (0.0, 0.0, 0.0, 0.0);
        for (q, p) in corpus.questions.iter().zip(&pools) {
            let overlaps = |(s, e): (usize, usize)| s < q.gold_end && q.gold_start < e;
            let ranked = fuse(p);
            let judged = Judged {
                relevant: ranked
                    .iter()
                    .take(10)
                    .map(|id| overlaps(span_of[id]))
                    .collect(),
                total_relevant: span_of.values().filter(|&&se| overlaps(se)).count(),
            };
            h1 += hit_at(&judged, 1);
            h5 += hit_at(&judged, 5);
            mrr += mrr_at(&judged, 10);
            ndcg += ndcg_at(&judged, 10);
        }
        let n = pools.len() as f64;
        (h1 / n, h5 / n, mrr / n, ndcg / n)
    };
    let print = |name: String, m: (f64, f64, f64, f64)| {
        println!(
            "{name:<28} hit@1 {:.4}  hit@5 {:.4}  MRR@10 {:.4}  nDCG@10 {:.4}",
            m.0, m.1, m.2, m.3
        )
    };
    println!(
        "{} questions, {} chunks, pool {pool}",
        pools.len(),
        spans.len()
    );
    print(
        "dense".into(),
        score(&|p: &Pools| p.0.iter().map(|h| h.0).collect()),
    );
    print(
        "bm25".into(),
        score(&|p: &Pools| p.1.iter().map(|h| h.0).collect()),
    );
    for k in [10.0, 30.0, 60.0] {
        for wd in [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0] {
            let f = move |p: &Pools| {
                let ids = |l: &[(i64, f64)]| l.iter().map(|h| h.0).collect::<Vec<_>>();
                roadmap_rag::retrieve::weighted_rrf(&[ids(&p.0), ids(&p.1)], &[wd, 1.0], k)
                    .into_iter()
                    .map(|h| h.0)
                    .collect()
            };
            print(format!("rrf k={k} w_dense={wd}"), score(&f));
        }
    }
    for alpha in [0.2, 0.3, 0.4, 0.5, 0.6, 0.7] {
        let f = move |p: &Pools| {
            roadmap_rag::retrieve::convex(&p.0, &p.1, alpha)
                .into_iter()
                .map(|h| h.0)
                .collect()
        };
        print(format!("convex alpha_dense={alpha}"), score(&f));
    }
    Ok(())
}
