//! A persistent embedding cache in SQLite, keyed by (model id, sha256 of the text).
//!
//! Embedding is the slow step; a document embedded once should never be
//! embedded again. The cache stores each vector as little-endian float32 bytes
//! under the model's id and the sha256 of the exact text, so an edited
//! sentence misses and an unchanged one hits.
//!
//! One cache file serves one model: the first use records the model id and
//! the vector width, and any other embedder is refused with a clear error
//! rather than silently mixing vectors of different spaces (cosines between
//! them would be meaningless).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::embedder::Embedder;
use crate::error::EmbedError;

/// Hits and misses of one [`EmbeddingCache::get_or_embed_with_stats`] call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Texts whose vector came from the cache.
    pub hits: usize,
    /// Distinct texts the model embedded (and the cache stored).
    pub embedded: usize,
}

pub struct EmbeddingCache {
    conn: Connection,
    path: PathBuf,
}

impl EmbeddingCache {
    /// Opens (or creates) the cache file, and its parent directory.
    pub fn open(path: &Path) -> Result<Self, EmbedError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| EmbedError::io(dir, e))?;
        }
        let err = |source| EmbedError::Cache {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS embeddings (
                 model TEXT NOT NULL,
                 text_sha256 BLOB NOT NULL,
                 vector BLOB NOT NULL,
                 PRIMARY KEY (model, text_sha256)
             ) WITHOUT ROWID;",
        )
        .map_err(err)?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: rusqlite::Error) -> EmbedError {
        EmbedError::Cache {
            path: self.path.clone(),
            source,
        }
    }

    /// Checks (or, on first use, records) which model this cache belongs to.
    pub fn bind(&self, model_id: &str, dim: usize) -> Result<(), EmbedError> {
        let get = |k: &str| -> Result<Option<String>, EmbedError> {
            self.conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()
                .map_err(|e| self.err(e))
        };
        match (get("model_id")?, get("dim")?) {
            (Some(m), Some(d)) => {
                let cached_dim: usize = d.parse().unwrap_or(0);
                if m != model_id || cached_dim != dim {
                    return Err(EmbedError::CacheMismatch {
                        path: self.path.clone(),
                        cached_model: m,
                        cached_dim,
                        model: model_id.to_string(),
                        dim,
                    });
                }
            }
            _ => {
                self.conn
                    .execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('model_id', ?1), ('dim', ?2)",
                        params![model_id, dim.to_string()],
                    )
                    .map_err(|e| self.err(e))?;
            }
        }
        Ok(())
    }

    /// Number of vectors stored.
    pub fn len(&self) -> Result<usize, EmbedError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM embeddings", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as usize)
            .map_err(|e| self.err(e))
    }

    pub fn is_empty(&self) -> Result<bool, EmbedError> {
        Ok(self.len()? == 0)
    }

    /// The vectors of `texts`, in order: from the cache where present, else
    /// embedded (once per distinct text) and stored. `progress(n)` is called
    /// as texts are done.
    pub fn get_or_embed(
        &self,
        embedder: &Embedder,
        texts: &[&str],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(self.get_or_embed_with_stats(embedder, texts, progress)?.0)
    }

    /// [`EmbeddingCache::get_or_embed`] that also says how much was cached.
    pub fn get_or_embed_with_stats(
        &self,
        embedder: &Embedder,
        texts: &[&str],
        progress: &mut dyn FnMut(usize),
    ) -> Result<(Vec<Vec<f32>>, CacheStats), EmbedError> {
        let (model, dim) = (embedder.model_id(), embedder.dim());
        self.bind(model, dim)?;
        let keys: Vec<[u8; 32]> = texts
            .iter()
            .map(|t| Sha256::digest(t.as_bytes()).into())
            .collect();
        let mut out: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        let mut stats = CacheStats::default();
        {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT vector FROM embeddings WHERE model = ?1 AND text_sha256 = ?2",
                )
                .map_err(|e| self.err(e))?;
            for (slot, key) in out.iter_mut().zip(&keys) {
                let blob: Option<Vec<u8>> = stmt
                    .query_row(params![model, &key[..]], |r| r.get(0))
                    .optional()
                    .map_err(|e| self.err(e))?;
                if let Some(blob) = blob {
                    if blob.len() != dim * 4 {
                        return Err(EmbedError::CacheMismatch {
                            path: self.path.clone(),
                            cached_model: model.to_string(),
                            cached_dim: blob.len() / 4,
                            model: model.to_string(),
                            dim,
                        });
                    }
                    *slot = Some(
                        blob.chunks_exact(4)
                            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                            .collect(),
                    );
                    stats.hits += 1;
                }
            }
        }
        if stats.hits > 0 {
            progress(stats.hits);
        }

        // Distinct missing texts, each embedded once.
        let mut first: HashMap<[u8; 32], usize> = HashMap::new();
        let mut todo: Vec<usize> = Vec::new();
        for (i, slot) in out.iter().enumerate() {
            if slot.is_none() && !first.contains_key(&keys[i]) {
                first.insert(keys[i], todo.len());
                todo.push(i);
            }
        }
        if !todo.is_empty() {
            let todo_texts: Vec<&str> = todo.iter().map(|&i| texts[i]).collect();
            let missing_total = out.iter().filter(|s| s.is_none()).count();
            let mut done = 0;
            let vecs = embedder.embed_with_progress(&todo_texts, &mut |n| {
                // Duplicates finish with their first copy; report them at the end.
                done += n;
                progress(n);
            })?;
            if missing_total > done {
                progress(missing_total - done);
            }
            stats.embedded = vecs.len();
            let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
            {
                let mut ins = tx
                    .prepare_cached("INSERT OR REPLACE INTO embeddings (model, text_sha256, vector) VALUES (?1, ?2, ?3)")
                    .map_err(|e| self.err(e))?;
                for (&i, v) in todo.iter().zip(&vecs) {
                    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                    ins.execute(params![model, &keys[i][..], bytes])
                        .map_err(|e| self.err(e))?;
                }
            }
            tx.commit().map_err(|e| self.err(e))?;
            for (i, slot) in out.iter_mut().enumerate() {
                if slot.is_none() {
                    *slot = Some(vecs[first[&keys[i]]].clone());
                }
            }
        }
        Ok((
            out.into_iter()
                .map(|v| v.expect("every slot filled"))
                .collect(),
            stats,
        ))
    }
}
