//! The scale-out store: PostgreSQL + pgvector behind the same [`VectorStore`]
//! boundary as the embedded SQLite store, so ingest, search, ask, chat and eval
//! run unchanged on either (`roadmap rag --store postgres://...`).
//!
//! ## Schema (version 1, created on connect, idempotent, in one transaction)
//! - `collections(id, name, model_id, dim)`: a collection never mixes models;
//! - `documents(id, collection_id, source, kind, hash, text)`;
//! - `chunks(id, doc_id, collection_id, ord, spans, heading, text, n_tokens, embedding vector)`;
//! - `postings(collection_id, term, chunk_id, heading_pos int[], text_pos int[])`:
//!   the full-text (inverted) index, one row per term per chunk.
//!
//! **Dimensions are per collection**, so `embedding` is an untyped `vector`
//! column and every collection gets its own *partial* HNSW index on the cast
//! expression: `USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE
//! collection_id = 7`, created with the collection and dropped with it. A
//! query names the same expression and predicate (both as literals, so the
//! planner can prove the partial index applies) and orders by cosine distance
//! `<=>`; the similarity returned is `1 - distance`. HNSW is approximate: every
//! search runs with `hnsw.ef_search = max(200, 2k)` (at most 1,000),
//! which on the shipped evaluation set returns exactly the exact-scan top k
//! (tested against the SQLite store). A search filtered by source prefix is an
//! exact scan instead, because pgvector 0.6 filters *after* the index scan and
//! could return fewer than k results.
//!
//! ## BM25, the same as SQLite's
//! PostgreSQL has no BM25 (`ts_rank` is not BM25), and its `english`
//! configuration stems with Snowball and drops 127 stop words, so its
//! documents would have other terms and lengths than the SQLite store's. To
//! rank alike, this store tokenizes with **SQLite's own FTS5 tokenizer**
//! (`porter unicode61`, run in a private in-memory database and read back
//! through `fts5vocab`), stores each term's positions per column, and computes
//! Okapi BM25 exactly as FTS5's `bm25(chunks_fts, 0.5, 1.0)` does:
//!
//! ```text
//! score(D, Q) = Σ_{phrase p ∈ Q} idf(p) · f(p,D)·(k1 + 1) / (f(p,D) + k1·(1 − b + b·|D|/avgdl))
//! idf(p)      = ln((N − n(p) + 0.5) / (n(p) + 0.5)), floored at 1e-6
//! f(p,D)      = 0.5 · (matches in the heading) + 1.0 · (matches in the text)
//! ```
//!
//! with k1 = 1.2, b = 0.75, N the chunks and avgdl their mean token count
//! (heading + text), n(p) the chunks containing p. The query's phrases are the
//! same as the SQLite store's ([`crate::store::query_words`]); a word that
//! tokenizes to several tokens ("Warsaw's" → `warsaw s`) is a phrase: its
//! tokens must be adjacent, checked on the stored positions.
//!
//! Where the two stores can still differ: SQLite's N and avgdl span every
//! collection in the file (one FTS5 table), here they are per collection (the
//! same when the file holds one collection, as in evaluation); equal scores
//! are ordered by chunk id here and in FTS5's own order there; and dense
//! scores differ in the last digits (pgvector computes the cosine in its own
//! float order).
//!
//! Every write (replace a document, remove documents, drop a collection) is one
//! transaction, so a killed ingest leaves each document entirely old or new.
//!
//! ## Connection and SQL safety
//! The URL's `sslmode` (libpq's meaning, rustls underneath) and `sslrootcert`
//! are handled by [`connect`]; the only names written into SQL text are
//! [`ident::Ident`]s, validated against a strict pattern; passwords never reach
//! a message (every URL shown goes through [`redact_url`]).

pub mod connect;
pub mod ident;

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use pgvector::Vector;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::Type;
use postgres::{Client, GenericClient, Statement};

use crate::error::{PgContext, RagError, Result, SqlContext};
use crate::store::{
    check_dims, query_words, split_heading, ChunkRecord, ChunkSpan, CollectionInfo, DocumentRecord,
    Hit, VectorStore, HEADING_SEP,
};
use ident::Ident;

/// BM25 term-frequency saturation (FTS5's constant).
const K1: f64 = 1.2;
/// BM25 length normalisation (FTS5's constant).
const B: f64 = 0.75;
/// Column weights, as in the SQLite store's `bm25(chunks_fts, 0.5, 1.0)`.
const HEADING_WEIGHT: f64 = 0.5;
const TEXT_WEIGHT: f64 = 1.0;
/// The schema version this code writes and reads.
const SCHEMA_VERSION: i32 = 1;

const SCHEMA_V1: &str = r#"
CREATE TABLE collections (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    model_id TEXT NOT NULL,
    dim INTEGER NOT NULL CHECK (dim BETWEEN 1 AND 2000),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE documents (
    id BIGSERIAL PRIMARY KEY,
    collection_id BIGINT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    hash TEXT NOT NULL,
    text TEXT NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (collection_id, source)
);
CREATE TABLE chunks (
    id BIGSERIAL PRIMARY KEY,
    doc_id BIGINT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    collection_id BIGINT NOT NULL,
    ord INTEGER NOT NULL,
    start_byte BIGINT NOT NULL,
    end_byte BIGINT NOT NULL,
    line_start BIGINT NOT NULL,
    line_end BIGINT NOT NULL,
    heading TEXT NOT NULL,
    text TEXT NOT NULL,
    n_tokens INTEGER NOT NULL,
    embedding vector NOT NULL
);
CREATE INDEX chunks_by_doc ON chunks(doc_id, ord);
CREATE INDEX chunks_by_collection ON chunks(collection_id);
CREATE TABLE postings (
    collection_id BIGINT NOT NULL,
    term TEXT NOT NULL,
    chunk_id BIGINT NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    heading_pos INTEGER[] NOT NULL,
    text_pos INTEGER[] NOT NULL,
    PRIMARY KEY (collection_id, term, chunk_id)
);
CREATE INDEX postings_by_chunk ON postings(chunk_id);
"#;

/// The PostgreSQL + pgvector store.
pub struct PgStore {
    client: RefCell<Client>,
    /// The URL without its password, for messages.
    shown_url: String,
    tokenizer: Fts5Tokenizer,
    /// Statements of the read paths, prepared once per connection.
    statements: RefCell<HashMap<String, Statement>>,
    /// The session's `hnsw.ef_search` (0 = server default).
    ef_search: std::cell::Cell<usize>,
    /// Written since the planner's statistics were last refreshed.
    stale_stats: std::cell::Cell<bool>,
}

/// `url` without its password (the project's one redaction function, re-exported
/// here for the callers that know it by this path).
pub use roadmap_common::redact::redact_url;

/// True for the URLs this store accepts (`postgres://`, `postgresql://`).
pub fn is_postgres_url(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.starts_with("postgres://") || l.starts_with("postgresql://")
}

const START_HINT: &str =
    "Start PostgreSQL with pgvector (e.g. `milestones/rag/scripts/pgvector-server.sh start DIR`, \
     see the roadmap-rag README), or fix the host and port in the URL.";

/// Explains a failed connection: what failed and what to do about it.
fn connect_error(shown_url: &str, e: postgres::Error) -> RagError {
    let (reason, hint) = if let Some(db) = e.as_db_error() {
        let code = db.code();
        let hint = if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            "Check the user name and password in the URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE)."
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            "Create the database first (`createdb NAME`), or name an existing one in the URL."
        } else if *code == SqlState::TOO_MANY_CONNECTIONS {
            "The server has no free connections: retry later or raise max_connections."
        } else {
            "Check the URL and the server's log."
        };
        (db.message().to_string(), hint.to_string())
    } else {
        let io = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<std::io::Error>());
        let reason = match io.map(std::io::Error::kind) {
            Some(std::io::ErrorKind::ConnectionRefused) => {
                "connection refused: no PostgreSQL is listening there (is it stopped?)".to_string()
            }
            Some(std::io::ErrorKind::TimedOut) => "timed out after 10 s".to_string(),
            // The driver's message names the step ("error performing TLS
            // handshake"); its sources say why ("server does not support TLS").
            _ => {
                let mut reason = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    reason = format!("{reason}: {s}");
                    source = s.source();
                }
                reason
            }
        };
        let hint = tls_hint(&reason).unwrap_or(START_HINT).to_string();
        (reason, hint)
    };
    RagError::PgConnect {
        url: shown_url.to_string(),
        reason: roadmap_common::redact::redact_text(&reason),
        hint,
    }
}

/// What to do about a failed TLS negotiation, from the driver's message.
fn tls_hint(reason: &str) -> Option<&'static str> {
    let r = reason.to_ascii_lowercase();
    if r.contains("server does not support tls") || r.contains("server does not support ssl") {
        Some(
            "The server does not accept TLS connections: enable `ssl = on` in its postgresql.conf, \
             or connect with sslmode=prefer (TLS when offered) or sslmode=disable on a trusted network.",
        )
    } else if r.contains("unknownissuer")
        || r.contains("unknown issuer")
        || r.contains("certificate")
    {
        Some(
            "The server's certificate could not be verified: give its CA certificate as \
             sslrootcert=PATH (a PEM file), or check that the host in the URL is the name \
             the certificate was issued for (sslmode=verify-full checks both).",
        )
    } else if r.contains("tls") || r.contains("handshake") {
        Some("The TLS handshake failed: check the server's TLS settings and the URL's sslmode.")
    } else {
        None
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://USER:PASSWORD@HOST:PORT/DATABASE`) and
    /// creates or checks the schema in the connection's current schema.
    pub fn connect(url: &str) -> Result<Self> {
        Self::connect_impl(url, None)
    }

    /// Like [`PgStore::connect`], with every table in the PostgreSQL schema
    /// `schema` (created if missing; letters, digits and `_` only): several
    /// independent stores in one database, e.g. one per test.
    pub fn connect_in_schema(url: &str, schema: &str) -> Result<Self> {
        let schema = Ident::new(schema, "schema name")?;
        Self::connect_impl(url, Some(&schema))
    }

    fn connect_impl(url: &str, schema: Option<&Ident>) -> Result<Self> {
        let mut target = connect::parse_url(url)?;
        let shown_url = target.shown_url.clone();
        if target.config.get_connect_timeout().is_none() {
            target.config.connect_timeout(Duration::from_secs(10));
        }
        let mut client = target.connect().map_err(|e| match e {
            connect::ConnectError::Setup(e) => e,
            connect::ConnectError::Pg(e) => connect_error(&shown_url, e),
        })?;
        let ext_schema = ensure_vector_extension(&mut client, &shown_url)?;
        if let Some(schema) = schema {
            let ext_schema =
                Ident::new(&ext_schema, "the vector extension's schema").map_err(|e| {
                    RagError::PgVector {
                        url: shown_url.clone(),
                        reason: e.to_string(),
                        hint: "Install the extension into a plainly named schema (e.g. `public`)."
                            .into(),
                    }
                })?;
            client
                .batch_execute(&format!(
                    "CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path TO {schema}, {ext_schema}"
                ))
                .pg("creating the schema")?;
        }
        create_schema(&mut client)?;
        Ok(Self {
            client: RefCell::new(client),
            shown_url,
            tokenizer: Fts5Tokenizer::new()?,
            statements: RefCell::new(HashMap::new()),
            ef_search: std::cell::Cell::new(0),
            stale_stats: std::cell::Cell::new(false),
        })
    }

    /// The URL without its password.
    pub fn shown_url(&self) -> &str {
        &self.shown_url
    }

    /// Drops the PostgreSQL schema `schema` and everything in it (test clean-up).
    pub fn drop_schema(&self, schema: &str) -> Result<()> {
        let schema = Ident::new(schema, "schema name")?;
        self.client
            .borrow_mut()
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .pg("dropping the schema")
    }

    /// Every chunk of a collection as (source, start, end, heading path, text),
    /// ordered by source and position (compare with [`crate::SqliteStore::snapshot`]).
    pub fn snapshot(&self, collection: &str) -> Result<Vec<crate::store::SnapshotRow>> {
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT d.source, c.start_byte, c.end_byte, c.heading, c.text
                 FROM chunks c JOIN documents d ON d.id = c.doc_id JOIN collections k ON k.id = d.collection_id
                 WHERE k.name = $1 ORDER BY d.source, c.ord",
                &[&collection],
            )
            .pg("reading chunks")?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    r.get::<_, i64>(1) as usize,
                    r.get::<_, i64>(2) as usize,
                    split_heading(r.get(3)),
                    r.get(4),
                )
            })
            .collect())
    }

    /// Checks that the full-text index matches the chunks: every chunk's
    /// postings hold exactly its token count, in its own collection.
    pub fn check_integrity(&self) -> Result<()> {
        let row = self
            .client
            .borrow_mut()
            .query_one(
                "SELECT
                   (SELECT count(*) FROM chunks c LEFT JOIN (
                        SELECT chunk_id, sum(cardinality(heading_pos) + cardinality(text_pos)) AS n
                        FROM postings GROUP BY chunk_id) p ON p.chunk_id = c.id
                    WHERE coalesce(p.n, 0) <> c.n_tokens),
                   (SELECT count(*) FROM postings p JOIN chunks c ON c.id = p.chunk_id
                    WHERE p.collection_id <> c.collection_id)",
                &[],
            )
            .pg("checking the full-text index")?;
        let (bad_len, bad_coll): (i64, i64) = (row.get(0), row.get(1));
        if bad_len + bad_coll > 0 {
            return Err(RagError::Invalid(format!(
                "the full-text index does not match the chunks ({bad_len} chunks with other token counts, \
                 {bad_coll} postings in another collection): re-ingest with --reembed"
            )));
        }
        Ok(())
    }

    /// The extracted text of a document (what chunk spans index).
    pub fn document_text(&self, collection: &str, source: &str) -> Result<Option<String>> {
        let row = self
            .client
            .borrow_mut()
            .query_opt(
                "SELECT d.text FROM documents d JOIN collections k ON k.id = d.collection_id
                 WHERE k.name = $1 AND d.source = $2",
                &[&collection, &source],
            )
            .pg("reading the document")?;
        Ok(row.map(|r| r.get(0)))
    }

    /// (id, dim) of a collection.
    fn collection_id(
        client: &mut impl GenericClient,
        name: &str,
    ) -> Result<Option<(i64, String, usize)>> {
        let row = client
            .query_opt(
                "SELECT id, model_id, dim FROM collections WHERE name = $1",
                &[&name],
            )
            .pg("reading the collection")?;
        Ok(row.map(|r| (r.get(0), r.get(1), r.get::<_, i32>(2) as usize)))
    }

    fn require_collection(&self, name: &str) -> Result<(i64, usize)> {
        let mut client = self.client.borrow_mut();
        let st = self.prepared(
            &mut client,
            "SELECT id, dim FROM collections WHERE name = $1",
        )?;
        client
            .query_opt(&st, &[&name])
            .pg("reading the collection")?
            .map(|r| (r.get(0), r.get::<_, i32>(1) as usize))
            .ok_or_else(|| RagError::NoCollection(name.to_string()))
    }

    /// Refreshes the planner's statistics once after this session wrote.
    ///
    /// Measured: right after an ingest of 476 chunks (37,610 postings) the
    /// planner still believes the tables are empty and picks plans that made
    /// BM25 queries 5–10× slower (p50 14 ms) until autovacuum's ANALYZE ran a
    /// minute later. One `ANALYZE` before the first search fixes it.
    fn fresh_stats(&self, client: &mut Client) -> Result<()> {
        if self.stale_stats.replace(false) {
            client
                .batch_execute("ANALYZE collections, documents, chunks, postings")
                .pg("refreshing statistics")?;
        }
        Ok(())
    }

    /// `sql` prepared once per connection: every search saves the round trip
    /// that parsing costs, and PostgreSQL can keep the plan.
    fn prepared(&self, client: &mut Client, sql: &str) -> Result<Statement> {
        if let Some(st) = self.statements.borrow().get(sql) {
            return Ok(st.clone());
        }
        let st = client.prepare(sql).pg("preparing a query")?;
        self.statements
            .borrow_mut()
            .insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

/// Makes sure the `vector` type exists; returns the schema it lives in.
fn ensure_vector_extension(client: &mut Client, shown_url: &str) -> Result<String> {
    let installed = |client: &mut Client| -> Result<Option<String>> {
        Ok(client
            .query_opt(
                "SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                 WHERE e.extname = 'vector'",
                &[],
            )
            .pg("looking for the vector extension")?
            .map(|r| r.get(0)))
    };
    if let Some(schema) = installed(client)? {
        return Ok(schema);
    }
    let available = client
        .query_opt(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'",
            &[],
        )
        .pg("looking for the vector extension")?
        .is_some();
    if !available {
        return Err(RagError::PgVector {
            url: shown_url.to_string(),
            reason: "the pgvector extension (`vector`) is not installed on the server".into(),
            hint: "Install pgvector 0.5 or newer on the database server (packages: postgresql-16-pgvector on \
                   Debian/Ubuntu, pgvector on Homebrew; or build it from github.com/pgvector/pgvector), \
                   or use the pgserver-based server of `milestones/rag/scripts/pgvector-server.sh`, which has it."
                .into(),
        });
    }
    // Two stores connecting at once must not both create it.
    let mut tx = client.transaction().pg("starting a transaction")?;
    tx.execute("SELECT pg_advisory_xact_lock(8214031)", &[])
        .pg("locking the schema")?;
    if let Err(e) = tx.batch_execute("CREATE EXTENSION IF NOT EXISTS vector") {
        let reason = e
            .as_db_error()
            .map(|d| d.message().to_string())
            .unwrap_or_else(|| e.to_string());
        return Err(RagError::PgVector {
            url: shown_url.to_string(),
            reason: format!("`CREATE EXTENSION vector` failed: {reason}"),
            hint: "Ask a superuser to run `CREATE EXTENSION vector;` in this database once.".into(),
        });
    }
    tx.commit().pg("creating the vector extension")?;
    installed(client)?.ok_or_else(|| RagError::PgVector {
        url: shown_url.to_string(),
        reason: "the vector extension is still missing after CREATE EXTENSION".into(),
        hint: "Check the server's log.".into(),
    })
}

/// Creates the tables (first connect) or checks their version, in one
/// transaction under an advisory lock (concurrent first connects are safe).
fn create_schema(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction().pg("starting a transaction")?;
    tx.execute("SELECT pg_advisory_xact_lock(8214032)", &[])
        .pg("locking the schema")?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS rag_schema_version (version INTEGER NOT NULL)")
        .pg("creating the schema")?;
    let version: Option<i32> = tx
        .query_one("SELECT max(version) FROM rag_schema_version", &[])
        .pg("reading the schema version")?
        .get(0);
    match version {
        None => {
            tx.batch_execute(SCHEMA_V1).pg("creating the schema")?;
            tx.execute(
                "INSERT INTO rag_schema_version(version) VALUES ($1)",
                &[&SCHEMA_VERSION],
            )
            .pg("recording the schema version")?;
        }
        Some(SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(RagError::Invalid(format!(
                "this PostgreSQL store has schema version {v}, written by a newer roadmap (this one knows {SCHEMA_VERSION}): upgrade roadmap"
            )))
        }
    }
    tx.commit().pg("creating the schema")
}

/// hnsw.ef_search for a top-k query: the candidate list the graph search keeps.
fn ef_search(k: usize) -> usize {
    (2 * k).clamp(200, 1000)
}

/// The terms of one chunk with their token positions per column.
#[derive(Debug, Default, PartialEq)]
struct Postings {
    /// term → (positions in the heading, positions in the text)
    terms: HashMap<String, (Vec<i32>, Vec<i32>)>,
    /// Tokens in heading + text: BM25's document length |D|.
    n_tokens: i32,
}

/// SQLite FTS5's `porter unicode61` tokenizer, borrowed from an in-memory
/// SQLite database: the same tokens, stems and positions as the SQLite store's
/// full-text index, so both stores compute BM25 over identical terms.
struct Fts5Tokenizer {
    conn: RefCell<rusqlite::Connection>,
}

impl Fts5Tokenizer {
    fn new() -> Result<Self> {
        let conn = rusqlite::Connection::open_in_memory().sql("opening the tokenizer database")?;
        conn.execute_batch(
            "CREATE VIRTUAL TABLE tok USING fts5(heading, text, tokenize='porter unicode61');
             CREATE VIRTUAL TABLE tok_v USING fts5vocab(tok, 'instance');",
        )
        .sql("creating the tokenizer")?;
        Ok(Self {
            conn: RefCell::new(conn),
        })
    }

    /// Terms and positions of one chunk (heading path joined as the SQLite store does).
    fn postings(&self, heading: &str, text: &str) -> Result<Postings> {
        let conn = self.conn.borrow_mut();
        conn.execute(
            "INSERT INTO tok(rowid, heading, text) VALUES (1, ?1, ?2)",
            [heading, text],
        )
        .sql("tokenizing")?;
        let mut p = Postings::default();
        {
            let mut stmt = conn
                .prepare_cached("SELECT term, col, offset FROM tok_v")
                .sql("tokenizing")?;
            let mut rows = stmt.query([]).sql("tokenizing")?;
            while let Some(r) = rows.next().sql("tokenizing")? {
                let term: String = r.get(0).sql("tokenizing")?;
                let col: String = r.get(1).sql("tokenizing")?;
                let off: i64 = r.get(2).sql("tokenizing")?;
                let e = p.terms.entry(term).or_default();
                if col == "heading" {
                    e.0.push(off as i32);
                } else {
                    e.1.push(off as i32);
                }
                p.n_tokens += 1;
            }
        }
        conn.execute("DELETE FROM tok", []).sql("tokenizing")?;
        for (h, t) in p.terms.values_mut() {
            h.sort_unstable();
            t.sort_unstable();
        }
        Ok(p)
    }

    /// The tokens of one query word, in order (one FTS5 phrase).
    fn phrase(&self, word: &str) -> Result<Vec<String>> {
        let p = self.postings("", word)?;
        let mut toks: Vec<(i32, String)> = p
            .terms
            .into_iter()
            .flat_map(|(term, (_, pos))| pos.into_iter().map(move |i| (i, term.clone())))
            .collect();
        toks.sort();
        Ok(toks.into_iter().map(|(_, t)| t).collect())
    }
}

/// How often `phrase` (tokens at consecutive positions) occurs in one column,
/// given each of its tokens' sorted positions in that column.
fn phrase_count(positions: &[&[i32]]) -> usize {
    let Some((first, rest)) = positions.split_first() else {
        return 0;
    };
    first
        .iter()
        .filter(|&&p| {
            rest.iter()
                .enumerate()
                .all(|(j, pos)| pos.binary_search(&(p + j as i32 + 1)).is_ok())
        })
        .count()
}

/// FTS5's BM25 IDF: `ln((N − n + 0.5) / (n + 0.5))`, floored at 1e-6 so that a
/// term in more than half the chunks still counts a little (never negatively).
pub fn bm25_idf(n_rows: f64, n_hit: f64) -> f64 {
    let idf = ((n_rows - n_hit + 0.5) / (n_hit + 0.5)).ln();
    if idf <= 0.0 {
        1e-6
    } else {
        idf
    }
}

impl VectorStore for PgStore {
    fn ensure_collection(&mut self, name: &str, model_id: &str, dim: usize) -> Result<()> {
        if !(1..=2000).contains(&dim) {
            return Err(RagError::Invalid(format!(
                "embedding dimension {dim}: pgvector's HNSW index takes 1 to 2,000 dimensions"
            )));
        }
        let mut client = self.client.borrow_mut();
        let mut tx = client.transaction().pg("starting a transaction")?;
        tx.execute(
            "INSERT INTO collections(name, model_id, dim) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            &[&name, &model_id, &(dim as i32)],
        )
        .pg("creating the collection")?;
        let (id, m, d) = Self::collection_id(&mut tx, name)?.expect("inserted or present");
        if m != model_id || d != dim {
            return Err(RagError::ModelMismatch {
                collection: name.to_string(),
                stored_model: m,
                stored_dim: d,
                new_model: model_id.to_string(),
                new_dim: dim,
            });
        }
        // Both the id and the dimension are integers from our own table: safe to inline.
        tx.batch_execute(&format!(
            "CREATE INDEX IF NOT EXISTS chunks_hnsw_{id} ON chunks USING hnsw ((embedding::vector({d})) vector_cosine_ops) WHERE collection_id = {id}"
        ))
        .pg("creating the vector index")?;
        tx.commit().pg("creating the collection")
    }

    fn collection(&self, name: &str) -> Result<Option<CollectionInfo>> {
        Ok(self.collections()?.into_iter().find(|c| c.name == name))
    }

    fn collections(&self) -> Result<Vec<CollectionInfo>> {
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT k.name, k.model_id, k.dim,
                    (SELECT count(*) FROM documents d WHERE d.collection_id = k.id),
                    (SELECT count(*) FROM chunks c WHERE c.collection_id = k.id)
                 FROM collections k ORDER BY k.name",
                &[],
            )
            .pg("listing collections")?;
        Ok(rows
            .iter()
            .map(|r| CollectionInfo {
                name: r.get(0),
                model_id: r.get(1),
                dim: r.get::<_, i32>(2) as usize,
                documents: r.get::<_, i64>(3) as usize,
                chunks: r.get::<_, i64>(4) as usize,
            })
            .collect())
    }

    fn drop_collection(&mut self, name: &str) -> Result<()> {
        let mut client = self.client.borrow_mut();
        let mut tx = client.transaction().pg("starting a transaction")?;
        if let Some((id, _, _)) = Self::collection_id(&mut tx, name)? {
            tx.batch_execute(&format!("DROP INDEX IF EXISTS chunks_hnsw_{id}"))
                .pg("dropping the vector index")?;
            // Postings and chunks go by cascade from the documents and the collection.
            tx.execute("DELETE FROM postings WHERE collection_id = $1", &[&id])
                .pg("removing the full-text index")?;
            tx.execute("DELETE FROM collections WHERE id = $1", &[&id])
                .pg("removing the collection")?;
        }
        tx.commit().pg("committing")
    }

    fn document_hashes(&self, collection: &str) -> Result<HashMap<String, String>> {
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT d.source, d.hash FROM documents d JOIN collections k ON k.id = d.collection_id
                 WHERE k.name = $1",
                &[&collection],
            )
            .pg("reading document hashes")?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn replace_document(
        &mut self,
        collection: &str,
        doc: &DocumentRecord,
        chunks: &[ChunkRecord],
    ) -> Result<()> {
        let (cid, dim) = self.require_collection(collection)?;
        check_dims(chunks, dim)?;
        // Tokenize before the transaction: it only needs the chunk texts.
        let headings: Vec<String> = chunks.iter().map(|c| c.heading.join(HEADING_SEP)).collect();
        let postings: Vec<Postings> = chunks
            .iter()
            .zip(&headings)
            .map(|(c, h)| self.tokenizer.postings(h, &c.text))
            .collect::<Result<_>>()?;

        let mut client = self.client.borrow_mut();
        let mut tx = client.transaction().pg("starting a transaction")?;
        let existing = tx
            .query_opt(
                "SELECT id FROM documents WHERE collection_id = $1 AND source = $2 FOR UPDATE",
                &[&cid, &doc.source],
            )
            .pg("looking up the document")?
            .map(|r| r.get::<_, i64>(0));
        let doc_id: i64 = match existing {
            Some(id) => {
                // Postings go with their chunks (ON DELETE CASCADE).
                tx.execute("DELETE FROM chunks WHERE doc_id = $1", &[&id])
                    .pg("removing old chunks")?;
                tx.execute(
                    "UPDATE documents SET kind = $2, hash = $3, text = $4, ingested_at = now() WHERE id = $1",
                    &[&id, &doc.kind, &doc.hash, &doc.text],
                )
                .pg("updating the document")?;
                id
            }
            None => tx
                .query_one(
                    "INSERT INTO documents(collection_id, source, kind, hash, text) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    &[&cid, &doc.source, &doc.kind, &doc.hash, &doc.text],
                )
                .pg("inserting the document")?
                .get(0),
        };
        let ins = tx
            .prepare(
                "INSERT INTO chunks(doc_id, collection_id, ord, start_byte, end_byte, line_start, line_end, heading, text, n_tokens, embedding)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .pg("inserting chunks")?;
        let mut ids = Vec::with_capacity(chunks.len());
        for (ord, ((c, heading), p)) in chunks.iter().zip(&headings).zip(&postings).enumerate() {
            let id: i64 = tx
                .query_one(
                    &ins,
                    &[
                        &doc_id,
                        &cid,
                        &(ord as i32),
                        &(c.start as i64),
                        &(c.end as i64),
                        &(c.line_start as i64),
                        &(c.line_end as i64),
                        heading,
                        &c.text,
                        &p.n_tokens,
                        &Vector::from(c.embedding.clone()),
                    ],
                )
                .pg("inserting chunks")?
                .get(0);
            ids.push(id);
        }
        // The postings of the whole document in one binary COPY (tens of
        // thousands of rows for a long document; one INSERT each would be
        // one round trip each).
        let sink = tx
            .copy_in(
                "COPY postings(collection_id, term, chunk_id, heading_pos, text_pos) FROM STDIN (FORMAT binary)",
            )
            .pg("indexing chunks")?;
        let mut w = BinaryCopyInWriter::new(
            sink,
            &[
                Type::INT8,
                Type::TEXT,
                Type::INT8,
                Type::INT4_ARRAY,
                Type::INT4_ARRAY,
            ],
        );
        for (id, p) in ids.iter().zip(&postings) {
            for (term, (h, t)) in &p.terms {
                w.write(&[&cid, term, id, h, t]).pg("indexing chunks")?;
            }
        }
        w.finish().pg("indexing chunks")?;
        tx.commit().pg("committing the document")?;
        self.stale_stats.set(true);
        Ok(())
    }

    fn remove_documents(&mut self, collection: &str, sources: &[String]) -> Result<usize> {
        let Some((cid, _, _)) = Self::collection_id(&mut *self.client.borrow_mut(), collection)?
        else {
            return Ok(0);
        };
        let mut client = self.client.borrow_mut();
        let mut tx = client.transaction().pg("starting a transaction")?;
        let n = tx
            .execute(
                "DELETE FROM documents WHERE collection_id = $1 AND source = ANY($2)",
                &[&cid, &sources],
            )
            .pg("removing documents")?;
        tx.commit().pg("committing")?;
        self.stale_stats.set(true);
        Ok(n as usize)
    }

    fn dense_search(
        &self,
        collection: &str,
        query: &[f32],
        k: usize,
        source_prefix: Option<&str>,
    ) -> Result<Vec<(i64, f64)>> {
        let (cid, dim) = self.require_collection(collection)?;
        if query.len() != dim {
            return Err(RagError::EmbedShape {
                asked: 1,
                got: 1,
                dim: query.len(),
                expected: dim,
            });
        }
        let mut client = self.client.borrow_mut();
        self.fresh_stats(&mut client)?;
        let q = Vector::from(query.to_vec());
        // Literal id and dimension (integers from our table): the planner must
        // see `collection_id = <id>` to use that collection's partial index.
        let rows = match source_prefix {
            None if k <= 1000 => {
                let ef = ef_search(k);
                if self.ef_search.get() != ef {
                    client
                        .batch_execute(&format!("SET hnsw.ef_search = {ef}"))
                        .pg("setting up the search")?;
                    self.ef_search.set(ef);
                }
                let st = self.prepared(
                    &mut client,
                    &format!(
                        "SELECT id, 1 - (embedding::vector({dim}) <=> $1::vector({dim})) FROM chunks
                         WHERE collection_id = {cid} ORDER BY embedding::vector({dim}) <=> $1::vector({dim}) LIMIT $2"
                    ),
                )?;
                client.query(&st, &[&q, &(k as i64)])
            }
            // Filtered (or more than ef_search can give): an exact scan. The
            // ordering expression (`+ 0`) is not the indexed one, so the
            // planner cannot take the HNSW index, which pgvector 0.6 filters
            // only after its top ef_search, possibly leaving fewer than k.
            _ => {
                let st = self.prepared(
                    &mut client,
                    &format!(
                        "SELECT c.id, 1 - (c.embedding::vector({dim}) <=> $1::vector({dim})) AS sim
                         FROM chunks c JOIN documents d ON d.id = c.doc_id
                         WHERE c.collection_id = {cid} AND ($2::text IS NULL OR starts_with(d.source, $2::text))
                         ORDER BY (c.embedding::vector({dim}) <=> $1::vector({dim})) + 0, c.id LIMIT $3"
                    ),
                )?;
                client.query(&st, &[&q, &source_prefix, &(k as i64)])
            }
        }
        .pg("running the vector search")?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn bm25_search(
        &self,
        collection: &str,
        query: &str,
        k: usize,
        source_prefix: Option<&str>,
    ) -> Result<Vec<(i64, f64)>> {
        let (cid, _) = self.require_collection(collection)?;
        let phrases: Vec<Vec<String>> = query_words(query)
            .into_iter()
            .map(|w| self.tokenizer.phrase(w))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect();
        if phrases.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        let mut terms: Vec<&str> = phrases.iter().flatten().map(String::as_str).collect();
        terms.sort_unstable();
        terms.dedup();

        let mut client = self.client.borrow_mut();
        self.fresh_stats(&mut client)?;
        let st = self.prepared(
            &mut client,
            "SELECT count(*), coalesce(sum(n_tokens), 0)::float8 FROM chunks WHERE collection_id = $1",
        )?;
        let stats = client
            .query_one(&st, &[&cid])
            .pg("reading BM25 statistics")?;
        let n_rows = stats.get::<_, i64>(0) as f64;
        let total_tokens: f64 = stats.get(1);
        if n_rows == 0.0 {
            return Ok(Vec::new());
        }
        let avgdl = total_tokens / n_rows;
        let st = self.prepared(
            &mut client,
            "SELECT p.chunk_id, p.term, p.heading_pos, p.text_pos, c.n_tokens,
                    ($3::text IS NULL OR starts_with(d.source, $3::text))
             FROM postings p JOIN chunks c ON c.id = p.chunk_id JOIN documents d ON d.id = c.doc_id
             WHERE p.collection_id = $1 AND p.term = ANY($2)",
        )?;
        let rows = client
            .query(&st, &[&cid, &terms, &source_prefix])
            .pg("running the BM25 query")?;

        // chunk → (|D|, passes the filter, term → positions)
        type Cand<'a> = (f64, bool, HashMap<&'a str, (Vec<i32>, Vec<i32>)>);
        let mut cands: HashMap<i64, Cand> = HashMap::new();
        let term_of: HashMap<String, &str> = terms.iter().map(|t| (t.to_string(), *t)).collect();
        for r in &rows {
            let id: i64 = r.get(0);
            let term: String = r.get(1);
            let e = cands
                .entry(id)
                .or_insert_with(|| (r.get::<_, i32>(4) as f64, r.get(5), HashMap::new()));
            e.2.insert(term_of[&term], (r.get(2), r.get(3)));
        }

        // Per phrase and chunk: weighted frequency f(p, D); a chunk "hits" p
        // when p occurs in any column (FTS5's n for the IDF).
        let empty: (Vec<i32>, Vec<i32>) = (Vec::new(), Vec::new());
        let mut freq: Vec<HashMap<i64, f64>> = Vec::with_capacity(phrases.len());
        for phrase in &phrases {
            let mut f = HashMap::new();
            for (&id, (_, _, tp)) in &cands {
                let cols: Vec<&(Vec<i32>, Vec<i32>)> = phrase
                    .iter()
                    .map(|t| tp.get(t.as_str()).unwrap_or(&empty))
                    .collect();
                let h: Vec<&[i32]> = cols.iter().map(|c| c.0.as_slice()).collect();
                let t: Vec<&[i32]> = cols.iter().map(|c| c.1.as_slice()).collect();
                let (nh, nt) = (phrase_count(&h), phrase_count(&t));
                if nh + nt > 0 {
                    f.insert(id, HEADING_WEIGHT * nh as f64 + TEXT_WEIGHT * nt as f64);
                }
            }
            freq.push(f);
        }
        let idf: Vec<f64> = freq
            .iter()
            .map(|f| bm25_idf(n_rows, f.len() as f64))
            .collect();
        let mut scored: Vec<(i64, f64)> = cands
            .iter()
            .filter(|(_, (_, ok, _))| *ok)
            .filter_map(|(&id, (len, _, _))| {
                let mut score = 0.0;
                let mut any = false;
                for (f, idf) in freq.iter().zip(&idf) {
                    if let Some(&tf) = f.get(&id) {
                        any = true;
                        score += idf * (tf * (K1 + 1.0)) / (tf + K1 * (1.0 - B + B * len / avgdl));
                    }
                }
                any.then_some((id, score))
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(k);
        Ok(scored)
    }

    fn hits(&self, scored: &[(i64, f64)]) -> Result<Vec<Hit>> {
        let ids: Vec<i64> = scored.iter().map(|s| s.0).collect();
        let mut client = self.client.borrow_mut();
        let st = self.prepared(
            &mut client,
            "SELECT c.id, d.source, c.start_byte, c.end_byte, c.line_start, c.line_end, c.heading, c.text
             FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id = ANY($1)",
        )?;
        let rows = client.query(&st, &[&ids]).pg("reading chunks")?;
        let mut by_id: HashMap<i64, &postgres::Row> = rows.iter().map(|r| (r.get(0), r)).collect();
        scored
            .iter()
            .map(|&(id, score)| {
                let r = by_id.remove(&id).ok_or_else(|| {
                    RagError::Invalid(format!("chunk {id} is no longer in the store"))
                })?;
                Ok(Hit {
                    chunk_id: id,
                    score,
                    source: r.get(1),
                    start: r.get::<_, i64>(2) as usize,
                    end: r.get::<_, i64>(3) as usize,
                    line_start: r.get::<_, i64>(4) as usize,
                    line_end: r.get::<_, i64>(5) as usize,
                    heading: split_heading(r.get(6)),
                    text: r.get(7),
                })
            })
            .collect()
    }

    fn vectors(&self, collection: &str, chunk_ids: &[i64]) -> Result<Vec<Vec<f32>>> {
        let (cid, _) = self.require_collection(collection)?;
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT id, embedding FROM chunks WHERE collection_id = $1 AND id = ANY($2)",
                &[&cid, &chunk_ids],
            )
            .pg("reading vectors")?;
        let by_id: HashMap<i64, Vector> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        chunk_ids
            .iter()
            .map(|id| {
                by_id.get(id).map(|v| v.to_vec()).ok_or_else(|| {
                    RagError::Invalid(format!("chunk {id} is not in collection `{collection}`"))
                })
            })
            .collect()
    }

    fn chunk_spans(&self, collection: &str, source: &str) -> Result<Vec<ChunkSpan>> {
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT c.id, c.start_byte, c.end_byte FROM chunks c JOIN documents d ON d.id = c.doc_id
                 JOIN collections k ON k.id = d.collection_id
                 WHERE k.name = $1 AND d.source = $2 ORDER BY c.ord",
                &[&collection, &source],
            )
            .pg("reading chunk spans")?;
        Ok(rows
            .iter()
            .map(|r| ChunkSpan {
                chunk_id: r.get(0),
                start: r.get::<_, i64>(1) as usize,
                end: r.get::<_, i64>(2) as usize,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_failures_get_a_hint_that_names_the_fix() {
        assert!(
            tls_hint("error performing TLS handshake: server does not support TLS")
                .unwrap()
                .contains("ssl = on")
        );
        assert!(tls_hint("invalid peer certificate: UnknownIssuer")
            .unwrap()
            .contains("sslrootcert"));
        assert_eq!(tls_hint("connection refused"), None);
    }

    #[test]
    fn fts5_tokens_positions_and_phrases() {
        let t = Fts5Tokenizer::new().unwrap();
        let p = t
            .postings("Intro > Lights", "Lighthouses guide ships; ships sail.")
            .unwrap();
        // porter: lighthouses -> lighthous, ships -> ship; heading and text positions separate.
        assert_eq!(p.terms["ship"], (vec![], vec![2, 3]));
        assert_eq!(p.terms["light"], (vec![1], vec![]));
        assert_eq!(p.n_tokens, 2 + 5);
        assert_eq!(t.phrase("Warsaw's").unwrap(), vec!["warsaw", "s"]);
        assert_eq!(phrase_count(&[&[0, 4, 9], &[1, 6, 10]]), 2);
        assert_eq!(phrase_count(&[&[3]]), 1);
    }

    #[test]
    fn idf_is_floored_like_fts5() {
        assert!((bm25_idf(10.0, 1.0) - (9.5f64 / 1.5).ln()).abs() < 1e-12);
        assert_eq!(bm25_idf(10.0, 9.0), 1e-6);
    }
}
