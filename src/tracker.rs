//! The tracker's changes, one function per change, shared by every interface.
//!
//! `roadmap start|done|skip|reset|log|note` (src/cli), the TUI (src/tui) and
//! anything else that changes a learner's progress call these functions, so
//! the checks, the error messages and the rows written (item status, the
//! events log, sessions, notes) are the same whichever interface was used.
//! Each function validates its input against the roadmap first, then makes
//! its change in one database transaction (see [`crate::db`]).

use anyhow::{anyhow, bail, Result};
use chrono::NaiveDate;

use crate::db::{Db, Status};
use crate::progress;
use crate::roadmap::Roadmap;

/// Fails with the nearest known ids when `id` is not a phase or item.
pub fn check_id(roadmap: &Roadmap, id: &str) -> Result<()> {
    if roadmap.phase(id).is_some() || roadmap.item(id).is_some() {
        return Ok(());
    }
    let hints = roadmap.suggest(id);
    if hints.is_empty() {
        bail!("unknown id `{id}`: `roadmap show` lists the phases, `roadmap show PHASE` its items");
    }
    bail!("unknown id `{id}`: did you mean {}?", hints.join(", "))
}

/// Fails unless `id` is an item (a phase has no status of its own).
pub fn check_item(roadmap: &Roadmap, id: &str) -> Result<()> {
    check_id(roadmap, id)?;
    if let Some(phase) = roadmap.phase(id) {
        let items: Vec<_> = phase.items().iter().map(|i| i.id.to_string()).collect();
        bail!(
            "`{id}` is a phase; mark one of its items instead: {}",
            items.join(", ")
        );
    }
    Ok(())
}

/// `start` / `done` / `skip`: sets an item's status; returns the previous one.
pub fn set_status(
    db: &mut Db,
    roadmap: &Roadmap,
    learner: &str,
    item: &str,
    status: Status,
) -> Result<Status> {
    check_item(roadmap, item)?;
    db.set_status(learner, item, status, "set by hand")
}

/// `reset`: forgets an item's status (back to todo); returns the previous one.
/// Sessions and notes are kept. Interfaces ask for confirmation first.
pub fn reset(db: &mut Db, roadmap: &Roadmap, learner: &str, item: &str) -> Result<Status> {
    check_item(roadmap, item)?;
    db.reset(learner, item)
}

/// A study session as typed by the learner: `roadmap log DURATION ITEM
/// [--date D] [--note N]` or the TUI's log form.
#[derive(Debug, Clone, Default)]
pub struct SessionInput<'a> {
    /// `90m`, `1h30m`, `2h`, `1.5h` ([`progress::parse_duration`]).
    pub duration: &'a str,
    pub item: &'a str,
    /// `YYYY-MM-DD`; `None` or blank means today.
    pub date: Option<&'a str>,
    /// Blank means no note.
    pub note: Option<&'a str>,
}

/// A checked session, ready to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub item: String,
    pub minutes: i64,
    pub date: NaiveDate,
    pub note: Option<String>,
}

impl SessionInput<'_> {
    /// Parses and checks a session without touching the database: the
    /// duration, the item, the date (not in the future).
    pub fn check(&self, roadmap: &Roadmap, today: NaiveDate) -> Result<NewSession> {
        let minutes = progress::parse_duration(self.duration).map_err(|e| anyhow!(e))?;
        check_id(roadmap, self.item)?;
        let date = match self.date.map(str::trim).filter(|d| !d.is_empty()) {
            None => today,
            Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                anyhow!("--date `{d}` is not a date: use YYYY-MM-DD, for example 2026-03-01")
            })?,
        };
        if date > today {
            bail!("--date {date} is in the future");
        }
        Ok(NewSession {
            item: self.item.to_string(),
            minutes,
            date,
            note: self
                .note
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string),
        })
    }
}

/// `log`: records a checked session; logging time on a todo item starts it.
pub fn log_session(db: &mut Db, learner: &str, s: &NewSession) -> Result<()> {
    db.log_session(learner, &s.item, s.date, s.minutes, s.note.as_deref())
}

/// `note`: attaches a note (trimmed, not empty) to an item or phase.
pub fn add_note(
    db: &mut Db,
    roadmap: &Roadmap,
    learner: &str,
    item: &str,
    text: &str,
) -> Result<()> {
    check_note(roadmap, item, text)?;
    db.add_note(learner, item, text.trim())
}

/// The checks of [`add_note`], without the database.
pub fn check_note(roadmap: &Roadmap, item: &str, text: &str) -> Result<()> {
    check_id(roadmap, item)?;
    if text.trim().is_empty() {
        bail!("the note is empty");
    }
    Ok(())
}
