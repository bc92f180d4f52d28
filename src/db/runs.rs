//! Milestone runs (begun as `running`, finished in one transaction, marked
//! `interrupted` when their process is gone) and the models they registered.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::progress::{current_status, set_status_tx};
use super::{insert_event, json_column, now, seconds_between, Db, Status};

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

/// How a run ended and everything recorded with it, in one transaction.
#[derive(Debug, Clone, Copy)]
pub struct RunFinish<'a> {
    pub end: RunEnd,
    pub params: &'a serde_json::Value,
    pub metrics: &'a BTreeMap<String, f64>,
    pub criteria: &'a serde_json::Value,
    pub error: Option<&'a str>,
    pub models: &'a [NewModel],
    /// The milestone the run belongs to (its events name it).
    pub milestone_item: Option<&'a str>,
    /// Items the run completes: the milestone when it passed, and items whose
    /// own checks passed (phase 6's requirements).
    pub completes: &'a [String],
}

/// A model to register with a finished run.
#[derive(Debug, Clone)]
pub struct NewModel {
    pub name: String,
    pub version: String,
    pub path: PathBuf,
}

impl Db {
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
    pub fn finish_run(&mut self, run_id: i64, f: &RunFinish<'_>) -> Result<()> {
        let RunFinish {
            end,
            params,
            metrics,
            criteria,
            error,
            models,
            milestone_item,
            completes,
        } = *f;
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
        for item in completes {
            if current_status(&tx, lid, item)? != Status::Done {
                let why = if Some(item.as_str()) == milestone_item {
                    format!("run {run_id} passed")
                } else {
                    format!("its check passed in run {run_id}")
                };
                set_status_tx(&tx, lid, item, Status::Done, &why)?;
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
            Ok(Run {
                id: r.get(0)?,
                phase_id: r.get(1)?,
                runner: r.get(2)?,
                kind: r.get(3)?,
                started_at: r.get(4)?,
                finished_at: r.get(5)?,
                duration_seconds: r.get(6)?,
                status: r.get(7)?,
                params: json_column(r, 8, "runs", "params")?,
                metrics: json_column(r, 9, "runs", "metrics")?,
                criteria: json_column(r, 10, "runs", "criteria")?,
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
