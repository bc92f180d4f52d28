//! `roadmap rag bench`: retrieval latency over a generated collection.

use anyhow::{bail, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use super::*;

#[derive(Debug, clap::Args)]
pub(super) struct BenchArgs {
    /// Chunks in the generated collection.
    #[arg(long, default_value_t = 10_000)]
    chunks: usize,
    /// Queries timed per mode (questions of the shipped SQuAD subset).
    #[arg(long, default_value_t = 500)]
    queries: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub(super) fn bench_cmd(args: &Args, a: &BenchArgs, g: &crate::cli::Globals) -> Result<()> {
    if a.chunks == 0 || a.queries == 0 {
        bail!("--chunks and --queries must be at least 1");
    }
    let embedder = load_embedder(args, &g.cache_dir())?;
    let path =
        std::env::temp_dir().join(format!("roadmap-rag-bench-{}.sqlite", std::process::id()));
    let opts = roadmap_rag::bench::BenchOptions {
        chunks: a.chunks,
        queries: a.queries,
        progress: !a.json,
        ..Default::default()
    };
    let result = roadmap_rag::bench::run(embedder.as_ref(), &path, &opts);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let r = result?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    println!(
        "{} chunks ({}), ingest {:.1} s = {:.0} chunks/s; vectors loaded in {:.1} ms; one query embedding {:.2} ms",
        r.chunks, r.model_id, r.ingest_seconds, r.ingest_chunks_per_second, r.vector_load_ms, r.query_embed_ms_mean
    );
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["mode", "queries", "p50 ms", "p95 ms", "p99 ms", "mean ms"]);
    for m in &r.modes {
        t.add_row([
            m.mode.as_str().to_string(),
            r.queries.to_string(),
            format!("{:.2}", m.p50_ms),
            format!("{:.2}", m.p95_ms),
            format!("{:.2}", m.p99_ms),
            format!("{:.2}", m.mean_ms),
        ]);
    }
    println!("{t}");
    Ok(())
}
