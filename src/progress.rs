//! Progress arithmetic shared by `status`, `report` and `cohort`: items done
//! per phase, the current phase, the next step, time logged and the pace.
//!
//! The pace weighs each phase by the midpoint of its planned duration, so
//! finishing a 3-month phase counts for more than finishing a 1.5-month one,
//! then extrapolates the learner's rate since their first recorded activity.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use serde::Serialize;

use crate::db::{ItemState, Run, Session, Status};
use crate::roadmap::{ItemKind, Months, Roadmap};

#[derive(Debug, Clone, Serialize)]
pub struct PhaseProgress {
    pub id: String,
    pub title: String,
    pub duration_months: Months,
    pub total: usize,
    pub done: usize,
    pub skipped: usize,
    pub in_progress: usize,
    pub minutes: i64,
    /// `done`, `passed`, `failed`, `interrupted`, `running`, `not run` or `tracked by hand`.
    pub milestone: String,
}

impl PhaseProgress {
    pub fn complete(&self) -> bool {
        self.done + self.skipped == self.total
    }

    /// Share of the phase finished (skipped items count as dealt with).
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            (self.done + self.skipped) as f64 / self.total as f64
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Pace {
    pub started: NaiveDate,
    pub days_elapsed: i64,
    pub fraction_done: f64,
    /// Projected total length of the roadmap at the learner's rate, in months.
    pub projected_months: Option<f64>,
    pub forecast_finish: Option<NaiveDate>,
    /// How the projection compares with the plans.
    pub verdict: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub learner: String,
    pub phases: Vec<PhaseProgress>,
    pub current_phase: Option<String>,
    pub next_step: String,
    pub total_minutes: i64,
    pub pace: Option<Pace>,
}

const DAYS_PER_MONTH: f64 = 30.436_875;

pub fn overview(
    roadmap: &Roadmap,
    learner: &str,
    states: &HashMap<String, ItemState>,
    sessions: &[Session],
    runs: &[Run],
    first_activity: Option<NaiveDate>,
    today: NaiveDate,
) -> Overview {
    let status_of = |id: &str| states.get(id).map(|s| s.status).unwrap_or(Status::Todo);
    let mut phases = Vec::new();
    for phase in &roadmap.phases {
        let items = phase.items();
        let count = |st: Status| items.iter().filter(|i| status_of(i.id) == st).count();
        let minutes = sessions
            .iter()
            .filter(|s| items.iter().any(|i| i.id == s.item_id) || s.item_id == phase.id)
            .map(|s| s.minutes)
            .sum();
        let milestone = match &phase.milestone {
            None => "none".to_string(),
            Some(m) if status_of(&m.id) == Status::Done => "done".to_string(),
            Some(m) if m.runner.is_none() => "tracked by hand".to_string(),
            Some(_) => runs
                .iter()
                .rev()
                .find(|r| r.phase_id == phase.id)
                .map(|r| format!("{} ({} #{})", r.status, r.kind, r.id))
                .unwrap_or_else(|| "not run".to_string()),
        };
        phases.push(PhaseProgress {
            id: phase.id.clone(),
            title: phase.title.clone(),
            duration_months: phase.duration_months,
            total: items.len(),
            done: count(Status::Done),
            skipped: count(Status::Skipped),
            in_progress: count(Status::InProgress),
            minutes,
            milestone,
        });
    }

    let current = roadmap
        .phases
        .iter()
        .zip(&phases)
        .find(|(_, p)| !p.complete())
        .map(|(phase, _)| phase);
    let next_step = match current {
        None => "Every phase is complete. Well done!".to_string(),
        Some(phase) => {
            let items = phase.items();
            let next = items
                .iter()
                .find(|i| status_of(i.id) == Status::InProgress)
                .or_else(|| items.iter().find(|i| status_of(i.id) == Status::Todo))
                .expect("an incomplete phase has an open item");
            let verb = if status_of(next.id) == Status::InProgress {
                "continue"
            } else {
                "start"
            };
            match (
                next.kind,
                phase.milestone.as_ref().and_then(|m| m.runner.as_ref()),
            ) {
                (ItemKind::Milestone, Some(runner)) => {
                    let verify = crate::runners::find(runner)
                        .filter(|r| r.verify_command().is_some())
                        .map(|_| format!(", and check your own with `roadmap verify {}`", phase.id))
                        .unwrap_or_default();
                    format!(
                        "{}: build the milestone \"{}\"; run the reference with `roadmap run {}`{verify}",
                        phase.id, next.title, phase.id
                    )
                }
                _ => format!(
                    "{verb} \"{}\" ({}): `roadmap {} {}`, then `roadmap done {}`",
                    next.title,
                    next.id,
                    if verb == "start" { "start" } else { "log 1h" },
                    next.id,
                    next.id
                ),
            }
        }
    };

    let total_minutes = sessions.iter().map(|s| s.minutes).sum();
    let weight: f64 = phases.iter().map(|p| p.duration_months.mid()).sum();
    let fraction_done = phases
        .iter()
        .map(|p| p.duration_months.mid() * p.fraction())
        .sum::<f64>()
        / weight;
    let pace = first_activity.map(|started| {
        let days_elapsed = (today - started).num_days().max(0);
        let (projected_months, forecast_finish) = if fraction_done > 0.0 && days_elapsed >= 1 {
            let total_days = days_elapsed as f64 / fraction_done;
            (
                Some(total_days / DAYS_PER_MONTH),
                started.checked_add_days(Days::new(total_days.round() as u64)),
            )
        } else {
            (None, None)
        };
        let t = &roadmap.timeline;
        let verdict = match projected_months {
            None => "not enough activity yet to forecast".to_string(),
            Some(m) if m < t.focused_months.min => {
                format!("ahead of the focused plan ({})", t.focused_months)
            }
            Some(m) if m <= t.focused_months.max => {
                format!("on the focused plan ({})", t.focused_months)
            }
            Some(m) if m <= t.part_time_months.min => format!(
                "between the focused ({}) and part-time ({}) plans",
                t.focused_months, t.part_time_months
            ),
            Some(m) if m <= t.part_time_months.max => {
                format!("on the part-time plan ({})", t.part_time_months)
            }
            Some(_) => format!("behind the part-time plan ({})", t.part_time_months),
        };
        Pace {
            started,
            days_elapsed,
            fraction_done,
            projected_months,
            forecast_finish,
            verdict,
        }
    });

    Overview {
        learner: learner.to_string(),
        phases,
        current_phase: current.map(|p| p.id.clone()),
        next_step,
        total_minutes,
        pace,
    }
}

/// `90m`, `1h30m`, `2h`, `1.5h` → minutes.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "`{s}` is not a duration: use minutes and hours like `90m`, `1h30m`, `2h` or `1.5h`"
        )
    };
    let t = s.trim().to_ascii_lowercase();
    if t.is_empty() {
        return Err(bad());
    }
    let mut minutes = 0.0;
    let mut number = String::new();
    let mut saw_unit = false;
    for c in t.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
        } else if c == 'h' || c == 'm' {
            let n: f64 = number.parse().map_err(|_| bad())?;
            minutes += if c == 'h' { n * 60.0 } else { n };
            number.clear();
            saw_unit = true;
        } else {
            return Err(bad());
        }
    }
    if !number.is_empty() || !saw_unit {
        return Err(bad());
    }
    let minutes = minutes.round() as i64;
    if minutes <= 0 {
        return Err(format!(
            "`{s}` is no time at all: a session needs at least one minute"
        ));
    }
    if minutes > 24 * 60 {
        return Err(format!(
            "`{s}` is more than a day: log each day's session separately"
        ));
    }
    Ok(minutes)
}

/// A text progress bar, `width` cells wide.
pub fn bar(fraction: f64, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

pub fn hours(minutes: i64) -> String {
    format!("{}h{:02}m", minutes / 60, minutes % 60)
}

/// Everything `overview` needs, read from the database for one learner.
pub fn for_learner(
    db: &crate::db::Db,
    roadmap: &Roadmap,
    learner: &str,
    today: NaiveDate,
) -> anyhow::Result<Overview> {
    let states = db.item_states(learner)?;
    let sessions = db.sessions(learner)?;
    let runs = db.runs(learner)?;
    let created = db
        .learner_created(learner)?
        .and_then(|c| chrono::DateTime::parse_from_rfc3339(&c).ok())
        .map(|d| d.date_naive());
    let first_session = sessions
        .iter()
        .filter_map(|s| s.date.parse::<NaiveDate>().ok())
        .min();
    let first_activity = match (created, first_session) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(overview(
        roadmap,
        learner,
        &states,
        &sessions,
        &runs,
        first_activity,
        today,
    ))
}

/// Study time of one calendar week (Monday to Sunday).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Week {
    /// The Monday that starts the week.
    pub start: NaiveDate,
    pub minutes: i64,
}

/// Minutes logged per week over the `weeks` weeks ending with the one that
/// holds `today`, oldest first (the TUI's chart and the dashboard's).
/// Sessions outside the window are ignored; an empty week is 0.
pub fn weekly_minutes(sessions: &[Session], today: NaiveDate, weeks: usize) -> Vec<Week> {
    use chrono::Datelike;
    let this_monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    let mut out: Vec<Week> = (0..weeks)
        .rev()
        .map(|i| Week {
            start: this_monday - Days::new(7 * i as u64),
            minutes: 0,
        })
        .collect();
    for s in sessions {
        let Ok(date) = s.date.parse::<NaiveDate>() else {
            continue;
        };
        if let Some(w) = out
            .iter_mut()
            .find(|w| date >= w.start && date < w.start + Days::new(7))
        {
            w.minutes += s.minutes;
        }
    }
    out
}

pub fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90m"), Ok(90));
        assert_eq!(parse_duration("1h30m"), Ok(90));
        assert_eq!(parse_duration("2h"), Ok(120));
        assert_eq!(parse_duration("1.5h"), Ok(90));
        assert!(parse_duration("90").is_err());
        assert!(parse_duration("0m").is_err());
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("25h").is_err());
    }

    #[test]
    fn weeks_start_on_monday_and_end_with_this_week() {
        let session = |date: &str, minutes| Session {
            item_id: "x".into(),
            date: date.into(),
            minutes,
            note: None,
        };
        // 2026-03-04 is a Wednesday; its week starts on Monday 2026-03-02.
        let today = NaiveDate::from_ymd_opt(2026, 3, 4).unwrap();
        let sessions = [
            session("2026-03-02", 30),
            session("2026-03-01", 45), // the Sunday before: previous week
            session("2026-03-04", 15),
            session("2025-01-01", 600), // outside the window
        ];
        let w = weekly_minutes(&sessions, today, 3);
        assert_eq!(w.len(), 3);
        assert_eq!(w[2].start.to_string(), "2026-03-02");
        assert_eq!(w[2].minutes, 45);
        assert_eq!(w[1].start.to_string(), "2026-02-23");
        assert_eq!(w[1].minutes, 45);
        assert_eq!(w[0].minutes, 0);
    }

    #[test]
    fn bars() {
        assert_eq!(bar(0.5, 4), "██░░");
        assert_eq!(bar(1.0, 2), "██");
        assert_eq!(bar(0.0, 2), "░░");
    }
}
