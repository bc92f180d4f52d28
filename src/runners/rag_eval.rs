//! Phase 5 runner `rag-eval`: retrieval quality of the knowledge base on the
//! shipped SQuAD subset (or any SQuAD-format file), every mode in one run.
//!
//! Reported metrics: `hit_at_1`, `hit_at_5`, `mrr_at_10`, `ndcg_at_10` for hybrid
//! retrieval (the default mode), the same four prefixed `dense_`, `bm25_`,
//! `hybrid_` and `hybrid_rrf_` (plain reciprocal rank fusion, for comparison),
//! search latency percentiles (p50, p95) per mode, and ingest throughput; the
//! list is [`METRICS`], checked against what a run emits by a test.

use std::path::PathBuf;

use anyhow::Result;
use clap::{ArgMatches, CommandFactory, Parser};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use roadmap_rag::eval::{evaluate, evaluate_in, EvalOptions, EvalReport};
use roadmap_rag::pg::{is_postgres_url, redact_url};
use roadmap_rag::retrieve::Mode;
use roadmap_rag::PgStore;

use super::{flags, RunContext, RunOutcome, Runner};

pub struct RagEval;

#[derive(Debug, Parser)]
#[command(
    name = "roadmap run <PHASE>",
    about = "Evaluate retrieval (dense, BM25, hybrid) on SQuAD"
)]
struct Args {
    /// A SQuAD-format JSON file (default: the shipped 10-article subset of the SQuAD v1.1 dev set).
    #[arg(long, value_name = "FILE")]
    squad: Option<PathBuf>,
    /// Use only the first N articles.
    #[arg(long)]
    articles: Option<usize>,
    /// Use the feature-hashing embedder instead of all-MiniLM-L6-v2 (no model files; lexical only).
    #[arg(long)]
    hash_embedder: bool,
    /// Directory of all-MiniLM-L6-v2 (default: the asset cache).
    #[arg(long, value_name = "DIR")]
    model_dir: Option<PathBuf>,
    /// Threads for the embedder (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Run the evaluation inside PostgreSQL + pgvector (`postgres://USER:PASSWORD@HOST/DB`, collection
    /// `squad-eval`, replaced every run) instead of a private in-memory SQLite store.
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Every metric a run reports (the test below runs the runner and checks the
/// emitted set equals this list): acceptance criteria may name any of them.
const METRICS: &[&str] = &[
    "hit_at_1",
    "hit_at_5",
    "mrr_at_10",
    "ndcg_at_10",
    "dense_hit_at_1",
    "dense_hit_at_5",
    "dense_mrr_at_10",
    "dense_ndcg_at_10",
    "bm25_hit_at_1",
    "bm25_hit_at_5",
    "bm25_mrr_at_10",
    "bm25_ndcg_at_10",
    "hybrid_hit_at_1",
    "hybrid_hit_at_5",
    "hybrid_mrr_at_10",
    "hybrid_ndcg_at_10",
    "dense_latency_ms_p50",
    "dense_latency_ms_p95",
    "bm25_latency_ms_p50",
    "bm25_latency_ms_p95",
    "hybrid_latency_ms_p50",
    "hybrid_latency_ms_p95",
    "hybrid_rrf_hit_at_1",
    "hybrid_rrf_hit_at_5",
    "hybrid_rrf_mrr_at_10",
    "hybrid_rrf_ndcg_at_10",
    "hybrid_rrf_latency_ms_p50",
    "hybrid_rrf_latency_ms_p95",
    "ingest_chunks_per_second",
    "questions",
];

impl Runner for RagEval {
    fn name(&self) -> &'static str {
        "rag-eval"
    }

    fn metrics(&self) -> &'static [&'static str] {
        METRICS
    }

    fn command(&self) -> clap::Command {
        Args::command()
    }

    fn run(&self, ctx: &RunContext, args: &ArgMatches) -> Result<RunOutcome> {
        let args: Args = flags(args)?;
        if args.articles == Some(0) {
            anyhow::bail!("--articles must be at least 1");
        }
        let file = crate::resolve::rag::load_squad(args.squad.as_deref())?;
        let embedder = crate::resolve::rag::load_text_embedder(
            args.hash_embedder,
            args.model_dir.as_deref(),
            args.threads,
            &ctx.cache_dir,
        )?;
        let opts = EvalOptions {
            articles: args.articles,
            progress: !args.json,
            ..Default::default()
        };
        let report = match &args.store {
            None => evaluate(&file, embedder.as_ref(), &opts)?,
            Some(url) if is_postgres_url(url) => {
                let mut store = PgStore::connect(url)?;
                evaluate_in(&mut store, &file, embedder.as_ref(), &opts)?
            }
            Some(other) => anyhow::bail!(
                "--store takes a postgres:// or postgresql:// URL, not `{}`: the default (no --store) \
                 evaluates in a private in-memory SQLite store",
                redact_url(other)
            ),
        };
        std::fs::write(
            ctx.artifact_dir.join("rag_eval.json"),
            serde_json::to_vec_pretty(&report)?,
        )?;
        if args.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            print_eval(&report);
        }
        let mut outcome = RunOutcome {
            params: serde_json::json!({
                "squad": args.squad.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "data/squad/squad_dev_subset.json".into()),
                "articles": report.articles,
                "model": report.model_id,
                "chunk_max_tokens": opts.ingest.chunking.max_tokens,
                "chunk_overlap_tokens": opts.ingest.chunking.overlap_tokens,
                "fusion": opts.fusions.first().map(|f| f.to_string()),
                "store": args.store.as_deref().map_or("sqlite (in memory)".to_string(), redact_url),
                "pool": opts.pool,
            }),
            ..Default::default()
        };
        let m = &mut outcome.metrics;
        for r in &report.modes {
            let p = r.name.as_str();
            m.insert(format!("{p}_hit_at_1"), r.hit_at_1);
            m.insert(format!("{p}_hit_at_5"), r.hit_at_5);
            m.insert(format!("{p}_mrr_at_10"), r.mrr_at_10);
            m.insert(format!("{p}_ndcg_at_10"), r.ndcg_at_10);
            m.insert(format!("{p}_latency_ms_p50"), r.latency_ms_p50);
            m.insert(format!("{p}_latency_ms_p95"), r.latency_ms_p95);
            if p == Mode::Hybrid.as_str() {
                m.insert("hit_at_1".into(), r.hit_at_1);
                m.insert("hit_at_5".into(), r.hit_at_5);
                m.insert("mrr_at_10".into(), r.mrr_at_10);
                m.insert("ndcg_at_10".into(), r.ndcg_at_10);
            }
        }
        m.insert(
            "ingest_chunks_per_second".into(),
            report.ingest_chunks_per_second,
        );
        m.insert("questions".into(), report.questions as f64);
        Ok(outcome)
    }
}

/// The evaluation as a table (also printed by `roadmap rag eval`).
pub fn print_eval(r: &EvalReport) {
    println!(
        "SQuAD retrieval evaluation: {} articles, {} paragraphs → {} chunks, {} questions; model {}",
        r.articles, r.paragraphs, r.chunks, r.questions, r.model_id
    );
    println!(
        "ingest {:.1} s ({:.1} chunks/s); embedding one question: {:.2} ms (batched); latencies below exclude it",
        r.ingest_seconds, r.ingest_chunks_per_second, r.query_embed_ms_mean
    );
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "mode", "hit@1", "hit@5", "MRR@10", "nDCG@10", "p50 ms", "p95 ms", "p99 ms",
    ]);
    for m in &r.modes {
        t.add_row([
            match m.fusion {
                Some(f) => format!("{} ({f})", m.mode.as_str()),
                None => m.name.clone(),
            },
            format!("{:.4}", m.hit_at_1),
            format!("{:.4}", m.hit_at_5),
            format!("{:.4}", m.mrr_at_10),
            format!("{:.4}", m.ndcg_at_10),
            format!("{:.2}", m.latency_ms_p50),
            format!("{:.2}", m.latency_ms_p95),
            format!("{:.2}", m.latency_ms_p99),
        ]);
    }
    println!("{t}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runners::run_with;
    use std::collections::BTreeSet;
    use std::ffi::OsString;

    #[test]
    fn emitted_metrics_are_exactly_the_declared_ones() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = RunContext {
            artifact_dir: dir.path().to_path_buf(),
            cache_dir: dir.path().join("cache"),
            latest_models: Default::default(),
        };
        let args: Vec<OsString> = ["--hash-embedder", "--articles", "1", "--json"]
            .iter()
            .map(OsString::from)
            .collect();
        let out = run_with(&RagEval, &ctx, &args).unwrap();
        let emitted: BTreeSet<&str> = out.metrics.keys().map(String::as_str).collect();
        let declared: BTreeSet<&str> = METRICS.iter().copied().collect();
        assert_eq!(emitted, declared);
        assert_eq!(METRICS.len(), declared.len(), "a metric is declared twice");
        assert!(dir.path().join("rag_eval.json").is_file());
    }
}
