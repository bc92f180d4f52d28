//! `roadmap rag ingest`: files and folders into a collection, incrementally.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use super::*;
use roadmap_rag::ingest::{ingest_paths, IngestOptions, IngestSummary};

#[derive(Debug, clap::Args)]
pub(super) struct IngestArgs {
    /// Files and folders to ingest (folders are walked recursively, hidden entries skipped).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The collection to ingest into.
    #[arg(long, default_value = "default")]
    collection: String,
    /// Remove documents whose files no longer exist.
    #[arg(long)]
    prune: bool,
    /// Drop the collection first and embed everything again (to switch embedding model).
    #[arg(long)]
    reembed: bool,
    /// Skip files larger than this many MiB.
    #[arg(long, default_value_t = 64)]
    max_file_mb: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

pub(super) fn ingest_cmd(
    args: &Args,
    a: &IngestArgs,
    loc: &StoreLoc,
    g: &crate::cli::Globals,
) -> Result<()> {
    for p in &a.paths {
        if !p.exists() {
            bail!(
                "{} does not exist: pass files or folders to ingest",
                p.display()
            );
        }
    }
    let embedder = load_embedder(args, &g.cache_dir())?;
    let mut store = open_store(loc)?;
    if a.reembed {
        store
            .drop_collection(&a.collection)
            .context("cannot drop the collection for re-embedding")?;
    }
    let opts = IngestOptions {
        collection: a.collection.clone(),
        prune: a.prune,
        max_file_bytes: a.max_file_mb.saturating_mul(1024 * 1024),
        progress: !a.json,
        ..Default::default()
    };
    let summary =
        ingest_paths(store.as_mut(), embedder.as_ref(), &a.paths, &opts).with_context(|| {
            format!(
                "ingest into collection `{}` of {} failed",
                a.collection, loc
            )
        })?;
    if a.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_summary(&summary, loc);
    }
    Ok(())
}

pub(super) fn print_summary(s: &IngestSummary, loc: &StoreLoc) {
    println!(
        "collection `{}` in {} (model {})",
        s.collection, loc, s.model_id
    );
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "added",
        "changed",
        "unchanged",
        "removed",
        "skipped",
        "chunks embedded",
        "seconds",
        "chunks/s",
    ]);
    t.add_row([
        s.added.to_string(),
        s.changed.to_string(),
        s.unchanged.to_string(),
        s.removed.to_string(),
        s.skipped.len().to_string(),
        s.chunks_embedded.to_string(),
        format!("{:.2}", s.seconds),
        format!("{:.1}", s.chunks_embedded as f64 / s.seconds.max(1e-9)),
    ]);
    println!("{t}");
    if !s.skipped.is_empty() {
        println!("skipped:");
        for (path, reason) in s.skipped.iter().take(50) {
            println!("  {}: {reason}", display_source(path));
        }
        if s.skipped.len() > 50 {
            println!(
                "  ... and {} more (use --json for the full list)",
                s.skipped.len() - 50
            );
        }
    }
}
