//! Incremental ingestion: files → text → chunks → vectors → store.
//!
//! Each document is identified by its source (the file's absolute path, or a
//! `roadmap:` name for the built-in knowledge base) and versioned by a content
//! hash: SHA-256 of its bytes plus the chunker settings. A document whose hash
//! is unchanged is not re-read past hashing, not re-chunked, not re-embedded.
//! A changed document is re-embedded first and then swapped in one
//! transaction; so an ingest killed at any point, run again, finds every
//! document either committed with its new hash (unchanged now) or untouched
//! (re-done now): no duplicates, nothing missing.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::chunk::{chunk_document, ChunkConfig};
use crate::embedder::TextEmbedder;
use crate::error::{RagError, Result};
use crate::extract::{extract, Kind};
use crate::store::{ChunkRecord, DocumentRecord, VectorStore};

/// Ingestion settings.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub collection: String,
    pub chunking: ChunkConfig,
    /// Remove documents whose files no longer exist.
    pub prune: bool,
    /// Files larger than this are skipped (listed), never read into memory.
    pub max_file_bytes: u64,
    /// Texts per embedder call.
    pub batch_size: usize,
    /// Draw a progress bar on stderr (hidden when stderr is not a terminal).
    pub progress: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            collection: "default".into(),
            chunking: ChunkConfig::default(),
            prune: false,
            max_file_bytes: 64 * 1024 * 1024,
            batch_size: 32,
            progress: true,
        }
    }
}

/// What an ingest did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IngestSummary {
    pub collection: String,
    pub model_id: String,
    pub added: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub removed: usize,
    /// Files not ingested, with the reason.
    pub skipped: Vec<(String, String)>,
    pub chunks_embedded: usize,
    pub seconds: f64,
}

/// A document to ingest from memory (the built-in knowledge base, SQuAD corpora).
#[derive(Debug, Clone)]
pub struct MemoryDoc {
    pub source: String,
    pub kind: Kind,
    pub bytes: Vec<u8>,
}

/// Ingests files and folders. Folders are walked recursively; hidden entries
/// (names starting with `.`) are not descended into.
pub fn ingest_paths(
    store: &mut dyn VectorStore,
    embedder: &dyn TextEmbedder,
    paths: &[PathBuf],
    opts: &IngestOptions,
) -> Result<IngestSummary> {
    let started = std::time::Instant::now();
    let mut summary = summary_for(opts, embedder);
    store.ensure_collection(&opts.collection, &embedder.model_id(), embedder.dim())?;
    let mut files: BTreeMap<String, (PathBuf, Option<Kind>)> = BTreeMap::new();
    for root in paths {
        let meta = std::fs::metadata(root).map_err(|source| RagError::Io {
            path: root.clone(),
            source,
        })?;
        if meta.is_file() {
            add_file(&mut files, root);
            continue;
        }
        let walker = walkdir::WalkDir::new(root)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_file() => add_file(&mut files, e.path()),
                Ok(_) => {}
                Err(e) => summary.skipped.push((
                    e.path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    format!("cannot be read: {e}"),
                )),
            }
        }
    }
    let mut known = store.document_hashes(&opts.collection)?;
    let bar = progress_bar(opts.progress, files.len() as u64);
    for (source, (path, kind)) in &files {
        bar.set_message(short(source));
        let Some(kind) = kind else {
            summary.skipped.push((
                source.clone(),
                "unsupported file type (ingest .md .txt .html .pdf, SQuAD .json)".into(),
            ));
            bar.inc(1);
            continue;
        };
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if size > opts.max_file_bytes {
            summary.skipped.push((
                source.clone(),
                format!(
                    "too large: {size} bytes > limit {} (raise it with --max-file-mb)",
                    opts.max_file_bytes
                ),
            ));
            bar.inc(1);
            continue;
        }
        match std::fs::read(path) {
            Ok(bytes) => ingest_one(
                store,
                embedder,
                opts,
                &mut known,
                &mut summary,
                source,
                *kind,
                &bytes,
            )?,
            Err(e) => summary
                .skipped
                .push((source.clone(), format!("cannot be read: {e}"))),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if opts.prune {
        let gone: Vec<String> = known
            .keys()
            .filter(|s| {
                !s.starts_with(BUILTIN_SCHEME) && !files.contains_key(*s) && !Path::new(s).exists()
            })
            .cloned()
            .collect();
        summary.removed += store.remove_documents(&opts.collection, &gone)?;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Sources of built-in documents start with this.
pub const BUILTIN_SCHEME: &str = "roadmap:";

/// The collection the binary builds its knowledge base of the roadmap into
/// (documents with [`BUILTIN_SCHEME`] sources). The binary owns its contents;
/// the service refuses uploads into it.
pub const BUILTIN_COLLECTION: &str = "roadmap";

/// Ingests in-memory documents; with `exact`, documents of the collection not
/// in `docs` are removed (the set is the whole truth, as for the built-in base).
pub fn ingest_memory(
    store: &mut dyn VectorStore,
    embedder: &dyn TextEmbedder,
    docs: &[MemoryDoc],
    opts: &IngestOptions,
    exact: bool,
) -> Result<IngestSummary> {
    let started = std::time::Instant::now();
    let mut summary = summary_for(opts, embedder);
    store.ensure_collection(&opts.collection, &embedder.model_id(), embedder.dim())?;
    let mut known = store.document_hashes(&opts.collection)?;
    let bar = progress_bar(opts.progress, docs.len() as u64);
    for d in docs {
        bar.set_message(short(&d.source));
        ingest_one(
            store,
            embedder,
            opts,
            &mut known,
            &mut summary,
            &d.source,
            d.kind,
            &d.bytes,
        )?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    if exact {
        let keep: HashSet<&str> = docs.iter().map(|d| d.source.as_str()).collect();
        let gone: Vec<String> = known
            .keys()
            .filter(|s| !keep.contains(s.as_str()))
            .cloned()
            .collect();
        summary.removed += store.remove_documents(&opts.collection, &gone)?;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn summary_for(opts: &IngestOptions, embedder: &dyn TextEmbedder) -> IngestSummary {
    IngestSummary {
        collection: opts.collection.clone(),
        model_id: embedder.model_id(),
        ..Default::default()
    }
}

fn add_file(files: &mut BTreeMap<String, (PathBuf, Option<Kind>)>, path: &Path) {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    files.insert(abs.display().to_string(), (abs.clone(), Kind::of(&abs)));
}

fn progress_bar(enabled: bool, len: u64) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} ingest [{bar:30}] {pos}/{len} files {elapsed} {wide_msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}

fn short(source: &str) -> String {
    source.rsplit('/').next().unwrap_or(source).to_string()
}

/// Bumped whenever extraction changes what text or sections a file yields, so
/// that stored documents are re-extracted.
pub const EXTRACT_VERSION: &str = "extract-v2";

/// The version of a document: its bytes, its kind, how it is extracted and chunked.
pub fn content_hash(bytes: &[u8], kind: Kind, cfg: &ChunkConfig) -> String {
    let mut h = Sha256::new();
    h.update(bytes);
    h.update([0u8]);
    h.update(kind.as_str().as_bytes());
    h.update([0u8]);
    h.update(cfg.tag().as_bytes());
    h.update([0u8]);
    h.update(EXTRACT_VERSION.as_bytes());
    hex::encode(h.finalize())
}

#[allow(clippy::too_many_arguments)]
fn ingest_one(
    store: &mut dyn VectorStore,
    embedder: &dyn TextEmbedder,
    opts: &IngestOptions,
    known: &mut std::collections::HashMap<String, String>,
    summary: &mut IngestSummary,
    source: &str,
    kind: Kind,
    bytes: &[u8],
) -> Result<()> {
    let hash = content_hash(bytes, kind, &opts.chunking);
    let previous = known.remove(source);
    if previous.as_deref() == Some(hash.as_str()) {
        summary.unchanged += 1;
        return Ok(());
    }
    let doc = match extract(kind, bytes, source) {
        Ok(doc) => doc,
        Err(reason) => {
            // A document that became unreadable or empty must not keep serving stale chunks.
            if previous.is_some() {
                summary.removed +=
                    store.remove_documents(&opts.collection, &[source.to_string()])?;
            }
            summary.skipped.push((source.to_string(), reason));
            return Ok(());
        }
    };
    summary.chunks_embedded +=
        index_document(store, embedder, opts, source, kind.as_str(), &hash, doc)?;
    if previous.is_some() {
        summary.changed += 1;
    } else {
        summary.added += 1;
    }
    Ok(())
}

/// Chunks, embeds and stores one extracted document (replacing any previous
/// version atomically); returns the number of chunks embedded.
pub fn index_document(
    store: &mut dyn VectorStore,
    embedder: &dyn TextEmbedder,
    opts: &IngestOptions,
    source: &str,
    kind: &str,
    hash: &str,
    doc: crate::chunk::ExtractedDoc,
) -> Result<usize> {
    let chunks = chunk_document(&doc, &opts.chunking, embedder);
    let texts: Vec<String> = chunks.iter().map(|c| c.embed_text()).collect();
    let vectors = embed_all(embedder, &texts, opts.batch_size, None)?;
    let records: Vec<ChunkRecord> = chunks
        .into_iter()
        .zip(vectors)
        .map(|(c, embedding)| ChunkRecord {
            start: c.start,
            end: c.end,
            line_start: c.line_start,
            line_end: c.line_end,
            heading: c.heading,
            text: c.text,
            embedding,
        })
        .collect();
    let n = records.len();
    store.replace_document(
        &opts.collection,
        &DocumentRecord {
            source: source.to_string(),
            kind: kind.to_string(),
            hash: hash.to_string(),
            text: doc.text,
        },
        &records,
    )?;
    Ok(n)
}

/// Embeds texts in batches, checking the embedder returns one vector of the right size per text.
pub fn embed_all(
    embedder: &dyn TextEmbedder,
    texts: &[String],
    batch_size: usize,
    bar: Option<&ProgressBar>,
) -> Result<Vec<Vec<f32>>> {
    let mut vectors = Vec::with_capacity(texts.len());
    for batch in texts.chunks(batch_size.max(1)) {
        let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
        let out = embedder.embed(&refs)?;
        if out.len() != refs.len() || out.iter().any(|v| v.len() != embedder.dim()) {
            return Err(RagError::EmbedShape {
                asked: refs.len(),
                got: out.len(),
                dim: out.first().map_or(0, Vec::len),
                expected: embedder.dim(),
            });
        }
        vectors.extend(out);
        if let Some(b) = bar {
            b.inc(batch.len() as u64);
        }
    }
    Ok(vectors)
}
