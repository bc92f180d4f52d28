//! Phase 2 milestone: a sentiment classifier written the way a learner writes
//! one in NumPy, from scratch, on `ndarray`.
//!
//! The pipeline, one module per step:
//!
//! 1. [`data`]: the shipped movie-review snippets (sign of the human rating is
//!    the label), or any `label,text` CSV.
//! 2. [`tokenize`]: a word-level tokenizer trained on the training split only,
//!    with the `tokenizers` crate (tokenisation is never hand-rolled).
//! 3. [`features`]: sparse TF-IDF vectors over unigrams and bigrams.
//! 4. [`layers`]: each layer's forward and backward pass as explicit functions,
//!    with the maths next to the code.
//! 5. [`network`]: the multi-layer perceptron, AdamW, mini-batches, early stopping.
//! 6. [`model`]: the saved artifact (safetensors + tokenizer.json + metadata.json)
//!    and the inference API ([`SentimentModel`]) that `roadmap predict` and the
//!    phase-3 HTTP server use.
//! 7. [`pipeline`]: the end-to-end experiment (split, baselines, cross-validation).

pub mod data;
pub mod error;
pub mod features;
pub mod layers;
pub mod model;
pub mod network;
pub mod pipeline;
pub mod tokenize;

pub use error::Error;
pub use model::{Metadata, Prediction, SentimentModel, FORMAT_VERSION, MAX_TEXT_CHARS};
pub use network::{Mlp, TrainConfig};

/// The two classes, indexed by the binary label (0 = negative, 1 = positive).
pub const LABELS: [&str; 2] = ["negative", "positive"];
