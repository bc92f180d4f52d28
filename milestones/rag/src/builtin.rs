//! The built-in knowledge base: the roadmap's own documents, compiled into the
//! binary and ingested on first use into the `roadmap` collection, so that
//! `roadmap rag search "what do I build in phase 4"` works without any setup.
//!
//! It is kept in sync by content hash on every use: documents that changed in
//! a newer binary are re-embedded, ones that no longer exist are removed.

use crate::embedder::TextEmbedder;
use crate::error::Result;
use crate::extract::Kind;
use crate::ingest::{ingest_memory, IngestOptions, IngestSummary, MemoryDoc, BUILTIN_SCHEME};
use crate::store::VectorStore;

include!(concat!(env!("OUT_DIR"), "/builtin_docs.rs"));

/// The collection that holds the built-in documents.
pub const COLLECTION: &str = "roadmap";

/// The built-in documents as ingestible sources (`roadmap:` + repository path).
pub fn documents() -> Vec<MemoryDoc> {
    BUILTIN_DOCS
        .iter()
        .map(|(name, text)| MemoryDoc {
            source: format!("{BUILTIN_SCHEME}{name}"),
            kind: Kind::of(std::path::Path::new(name)).unwrap_or(Kind::Text),
            bytes: text.as_bytes().to_vec(),
        })
        .collect()
}

/// Brings the `roadmap` collection up to date with the documents in this binary.
pub fn ensure(
    store: &mut dyn VectorStore,
    embedder: &dyn TextEmbedder,
    progress: bool,
) -> Result<IngestSummary> {
    let opts = IngestOptions {
        collection: COLLECTION.to_string(),
        progress,
        ..Default::default()
    };
    ingest_memory(store, embedder, &documents(), &opts, true)
}
