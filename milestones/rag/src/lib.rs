//! Phase 5, part 1: a retrieval-augmented-generation knowledge base.
//!
//! Ingest documents ([`ingest`]), cut them into sentence-aware chunks that fit
//! the embedding model ([`chunk`]), store chunks, vectors and a BM25 index in
//! one SQLite file ([`store`]) or PostgreSQL + pgvector ([`pg`]), retrieve with dense, BM25 or fused hybrid search
//! ([`retrieve`]), and measure retrieval quality offline on SQuAD ([`eval`]).
//!
//! Part 2: answer questions from the retrieved chunks with citations
//! ([`generate`]: extractive, local SmolLM2 or any OpenAI-compatible server) and
//! measure answer quality with SQuAD's exact match and token F1 ([`answers`]);
//! keep a chat's memory ([`conversation`]).

pub mod answers;
pub mod bench;
pub mod chunk;
pub mod conversation;
pub mod embedder;
pub mod error;
pub mod eval;
pub mod explain;
pub mod extract;
pub mod generate;
pub mod ingest;
pub mod metrics;
pub mod minilm;
pub mod pg;
pub mod retrieve;
pub mod squad;
pub mod store;

pub use embedder::{HashEmbedder, TextEmbedder};
pub use error::{RagError, Result};
pub use pg::PgStore;
pub use store::{SqliteStore, VectorStore};
