//! Storage: the [`VectorStore`] boundary and its embedded SQLite implementation.
//!
//! One SQLite file holds everything a collection needs:
//! - `collections`: name, embedding model id and dimension (a collection never mixes models);
//! - `documents`: source, kind, content hash (for incremental ingest) and extracted text
//!   (so a citation's byte span can always be resolved);
//! - `chunks`: span, line range, heading path, text and the vector as a little-endian f32 BLOB;
//! - `chunks_fts`: an FTS5 index (Porter-stemmed Unicode tokens) over heading and text,
//!   ranked with SQLite's built-in BM25.
//!
//! Dense search is an exact scan: the collection's vectors are loaded once into
//! one contiguous `Vec<f32>` and every query is a dot product with each row
//! (vectors are unit length, so the dot product is the cosine similarity),
//! then a partial sort for the top k. 10,000 × 384 floats is 15 MB and one scan
//! is ~4 M multiply-adds: milliseconds, no approximate index needed at this size.
//!
//! Writes are transactional per document: replacing a document deletes its old
//! chunks and inserts the new ones, FTS rows included, in one transaction, so
//! an ingest killed at any instant leaves each document entirely old or entirely new.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::error::{RagError, Result, SqlContext};

/// A collection's identity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CollectionInfo {
    pub name: String,
    pub model_id: String,
    pub dim: usize,
    pub documents: usize,
    pub chunks: usize,
}

/// A document as stored.
#[derive(Debug, Clone)]
pub struct DocumentRecord {
    pub source: String,
    pub kind: String,
    pub hash: String,
    pub text: String,
}

/// A chunk with its vector, ready to store.
#[derive(Debug, Clone)]
pub struct ChunkRecord {
    pub start: usize,
    pub end: usize,
    pub line_start: usize,
    pub line_end: usize,
    pub heading: Vec<String>,
    pub text: String,
    pub embedding: Vec<f32>,
}

/// A retrieved chunk.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    pub chunk_id: i64,
    /// Cosine similarity (dense), BM25 relevance (bm25, higher is better), or the fused score.
    pub score: f64,
    pub source: String,
    pub start: usize,
    pub end: usize,
    pub line_start: usize,
    pub line_end: usize,
    pub heading: Vec<String>,
    pub text: String,
}

/// The span of a stored chunk, for evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSpan {
    pub chunk_id: i64,
    pub start: usize,
    pub end: usize,
}

/// Everything retrieval and ingestion need from a store. A PostgreSQL +
/// pgvector store implements the same methods (part 2).
pub trait VectorStore {
    /// Creates the collection for this model, or checks that it already uses this model.
    fn ensure_collection(&mut self, name: &str, model_id: &str, dim: usize) -> Result<()>;
    /// The collection, with document and chunk counts, if it exists.
    fn collection(&self, name: &str) -> Result<Option<CollectionInfo>>;
    /// All collections.
    fn collections(&self) -> Result<Vec<CollectionInfo>>;
    /// Deletes a collection and everything in it.
    fn drop_collection(&mut self, name: &str) -> Result<()>;
    /// Content hash of every document in the collection, by source.
    fn document_hashes(&self, collection: &str) -> Result<HashMap<String, String>>;
    /// Inserts or replaces a document and all its chunks, atomically.
    fn replace_document(
        &mut self,
        collection: &str,
        doc: &DocumentRecord,
        chunks: &[ChunkRecord],
    ) -> Result<()>;
    /// Removes documents (and their chunks) by source; returns how many existed.
    fn remove_documents(&mut self, collection: &str, sources: &[String]) -> Result<usize>;
    /// The `k` chunks whose vectors have the largest dot product with `query`:
    /// (chunk id, cosine similarity), best first.
    fn dense_search(
        &self,
        collection: &str,
        query: &[f32],
        k: usize,
        source_prefix: Option<&str>,
    ) -> Result<Vec<(i64, f64)>>;
    /// The `k` best chunks by BM25 for the words of `query`: (chunk id, BM25
    /// relevance, higher is better), best first.
    fn bm25_search(
        &self,
        collection: &str,
        query: &str,
        k: usize,
        source_prefix: Option<&str>,
    ) -> Result<Vec<(i64, f64)>>;
    /// Reads scored chunks back as hits (source, span, heading, text), in the given order.
    fn hits(&self, scored: &[(i64, f64)]) -> Result<Vec<Hit>>;
    /// Stored vectors of the given chunks (for MMR), in the same order.
    fn vectors(&self, collection: &str, chunk_ids: &[i64]) -> Result<Vec<Vec<f32>>>;
    /// Spans of every chunk of one document.
    fn chunk_spans(&self, collection: &str, source: &str) -> Result<Vec<ChunkSpan>>;
}

/// Refuses chunks whose vectors do not have the collection's dimension.
pub(crate) fn check_dims(chunks: &[ChunkRecord], dim: usize) -> Result<()> {
    match chunks.iter().find(|c| c.embedding.len() != dim) {
        Some(bad) => Err(RagError::EmbedShape {
            asked: chunks.len(),
            got: chunks.len(),
            dim: bad.embedding.len(),
            expected: dim,
        }),
        None => Ok(()),
    }
}

/// Exact in-memory vector index of one collection.
struct DenseIndex {
    collection: String,
    generation: u64,
    dim: usize,
    ids: Vec<i64>,
    sources: Vec<u32>,
    source_names: Vec<String>,
    data: Vec<f32>,
}

/// One chunk in a [`SqliteStore::snapshot`]: (source, start, end, heading path, text).
pub type SnapshotRow = (String, usize, usize, Vec<String>, String);

/// The embedded store: one SQLite file.
pub struct SqliteStore {
    conn: Connection,
    /// Bumped on every write, so a cached dense index knows it is stale.
    generation: u64,
    dense: RefCell<Option<DenseIndex>>,
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS collections (
    name TEXT PRIMARY KEY,
    model_id TEXT NOT NULL,
    dim INTEGER NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    collection TEXT NOT NULL REFERENCES collections(name),
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    hash TEXT NOT NULL,
    text TEXT NOT NULL,
    ingested_at TEXT NOT NULL DEFAULT (datetime('now')),
    UNIQUE (collection, source)
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    doc_id INTEGER NOT NULL REFERENCES documents(id),
    ord INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    line_start INTEGER NOT NULL,
    line_end INTEGER NOT NULL,
    heading TEXT NOT NULL,
    text TEXT NOT NULL,
    embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id, ord);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    heading, text, content='chunks', content_rowid='id', tokenize='porter unicode61'
);
"#;

/// Separator of heading path elements in the `heading` column.
pub(crate) const HEADING_SEP: &str = " > ";

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| RagError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| RagError::Store {
            path: path.display().to_string(),
            source,
        })?;
        Self::init(conn, &path.display().to_string())
    }

    /// A private in-memory store (evaluation, tests).
    pub fn in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory().sql("opening an in-memory database")?;
        Self::init(conn, ":memory:")
    }

    fn init(conn: Connection, what: &str) -> Result<Self> {
        let err = |source| RagError::Store {
            path: what.to_string(),
            source,
        };
        // WAL: readers never block the writer, and a killed writer loses only
        // its open transaction. A second writer waits up to 10 s instead of failing.
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        // SQLite's default page cache is 2 MB: smaller than the full-text index of
        // 10,000 chunks, so every BM25 query would re-read pages. 64 MB (an upper
        // bound, allocated as used) plus memory-mapped reads keep it in memory.
        conn.pragma_update(None, "cache_size", -64 * 1024)
            .map_err(err)?;
        conn.pragma_update(None, "mmap_size", 256 * 1024 * 1024)
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Self {
            conn,
            generation: 0,
            dense: RefCell::new(None),
        })
    }

    /// Every chunk of a collection as (source, start, end, heading path, text),
    /// ordered by source and position: a snapshot to compare stores by.
    pub fn snapshot(&self, collection: &str) -> Result<Vec<SnapshotRow>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT d.source, c.start, c.end, c.heading, c.text FROM chunks c JOIN documents d ON d.id = c.doc_id
                 WHERE d.collection = ?1 ORDER BY d.source, c.ord",
            )
            .sql("reading chunks")?;
        let rows = stmt
            .query_map([collection], |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, i64>(1)? as usize,
                    r.get::<_, i64>(2)? as usize,
                    split_heading(&r.get::<_, String>(3)?),
                    r.get(4)?,
                ))
            })
            .sql("reading chunks")?;
        rows.collect::<rusqlite::Result<_>>().sql("reading chunks")
    }

    /// Checks the full-text index against the chunks table (SQLite's FTS5
    /// `integrity-check`) and that every chunk belongs to a document.
    pub fn check_integrity(&self) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)",
                [],
            )
            .sql("checking the full-text index")?;
        let orphans: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM chunks c LEFT JOIN documents d ON d.id = c.doc_id WHERE d.id IS NULL",
                [],
                |r| r.get(0),
            )
            .sql("checking chunks")?;
        if orphans > 0 {
            return Err(RagError::Invalid(format!(
                "{orphans} chunks belong to no document"
            )));
        }
        Ok(())
    }

    /// The extracted text of a document (what chunk spans index).
    pub fn document_text(&self, collection: &str, source: &str) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT text FROM documents WHERE collection = ?1 AND source = ?2",
                params![collection, source],
                |r| r.get(0),
            )
            .optional()
            .sql("reading the document")
    }

    fn collection_dim(&self, name: &str) -> Result<Option<(String, usize)>> {
        self.conn
            .query_row(
                "SELECT model_id, dim FROM collections WHERE name = ?1",
                [name],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize)),
            )
            .optional()
            .sql("reading the collection")
    }

    /// A write transaction that takes SQLite's write lock at `BEGIN`
    /// (`IMMEDIATE`). A deferred one starts as a reader and upgrades at its
    /// first write; in WAL mode that upgrade fails at once with "database is
    /// locked" (no busy wait) if another connection — the service's request
    /// log shares the file — committed in between. Taking the lock first makes
    /// the wait go through the busy timeout instead.
    fn write_transaction(&mut self) -> Result<rusqlite::Transaction<'_>> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .sql("starting a write transaction")
    }

    fn require_collection(&self, name: &str) -> Result<(String, usize)> {
        self.collection_dim(name)?
            .ok_or_else(|| RagError::NoCollection(name.to_string()))
    }

    fn load_dense(&self, collection: &str) -> Result<()> {
        let fresh = matches!(&*self.dense.borrow(), Some(ix) if ix.collection == collection && ix.generation == self.generation);
        if fresh {
            return Ok(());
        }
        let (_, dim) = self.require_collection(collection)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.id, d.source, c.embedding FROM chunks c JOIN documents d ON d.id = c.doc_id
                 WHERE d.collection = ?1 ORDER BY c.id",
            )
            .sql("loading vectors")?;
        let mut rows = stmt.query([collection]).sql("loading vectors")?;
        let mut ix = DenseIndex {
            collection: collection.to_string(),
            generation: self.generation,
            dim,
            ids: Vec::new(),
            sources: Vec::new(),
            source_names: Vec::new(),
            data: Vec::new(),
        };
        let mut source_ids: HashMap<String, u32> = HashMap::new();
        while let Some(row) = rows.next().sql("loading vectors")? {
            let id: i64 = row.get(0).sql("loading vectors")?;
            let source: String = row.get(1).sql("loading vectors")?;
            let blob = row
                .get_ref(2)
                .sql("loading vectors")?
                .as_blob()
                .map_err(|e| RagError::Sql {
                    what: "loading vectors",
                    source: e.into(),
                })?;
            if blob.len() != dim * 4 {
                return Err(RagError::Invalid(format!(
                    "chunk {id} has a {}-byte vector, expected {dim} f32 values; the store is damaged: re-ingest with --reembed",
                    blob.len()
                )));
            }
            let next = source_ids.len() as u32;
            let sid = *source_ids.entry(source.clone()).or_insert_with(|| {
                ix.source_names.push(source);
                next
            });
            ix.ids.push(id);
            ix.sources.push(sid);
            ix.data.extend(
                blob.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
        }
        *self.dense.borrow_mut() = Some(ix);
        Ok(())
    }

    fn hits_by_id_impl(&self, scored: &[(i64, f64)]) -> Result<Vec<Hit>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT d.source, c.start, c.end, c.line_start, c.line_end, c.heading, c.text
                 FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id = ?1",
            )
            .sql("reading chunks")?;
        scored
            .iter()
            .map(|&(id, score)| {
                stmt.query_row([id], |r| {
                    let heading: String = r.get(5)?;
                    Ok(Hit {
                        chunk_id: id,
                        score,
                        source: r.get(0)?,
                        start: r.get::<_, i64>(1)? as usize,
                        end: r.get::<_, i64>(2)? as usize,
                        line_start: r.get::<_, i64>(3)? as usize,
                        line_end: r.get::<_, i64>(4)? as usize,
                        heading: split_heading(&heading),
                        text: r.get(6)?,
                    })
                })
                .sql("reading chunks")
            })
            .collect()
    }

    /// Deletes a document's chunks and their FTS rows (inside the caller's transaction).
    fn delete_chunks(tx: &rusqlite::Transaction, doc_id: i64) -> Result<()> {
        // External-content FTS5 needs the old values to remove them from the index.
        tx.execute(
            "INSERT INTO chunks_fts(chunks_fts, rowid, heading, text)
             SELECT 'delete', id, heading, text FROM chunks WHERE doc_id = ?1",
            [doc_id],
        )
        .sql("removing old chunks from the full-text index")?;
        tx.execute("DELETE FROM chunks WHERE doc_id = ?1", [doc_id])
            .sql("removing old chunks")?;
        Ok(())
    }
}

pub(crate) fn split_heading(s: &str) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(HEADING_SEP).map(str::to_string).collect()
    }
}

/// Lucene's default English stop set (`EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`).
const STOP_WORDS: [&str; 33] = [
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with",
];

/// Turns free text into an FTS5 query: every word quoted (so `AND`, `-`, `*` or
/// quotes in the question are plain words, never query syntax), joined by OR
/// so BM25 ranks by how many and how rare the matching words are.
///
/// Stop words are left out of the query (unless nothing else is left): they
/// carry almost no BM25 weight (their IDF is near zero) but match nearly every
/// chunk, and SQLite scores every matching row, so they dominate the query
/// time (measured: p50 12 ms → 3.5 ms over 10,000 chunks).
pub fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = query_words(text)
        .iter()
        .map(|w| format!("\"{}\"", w.replace('"', "")))
        .collect();
    if words.is_empty() {
        None
    } else {
        Some(words.join(" OR "))
    }
}

/// The words of a BM25 query, in order: Unicode words without the stop words
/// (all of them if nothing else is left). Each is one FTS5 phrase; the
/// PostgreSQL store scores the same phrases (see [`crate::pg`]).
pub fn query_words(text: &str) -> Vec<&str> {
    use unicode_segmentation::UnicodeSegmentation;
    let all: Vec<&str> = text.unicode_words().collect();
    let content: Vec<&str> = all
        .iter()
        .copied()
        .filter(|w| !STOP_WORDS.contains(&w.to_lowercase().as_str()))
        .collect();
    if content.is_empty() {
        all
    } else {
        content
    }
}

fn prefix_ok(source: &str, prefix: Option<&str>) -> bool {
    prefix.is_none_or(|p| source.starts_with(p))
}

/// Indices of the `k` largest scores, best first (ties by lower index).
pub(crate) fn top_k(scores: &[f32], k: usize, keep: impl Fn(usize) -> bool) -> Vec<(usize, f32)> {
    let mut idx: Vec<(usize, f32)> = scores
        .iter()
        .copied()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .collect();
    let by_score = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if idx.len() > k {
        idx.select_nth_unstable_by(k, by_score);
        idx.truncate(k);
    }
    idx.sort_by(by_score);
    idx
}

impl VectorStore for SqliteStore {
    fn ensure_collection(&mut self, name: &str, model_id: &str, dim: usize) -> Result<()> {
        match self.collection_dim(name)? {
            Some((m, d)) if m == model_id && d == dim => Ok(()),
            Some((m, d)) => Err(RagError::ModelMismatch {
                collection: name.to_string(),
                stored_model: m,
                stored_dim: d,
                new_model: model_id.to_string(),
                new_dim: dim,
            }),
            None => {
                self.conn
                    .execute(
                        "INSERT INTO collections(name, model_id, dim) VALUES (?1, ?2, ?3)",
                        params![name, model_id, dim as i64],
                    )
                    .sql("creating the collection")?;
                Ok(())
            }
        }
    }

    fn collection(&self, name: &str) -> Result<Option<CollectionInfo>> {
        Ok(self.collections()?.into_iter().find(|c| c.name == name))
    }

    fn collections(&self) -> Result<Vec<CollectionInfo>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.name, c.model_id, c.dim,
                    (SELECT count(*) FROM documents d WHERE d.collection = c.name),
                    (SELECT count(*) FROM chunks k JOIN documents d ON d.id = k.doc_id WHERE d.collection = c.name)
                 FROM collections c ORDER BY c.name",
            )
            .sql("listing collections")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(CollectionInfo {
                    name: r.get(0)?,
                    model_id: r.get(1)?,
                    dim: r.get::<_, i64>(2)? as usize,
                    documents: r.get::<_, i64>(3)? as usize,
                    chunks: r.get::<_, i64>(4)? as usize,
                })
            })
            .sql("listing collections")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .sql("listing collections")
    }

    fn drop_collection(&mut self, name: &str) -> Result<()> {
        let tx = self.write_transaction()?;
        let ids: Vec<i64> = {
            let mut stmt = tx
                .prepare("SELECT id FROM documents WHERE collection = ?1")
                .sql("listing documents")?;
            let rows = stmt
                .query_map([name], |r| r.get(0))
                .sql("listing documents")?;
            rows.collect::<rusqlite::Result<_>>()
                .sql("listing documents")?
        };
        for id in ids {
            Self::delete_chunks(&tx, id)?;
        }
        tx.execute("DELETE FROM documents WHERE collection = ?1", [name])
            .sql("removing documents")?;
        tx.execute("DELETE FROM collections WHERE name = ?1", [name])
            .sql("removing the collection")?;
        tx.commit().sql("committing")?;
        self.generation += 1;
        Ok(())
    }

    fn document_hashes(&self, collection: &str) -> Result<HashMap<String, String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT source, hash FROM documents WHERE collection = ?1")
            .sql("reading document hashes")?;
        let rows = stmt
            .query_map([collection], |r| Ok((r.get(0)?, r.get(1)?)))
            .sql("reading document hashes")?;
        rows.collect::<rusqlite::Result<_>>()
            .sql("reading document hashes")
    }

    fn replace_document(
        &mut self,
        collection: &str,
        doc: &DocumentRecord,
        chunks: &[ChunkRecord],
    ) -> Result<()> {
        let (_, dim) = self.require_collection(collection)?;
        check_dims(chunks, dim)?;
        let tx = self.write_transaction()?;
        let existing: Option<i64> = tx
            .query_row(
                "SELECT id FROM documents WHERE collection = ?1 AND source = ?2",
                params![collection, doc.source],
                |r| r.get(0),
            )
            .optional()
            .sql("looking up the document")?;
        let doc_id = match existing {
            Some(id) => {
                Self::delete_chunks(&tx, id)?;
                tx.execute(
                    "UPDATE documents SET kind = ?2, hash = ?3, text = ?4, ingested_at = datetime('now') WHERE id = ?1",
                    params![id, doc.kind, doc.hash, doc.text],
                )
                .sql("updating the document")?;
                id
            }
            None => {
                tx.execute(
                    "INSERT INTO documents(collection, source, kind, hash, text) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![collection, doc.source, doc.kind, doc.hash, doc.text],
                )
                .sql("inserting the document")?;
                tx.last_insert_rowid()
            }
        };
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO chunks(doc_id, ord, start, end, line_start, line_end, heading, text, embedding)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .sql("inserting chunks")?;
            let mut fts = tx
                .prepare_cached("INSERT INTO chunks_fts(rowid, heading, text) VALUES (?1, ?2, ?3)")
                .sql("indexing chunks")?;
            let mut blob = Vec::with_capacity(dim * 4);
            for (ord, c) in chunks.iter().enumerate() {
                blob.clear();
                c.embedding
                    .iter()
                    .for_each(|x| blob.extend_from_slice(&x.to_le_bytes()));
                let heading = c.heading.join(HEADING_SEP);
                ins.execute(params![
                    doc_id,
                    ord as i64,
                    c.start as i64,
                    c.end as i64,
                    c.line_start as i64,
                    c.line_end as i64,
                    heading,
                    c.text,
                    blob
                ])
                .sql("inserting chunks")?;
                fts.execute(params![tx.last_insert_rowid(), heading, c.text])
                    .sql("indexing chunks")?;
            }
        }
        tx.commit().sql("committing the document")?;
        self.generation += 1;
        Ok(())
    }

    fn remove_documents(&mut self, collection: &str, sources: &[String]) -> Result<usize> {
        let tx = self.write_transaction()?;
        let mut n = 0;
        for source in sources {
            let id: Option<i64> = tx
                .query_row(
                    "SELECT id FROM documents WHERE collection = ?1 AND source = ?2",
                    params![collection, source],
                    |r| r.get(0),
                )
                .optional()
                .sql("looking up the document")?;
            if let Some(id) = id {
                Self::delete_chunks(&tx, id)?;
                tx.execute("DELETE FROM documents WHERE id = ?1", [id])
                    .sql("removing the document")?;
                n += 1;
            }
        }
        tx.commit().sql("committing")?;
        self.generation += 1;
        Ok(n)
    }

    fn hits(&self, scored: &[(i64, f64)]) -> Result<Vec<Hit>> {
        self.hits_by_id_impl(scored)
    }

    fn dense_search(
        &self,
        collection: &str,
        query: &[f32],
        k: usize,
        source_prefix: Option<&str>,
    ) -> Result<Vec<(i64, f64)>> {
        self.load_dense(collection)?;
        let guard = self.dense.borrow();
        let ix = guard.as_ref().expect("loaded above");
        if query.len() != ix.dim {
            return Err(RagError::EmbedShape {
                asked: 1,
                got: 1,
                dim: query.len(),
                expected: ix.dim,
            });
        }
        let scores = dot_all(&ix.data, query);
        let allowed: Option<Vec<bool>> = source_prefix.map(|p| {
            ix.source_names
                .iter()
                .map(|s| prefix_ok(s, Some(p)))
                .collect()
        });
        Ok(top_k(&scores, k, |i| {
            allowed.as_ref().is_none_or(|a| a[ix.sources[i] as usize])
        })
        .into_iter()
        .map(|(i, s)| (ix.ids[i], s as f64))
        .collect())
    }

    fn bm25_search(
        &self,
        collection: &str,
        query: &str,
        k: usize,
        source_prefix: Option<&str>,
    ) -> Result<Vec<(i64, f64)>> {
        self.require_collection(collection)?;
        let Some(q) = fts_query(query) else {
            return Ok(Vec::new());
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT c.id, bm25(chunks_fts, 0.5, 1.0) AS s, d.source
                 FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid JOIN documents d ON d.id = c.doc_id
                 WHERE chunks_fts MATCH ?1 AND d.collection = ?2
                   AND (?3 IS NULL OR substr(d.source, 1, length(?3)) = ?3)
                 ORDER BY s LIMIT ?4",
            )
            .sql("preparing the BM25 query")?;
        // SQLite's bm25() is negated (more negative = better); flip it so higher is better.
        let rows = stmt
            .query_map(params![q, collection, source_prefix, k as i64], |r| {
                Ok((r.get::<_, i64>(0)?, -r.get::<_, f64>(1)?))
            })
            .sql("running the BM25 query")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .sql("running the BM25 query")
    }

    fn vectors(&self, collection: &str, chunk_ids: &[i64]) -> Result<Vec<Vec<f32>>> {
        self.load_dense(collection)?;
        let guard = self.dense.borrow();
        let ix = guard.as_ref().expect("loaded above");
        let pos: HashMap<i64, usize> = ix.ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
        chunk_ids
            .iter()
            .map(|id| {
                let i = *pos.get(id).ok_or_else(|| {
                    RagError::Invalid(format!("chunk {id} is not in collection `{collection}`"))
                })?;
                Ok(ix.data[i * ix.dim..(i + 1) * ix.dim].to_vec())
            })
            .collect()
    }

    fn chunk_spans(&self, collection: &str, source: &str) -> Result<Vec<ChunkSpan>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.id, c.start, c.end FROM chunks c JOIN documents d ON d.id = c.doc_id
                 WHERE d.collection = ?1 AND d.source = ?2 ORDER BY c.ord",
            )
            .sql("reading chunk spans")?;
        let rows = stmt
            .query_map(params![collection, source], |r| {
                Ok(ChunkSpan {
                    chunk_id: r.get(0)?,
                    start: r.get::<_, i64>(1)? as usize,
                    end: r.get::<_, i64>(2)? as usize,
                })
            })
            .sql("reading chunk spans")?;
        rows.collect::<rusqlite::Result<_>>()
            .sql("reading chunk spans")
    }
}

/// `scores[i] = Σ_j data[i·d + j] · q[j]` for every row of a row-major matrix.
///
/// Eight independent accumulators per row let the compiler keep eight SIMD
/// lanes busy (a single running sum is a serial dependency chain).
pub fn dot_all(data: &[f32], q: &[f32]) -> Vec<f32> {
    let d = q.len();
    data.chunks_exact(d)
        .map(|row| {
            let mut acc = [0f32; 8];
            let mut rc = row.chunks_exact(8);
            let mut qc = q.chunks_exact(8);
            for (r, qq) in (&mut rc).zip(&mut qc) {
                for l in 0..8 {
                    acc[l] += r[l] * qq[l];
                }
            }
            let tail: f32 = rc
                .remainder()
                .iter()
                .zip(qc.remainder())
                .map(|(a, b)| a * b)
                .sum();
            acc.iter().sum::<f32>() + tail
        })
        .collect()
}
