//! The errors of this crate: each names what went wrong, where, and how to fix it.

use std::path::{Path, PathBuf};

/// The asset name the project's asset manager knows the model by.
pub const ASSET_NAME: &str = "all-minilm-l6-v2";

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error(
        "model files missing in {dir}: {missing}. Fetch them with `roadmap assets fetch {ASSET_NAME}`, \
         or point --model-dir at a directory holding model.safetensors, tokenizer.json and config.json",
        missing = .missing.join(", ")
    )]
    MissingModelFiles { dir: PathBuf, missing: Vec<String> },
    #[error("bad model file {path}: {reason}")]
    BadModel { path: PathBuf, reason: String },
    #[error("cannot load the tokenizer {path}: {reason}")]
    Tokenizer { path: PathBuf, reason: String },
    #[error("tokenizing failed: {0}")]
    Encode(String),
    #[error("cannot start the embedding threads: {0}")]
    Threads(String),
    #[error("invalid option: {0}")]
    Options(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("embedding cache {path}: {source}")]
    Cache {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "embedding cache {path} holds {cached_model} vectors ({cached_dim} dims) and cannot mix in \
         {model} ({dim} dims): use another cache file (--cache) or delete this one"
    )]
    CacheMismatch {
        path: PathBuf,
        cached_model: String,
        cached_dim: usize,
        model: String,
        dim: usize,
    },
    #[error("{path}: {reason}")]
    BadDocument { path: PathBuf, reason: String },
}

impl EmbedError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
