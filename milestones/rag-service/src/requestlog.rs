//! The request log: one durable row per request, in the service's store.
//!
//! It is the input of three other parts of the capstone — drift monitoring
//! (the distribution of question lengths, retrieval scores, answer lengths…
//! this week vs last), A/B analysis (outcomes per variant and user) and the
//! mentor's view — so it records what those need and nothing that must not be
//! kept: questions are stored redacted (a user may paste a key), user keys
//! only as salted SHA-256 hashes, never API keys or whole documents.
//!
//! Writes never wait on the disk in the request path: handlers send rows to
//! one writer thread that commits them in batches (every 64 rows or 50 ms,
//! one transaction each — so a killed process leaves the log consistent and
//! loses at most the last unflushed batch). Graceful shutdown flushes.
//! Retention (by age and by row count) runs on the same thread.
//!
//! Experiments: a request of an assigned user carries its `experiment` and
//! `variant`; `exposures` keeps each user's first request per variant; and
//! `experiment_configs` remembers the assignment settings (seed, weights as
//! JSON `[[variant, weight], …]`, and all of them in `settings`) each running
//! experiment last ran with, for the start-up guard of
//! [`crate::experiments`].

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::ServiceError;

/// One request, as logged.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RequestRecord {
    pub request_id: String,
    /// Seconds since the Unix epoch.
    pub at_unix: f64,
    pub route: String,
    pub status: u16,
    pub collection: Option<String>,
    pub question: Option<String>,
    pub question_tokens: Option<u32>,
    pub k: Option<u32>,
    pub mode: Option<String>,
    pub generator: Option<String>,
    /// The top retrieval score and how many hits scored above the
    /// "relevant" threshold; all scores as JSON.
    pub top_score: Option<f64>,
    pub hits_above: Option<u32>,
    pub scores: Option<Vec<f64>>,
    pub answer_chars: Option<u32>,
    /// `cited`, `attributed` or `none`.
    pub grounding: Option<String>,
    pub no_answer: Option<bool>,
    pub latency_ms: f64,
    pub retrieval_ms: Option<f64>,
    pub generation_ms: Option<f64>,
    pub ttft_ms: Option<f64>,
    pub generated_tokens: Option<u32>,
    /// Salted SHA-256 of the user key; `None` for anonymous requests.
    pub user_hash: Option<String>,
    pub experiment: Option<String>,
    pub variant: Option<String>,
    pub error: Option<String>,
}

pub const SQLITE_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS request_log (
    request_id       TEXT PRIMARY KEY,
    at_unix          REAL NOT NULL,
    route            TEXT NOT NULL,
    status           INTEGER NOT NULL,
    collection       TEXT,
    question         TEXT,
    question_tokens  INTEGER,
    k                INTEGER,
    mode             TEXT,
    generator        TEXT,
    top_score        REAL,
    hits_above       INTEGER,
    scores           TEXT,
    answer_chars     INTEGER,
    grounding        TEXT,
    no_answer        INTEGER,
    latency_ms       REAL NOT NULL,
    retrieval_ms     REAL,
    generation_ms    REAL,
    ttft_ms          REAL,
    generated_tokens INTEGER,
    user_hash        TEXT,
    experiment       TEXT,
    variant          TEXT,
    feedback         TEXT CHECK (feedback IN ('up', 'down')),
    feedback_comment TEXT,
    feedback_at_unix REAL,
    error            TEXT
);
CREATE INDEX IF NOT EXISTS request_log_at ON request_log (at_unix);
CREATE INDEX IF NOT EXISTS request_log_experiment ON request_log (experiment, variant, user_hash);
CREATE TABLE IF NOT EXISTS exposures (
    experiment    TEXT NOT NULL,
    user_hash     TEXT NOT NULL,
    variant       TEXT NOT NULL,
    first_at_unix REAL NOT NULL,
    PRIMARY KEY (experiment, user_hash, variant)
);
CREATE TABLE IF NOT EXISTS experiment_configs (
    experiment      TEXT PRIMARY KEY,
    seed            TEXT NOT NULL,
    weights         TEXT NOT NULL,
    settings        TEXT NOT NULL,
    first_seen_unix REAL NOT NULL,
    updated_unix    REAL NOT NULL
);
"#;

/// A write to the log.
#[derive(Debug, Clone)]
pub enum LogWrite {
    Request(Box<RequestRecord>),
    /// A user's first exposure to an experiment's variant (kept once).
    Exposure {
        experiment: String,
        user_hash: String,
        variant: String,
        at_unix: f64,
    },
}

/// Feedback on an earlier request.
#[derive(Debug, Clone)]
pub struct Feedback {
    pub request_id: String,
    /// `up` or `down`.
    pub rating: String,
    pub comment: Option<String>,
    pub at_unix: f64,
}

/// Where the log lives: SQLite (default) or PostgreSQL.
pub trait LogBackend: Send + 'static {
    /// Writes rows in one transaction.
    fn write(&mut self, batch: &[LogWrite]) -> Result<(), ServiceError>;
    /// Attaches feedback to a logged request; false when no such request.
    fn feedback(&mut self, f: &Feedback) -> Result<bool, ServiceError>;
    /// Deletes rows older than `cutoff_unix` and beyond the newest `max_rows`;
    /// returns how many went.
    fn retain(
        &mut self,
        cutoff_unix: Option<f64>,
        max_rows: Option<u64>,
    ) -> Result<u64, ServiceError>;
    /// Whether the backend answers (for `/readyz`).
    fn ping(&mut self) -> Result<(), ServiceError>;
}

/// The SQLite request log (its own tables in the service's SQLite store).
pub struct SqliteLog {
    conn: Connection,
}

fn sql_err(e: rusqlite::Error) -> ServiceError {
    ServiceError::RequestLog(e.to_string())
}

impl SqliteLog {
    pub fn open(path: &Path) -> Result<SqliteLog, ServiceError> {
        let conn = Connection::open(path).map_err(|e| {
            ServiceError::RequestLog(format!("cannot open {}: {e}", path.display()))
        })?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(sql_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql_err)?;
        conn.execute_batch(SQLITE_SCHEMA).map_err(sql_err)?;
        Ok(SqliteLog { conn })
    }
}

impl LogBackend for SqliteLog {
    fn write(&mut self, batch: &[LogWrite]) -> Result<(), ServiceError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql_err)?;
        {
            let mut req = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO request_log (request_id, at_unix, route, status, collection, question,
                        question_tokens, k, mode, generator, top_score, hits_above, scores, answer_chars, grounding,
                        no_answer, latency_ms, retrieval_ms, generation_ms, ttft_ms, generated_tokens, user_hash,
                        experiment, variant, error)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
                        ?20, ?21, ?22, ?23, ?24, ?25)",
                )
                .map_err(sql_err)?;
            let mut exp = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO exposures (experiment, user_hash, variant, first_at_unix)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(sql_err)?;
            for w in batch {
                match w {
                    LogWrite::Request(r) => {
                        let scores = r
                            .scores
                            .as_ref()
                            .map(|s| serde_json::to_string(s).unwrap_or_default());
                        req.execute(params![
                            r.request_id,
                            r.at_unix,
                            r.route,
                            r.status,
                            r.collection,
                            r.question,
                            r.question_tokens,
                            r.k,
                            r.mode,
                            r.generator,
                            r.top_score,
                            r.hits_above,
                            scores,
                            r.answer_chars,
                            r.grounding,
                            r.no_answer,
                            r.latency_ms,
                            r.retrieval_ms,
                            r.generation_ms,
                            r.ttft_ms,
                            r.generated_tokens,
                            r.user_hash,
                            r.experiment,
                            r.variant,
                            r.error,
                        ])
                        .map_err(sql_err)?;
                    }
                    LogWrite::Exposure {
                        experiment,
                        user_hash,
                        variant,
                        at_unix,
                    } => {
                        exp.execute(params![experiment, user_hash, variant, at_unix])
                            .map_err(sql_err)?;
                    }
                }
            }
        }
        tx.commit().map_err(sql_err)
    }

    fn feedback(&mut self, f: &Feedback) -> Result<bool, ServiceError> {
        let n = self
            .conn
            .execute(
                "UPDATE request_log SET feedback = ?2, feedback_comment = ?3, feedback_at_unix = ?4
                 WHERE request_id = ?1",
                params![f.request_id, f.rating, f.comment, f.at_unix],
            )
            .map_err(sql_err)?;
        Ok(n > 0)
    }

    fn retain(
        &mut self,
        cutoff_unix: Option<f64>,
        max_rows: Option<u64>,
    ) -> Result<u64, ServiceError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql_err)?;
        let mut gone = 0u64;
        if let Some(cutoff) = cutoff_unix {
            gone += tx
                .execute("DELETE FROM request_log WHERE at_unix < ?1", [cutoff])
                .map_err(sql_err)? as u64;
        }
        if let Some(max) = max_rows {
            gone += tx
                .execute(
                    "DELETE FROM request_log WHERE at_unix < (
                        SELECT at_unix FROM request_log ORDER BY at_unix DESC LIMIT 1 OFFSET ?1)",
                    [max.saturating_sub(1) as i64],
                )
                .map_err(sql_err)? as u64;
        }
        tx.commit().map_err(sql_err)?;
        Ok(gone)
    }

    fn ping(&mut self) -> Result<(), ServiceError> {
        self.conn
            .query_row("SELECT 1", [], |_| Ok(()))
            .map_err(sql_err)
    }
}

enum Msg {
    Write(LogWrite),
    Feedback(Feedback, mpsc::Sender<Result<bool, ServiceError>>),
    Flush(mpsc::Sender<Result<(), ServiceError>>),
    Ping(mpsc::Sender<Result<(), ServiceError>>),
    Stop,
}

/// Retention settings applied by the writer thread.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub max_age: Option<Duration>,
    pub max_rows: Option<u64>,
    /// How often retention runs.
    pub every: Duration,
}

/// The handle the service holds: cheap to clone, never blocks a request on
/// the disk (feedback and flush wait for the writer, which is quick).
#[derive(Clone)]
pub struct RequestLog {
    tx: mpsc::Sender<Msg>,
    writer: std::sync::Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Rows per transaction, and the longest a row waits before its commit.
const BATCH_ROWS: usize = 64;
const BATCH_WAIT: Duration = Duration::from_millis(50);

impl RequestLog {
    /// Starts the writer thread over `backend`.
    pub fn start(mut backend: impl LogBackend, retention: Retention) -> RequestLog {
        let (tx, rx) = mpsc::channel::<Msg>();
        let dropped = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let dropped_w = dropped.clone();
        let handle = std::thread::Builder::new()
            .name("request-log".into())
            .spawn(move || {
                let mut pending: Vec<LogWrite> = Vec::new();
                let mut last_retention = Instant::now() - retention.every;
                let flush = |backend: &mut dyn LogBackend, pending: &mut Vec<LogWrite>| {
                    if pending.is_empty() {
                        return Ok(());
                    }
                    let r = backend.write(pending);
                    if r.is_err() {
                        dropped_w
                            .fetch_add(pending.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    }
                    pending.clear();
                    r
                };
                loop {
                    let msg = if pending.is_empty() {
                        rx.recv_timeout(retention.every.max(Duration::from_millis(100)))
                    } else {
                        rx.recv_timeout(BATCH_WAIT)
                    };
                    match msg {
                        Ok(Msg::Write(w)) => {
                            pending.push(w);
                            if pending.len() >= BATCH_ROWS {
                                if let Err(e) = flush(&mut backend, &mut pending) {
                                    eprintln!("request log: {e}");
                                }
                            }
                        }
                        Ok(Msg::Feedback(f, reply)) => {
                            let r = flush(&mut backend, &mut pending)
                                .and_then(|()| backend.feedback(&f));
                            let _ = reply.send(r);
                        }
                        Ok(Msg::Flush(reply)) => {
                            let _ = reply.send(flush(&mut backend, &mut pending));
                        }
                        Ok(Msg::Ping(reply)) => {
                            let _ = reply.send(backend.ping());
                        }
                        Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                            if let Err(e) = flush(&mut backend, &mut pending) {
                                eprintln!("request log: {e}");
                            }
                            return;
                        }
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            if let Err(e) = flush(&mut backend, &mut pending) {
                                eprintln!("request log: {e}");
                            }
                        }
                    }
                    if last_retention.elapsed() >= retention.every {
                        last_retention = Instant::now();
                        let cutoff = retention.max_age.map(|a| now_unix() - a.as_secs_f64());
                        if let Err(e) = backend.retain(cutoff, retention.max_rows) {
                            eprintln!("request log retention: {e}");
                        }
                    }
                }
            })
            .expect("spawning the request-log writer");
        RequestLog {
            tx,
            writer: std::sync::Arc::new(std::sync::Mutex::new(Some(handle))),
            dropped,
        }
    }

    /// Queues a row (returns at once).
    pub fn write(&self, w: LogWrite) {
        if self.tx.send(Msg::Write(w)).is_err() {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Rows that could not be written (the `roadmap_rag_request_log_dropped_total` counter).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn ask<T>(
        &self,
        make: impl FnOnce(mpsc::Sender<Result<T, ServiceError>>) -> Msg,
    ) -> Result<T, ServiceError> {
        let (reply, rx) = mpsc::channel();
        self.tx
            .send(make(reply))
            .map_err(|_| ServiceError::RequestLog("the writer has stopped".into()))?;
        rx.recv_timeout(Duration::from_secs(30))
            .map_err(|_| ServiceError::RequestLog("the writer did not answer".into()))?
    }

    /// Attaches feedback; `Ok(false)` when the request id is unknown.
    /// Blocking: call from a blocking thread.
    pub fn feedback(&self, f: Feedback) -> Result<bool, ServiceError> {
        self.ask(|r| Msg::Feedback(f, r))
    }

    /// Commits everything queued so far. Blocking.
    pub fn flush(&self) -> Result<(), ServiceError> {
        self.ask(Msg::Flush)
    }

    /// Whether the backend answers. Blocking.
    pub fn ping(&self) -> Result<(), ServiceError> {
        self.ask(Msg::Ping)
    }

    /// Flushes and stops the writer (graceful shutdown).
    pub fn shutdown(&self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(h) = self.writer.lock().ok().and_then(|mut g| g.take()) {
            let _ = h.join();
        }
    }
}

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The stored form of a user key: salted SHA-256, hex. The salt is per
/// deployment (so hashes cannot be joined across services) and stable (so a
/// user's requests stay linked for A/B analysis).
pub fn hash_user(salt: &str, user: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0]);
    h.update(user.as_bytes());
    hex::encode(&h.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, at: f64) -> LogWrite {
        LogWrite::Request(Box::new(RequestRecord {
            request_id: id.into(),
            at_unix: at,
            route: "/v1/ask".into(),
            status: 200,
            latency_ms: 3.0,
            scores: Some(vec![0.9, 0.5]),
            ..Default::default()
        }))
    }

    fn count(path: &Path, sql: &str) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn writes_feedback_exposures_and_retention() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rag.db");
        let log = RequestLog::start(
            SqliteLog::open(&path).unwrap(),
            Retention {
                max_age: None,
                max_rows: None,
                every: Duration::from_secs(3600),
            },
        );
        for i in 0..200 {
            log.write(rec(&format!("r{i}"), 1000.0 + i as f64));
        }
        let exposure = |v: &str| LogWrite::Exposure {
            experiment: "e".into(),
            user_hash: "u".into(),
            variant: v.into(),
            at_unix: 5.0,
        };
        log.write(exposure("a"));
        log.write(exposure("a"));
        // Feedback flushes first, so it finds a request written just before.
        assert!(log
            .feedback(Feedback {
                request_id: "r199".into(),
                rating: "up".into(),
                comment: Some("great".into()),
                at_unix: 2000.0,
            })
            .unwrap());
        assert!(!log
            .feedback(Feedback {
                request_id: "nope".into(),
                rating: "down".into(),
                comment: None,
                at_unix: 2000.0,
            })
            .unwrap());
        log.ping().unwrap();
        assert_eq!(count(&path, "SELECT COUNT(*) FROM request_log"), 200);
        assert_eq!(count(&path, "SELECT COUNT(*) FROM exposures"), 1);
        assert_eq!(
            count(
                &path,
                "SELECT COUNT(*) FROM request_log WHERE feedback = 'up'"
            ),
            1
        );
        log.shutdown();

        let mut b = SqliteLog::open(&path).unwrap();
        assert_eq!(b.retain(Some(1100.0), None).unwrap(), 100);
        assert_eq!(b.retain(None, Some(30)).unwrap(), 70);
        assert_eq!(
            count(
                &path,
                "SELECT CAST(MIN(at_unix) AS INTEGER) FROM request_log"
            ),
            1170
        );
    }

    #[test]
    fn user_hashes_are_salted_and_stable() {
        assert_eq!(hash_user("s", "ada"), hash_user("s", "ada"));
        assert_ne!(hash_user("s", "ada"), hash_user("t", "ada"));
        assert_eq!(hash_user("s", "ada").len(), 32);
    }
}
