//! The progress database (SQLite, via rusqlite with the bundled library).
//!
//! One file holds every learner's progress: item status, an append-only event
//! log, study sessions, notes, milestone runs and the models they produced.
//! The schema is versioned with `PRAGMA user_version` and migrated forward in
//! one transaction; a file written by a newer binary is refused rather than
//! guessed at. Every write is a transaction (`BEGIN IMMEDIATE`, so concurrent
//! writers queue on the busy timeout instead of failing), which is what keeps
//! a killed process from leaving half a change behind.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use chrono::{NaiveDate, SecondsFormat, Utc};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use serde::Serialize;

/// The migrations, in order; migration `i` takes the schema to version `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_models_and_views.sql"),
];
/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Status of one item for one learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Todo,
    InProgress,
    Done,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Todo => "todo",
            Status::InProgress => "in_progress",
            Status::Done => "done",
            Status::Skipped => "skipped",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "in_progress" => Status::InProgress,
            "done" => Status::Done,
            "skipped" => Status::Skipped,
            _ => Status::Todo,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemState {
    pub status: Status,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    pub at: String,
    pub item_id: Option<String>,
    pub kind: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub item_id: String,
    pub date: String,
    pub minutes: i64,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Note {
    pub item_id: String,
    pub text: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub id: i64,
    pub phase_id: String,
    pub runner: String,
    pub kind: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub duration_seconds: Option<f64>,
    pub status: String,
    pub params: serde_json::Value,
    pub metrics: BTreeMap<String, f64>,
    pub criteria: serde_json::Value,
    pub error: Option<String>,
    pub artifact_dir: Option<String>,
    pub tool_version: String,
}

/// How a finished run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    Passed,
    Failed,
    Interrupted,
}

impl RunEnd {
    fn as_str(self) -> &'static str {
        match self {
            RunEnd::Passed => "passed",
            RunEnd::Failed => "failed",
            RunEnd::Interrupted => "interrupted",
        }
    }
}

/// A model to register with a finished run.
#[derive(Debug, Clone)]
pub struct NewModel {
    pub name: String,
    pub version: String,
    pub path: PathBuf,
}

pub struct Db {
    conn: Connection,
    path: PathBuf,
}

impl Db {
    /// Opens (creating if needed) and migrates the database at `path`, then
    /// marks runs whose process is gone as `interrupted`.
    pub fn open(path: &Path) -> Result<Db> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| {
                format!(
                    "cannot create the directory for the progress database {}",
                    parent.display()
                )
            })?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the progress database {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(30))?;
        let mut db = Db {
            conn,
            path: path.to_path_buf(),
        };
        let version = db.user_version()?;
        db.conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| not_a_db(path, e))?;
        db.conn.pragma_update(None, "foreign_keys", "ON")?;
        db.conn.pragma_update(None, "synchronous", "NORMAL")?;
        if version > SCHEMA_VERSION {
            bail!(newer_schema(path, version));
        }
        if version < SCHEMA_VERSION {
            db.migrate()?;
        }
        db.mark_stale_runs()?;
        Ok(db)
    }

    /// Opens an existing database without writing to it (mentor tools: `cohort`).
    pub fn open_read_only(path: &Path) -> Result<Db> {
        if !path.exists() {
            bail!("no progress database at {}", path.display());
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .with_context(|| format!("cannot open {} read-only", path.display()))?;
        conn.busy_timeout(Duration::from_secs(30))?;
        let db = Db {
            conn,
            path: path.to_path_buf(),
        };
        let version = db.user_version()?;
        if version > SCHEMA_VERSION {
            bail!(newer_schema(path, version));
        }
        if version < 1 {
            bail!(
                "{} is an empty SQLite file, not a roadmap progress database",
                path.display()
            );
        }
        Ok(db)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn user_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| not_a_db(&self.path, e))
    }

    fn migrate(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)?;
        // Re-read inside the lock: another process may have migrated meanwhile.
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql).with_context(|| {
                format!(
                    "migrating the progress database to schema version {}",
                    i + 1
                )
            })?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        Ok(())
    }

    /// Runs left `running` by a process that no longer exists become `interrupted`.
    pub fn mark_stale_runs(&mut self) -> Result<usize> {
        let stale: Vec<(i64, Option<i64>, Option<String>)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id, pid, pid_start FROM runs WHERE status = 'running'")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut n = 0;
        for (id, pid, start) in stale {
            if process_alive(pid, start.as_deref()) {
                continue;
            }
            n += self.end_run_if_running(
                id,
                RunEnd::Interrupted,
                "the process running it exited without finishing (killed or crashed)",
            )?;
        }
        Ok(n)
    }

    /// Marks a run as ended if it is still `running`; returns 1 if it changed.
    pub fn end_run_if_running(&mut self, run_id: i64, end: RunEnd, error: &str) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(i64, String)> = tx
            .query_row(
                "SELECT learner_id, started_at FROM runs WHERE id = ?1 AND status = 'running'",
                [run_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((learner_id, started_at)) = row else {
            return Ok(0);
        };
        let finished = now();
        tx.execute(
            "UPDATE runs SET status = ?2, finished_at = ?3, duration_seconds = ?4, error = ?5 WHERE id = ?1",
            params![run_id, end.as_str(), finished, seconds_between(&started_at, &finished), error],
        )?;
        insert_event(
            &tx,
            learner_id,
            None,
            "run_finished",
            serde_json::json!({ "run_id": run_id, "status": end.as_str() }),
        )?;
        tx.commit()?;
        Ok(1)
    }

    /// The id of a learner, created on first use when `create` is set.
    pub fn learner_id(&mut self, name: &str, create: bool) -> Result<Option<i64>> {
        let existing: Option<i64> = self
            .conn
            .query_row("SELECT id FROM learners WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        if existing.is_some() || !create {
            return Ok(existing);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT OR IGNORE INTO learners (name, created_at) VALUES (?1, ?2)",
            params![name, now()],
        )?;
        let id: i64 = tx.query_row("SELECT id FROM learners WHERE name = ?1", [name], |r| {
            r.get(0)
        })?;
        tx.commit()?;
        Ok(Some(id))
    }

    fn require_learner(&mut self, name: &str) -> Result<i64> {
        Ok(self.learner_id(name, true)?.expect("created"))
    }

    pub fn learners(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name FROM learners ORDER BY name")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn learner_created(&self, learner: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT created_at FROM learners WHERE name = ?1",
                [learner],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Current status of every item the learner has touched.
    pub fn item_states(&self, learner: &str) -> Result<HashMap<String, ItemState>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.item_id, s.status, s.started_at, s.finished_at, s.updated_at
             FROM item_status s JOIN learners l ON l.id = s.learner_id WHERE l.name = ?1",
        )?;
        let rows = stmt.query_map([learner], |r| {
            Ok((
                r.get::<_, String>(0)?,
                ItemState {
                    status: Status::parse(&r.get::<_, String>(1)?),
                    started_at: r.get(2)?,
                    finished_at: r.get(3)?,
                    updated_at: r.get(4)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Sets an item's status and logs the change, in one transaction.
    pub fn set_status(
        &mut self,
        learner: &str,
        item: &str,
        status: Status,
        reason: &str,
    ) -> Result<Status> {
        let lid = self.require_learner(learner)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let previous = set_status_tx(&tx, lid, item, status, reason)?;
        tx.commit()?;
        Ok(previous)
    }

    /// Forgets an item's status (back to todo). Sessions and notes are kept.
    pub fn reset(&mut self, learner: &str, item: &str) -> Result<Status> {
        let lid = self.require_learner(learner)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let previous = current_status(&tx, lid, item)?;
        tx.execute(
            "DELETE FROM item_status WHERE learner_id = ?1 AND item_id = ?2",
            params![lid, item],
        )?;
        insert_event(
            &tx,
            lid,
            Some(item),
            "reset",
            serde_json::json!({ "from": previous.as_str() }),
        )?;
        tx.commit()?;
        Ok(previous)
    }

    pub fn log_session(
        &mut self,
        learner: &str,
        item: &str,
        date: NaiveDate,
        minutes: i64,
        note: Option<&str>,
    ) -> Result<()> {
        let lid = self.require_learner(learner)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO study_sessions (learner_id, item_id, date, minutes, note, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![lid, item, date.to_string(), minutes, note, now()],
        )?;
        insert_event(
            &tx,
            lid,
            Some(item),
            "session",
            serde_json::json!({ "date": date.to_string(), "minutes": minutes, "note": note }),
        )?;
        // Studying an item means it is under way, unless it is already finished.
        if current_status(&tx, lid, item)? == Status::Todo {
            set_status_tx(&tx, lid, item, Status::InProgress, "study session logged")?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn add_note(&mut self, learner: &str, item: &str, text: &str) -> Result<()> {
        let lid = self.require_learner(learner)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO notes (learner_id, item_id, text, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![lid, item, text, now()],
        )?;
        insert_event(
            &tx,
            lid,
            Some(item),
            "note",
            serde_json::json!({ "text": text }),
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn events(&self, learner: &str, since: Option<&str>) -> Result<Vec<Event>> {
        let mut stmt = self.conn.prepare(
            "SELECT e.id, e.at, e.item_id, e.kind, e.detail FROM events e JOIN learners l ON l.id = e.learner_id
             WHERE l.name = ?1 AND (?2 IS NULL OR e.at >= ?2) ORDER BY e.at, e.id",
        )?;
        let rows = stmt.query_map(params![learner, since], |r| {
            Ok(Event {
                id: r.get(0)?,
                at: r.get(1)?,
                item_id: r.get(2)?,
                kind: r.get(3)?,
                detail: serde_json::from_str(&r.get::<_, String>(4)?)
                    .unwrap_or(serde_json::Value::Null),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn sessions(&self, learner: &str) -> Result<Vec<Session>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.item_id, s.date, s.minutes, s.note FROM study_sessions s JOIN learners l ON l.id = s.learner_id
             WHERE l.name = ?1 ORDER BY s.date, s.id",
        )?;
        let rows = stmt.query_map([learner], |r| {
            Ok(Session {
                item_id: r.get(0)?,
                date: r.get(1)?,
                minutes: r.get(2)?,
                note: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn notes(&self, learner: &str) -> Result<Vec<Note>> {
        let mut stmt = self.conn.prepare(
            "SELECT n.item_id, n.text, n.created_at FROM notes n JOIN learners l ON l.id = n.learner_id
             WHERE l.name = ?1 ORDER BY n.created_at, n.id",
        )?;
        let rows = stmt.query_map([learner], |r| {
            Ok(Note {
                item_id: r.get(0)?,
                text: r.get(1)?,
                created_at: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records a run as `running` before it starts, so a crash leaves a trace.
    pub fn begin_run(
        &mut self,
        learner: &str,
        phase: &str,
        runner: &str,
        kind: &str,
        params: &serde_json::Value,
        artifact_dir: &Path,
    ) -> Result<i64> {
        let lid = self.require_learner(learner)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let pid = std::process::id() as i64;
        tx.execute(
            "INSERT INTO runs (learner_id, phase_id, runner, kind, started_at, status, params, artifact_dir, tool_version, pid, pid_start)
             VALUES (?1, ?2, ?3, ?4, ?5, 'running', ?6, ?7, ?8, ?9, ?10)",
            params![
                lid,
                phase,
                runner,
                kind,
                now(),
                params.to_string(),
                artifact_dir.display().to_string(),
                env!("CARGO_PKG_VERSION"),
                pid,
                process_start_time(pid)
            ],
        )?;
        let run_id = tx.last_insert_rowid();
        insert_event(
            &tx,
            lid,
            None,
            "run_started",
            serde_json::json!({ "run_id": run_id, "phase": phase, "runner": runner, "kind": kind }),
        )?;
        tx.commit()?;
        Ok(run_id)
    }

    /// Records how a run ended, its metrics and models; a passed run marks
    /// `milestone_item` done. All in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub fn finish_run(
        &mut self,
        run_id: i64,
        end: RunEnd,
        params: &serde_json::Value,
        metrics: &BTreeMap<String, f64>,
        criteria: &serde_json::Value,
        error: Option<&str>,
        models: &[NewModel],
        milestone_item: Option<&str>,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (lid, started_at): (i64, String) = tx.query_row(
            "SELECT learner_id, started_at FROM runs WHERE id = ?1",
            [run_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let finished = now();
        // JSON has no NaN or infinity: keep only finite numbers.
        let finite: BTreeMap<&String, f64> = metrics
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, v)| (k, *v))
            .collect();
        tx.execute(
            "UPDATE runs SET status = ?2, finished_at = ?3, duration_seconds = ?4, params = ?5, metrics = ?6, criteria = ?7, error = ?8
             WHERE id = ?1",
            params![
                run_id,
                end.as_str(),
                finished,
                seconds_between(&started_at, &finished),
                params.to_string(),
                serde_json::to_string(&finite)?,
                criteria.to_string(),
                error
            ],
        )?;
        for m in models {
            tx.execute(
                "INSERT INTO models (learner_id, run_id, name, version, path, metrics, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![lid, run_id, m.name, m.version, m.path.display().to_string(), serde_json::to_string(&finite)?, finished],
            )?;
        }
        insert_event(
            &tx,
            lid,
            milestone_item,
            "run_finished",
            serde_json::json!({ "run_id": run_id, "status": end.as_str() }),
        )?;
        if end == RunEnd::Passed {
            if let Some(item) = milestone_item {
                if current_status(&tx, lid, item)? != Status::Done {
                    set_status_tx(
                        &tx,
                        lid,
                        item,
                        Status::Done,
                        &format!("run {run_id} passed"),
                    )?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn runs(&self, learner: &str) -> Result<Vec<Run>> {
        let mut stmt = self.conn.prepare(
            "SELECT r.id, r.phase_id, r.runner, r.kind, r.started_at, r.finished_at, r.duration_seconds, r.status,
                    r.params, r.metrics, r.criteria, r.error, r.artifact_dir, r.tool_version
             FROM runs r JOIN learners l ON l.id = r.learner_id WHERE l.name = ?1 ORDER BY r.started_at, r.id",
        )?;
        let rows = stmt.query_map([learner], |r| {
            let json =
                |i: usize| -> rusqlite::Result<serde_json::Value> {
                    Ok(serde_json::from_str(&r.get::<_, String>(i)?)
                        .unwrap_or(serde_json::Value::Null))
                };
            Ok(Run {
                id: r.get(0)?,
                phase_id: r.get(1)?,
                runner: r.get(2)?,
                kind: r.get(3)?,
                started_at: r.get(4)?,
                finished_at: r.get(5)?,
                duration_seconds: r.get(6)?,
                status: r.get(7)?,
                params: json(8)?,
                metrics: serde_json::from_str(&r.get::<_, String>(9)?).unwrap_or_default(),
                criteria: json(10)?,
                error: r.get(11)?,
                artifact_dir: r.get(12)?,
                tool_version: r.get(13)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The newest model called `name` that a passed run registered.
    pub fn latest_model(&self, name: &str) -> Result<Option<PathBuf>> {
        Ok(self
            .conn
            .query_row(
                "SELECT m.path FROM models m JOIN runs r ON r.id = m.run_id
                 WHERE m.name = ?1 AND r.status = 'passed' ORDER BY m.created_at DESC, m.id DESC LIMIT 1",
                [name],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .map(PathBuf::from))
    }

    /// Every model a passed run registered, by name, newest first per name.
    pub fn latest_models(&self) -> Result<BTreeMap<String, PathBuf>> {
        let mut stmt = self.conn.prepare(
            "SELECT m.name, m.path FROM models m JOIN runs r ON r.id = m.run_id
             WHERE r.status = 'passed' ORDER BY m.created_at ASC, m.id ASC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                PathBuf::from(r.get::<_, String>(1)?),
            ))
        })?;
        // Later rows overwrite earlier ones, so the newest wins.
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

fn current_status(tx: &rusqlite::Transaction<'_>, lid: i64, item: &str) -> Result<Status> {
    Ok(tx
        .query_row(
            "SELECT status FROM item_status WHERE learner_id = ?1 AND item_id = ?2",
            params![lid, item],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .map(|s| Status::parse(&s))
        .unwrap_or(Status::Todo))
}

fn set_status_tx(
    tx: &rusqlite::Transaction<'_>,
    lid: i64,
    item: &str,
    status: Status,
    reason: &str,
) -> Result<Status> {
    let previous = current_status(tx, lid, item)?;
    let at = now();
    let started = matches!(status, Status::InProgress | Status::Done).then(|| at.clone());
    let finished = matches!(status, Status::Done | Status::Skipped).then(|| at.clone());
    tx.execute(
        "INSERT INTO item_status (learner_id, item_id, status, started_at, finished_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (learner_id, item_id) DO UPDATE SET
             status = excluded.status,
             started_at = COALESCE(item_status.started_at, excluded.started_at),
             finished_at = excluded.finished_at,
             updated_at = excluded.updated_at",
        params![lid, item, status.as_str(), started, finished, at],
    )?;
    insert_event(
        tx,
        lid,
        Some(item),
        "status",
        serde_json::json!({ "from": previous.as_str(), "to": status.as_str(), "reason": reason }),
    )?;
    Ok(previous)
}

fn insert_event(
    tx: &rusqlite::Transaction<'_>,
    lid: i64,
    item: Option<&str>,
    kind: &str,
    detail: serde_json::Value,
) -> Result<()> {
    tx.execute(
        "INSERT INTO events (learner_id, at, item_id, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![lid, now(), item, kind, detail.to_string()],
    )?;
    Ok(())
}

fn seconds_between(start: &str, end: &str) -> Option<f64> {
    let s = chrono::DateTime::parse_from_rfc3339(start).ok()?;
    let e = chrono::DateTime::parse_from_rfc3339(end).ok()?;
    Some((e - s).num_milliseconds() as f64 / 1000.0)
}

fn not_a_db(path: &Path, e: rusqlite::Error) -> anyhow::Error {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if f.code == rusqlite::ErrorCode::NotADatabase {
            return anyhow::anyhow!(
                "{} is not a SQLite database (is --db / ROADMAP_DB pointing at the right file?)",
                path.display()
            );
        }
    }
    anyhow::Error::new(e).context(format!(
        "cannot read the progress database {}",
        path.display()
    ))
}

fn newer_schema(path: &Path, version: i64) -> String {
    format!(
        "{} was written by a newer roadmap (schema version {version}; this binary, {}, knows up to {SCHEMA_VERSION}): \
         upgrade roadmap, or point --db at another file",
        path.display(),
        env!("CARGO_PKG_VERSION")
    )
}

/// A process's start time as the kernel reports it (Linux `/proc/PID/stat`
/// field 22), so a reused pid is not mistaken for the original process.
fn process_start_time(pid: i64) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is parenthesised and may contain spaces.
    let after = &stat[stat.rfind(')')? + 2..];
    let mut fields = after.split_whitespace();
    // A zombie (killed, not yet reaped by its parent) is not running anything.
    if matches!(fields.next(), Some("Z" | "X")) {
        return None;
    }
    fields.nth(18).map(str::to_string)
}

fn process_alive(pid: Option<i64>, start: Option<&str>) -> bool {
    let Some(pid) = pid else { return false };
    if !Path::new("/proc/self/stat").exists() {
        // No procfs (not Linux): without a way to tell, never steal a live run.
        return true;
    }
    match process_start_time(pid) {
        None => false,
        Some(now_start) => start.is_none_or(|s| s == now_start),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_from_version_one_keeping_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO learners (name, created_at) VALUES ('ada', '2026-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
        }
        let mut db = Db::open(&path).unwrap();
        assert_eq!(db.user_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(db.learners().unwrap(), ["ada"]);
        db.set_status("ada", "phase1.milestone", Status::Done, "test")
            .unwrap();
        assert!(db.latest_model("sentiment").unwrap().is_none());
    }

    #[test]
    fn events_are_append_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("p.db")).unwrap();
        db.add_note("ada", "phase1.milestone", "hello").unwrap();
        assert!(db.conn.execute("DELETE FROM events", []).is_err());
        assert!(db.conn.execute("UPDATE events SET kind = 'x'", []).is_err());
    }

    #[test]
    fn dead_process_runs_become_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let mut db = Db::open(&path).unwrap();
        let id = db
            .begin_run(
                "ada",
                "phase1",
                "selftest",
                "run",
                &serde_json::json!({}),
                dir.path(),
            )
            .unwrap();
        // Pretend the run belongs to a process that is gone.
        db.conn
            .execute(
                "UPDATE runs SET pid = 0, pid_start = 'gone' WHERE id = ?1",
                [id],
            )
            .unwrap();
        drop(db);
        let db = Db::open(&path).unwrap();
        assert_eq!(db.runs("ada").unwrap()[0].status, "interrupted");
    }
}
