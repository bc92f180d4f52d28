//! Serving the phase-2 sentiment network: [`Classifier`] for
//! [`roadmap_sentiment::SentimentModel`].
//!
//! The model validates its own inputs (empty or over-long texts); those
//! errors are the client's fault and become HTTP 422, anything else (a broken
//! tokenizer, say) is the server's and becomes 500.

use std::path::Path;

use roadmap_sentiment::{Error as ModelError, SentimentModel};

use crate::classifier::{Classifier, ClassifierError, ModelInfo, Prediction};

/// A loaded phase-2 model, ready to serve.
pub struct SentimentClassifier {
    model: SentimentModel,
    info: ModelInfo,
}

impl SentimentClassifier {
    /// Loads the model saved by phase 2 in `dir` (`model.safetensors`,
    /// `tokenizer.json`, `metadata.json`).
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, ModelError> {
        Ok(Self::new(SentimentModel::load(dir)?))
    }

    /// Wraps an already loaded (or freshly trained) model.
    pub fn new(model: SentimentModel) -> Self {
        let info = ModelInfo {
            name: model.name().to_string(),
            version: model.version().to_string(),
        };
        SentimentClassifier { model, info }
    }

    /// Replaces the reported version (for example with the training run's id).
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.info.version = version.into();
        self
    }
}

impl Classifier for SentimentClassifier {
    fn info(&self) -> ModelInfo {
        self.info.clone()
    }

    fn predict_batch(&self, texts: &[&str]) -> Result<Vec<Prediction>, ClassifierError> {
        let predictions = self.model.predict_batch(texts).map_err(|e| match e {
            ModelError::EmptyText { index } | ModelError::TextTooLong { index, .. } => {
                ClassifierError::InvalidInput {
                    index,
                    message: e.to_string(),
                }
            }
            other => ClassifierError::Internal(other.to_string()),
        })?;
        Ok(predictions
            .into_iter()
            .map(|p| Prediction {
                label: p.label.to_string(),
                score: p.score,
            })
            .collect())
    }
}
