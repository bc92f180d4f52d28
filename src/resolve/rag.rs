//! Which embedder and which SQuAD file a RAG command or the `rag-eval`
//! runner uses: shared by `roadmap rag ...` and `roadmap run phase5`.

use std::path::Path;

use anyhow::{Context, Result};
use roadmap_rag::{HashEmbedder, TextEmbedder};

/// Loads all-MiniLM-L6-v2 (from `model_dir` or the asset cache), or the hashing embedder.
pub fn load_text_embedder(
    hash: bool,
    model_dir: Option<&Path>,
    threads: Option<usize>,
    cache_dir: &Path,
) -> Result<Box<dyn TextEmbedder>> {
    if hash {
        return Ok(Box::new(HashEmbedder::default()));
    }
    let emb = super::load_embedder(
        model_dir,
        cache_dir,
        threads,
        roadmap_embed::EmbedderOptions::default().batch_size,
    )
    .context("pass --model-dir DIR, or --embedder hash to work without a model")?;
    Ok(Box::new(emb))
}

/// Reads the SQuAD file (or the shipped subset) for evaluation.
pub fn load_squad(path: Option<&Path>) -> Result<roadmap_rag::squad::SquadFile> {
    match path {
        Some(p) => {
            let bytes = std::fs::read(p)
                .with_context(|| format!("cannot read the SQuAD file {}", p.display()))?;
            Ok(roadmap_rag::squad::parse(&bytes, &p.display().to_string())?)
        }
        None => Ok(roadmap_rag::squad::parse(
            roadmap_rag::squad::SHIPPED.as_bytes(),
            "the shipped SQuAD subset",
        )?),
    }
}
