//! What the dashboard's pages (and `roadmap report --format html`) show,
//! computed from read-only databases into plain serialisable structs that the
//! templates only lay out.
//!
//! The weekly chart's geometry is computed here (bar heights proportional to
//! minutes, the tallest bar filling the plot), so templates draw SVG `<rect>`s
//! without arithmetic.

use std::path::Path;

use anyhow::Result;
use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;

use crate::db::{Db, Run};
use crate::progress::{self, hours, Overview};
use crate::roadmap::Roadmap;

/// How a milestone or run status is coloured: `ok`, `bad`, `warn` or `none`.
pub fn status_class(s: &str) -> &'static str {
    if s.starts_with("done") || s.starts_with("passed") {
        "ok"
    } else if s.starts_with("failed") || s.starts_with("behind") {
        "bad"
    } else if s.starts_with("interrupted")
        || s.starts_with("running")
        || s.starts_with("between")
        || s.starts_with("on the part-time")
    {
        "warn"
    } else if s.starts_with("ahead") || s.starts_with("on the focused") {
        "ok"
    } else {
        "none"
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MilestoneCell {
    pub phase: String,
    pub label: String,
    pub class: &'static str,
}

/// One row of the cohort table.
#[derive(Debug, Clone, Serialize)]
pub struct CohortRow {
    pub db: usize,
    pub db_name: String,
    pub learner: String,
    pub current_phase: String,
    /// Share of the roadmap done, weighted by phase duration (as the pace uses it), in %.
    pub percent_done: f64,
    pub minutes_week: i64,
    pub minutes_month: i64,
    pub time_week: String,
    pub time_month: String,
    /// Date-time of the newest event, or empty.
    pub last_activity: String,
    pub pace: String,
    pub pace_class: &'static str,
    pub milestones: Vec<MilestoneCell>,
}

/// The display name of a database: its file name.
pub fn db_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn share_done(o: &Overview) -> f64 {
    o.pace.as_ref().map_or(0.0, |p| p.fraction_done * 100.0)
}

/// The cohort rows of one database (one per learner).
pub fn cohort_rows(
    db: &Db,
    index: usize,
    roadmap: &Roadmap,
    today: NaiveDate,
) -> Result<Vec<CohortRow>> {
    let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    let first_of_month = today.with_day(1).expect("day 1 exists");
    let mut rows = Vec::new();
    for learner in db.learners()? {
        let o = progress::for_learner(db, roadmap, &learner, today)?;
        let sessions = db.sessions(&learner)?;
        let since = |from: NaiveDate| -> i64 {
            sessions
                .iter()
                .filter(|s| {
                    s.date
                        .parse::<NaiveDate>()
                        .is_ok_and(|d| d >= from && d <= today)
                })
                .map(|s| s.minutes)
                .sum()
        };
        let (week, month) = (since(monday), since(first_of_month));
        let last_activity = db
            .events(&learner, None)?
            .last()
            .map(|e| e.at.get(..16).unwrap_or(&e.at).replace('T', " "))
            .unwrap_or_default();
        let pace = o
            .pace
            .as_ref()
            .map_or_else(|| "no activity yet".to_string(), |p| p.verdict.clone());
        rows.push(CohortRow {
            db: index,
            db_name: db_name(db.path()),
            current_phase: o.current_phase.clone().unwrap_or_else(|| "finished".into()),
            percent_done: share_done(&o),
            minutes_week: week,
            minutes_month: month,
            time_week: hours(week),
            time_month: hours(month),
            last_activity,
            pace_class: status_class(&pace),
            pace,
            milestones: o
                .phases
                .iter()
                .map(|p| MilestoneCell {
                    phase: p.id.clone(),
                    label: p.milestone.clone(),
                    class: status_class(&p.milestone),
                })
                .collect(),
            learner,
        });
    }
    Ok(rows)
}

/// Sorts cohort rows by a column name (unknown names sort by learner).
pub fn sort_rows(rows: &mut [CohortRow], column: &str, descending: bool) {
    rows.sort_by(|a, b| {
        let o = match column {
            "phase" => a.current_phase.cmp(&b.current_phase),
            "done" => a.percent_done.total_cmp(&b.percent_done),
            "week" => a.minutes_week.cmp(&b.minutes_week),
            "month" => a.minutes_month.cmp(&b.minutes_month),
            "last" => a.last_activity.cmp(&b.last_activity),
            "pace" => a.pace.cmp(&b.pace),
            "db" => a.db_name.cmp(&b.db_name),
            _ => a.learner.cmp(&b.learner),
        }
        .then_with(|| a.learner.cmp(&b.learner));
        if descending {
            o.reverse()
        } else {
            o
        }
    });
}

/// A bar of the weekly chart, in SVG user units.
#[derive(Debug, Clone, Serialize)]
pub struct ChartBar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub label: String,
    pub value: String,
    pub title: String,
}

/// The study-time-per-week chart: `weeks` bars ending with the current week.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub width: f64,
    pub height: f64,
    /// The plot's bottom edge (bars stand on it; labels go under it).
    pub baseline: f64,
    pub bars: Vec<ChartBar>,
    pub max_label: String,
}

pub const CHART_WEEKS: usize = 12;

pub fn weekly_chart(sessions: &[crate::db::Session], today: NaiveDate) -> Chart {
    let weeks = progress::weekly_minutes(sessions, today, CHART_WEEKS);
    let (width, height, baseline, top) = (600.0, 220.0, 180.0, 20.0);
    let max = weeks.iter().map(|w| w.minutes).max().unwrap_or(0).max(1) as f64;
    let slot = width / weeks.len() as f64;
    let bars = weeks
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let h = (baseline - top) * w.minutes as f64 / max;
            ChartBar {
                x: i as f64 * slot + slot * 0.15,
                y: baseline - h,
                width: slot * 0.7,
                height: h,
                label: w.start.format("%m-%d").to_string(),
                value: if w.minutes > 0 {
                    format!("{:.1}", w.minutes as f64 / 60.0)
                } else {
                    String::new()
                },
                title: format!("week of {}: {}", w.start, hours(w.minutes)),
            }
        })
        .collect();
    Chart {
        width,
        height,
        baseline,
        bars,
        max_label: hours(max as i64),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CriterionView {
    pub criterion: String,
    pub actual: String,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Artifact {
    pub name: String,
    /// A link (dashboard) or none (static report: the path is shown).
    pub url: Option<String>,
    pub path: String,
    pub image: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    pub id: i64,
    pub kind: String,
    pub runner: String,
    pub status: String,
    pub class: &'static str,
    pub started: String,
    pub duration: String,
    pub metrics: Vec<(String, String)>,
    pub criteria: Vec<CriterionView>,
    pub error: Option<String>,
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseView {
    pub id: String,
    pub title: String,
    pub percent: f64,
    pub done: usize,
    pub skipped: usize,
    pub total: usize,
    pub time: String,
    pub milestone_title: String,
    pub milestone: String,
    pub class: &'static str,
    pub criteria: Vec<String>,
    pub items: Vec<ItemView>,
    pub runs: Vec<RunView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    pub id: String,
    pub title: String,
    pub status: String,
    pub class: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub at: String,
    pub item: String,
    pub kind: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoteView {
    pub at: String,
    pub item: String,
    pub text: String,
}

/// Everything about one learner: the learner page, and a section of the report.
#[derive(Debug, Clone, Serialize)]
pub struct LearnerView {
    pub learner: String,
    pub db: usize,
    pub db_name: String,
    pub current_phase: String,
    pub percent_done: f64,
    pub total_time: String,
    pub pace: String,
    pub pace_class: &'static str,
    pub next_step: String,
    pub chart: Chart,
    pub phases: Vec<PhaseView>,
    /// Newest first.
    pub events: Vec<EventView>,
    pub notes: Vec<NoteView>,
}

/// How artifact links are made: `/artifact/{db}/{run}/{file}` on the
/// dashboard, none in a static report.
#[derive(Debug, Clone, Copy)]
pub enum Links {
    Dashboard { db: usize },
    None,
}

/// Image files are shown inline; others are linked.
pub fn is_image(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [".svg", ".png", ".jpg", ".jpeg", ".gif"]
        .iter()
        .any(|e| n.ends_with(e))
}

/// The files directly inside a run's artifact folder (at most 50, by name).
pub fn artifacts(run: &Run, links: Links) -> Vec<Artifact> {
    let Some(dir) = &run.artifact_dir else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.truncate(50);
    names
        .into_iter()
        .map(|name| Artifact {
            url: match links {
                Links::Dashboard { db } => {
                    Some(format!("/artifact/{db}/{}/{}", run.id, url_segment(&name)))
                }
                Links::None => None,
            },
            path: Path::new(dir).join(&name).display().to_string(),
            image: is_image(&name),
            name,
        })
        .collect()
}

/// Percent-encodes a path segment (everything but unreserved characters).
pub fn url_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn run_view(r: &Run, links: Links) -> RunView {
    let criteria = r
        .criteria
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| CriterionView {
                    criterion: c["criterion"].as_str().unwrap_or("").to_string(),
                    actual: c["actual"]
                        .as_f64()
                        .map_or_else(|| "missing".into(), |v| format!("{v:.4}")),
                    passed: c["passed"].as_bool().unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default();
    RunView {
        id: r.id,
        kind: r.kind.clone(),
        runner: r.runner.clone(),
        status: r.status.clone(),
        class: status_class(&r.status),
        started: r
            .started_at
            .get(..19)
            .unwrap_or(&r.started_at)
            .replace('T', " "),
        duration: r
            .duration_seconds
            .map(|d| format!("{d:.1}s"))
            .unwrap_or_default(),
        metrics: r
            .metrics
            .iter()
            .map(|(k, v)| (k.clone(), format!("{v:.4}")))
            .collect(),
        criteria,
        error: r.error.clone(),
        artifacts: artifacts(r, links),
    }
}

/// One learner's page (or report section).
pub fn learner(
    db: &Db,
    index: usize,
    roadmap: &Roadmap,
    learner: &str,
    today: NaiveDate,
    links: Links,
) -> Result<LearnerView> {
    let o = progress::for_learner(db, roadmap, learner, today)?;
    let states = db.item_states(learner)?;
    let sessions = db.sessions(learner)?;
    let runs = db.runs(learner)?;
    let phases = roadmap
        .phases
        .iter()
        .zip(&o.phases)
        .map(|(phase, p)| PhaseView {
            id: p.id.clone(),
            title: p.title.clone(),
            percent: p.fraction() * 100.0,
            done: p.done,
            skipped: p.skipped,
            total: p.total,
            time: hours(p.minutes),
            milestone_title: phase
                .milestone
                .as_ref()
                .map(|m| m.title.clone())
                .unwrap_or_default(),
            milestone: p.milestone.clone(),
            class: status_class(&p.milestone),
            criteria: phase
                .milestone
                .as_ref()
                .map(|m| m.criteria.iter().map(|c| c.to_string()).collect())
                .unwrap_or_default(),
            items: phase
                .items()
                .iter()
                .map(|i| {
                    let s = states
                        .get(i.id)
                        .map(|s| s.status.as_str())
                        .unwrap_or("todo");
                    ItemView {
                        id: i.id.to_string(),
                        title: i.title.to_string(),
                        status: s.to_string(),
                        class: match s {
                            "done" => "ok",
                            "in_progress" => "warn",
                            _ => "none",
                        },
                    }
                })
                .collect(),
            runs: runs
                .iter()
                .rev()
                .filter(|r| r.phase_id == p.id)
                .map(|r| run_view(r, links))
                .collect(),
        })
        .collect();
    let mut events: Vec<EventView> = db
        .events(learner, None)?
        .into_iter()
        .map(|e| EventView {
            at: e.at.get(..19).unwrap_or(&e.at).replace('T', " "),
            item: e.item_id.unwrap_or_default(),
            kind: e.kind,
            detail: event_detail(&e.detail),
        })
        .collect();
    events.reverse();
    events.truncate(300);
    let notes = db
        .notes(learner)?
        .into_iter()
        .rev()
        .map(|n| NoteView {
            at: n.created_at.get(..10).unwrap_or(&n.created_at).to_string(),
            item: n.item_id,
            text: n.text,
        })
        .collect();
    let pace = o.pace.as_ref().map_or_else(
        || "no activity yet".to_string(),
        |p| match (p.forecast_finish, p.projected_months) {
            (Some(d), Some(m)) => {
                format!("forecast finish {d} (~{m:.1} months in all): {}", p.verdict)
            }
            _ => p.verdict.clone(),
        },
    );
    Ok(LearnerView {
        learner: learner.to_string(),
        db: index,
        db_name: db_name(db.path()),
        current_phase: o.current_phase.clone().unwrap_or_else(|| "finished".into()),
        percent_done: share_done(&o),
        total_time: hours(o.total_minutes),
        pace_class: status_class(o.pace.as_ref().map_or("", |p| p.verdict.as_str())),
        pace,
        next_step: o.next_step.clone(),
        chart: weekly_chart(&sessions, today),
        phases,
        events,
        notes,
    })
}

/// An event's JSON detail as `key=value` pairs.
fn event_detail(v: &serde_json::Value) -> String {
    match v.as_object() {
        Some(m) => m
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match v.as_str() {
                Some(s) => format!("{k}={s}"),
                None => format!("{k}={v}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        None => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_bars_scale_to_the_busiest_week() {
        let s = |date: &str, minutes| crate::db::Session {
            item_id: "x".into(),
            date: date.into(),
            minutes,
            note: None,
        };
        let today = NaiveDate::from_ymd_opt(2026, 3, 4).unwrap();
        let c = weekly_chart(&[s("2026-03-02", 120), s("2026-02-24", 60)], today);
        assert_eq!(c.bars.len(), CHART_WEEKS);
        let last = &c.bars[CHART_WEEKS - 1];
        let prev = &c.bars[CHART_WEEKS - 2];
        assert_eq!(last.y, 20.0); // the tallest bar reaches the top
        assert!((prev.height - last.height / 2.0).abs() < 1e-9);
        assert_eq!(c.bars[0].height, 0.0);
        assert_eq!(last.value, "2.0");
    }

    #[test]
    fn url_segments_are_encoded() {
        assert_eq!(url_segment("a b/c.svg"), "a%20b%2Fc.svg");
    }
}
