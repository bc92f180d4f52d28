//! Resolution: which model, asset or store a command uses.
//!
//! The CLI subcommands and the milestone runners both need to answer "which
//! model directory / embedder / store does this invocation mean?" (a flag, an
//! environment variable, the progress database's latest model, or the asset
//! cache fetched on first use). The answers live here, once, so neither side
//! imports the other: `src/cli` and `src/runners` both depend on `resolve`,
//! never on each other.

pub mod rag;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use roadmap_embed::{Embedder, EmbedderOptions};

/// The sentence-embedding model directory: the flag, else the asset manager
/// (`$ROADMAP_ALL_MINILM_L6_V2_DIR` or the cache, fetched on first use).
pub fn embedder_model_dir(flag: Option<&Path>, cache_dir: &Path) -> Result<PathBuf> {
    match flag {
        Some(d) => Ok(d.to_path_buf()),
        None => roadmap_common::assets::ensure(cache_dir, roadmap_embed::ASSET_NAME).with_context(|| {
            format!(
                "cannot get the sentence embedding model: fetch it with `roadmap assets fetch {}` or pass --model-dir DIR",
                roadmap_embed::ASSET_NAME
            )
        }),
    }
}

/// The flags that choose and tune the sentence embedder (`roadmap run phase4`, `roadmap embed`).
#[derive(Debug, Clone, clap::Args)]
pub struct EmbedderFlags {
    /// Directory holding model.safetensors, tokenizer.json and config.json
    /// [default: $ROADMAP_ALL_MINILM_L6_V2_DIR, else the asset cache, fetched on first use].
    #[arg(long, value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
    /// CPU threads (1..=1024) [default: all cores].
    #[arg(long, value_parser = crate::flags::count_in(1..=1024))]
    pub threads: Option<usize>,
    /// Sentences per forward pass (1..=4096).
    #[arg(long, default_value_t = 32,
          value_parser = crate::flags::count_in(1..=4096))]
    pub batch_size: usize,
}

/// Loads all-MiniLM-L6-v2 from `model_dir` or the asset cache (fetched on first use).
pub fn load_embedder(
    model_dir: Option<&Path>,
    cache_dir: &Path,
    threads: Option<usize>,
    batch_size: usize,
) -> Result<Embedder> {
    let dir = embedder_model_dir(model_dir, cache_dir)?;
    let mut opts = EmbedderOptions {
        batch_size,
        ..Default::default()
    };
    if let Some(t) = threads {
        opts.threads = t;
    }
    Embedder::load(&dir, opts)
        .with_context(|| format!("cannot load the embedding model from {}", dir.display()))
}

impl EmbedderFlags {
    pub fn load(&self, cache_dir: &Path) -> Result<Embedder> {
        load_embedder(
            self.model_dir.as_deref(),
            cache_dir,
            self.threads,
            self.batch_size,
        )
    }
}
