//! The one error type of the crate: every failure a caller can act on has its
//! own variant, with the what, the where and the how-to-fix in its message.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A text to classify is empty or only whitespace.
    #[error("text #{index} is empty or only whitespace: give at least one word to classify")]
    EmptyText { index: usize },
    /// A text to classify is over [`crate::MAX_TEXT_CHARS`].
    #[error("text #{index} is {chars} characters long, over the limit of {max}: split it into shorter texts")]
    TextTooLong {
        index: usize,
        chars: usize,
        max: usize,
    },
    /// The model directory does not exist.
    #[error("model directory {} does not exist: train one with `roadmap run phase2` or pass an existing directory", dir.display())]
    ModelDirMissing { dir: PathBuf },
    /// The model directory lacks one of its three files.
    #[error("model directory {} is missing `{file}`: it is not a complete sentiment model (re-save it with `roadmap run phase2 --save-model DIR`)", dir.display())]
    MissingModelFile { dir: PathBuf, file: &'static str },
    /// The model was saved by a format this build cannot read.
    #[error("model in {} has format version {found}, this build of roadmap-sentiment {crate_version} reads version {expected}: retrain it with `roadmap run phase2`", dir.display())]
    IncompatibleVersion {
        dir: PathBuf,
        found: u32,
        expected: u32,
        crate_version: &'static str,
    },
    /// metadata.json is not valid.
    #[error("{}: invalid model metadata: {source}", path.display())]
    Metadata {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// model.safetensors is unreadable or does not match metadata.json.
    #[error("{}: invalid weights: {reason}", path.display())]
    Weights { path: PathBuf, reason: String },
    /// The tokenizer failed to train, load, save or encode.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A data file is malformed.
    #[error("{source_name}, line {line}: {reason}")]
    Data {
        source_name: String,
        line: u64,
        reason: String,
    },
    /// The data cannot support the requested experiment.
    #[error("dataset: {0}")]
    Dataset(String),
    /// Metrics could not be computed (labels or probabilities out of range).
    #[error(transparent)]
    Metrics(#[from] roadmap_common::metrics::MetricsError),
    /// A split or fold could not be drawn.
    #[error(transparent)]
    Split(#[from] roadmap_common::dataset::DatasetError),
    /// The logistic-regression baseline failed.
    #[error("logistic-regression baseline: {0}")]
    Baseline(String),
    /// A training hyper-parameter is out of range.
    #[error("invalid training configuration: {0}")]
    Config(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn tokenizer(e: impl std::fmt::Display) -> Self {
        Error::Tokenizer(e.to_string())
    }
}
