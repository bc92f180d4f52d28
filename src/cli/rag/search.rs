//! `roadmap rag search`: dense, BM25 or hybrid retrieval, optionally MMR-reranked and filtered by source.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::*;
use crate::knowledge;
use roadmap_rag::ingest::BUILTIN_SCHEME;
use roadmap_rag::retrieve::{search, Mode, SearchOptions};

#[derive(Debug, clap::Args)]
pub(super) struct SearchArgs {
    /// What to search for.
    #[arg(required = true, num_args = 1..)]
    query: Vec<String>,
    /// How many results.
    #[arg(short, long, default_value_t = 5)]
    k: usize,
    /// Retrieval: dense vectors, BM25 full text, or both fused (see --fusion).
    #[arg(long, value_enum, default_value_t = ModeArg::Hybrid)]
    mode: ModeArg,
    /// Re-rank for diversity with maximal marginal relevance.
    #[arg(long)]
    mmr: bool,
    /// MMR trade-off: 1 = relevance only, 0 = diversity only.
    #[arg(long, default_value_t = 0.5)]
    mmr_lambda: f32,
    /// Only results whose source path starts with this (a folder, or `milestones/` in the built-in base).
    #[arg(long, value_name = "PREFIX")]
    source: Option<String>,
    /// The collection to search (`roadmap` is the built-in knowledge base, indexed on first use).
    #[arg(long, default_value = knowledge::COLLECTION)]
    collection: String,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub(super) fn search_cmd(
    args: &Args,
    a: &SearchArgs,
    loc: &StoreLoc,
    g: &crate::cli::Globals,
) -> Result<()> {
    let query = a.query.join(" ");
    if a.k == 0 {
        bail!("-k must be at least 1");
    }
    if !(0.0..=1.0).contains(&a.mmr_lambda) {
        bail!("--mmr-lambda must be between 0 and 1, got {}", a.mmr_lambda);
    }
    let embedder = load_embedder(args, &g.cache_dir())?;
    let store = open_collection(g, loc, &a.collection, embedder.as_ref(), !a.json, !a.json)?;
    let source_prefix = a.source.as_ref().map(|p| resolve_prefix(p, &a.collection));
    let opts = SearchOptions {
        k: a.k,
        mode: a.mode.into(),
        mmr_lambda: a.mmr.then_some(a.mmr_lambda),
        source_prefix,
        fusion: args.fusion,
        ..Default::default()
    };
    let hits = search(
        store.as_ref(),
        embedder.as_ref(),
        &a.collection,
        &query,
        &opts,
    )?;
    if a.json {
        let hits: Vec<_> = hits
            .iter()
            .enumerate()
            .map(|(i, h)| {
                serde_json::json!({
                    "rank": i + 1, "score": h.score, "source": h.source, "start": h.start, "end": h.end,
                    "line_start": h.line_start, "line_end": h.line_end, "heading": h.heading, "text": h.text,
                })
            })
            .collect();
        let out = serde_json::json!({
            "query": query, "collection": a.collection, "mode": Mode::from(a.mode).as_str(),
            "mmr": a.mmr, "model_id": embedder.model_id(), "hits": hits,
        });
        println!("{out}");
        return Ok(());
    }
    if hits.is_empty() {
        println!("no results for {query:?} in collection `{}`", a.collection);
    }
    for (i, h) in hits.iter().enumerate() {
        let heading = if h.heading.is_empty() {
            String::new()
        } else {
            format!("  ({})", h.heading.join(" > "))
        };
        println!(
            "[{}] {:.4}  {}:{}-{}{heading}",
            i + 1,
            h.score,
            display_source(&h.source),
            h.line_start,
            h.line_end
        );
        let text: String = h.text.chars().take(400).collect();
        let more = if h.text.chars().count() > 400 {
            " …"
        } else {
            ""
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            println!("    {line}");
        }
        if !more.is_empty() {
            println!("    …");
        }
        println!();
    }
    Ok(())
}

/// The stored form of a `--source` prefix: built-in sources carry `roadmap:`,
/// file sources are absolute paths.
pub(super) fn resolve_prefix(prefix: &str, collection: &str) -> String {
    if prefix.starts_with(BUILTIN_SCHEME) || Path::new(prefix).is_absolute() {
        return prefix.to_string();
    }
    if collection == knowledge::COLLECTION {
        return format!("{BUILTIN_SCHEME}{prefix}");
    }
    let joined = std::env::current_dir()
        .map(|d| d.join(prefix))
        .unwrap_or_else(|_| PathBuf::from(prefix));
    let abs = std::fs::canonicalize(&joined).unwrap_or(joined);
    let mut s = abs.display().to_string();
    // `docs/` must not also match `docs-old/`.
    if prefix.ends_with('/') && !s.ends_with('/') {
        s.push('/');
    }
    s
}
