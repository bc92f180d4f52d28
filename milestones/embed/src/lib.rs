//! Phase 4 of the roadmap: sentence embeddings and semantic similarity search.
//!
//! - [`Embedder`] turns sentences into all-MiniLM-L6-v2 vectors, matching
//!   sentence-transformers to a cosine ≥ 0.9999, with a BERT forward pass
//!   composed for speed on a CPU ([`bert`], [`kernels`]).
//! - [`EmbeddingCache`] keeps vectors in SQLite so nothing is embedded twice.
//! - [`sentences`] splits documents into sentences with positions, streamed.
//! - [`search`] finds the most similar sentences (or pairs) exactly.
//! - [`reference`] checks fidelity against vectors sentence-transformers computed.

pub mod bert;
pub mod cache;
pub mod embedder;
pub mod error;
pub mod kernels;
pub mod reference;
pub mod search;
pub mod sentences;

pub use cache::{CacheStats, EmbeddingCache};
pub use embedder::{cosine, Embedder, EmbedderOptions, MINILM_ID};
pub use error::{EmbedError, ASSET_NAME};
pub use search::{Hit, Index, PairHit};
pub use sentences::{split_sentences, Sentence, SentenceReader};

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn embedder_is_send_and_sync() {
        assert_send_sync::<super::Embedder>();
    }
}
