//! Phase 5 runner `rag-eval`: retrieval quality of the knowledge base on the
//! shipped SQuAD subset (or any SQuAD-format file), every mode in one run.
//!
//! Reported metrics: `hit_at_1`, `hit_at_5`, `mrr_at_10`, `ndcg_at_10` for hybrid
//! retrieval (the default mode), the same four prefixed `dense_`, `bm25_`,
//! `hybrid_` and `hybrid_rrf_` (plain reciprocal rank fusion, for comparison),
//! search latency percentiles per mode, and ingest throughput.

use std::path::PathBuf;

use anyhow::Result;
use clap::{ArgMatches, CommandFactory, Parser};
use roadmap_rag::eval::{evaluate, evaluate_in, EvalOptions};
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
        let file = crate::cli::rag::load_squad(args.squad.as_deref())?;
        let embedder = crate::cli::rag::load_embedder_with(
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
            crate::cli::rag::print_eval(&report);
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
