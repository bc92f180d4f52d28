//! The A/B side of the request log: what one experiment's users did, read
//! back per (user, variant), and the replay's way of writing into the log.
//!
//! **Reading.** An experiment's users are its rows in `exposures` (the
//! service writes one at a user's first request in a variant); their
//! outcomes are their rows in `request_log` with the same experiment,
//! variant and user hash. [`experiment_users`] reduces them to one row per
//! (user, variant) with the per-user definitions of
//! `roadmap_abtest::analysis::METRICS`, so the analysis sees users, not
//! requests:
//!
//! - `thumbs_up`: the user's last vote (`feedback` with the latest
//!   `feedback_at_unix`); no vote, no value;
//! - `grounded`: every answer the user got cited its passages
//!   (`grounding = 'cited'`; requests without a grounding, e.g. searches,
//!   do not count);
//! - `no_answer`: the service declined at least once;
//! - `latency_ms`, `answer_chars`: the user's means;
//! - `answer_f1`, `hit_at_k`: from `replay_scores` (only a replay with gold
//!   answers knows them): the mean F1, and whether every question's gold
//!   paragraph was retrieved.
//!
//! Outcomes count only for successful requests (2xx); every logged request
//! counts as an exposure.
//!
//! **Writing a replay.** `roadmap ab simulate` must leave the same rows the
//! live service would, so its rows go through the service's own writer
//! ([`crate::requestlog::SqliteLog::write`]) into a staging file next to the
//! store, and [`commit_replay`] then moves them, with the replay's scores,
//! into the store in one transaction: a failed or interrupted replay leaves
//! the store as it was. The replay's extra scores live in their own table,
//! `replay_scores(request_id, answer_f1, hit_at_k)`, which the live service
//! never writes.
//!
//! Replayed user keys are hashed like live ones ([`crate::requestlog::hash_user`])
//! with a salt of their own ([`REPLAY_SALT`]), so a replayed user can never
//! share a hash with a real one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use roadmap_abtest::analysis::{Metric, UserRow, METRICS};
use roadmap_abtest::simulate::SIMULATION_METRICS;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use crate::requestlog::{LogBackend, LogWrite, SqliteLog};
use crate::ServiceError;

/// The salt of replayed users' hashes.
pub const REPLAY_SALT: &str = "roadmap-ab-replay";

/// The replay's scores of a request (the live service has no gold answers).
pub const REPLAY_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS replay_scores (
    request_id TEXT PRIMARY KEY,
    answer_f1  REAL,
    hit_at_k   INTEGER
);";

/// One user in one variant of an experiment, reduced to one value per metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentUser {
    pub user_hash: String,
    pub variant: String,
    pub first_at_unix: f64,
    /// Requests logged for this user in this variant.
    pub requests: u64,
    pub thumbs_up: Option<bool>,
    pub grounded: Option<bool>,
    pub no_answer: Option<bool>,
    pub latency_ms: Option<f64>,
    pub answer_chars: Option<f64>,
    pub answer_f1: Option<f64>,
    pub hit_at_k: Option<bool>,
}

fn store_err(store: &Path) -> impl Fn(rusqlite::Error) -> ServiceError + '_ {
    move |e| ServiceError::RequestLog(format!("{}: {e}", store.display()))
}

/// Opens an existing store read-only; a missing file or a file without a
/// request log is an error that says so.
pub fn open_store(store: &Path) -> Result<Connection, ServiceError> {
    if !store.is_file() {
        return Err(ServiceError::RequestLog(format!(
            "{}: no such file; pass --store with the service's SQLite store (or the file `roadmap ab simulate --store` wrote)",
            store.display()
        )));
    }
    let conn = Connection::open_with_flags(store, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(store_err(store))?;
    if !has_table(&conn, "exposures").map_err(store_err(store))? {
        return Err(ServiceError::RequestLog(format!(
            "{}: no exposures table; this is not a RAG service store with a request log",
            store.display()
        )));
    }
    Ok(conn)
}

fn has_table(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get(0),
    )
}

/// Experiments with exposures in the store, with their user counts (for
/// "did you mean" and for an empty result's message).
pub fn logged_experiments(conn: &Connection) -> rusqlite::Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare(
        "SELECT experiment, COUNT(DISTINCT user_hash) FROM exposures GROUP BY experiment ORDER BY experiment",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
    rows.collect()
}

/// `NOT INDEXED` when the experiment holds at least a quarter of `table`'s
/// rows, else "". Following the experiment index visits rows in index order,
/// one random page read each; a sequential scan of the table reads each page
/// once. Measured on the 1,000,000-request log of `examples/ab_report_rate`
/// (Python's sqlite3, loaded machine): requests 5.2 s by index, 1.6 s by
/// scan; exposures 4.6 s and 0.8 s. For a small share the index wins.
fn scan_hint(conn: &Connection, table: &str, experiment: &str) -> rusqlite::Result<&'static str> {
    let (part, total): (i64, Option<i64>) = conn.query_row(
        &format!(
            "SELECT (SELECT COUNT(*) FROM {table} WHERE experiment = ?1), (SELECT MAX(rowid) FROM {table})"
        ),
        [experiment],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(if part > 0 && part * 4 >= total.unwrap_or(0) {
        "NOT INDEXED"
    } else {
        ""
    })
}

#[derive(Default)]
struct Acc {
    requests: u64,
    vote: Option<(f64, bool)>,
    grounded: Option<bool>,
    no_answer: Option<bool>,
    latency: (f64, u64),
    chars: (f64, u64),
    f1: (f64, u64),
    hit: Option<bool>,
}

fn mean((sum, n): (f64, u64)) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
}

/// One row per (user, variant) of `experiment`, in the order of first
/// exposure (then user hash, then variant).
///
/// One pass over the experiment's exposures and one over its requests; a
/// request finds its user by borrowed text (no allocation per request),
/// which is what keeps a million-request log under a second
/// (`examples/ab_report_rate.rs`).
pub fn experiment_users(
    conn: &Connection,
    store: &Path,
    experiment: &str,
) -> Result<Vec<ExperimentUser>, ServiceError> {
    let err = store_err(store);
    let text_err = |col: &str, e: rusqlite::types::FromSqlError| {
        ServiceError::RequestLog(format!("{}: {col} is not text: {e}", store.display()))
    };
    // Variant names, interned: a request's variant is compared, not copied.
    let mut variants: Vec<String> = Vec::new();
    let mut users: Vec<(ExperimentUser, usize)> = Vec::new();
    {
        let hint = scan_hint(conn, "exposures", experiment).map_err(&err)?;
        let mut stmt = conn
            .prepare(&format!(
                "SELECT user_hash, variant, first_at_unix FROM exposures {hint} WHERE experiment = ?1"
            ))
            .map_err(&err)?;
        let mut rows = stmt.query([experiment]).map_err(&err)?;
        while let Some(r) = rows.next().map_err(&err)? {
            let variant = r
                .get_ref(1)
                .map_err(&err)?
                .as_str()
                .map_err(|e| text_err("exposures.variant", e))?;
            let vi = match variants.iter().position(|v| v == variant) {
                Some(i) => i,
                None => {
                    variants.push(variant.to_owned());
                    variants.len() - 1
                }
            };
            users.push((
                ExperimentUser {
                    user_hash: r.get(0).map_err(&err)?,
                    variant: variants[vi].clone(),
                    first_at_unix: r.get(2).map_err(&err)?,
                    requests: 0,
                    thumbs_up: None,
                    grounded: None,
                    no_answer: None,
                    latency_ms: None,
                    answer_chars: None,
                    answer_f1: None,
                    hit_at_k: None,
                },
                vi,
            ));
        }
    }
    users.sort_unstable_by(|(a, _), (b, _)| {
        a.first_at_unix
            .total_cmp(&b.first_at_unix)
            .then_with(|| a.user_hash.cmp(&b.user_hash))
            .then_with(|| a.variant.cmp(&b.variant))
    });
    // user hash → its (variant, row) pairs: one pair unless the user was seen in several variants.
    let mut index: HashMap<String, Vec<(usize, usize)>> = HashMap::with_capacity(users.len());
    for (row, (u, vi)) in users.iter().enumerate() {
        index
            .entry(u.user_hash.clone())
            .or_default()
            .push((*vi, row));
    }
    let mut acc: Vec<Acc> = (0..users.len()).map(|_| Acc::default()).collect();
    let scores = if has_table(conn, "replay_scores").map_err(&err)? {
        "LEFT JOIN replay_scores s ON s.request_id = r.request_id"
    } else {
        "LEFT JOIN (SELECT NULL AS request_id, NULL AS answer_f1, NULL AS hit_at_k) s ON 0"
    };
    let hint = scan_hint(conn, "request_log", experiment).map_err(&err)?;
    let mut stmt = conn
        .prepare(&format!(
            "SELECT r.user_hash, r.variant, r.status, r.grounding, r.no_answer, r.latency_ms,
                    r.answer_chars, r.feedback, r.feedback_at_unix, s.answer_f1, s.hit_at_k
             FROM request_log r {hint} {scores}
             WHERE r.experiment = ?1 AND r.user_hash IS NOT NULL AND r.variant IS NOT NULL"
        ))
        .map_err(&err)?;
    let mut rows = stmt.query([experiment]).map_err(&err)?;
    while let Some(r) = rows.next().map_err(&err)? {
        let user_hash = r
            .get_ref(0)
            .map_err(&err)?
            .as_str()
            .map_err(|e| text_err("request_log.user_hash", e))?;
        let Some(pairs) = index.get(user_hash) else {
            // A request without an exposure row (not written by the service,
            // or the exposure was lost) is not analysed: its user was never counted.
            continue;
        };
        let variant = r
            .get_ref(1)
            .map_err(&err)?
            .as_str()
            .map_err(|e| text_err("request_log.variant", e))?;
        let Some(&(_, i)) = pairs.iter().find(|(vi, _)| variants[*vi] == variant) else {
            continue;
        };
        let a = &mut acc[i];
        a.requests += 1;
        let status: i64 = r.get(2).map_err(&err)?;
        if !(200..300).contains(&status) {
            continue;
        }
        if let Some(g) = r
            .get_ref(3)
            .map_err(&err)?
            .as_str_or_null()
            .map_err(|e| text_err("request_log.grounding", e))?
        {
            a.grounded = Some(a.grounded.unwrap_or(true) && g == "cited");
        }
        if let Some(n) = r.get::<_, Option<bool>>(4).map_err(&err)? {
            a.no_answer = Some(a.no_answer.unwrap_or(false) || n);
        }
        let latency: f64 = r.get(5).map_err(&err)?;
        a.latency = (a.latency.0 + latency, a.latency.1 + 1);
        if let Some(c) = r.get::<_, Option<f64>>(6).map_err(&err)? {
            a.chars = (a.chars.0 + c, a.chars.1 + 1);
        }
        if let Some(f) = r
            .get_ref(7)
            .map_err(&err)?
            .as_str_or_null()
            .map_err(|e| text_err("request_log.feedback", e))?
        {
            let at: f64 = r.get::<_, Option<f64>>(8).map_err(&err)?.unwrap_or(0.0);
            if a.vote.is_none_or(|(t, _)| at >= t) {
                a.vote = Some((at, f == "up"));
            }
        }
        if let Some(f) = r.get::<_, Option<f64>>(9).map_err(&err)? {
            a.f1 = (a.f1.0 + f, a.f1.1 + 1);
        }
        if let Some(h) = r.get::<_, Option<bool>>(10).map_err(&err)? {
            a.hit = Some(a.hit.unwrap_or(true) && h);
        }
    }
    Ok(users
        .into_iter()
        .zip(acc)
        .map(|((mut u, _), a)| {
            u.requests = a.requests;
            u.thumbs_up = a.vote.map(|(_, up)| up);
            u.grounded = a.grounded;
            u.no_answer = a.no_answer;
            u.latency_ms = mean(a.latency);
            u.answer_chars = mean(a.chars);
            u.answer_f1 = mean(a.f1);
            u.hit_at_k = a.hit;
            u
        })
        .collect())
}

/// The metrics of a log: the replay's (with hit@k) when any user has a
/// replay score, else the live service's.
pub fn metrics_for(users: &[ExperimentUser]) -> &'static [Metric] {
    if users.iter().any(|u| u.hit_at_k.is_some()) {
        &SIMULATION_METRICS
    } else {
        &METRICS
    }
}

fn flag(b: Option<bool>) -> Option<f64> {
    b.map(|b| if b { 1.0 } else { 0.0 })
}

/// The logged users as the analysis' rows, values in `metrics` order
/// (consumes them: a million users' keys are moved, not copied).
pub fn user_rows(
    users: Vec<ExperimentUser>,
    metrics: &[Metric],
) -> Result<Vec<UserRow>, ServiceError> {
    users
        .into_iter()
        .map(|u| {
            let first_exposure =
                DateTime::<Utc>::from_timestamp_micros((u.first_at_unix * 1e6).round() as i64)
                    .ok_or_else(|| {
                        ServiceError::RequestLog(format!(
                            "user {}: first exposure time {} is out of range",
                            u.user_hash, u.first_at_unix
                        ))
                    })?;
            let values = metrics
                .iter()
                .map(|m| match m.key {
                    "thumbs_up" => Ok(flag(u.thumbs_up)),
                    "grounded" => Ok(flag(u.grounded)),
                    "no_answer" => Ok(flag(u.no_answer)),
                    "latency_ms" => Ok(u.latency_ms),
                    "answer_length" => Ok(u.answer_chars),
                    "answer_f1" => Ok(u.answer_f1),
                    "hit_at_k" => Ok(flag(u.hit_at_k)),
                    other => Err(ServiceError::RequestLog(format!(
                        "metric `{other}` is not in the request log"
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(UserRow {
                user: u.user_hash,
                variant: u.variant,
                first_exposure,
                exposures: u.requests,
                values,
            })
        })
        .collect()
}

/// A replayed request's scores against its gold answers.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayScore {
    pub request_id: String,
    pub answer_f1: Option<f64>,
    pub hit_at_k: Option<bool>,
}

/// What [`commit_replay`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReplayCommit {
    pub requests: u64,
    pub exposures: u64,
    /// Rows of an earlier replay of the same experiment that were replaced.
    pub replaced_requests: u64,
}

/// Rows of `experiment` already in the store (requests, exposures).
pub fn logged_rows(store: &Path, experiment: &str) -> Result<(u64, u64), ServiceError> {
    if !store.is_file() {
        return Ok((0, 0));
    }
    let conn = Connection::open(store).map_err(store_err(store))?;
    if !has_table(&conn, "exposures").map_err(store_err(store))? {
        return Ok((0, 0));
    }
    conn.query_row(
        "SELECT (SELECT COUNT(*) FROM request_log WHERE experiment = ?1),
                (SELECT COUNT(*) FROM exposures WHERE experiment = ?1)",
        [experiment],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )
    .map_err(store_err(store))
}

fn columns(conn: &Connection, schema: &str, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA {schema}.table_info({table})"))?;
    let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
    names.collect()
}

/// Writes a replay's rows into `store` in one transaction: `writes` go
/// through the service's writer into a staging file first, then rows and
/// `scores` are copied into the store. With `replace`, the experiment's
/// earlier rows (requests, exposures, scores) are deleted in the same
/// transaction; without it, an experiment that already has rows is refused.
pub fn commit_replay(
    store: &Path,
    experiment: &str,
    writes: &[LogWrite],
    scores: &[ReplayScore],
    replace: bool,
) -> Result<ReplayCommit, ServiceError> {
    let staging: PathBuf = {
        let mut name = store.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".replay-staging-{}", std::process::id()));
        store.with_file_name(name)
    };
    let result = (|| {
        let _ = std::fs::remove_file(&staging);
        let mut stage = SqliteLog::open(&staging)?;
        stage.write(writes)?;
        drop(stage);
        // Creates the store's tables if it is new, exactly as the service does.
        drop(SqliteLog::open(store)?);
        let err = store_err(store);
        let mut conn = Connection::open(store).map_err(&err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(&err)?;
        conn.execute_batch(REPLAY_SCHEMA).map_err(&err)?;
        conn.execute(
            "ATTACH DATABASE ?1 AS staging",
            [staging.to_string_lossy().into_owned()],
        )
        .map_err(&err)?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(&err)?;
        let (old_requests, old_exposures): (u64, u64) = tx
            .query_row(
                "SELECT (SELECT COUNT(*) FROM main.request_log WHERE experiment = ?1),
                        (SELECT COUNT(*) FROM main.exposures WHERE experiment = ?1)",
                [experiment],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .map_err(&err)?;
        if old_requests + old_exposures > 0 {
            if !replace {
                return Err(ServiceError::RequestLog(format!(
                    "{} already holds {old_requests} requests and {old_exposures} exposures of experiment `{experiment}`; \
                     pass --replace to overwrite them or --store with another file",
                    store.display()
                )));
            }
            tx.execute(
                "DELETE FROM main.replay_scores WHERE request_id IN
                    (SELECT request_id FROM main.request_log WHERE experiment = ?1)",
                [experiment],
            )
            .map_err(&err)?;
            tx.execute(
                "DELETE FROM main.request_log WHERE experiment = ?1",
                [experiment],
            )
            .map_err(&err)?;
            tx.execute(
                "DELETE FROM main.exposures WHERE experiment = ?1",
                [experiment],
            )
            .map_err(&err)?;
        }
        let mut copied = [0u64; 2];
        for (i, table) in ["request_log", "exposures"].into_iter().enumerate() {
            // Columns by name: a store created by an older schema keeps working.
            let main_cols = columns(&tx, "main", table).map_err(&err)?;
            let cols: Vec<String> = columns(&tx, "staging", table)
                .map_err(&err)?
                .into_iter()
                .filter(|c| main_cols.contains(c))
                .collect();
            let list = cols.join(", ");
            copied[i] = tx
                .execute(
                    &format!(
                        "INSERT INTO main.{table} ({list}) SELECT {list} FROM staging.{table}"
                    ),
                    [],
                )
                .map_err(&err)? as u64;
        }
        {
            let mut ins = tx
                .prepare(
                    "INSERT OR REPLACE INTO main.replay_scores (request_id, answer_f1, hit_at_k)
                     VALUES (?1, ?2, ?3)",
                )
                .map_err(&err)?;
            for s in scores {
                ins.execute(params![s.request_id, s.answer_f1, s.hit_at_k])
                    .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)?;
        conn.execute("DETACH DATABASE staging", []).map_err(&err)?;
        Ok(ReplayCommit {
            requests: copied[0],
            exposures: copied[1],
            replaced_requests: old_requests,
        })
    })();
    for suffix in ["", "-wal", "-shm"] {
        let mut p = staging.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    result
}

/// The variant a user hash was first exposed to (for tests and the mentor).
pub fn first_variant(
    conn: &Connection,
    experiment: &str,
    user_hash: &str,
) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT variant FROM exposures WHERE experiment = ?1 AND user_hash = ?2
         ORDER BY first_at_unix LIMIT 1",
        [experiment, user_hash],
        |r| r.get(0),
    )
    .optional()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requestlog::{hash_user, RequestRecord};

    fn ask(id: &str, user: &str, variant: &str, at: f64, grounding: &str, lat: f64) -> LogWrite {
        LogWrite::Request(Box::new(RequestRecord {
            request_id: id.into(),
            at_unix: at,
            route: "/v1/ask".into(),
            status: 200,
            answer_chars: Some(100),
            grounding: Some(grounding.into()),
            no_answer: Some(false),
            latency_ms: lat,
            user_hash: Some(hash_user(REPLAY_SALT, user)),
            experiment: Some("e".into()),
            variant: Some(variant.into()),
            ..Default::default()
        }))
    }

    fn exposure(user: &str, variant: &str, at: f64) -> LogWrite {
        LogWrite::Exposure {
            experiment: "e".into(),
            user_hash: hash_user(REPLAY_SALT, user),
            variant: variant.into(),
            at_unix: at,
        }
    }

    #[test]
    fn replay_commits_once_and_reads_back_per_user() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("rag.db");
        let writes = vec![
            exposure("ann", "a", 10.0),
            ask("q1", "ann", "a", 10.0, "cited", 100.0),
            ask("q2", "ann", "a", 11.0, "none", 300.0),
            exposure("bob", "b", 12.0),
            ask("q3", "bob", "b", 12.0, "cited", 50.0),
        ];
        let scores = vec![
            ReplayScore {
                request_id: "q1".into(),
                answer_f1: Some(1.0),
                hit_at_k: Some(true),
            },
            ReplayScore {
                request_id: "q2".into(),
                answer_f1: Some(0.5),
                hit_at_k: Some(false),
            },
        ];
        let c = commit_replay(&store, "e", &writes, &scores, false).unwrap();
        assert_eq!((c.requests, c.exposures), (3, 2));
        let e = commit_replay(&store, "e", &writes, &scores, false).unwrap_err();
        assert!(e.to_string().contains("--replace"), "{e}");
        let c = commit_replay(&store, "e", &writes, &scores, true).unwrap();
        assert_eq!(c.replaced_requests, 3);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("staging"))
            .collect();
        assert!(leftovers.is_empty(), "staging files removed");

        let conn = open_store(&store).unwrap();
        let users = experiment_users(&conn, &store, "e").unwrap();
        assert_eq!(users.len(), 2);
        let ann = &users[0];
        assert_eq!(ann.requests, 2);
        assert_eq!(ann.grounded, Some(false), "one answer was not cited");
        assert_eq!(ann.latency_ms, Some(200.0));
        assert_eq!(ann.answer_f1, Some(0.75));
        assert_eq!(ann.hit_at_k, Some(false));
        assert_eq!(ann.thumbs_up, None);
        assert_eq!(users[1].answer_f1, None, "no replay score for q3");
        assert_eq!(
            logged_experiments(&conn).unwrap(),
            vec![("e".to_owned(), 2)]
        );
        assert_eq!(
            first_variant(&conn, "e", &hash_user(REPLAY_SALT, "bob")).unwrap(),
            Some("b".into())
        );
    }
}
