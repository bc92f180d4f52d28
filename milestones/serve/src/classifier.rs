//! The one thing the server needs from a model: classify a batch of texts.
//!
//! The server is written against this small trait instead of a concrete
//! model type so that it can be built, tested and reasoned about without the
//! training code: tests plug in a tiny deterministic classifier, the binary
//! plugs in the phase-2 sentiment network (see [`crate::sentiment`]).
//!
//! `Send + Sync + 'static` is what sharing one loaded model between every
//! request handler (and the blocking inference threads) requires: the model is
//! loaded once, wrapped in an `Arc`, and only ever read.

use serde::Serialize;
use utoipa::ToSchema;

/// Which model answered: returned with every prediction and exported as the
/// `roadmap_model_info` metric, so a client (or a dashboard) can tell a model
/// rollout happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ModelInfo {
    /// The model's name, for example `sentiment`.
    #[schema(example = "sentiment")]
    pub name: String,
    /// The model's version (for example the training run that produced it).
    #[schema(example = "3")]
    pub version: String,
}

/// One classified text.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The predicted class, for example `positive` or `negative`.
    pub label: String,
    /// The model's probability for the `positive` class, in `[0, 1]`.
    pub score: f32,
}

/// Why a classifier could not answer.
#[derive(Debug, thiserror::Error)]
pub enum ClassifierError {
    /// The input itself is unusable (the client's fault): reported as HTTP 422.
    #[error("text {index}: {message}")]
    InvalidInput {
        /// Position of the offending text in the batch.
        index: usize,
        /// What is wrong with it, for the client.
        message: String,
    },
    /// Anything else (the server's fault): reported as HTTP 500.
    #[error("inference failed: {0}")]
    Internal(String),
}

/// A text classifier the server can expose.
pub trait Classifier: Send + Sync + 'static {
    /// Name and version of the loaded model.
    fn info(&self) -> ModelInfo;

    /// Classifies `texts`, returning exactly one prediction per text, in order.
    ///
    /// This is CPU work: the server calls it either inline (a single short
    /// text) or on a blocking thread (batches), never holding an async worker
    /// for long. See `server::INLINE_MAX_BYTES`.
    fn predict_batch(&self, texts: &[&str]) -> Result<Vec<Prediction>, ClassifierError>;
}

impl<C: Classifier + ?Sized> Classifier for std::sync::Arc<C> {
    fn info(&self) -> ModelInfo {
        (**self).info()
    }

    fn predict_batch(&self, texts: &[&str]) -> Result<Vec<Prediction>, ClassifierError> {
        (**self).predict_batch(texts)
    }
}
