//! The progress database (SQLite, via rusqlite with the bundled library).
//!
//! One file holds every learner's progress: item status, an append-only event
//! log, study sessions, notes, milestone runs and the models they produced.
//! The schema is versioned with `PRAGMA user_version` and migrated forward in
//! one transaction; a file written by a newer binary is refused rather than
//! guessed at. Every write is a transaction (`BEGIN IMMEDIATE`, so concurrent
//! writers queue on the busy timeout instead of failing), which is what keeps
//! a killed process from leaving half a change behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use chrono::{SecondsFormat, Utc};
use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};

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

mod progress;
mod runs;

pub use progress::{Event, ItemState, Note, Session, Status};
pub use runs::{NewModel, Run, RunEnd, RunFinish};

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

/// A JSON column of a row whose column 0 is its id. Corrupt JSON is an error
/// naming the table, row and column — never a silent `null` that a report
/// would then show as "no metrics".
fn json_column<T: serde::de::DeserializeOwned>(
    r: &rusqlite::Row<'_>,
    idx: usize,
    table: &'static str,
    column: &'static str,
) -> rusqlite::Result<T> {
    let text: String = r.get(idx)?;
    serde_json::from_str(&text).map_err(|e| {
        let id: i64 = r.get(0).unwrap_or(-1);
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            format!(
                "{table} row {id}: column `{column}` is not valid JSON ({e}); the database was edited by hand or damaged — repair or delete that row"
            )
            .into(),
        )
    })
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
