//! The real sentence embedder (phase 4's all-MiniLM-L6-v2) behind [`TextEmbedder`].
//!
//! The phase 4 embedder counts tokens with [CLS] and [SEP] included and reads at
//! most `max_seq_len` tokens; the chunker wants the cost of a piece of text
//! alone (so pieces add up) and the room left for text, hence the two
//! special tokens are taken off both.

use roadmap_embed::Embedder;

use crate::embedder::TextEmbedder;
use crate::error::{RagError, Result};

/// [CLS] and [SEP].
const SPECIAL_TOKENS: usize = 2;

impl TextEmbedder for Embedder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Embedder::embed(self, texts).map_err(|e| RagError::Embed(e.to_string()))
    }

    fn dim(&self) -> usize {
        Embedder::dim(self)
    }

    fn model_id(&self) -> String {
        Embedder::model_id(self).to_string()
    }

    fn count_tokens(&self, text: &str) -> usize {
        Embedder::count_tokens(self, text).saturating_sub(SPECIAL_TOKENS)
    }

    fn max_tokens(&self) -> usize {
        self.options().max_seq_len.saturating_sub(SPECIAL_TOKENS)
    }
}
