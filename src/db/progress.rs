//! Learners, item status, the append-only event log, study sessions and notes.

use std::collections::HashMap;

use anyhow::Result;
use chrono::NaiveDate;
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::{insert_event, json_column, now, Db};

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

impl Db {
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

    pub(super) fn require_learner(&mut self, name: &str) -> Result<i64> {
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
                detail: json_column(r, 4, "events", "detail")?,
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
}

pub(super) fn current_status(
    tx: &rusqlite::Transaction<'_>,
    lid: i64,
    item: &str,
) -> Result<Status> {
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

pub(super) fn set_status_tx(
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
