//! The TUI's state and what every key does, separate from drawing (`ui.rs`)
//! so key-driven tests need no terminal.
//!
//! Every change goes through [`crate::tracker`], the functions behind
//! `roadmap start|done|skip|reset|log|note`, so the TUI writes exactly the
//! rows (item status, events, sessions, notes) the CLI writes. Runs are
//! `roadmap run` child processes ([`super::run`]).

use std::collections::HashMap;

use anyhow::Result;
use chrono::NaiveDate;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::form::{LogForm, TextInput};
use super::run::{Launcher, RunPane};
use crate::db::{Db, ItemState, Note, Run, Session, Status};
use crate::progress::{self, Overview, Week};
use crate::roadmap::{Phase, Roadmap};
use crate::tracker::{self, SessionInput};

/// Weeks in the study-time chart.
pub const CHART_WEEKS: usize = 12;

/// What the screens show, read from the database in one go.
pub struct Data {
    pub overview: Overview,
    pub states: HashMap<String, ItemState>,
    pub sessions: Vec<Session>,
    pub notes: Vec<Note>,
    pub runs: Vec<Run>,
    pub weeks: Vec<Week>,
}

impl Data {
    pub fn load(db: &Db, roadmap: &Roadmap, learner: &str, today: NaiveDate) -> Result<Data> {
        let sessions = db.sessions(learner)?;
        Ok(Data {
            overview: progress::for_learner(db, roadmap, learner, today)?,
            states: db.item_states(learner)?,
            weeks: progress::weekly_minutes(&sessions, today, CHART_WEEKS),
            sessions,
            notes: db.notes(learner)?,
            runs: db.runs(learner)?,
        })
    }

    pub fn status(&self, item: &str) -> Status {
        self.states
            .get(item)
            .map(|s| s.status)
            .unwrap_or(Status::Todo)
    }

    pub fn minutes(&self, item: &str) -> i64 {
        self.sessions
            .iter()
            .filter(|s| s.item_id == item)
            .map(|s| s.minutes)
            .sum()
    }

    pub fn notes_of<'a>(&'a self, item: &'a str) -> impl Iterator<Item = &'a Note> + 'a {
        self.notes.iter().filter(move |n| n.item_id == item)
    }

    /// The phase's runs, newest first.
    pub fn runs_of<'a>(&'a self, phase: &'a str) -> impl Iterator<Item = &'a Run> + 'a {
        self.runs.iter().rev().filter(move |r| r.phase_id == phase)
    }
}

/// Which screen or dialog has the keyboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help,
    /// Reset the item to todo? (y/n)
    ConfirmReset(String),
    Log(LogForm),
    Note {
        item: String,
        input: TextInput,
    },
    Search {
        input: TextInput,
        selected: usize,
    },
    /// An item's details: resource, milestone, sessions, notes.
    Detail(String),
    /// Flags for `roadmap run PHASE` before starting it.
    RunArgs {
        phase: String,
        input: TextInput,
    },
    /// The run pane.
    Run,
}

/// The status line under the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub error: bool,
    pub text: String,
}

/// A search hit: where the item is and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub phase: usize,
    pub item: usize,
    pub id: String,
    pub title: String,
}

pub struct App {
    pub roadmap: Roadmap,
    db: Db,
    pub learner: String,
    pub today: NaiveDate,
    pub data: Data,
    /// Selected phase (index into `roadmap.phases`) and item (into its items()).
    pub phase: usize,
    pub item: usize,
    pub mode: Mode,
    pub message: Option<Message>,
    pub quit: bool,
    pub run: Option<RunPane>,
    launcher: Option<Launcher>,
}

impl App {
    /// Opens on the current phase (the first unfinished one) at its first open item.
    pub fn new(
        roadmap: Roadmap,
        db: Db,
        learner: String,
        today: NaiveDate,
        launcher: Option<Launcher>,
    ) -> Result<App> {
        let data = Data::load(&db, &roadmap, &learner, today)?;
        let phase = data
            .overview
            .current_phase
            .as_ref()
            .and_then(|id| roadmap.phases.iter().position(|p| &p.id == id))
            .unwrap_or(0);
        let item = roadmap.phases[phase]
            .items()
            .iter()
            .position(|i| matches!(data.status(i.id), Status::Todo | Status::InProgress))
            .unwrap_or(0);
        Ok(App {
            roadmap,
            db,
            learner,
            today,
            data,
            phase,
            item,
            mode: Mode::Normal,
            message: None,
            quit: false,
            run: None,
            launcher,
        })
    }

    pub fn selected_phase(&self) -> &Phase {
        &self.roadmap.phases[self.phase]
    }

    pub fn selected_item(&self) -> Option<String> {
        self.selected_phase()
            .items()
            .get(self.item)
            .map(|i| i.id.to_string())
    }

    fn info(&mut self, text: String) {
        self.message = Some(Message { error: false, text });
    }

    fn error(&mut self, e: &anyhow::Error) {
        self.message = Some(Message {
            error: true,
            text: roadmap_common::redact::redact_text(&format!("{e:#}")),
        });
    }

    /// Re-reads everything (after a change, or a run another process recorded).
    pub fn reload(&mut self) {
        // As every command does on open: runs whose process is gone are interrupted.
        let loaded = self
            .db
            .mark_stale_runs()
            .and_then(|_| Data::load(&self.db, &self.roadmap, &self.learner, self.today));
        match loaded {
            Ok(d) => self.data = d,
            Err(e) => self.error(&e),
        }
    }

    /// Polls the run pane; reloads when its run has just ended.
    pub fn tick(&mut self) {
        let ended = self.run.as_mut().is_some_and(|r| r.poll());
        if ended {
            self.reload();
            let (phase, after) = match &self.run {
                Some(r) => (r.phase.clone(), r.after_run_id),
                None => return,
            };
            let recorded = self
                .data
                .runs
                .iter()
                .rev()
                .find(|r| r.phase_id == phase && r.id > after)
                .map(|r| (r.id, r.status.clone()));
            let text = match &recorded {
                Some((id, status)) => format!("run #{id} of {phase}: {status}"),
                None => format!("{phase}: the run could not start (see its output)"),
            };
            if let Some(r) = self.run.as_mut() {
                r.recorded = recorded;
            }
            self.info(text);
        }
    }

    pub fn key(&mut self, key: KeyEvent) {
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Normal => self.normal_key(key, ctrl_c),
            Mode::Help | Mode::Detail(_) => {} // any key closes
            Mode::ConfirmReset(item) => {
                if matches!(key.code, KeyCode::Char('y' | 'Y')) {
                    let r = tracker::reset(&mut self.db, &self.roadmap, &self.learner, &item);
                    self.after_change(r.map(|prev| format!("{item}: {} → todo", prev.as_str())));
                } else {
                    self.info(format!("{item}: not reset"));
                }
            }
            Mode::Log(form) => self.log_key(form, key, ctrl_c),
            Mode::Note { item, mut input } => match key.code {
                KeyCode::Esc => {}
                _ if ctrl_c => {}
                KeyCode::Enter => {
                    let r = tracker::add_note(
                        &mut self.db,
                        &self.roadmap,
                        &self.learner,
                        &item,
                        &input.value,
                    );
                    match r {
                        Ok(()) => self.after_change(Ok(format!("noted on {item}"))),
                        Err(e) => {
                            self.error(&e);
                            self.mode = Mode::Note { item, input };
                        }
                    }
                }
                _ => {
                    input.key(key);
                    self.mode = Mode::Note { item, input };
                }
            },
            Mode::Search {
                mut input,
                mut selected,
            } => {
                let hits = self.search(&input.value);
                match key.code {
                    KeyCode::Esc => {}
                    _ if ctrl_c => {}
                    KeyCode::Enter => match hits.get(selected) {
                        Some(h) => {
                            self.phase = h.phase;
                            self.item = h.item;
                        }
                        None => self.info(format!("no item matches `{}`", input.value)),
                    },
                    KeyCode::Down => {
                        selected = (selected + 1).min(hits.len().saturating_sub(1));
                        self.mode = Mode::Search { input, selected };
                    }
                    KeyCode::Up => {
                        selected = selected.saturating_sub(1);
                        self.mode = Mode::Search { input, selected };
                    }
                    _ => {
                        input.key(key);
                        self.mode = Mode::Search { input, selected: 0 };
                    }
                }
            }
            Mode::RunArgs { phase, mut input } => match key.code {
                KeyCode::Esc => {}
                _ if ctrl_c => {}
                KeyCode::Enter => {
                    let args: Vec<String> =
                        input.value.split_whitespace().map(str::to_string).collect();
                    self.start_run(&phase, &args);
                }
                _ => {
                    input.key(key);
                    self.mode = Mode::RunArgs { phase, input };
                }
            },
            Mode::Run => self.run_key(key, ctrl_c),
        }
    }

    fn run_key(&mut self, key: KeyEvent, ctrl_c: bool) {
        self.mode = Mode::Run;
        let Some(run) = self.run.as_mut() else {
            self.mode = Mode::Normal;
            return;
        };
        match key.code {
            _ if ctrl_c || key.code == KeyCode::Esc => {
                if run.running() {
                    run.cancel();
                    let phase = run.phase.clone();
                    self.info(format!(
                        "{phase}: cancelling (SIGINT sent; the run is recorded as interrupted)"
                    ));
                } else {
                    self.mode = Mode::Normal;
                }
            }
            KeyCode::Char('q') if !run.running() => self.mode = Mode::Normal,
            KeyCode::Char('b') if run.running() => self.mode = Mode::Normal,
            KeyCode::Up | KeyCode::Char('k') => run.scroll = run.scroll.saturating_add(1),
            KeyCode::Down | KeyCode::Char('j') => run.scroll = run.scroll.saturating_sub(1),
            KeyCode::PageUp => run.scroll = run.scroll.saturating_add(10),
            KeyCode::PageDown => run.scroll = run.scroll.saturating_sub(10),
            KeyCode::End => run.scroll = 0,
            _ => {}
        }
    }

    fn log_key(&mut self, mut form: LogForm, key: KeyEvent, ctrl_c: bool) {
        if key.code == KeyCode::Esc || ctrl_c {
            return;
        }
        if key.code != KeyCode::Enter {
            form.key(key);
            self.mode = Mode::Log(form);
            return;
        }
        let input = SessionInput {
            duration: form.duration(),
            item: &form.item,
            date: Some(form.date()),
            note: Some(form.note()),
        };
        let result = input
            .check(&self.roadmap, self.today)
            .and_then(|s| tracker::log_session(&mut self.db, &self.learner, &s).map(|()| s));
        match result {
            Ok(s) => self.after_change(Ok(format!(
                "logged {} on {} for {}",
                progress::hours(s.minutes),
                s.item,
                s.date
            ))),
            Err(e) => {
                form.error = Some(format!("{e:#}"));
                self.mode = Mode::Log(form);
            }
        }
    }

    fn after_change(&mut self, r: Result<String>) {
        match r {
            Ok(text) => {
                self.reload();
                self.info(text);
            }
            Err(e) => self.error(&e),
        }
    }

    fn set_status(&mut self, status: Status) {
        let Some(item) = self.selected_item() else {
            return;
        };
        let r = tracker::set_status(&mut self.db, &self.roadmap, &self.learner, &item, status);
        self.after_change(r.map(|prev| format!("{item}: {} → {}", prev.as_str(), status.as_str())));
    }

    fn normal_key(&mut self, key: KeyEvent, ctrl_c: bool) {
        let items = self.selected_phase().items().len();
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc if !ctrl_c => self.request_quit(),
            _ if ctrl_c => self.request_quit(),
            KeyCode::Char('?') => self.mode = Mode::Help,
            KeyCode::Down | KeyCode::Char('j') => {
                self.item = (self.item + 1).min(items.saturating_sub(1))
            }
            KeyCode::Up | KeyCode::Char('k') => self.item = self.item.saturating_sub(1),
            KeyCode::Right | KeyCode::Tab => self.select_phase(self.phase + 1),
            KeyCode::Left | KeyCode::BackTab => {
                self.select_phase(self.phase.checked_sub(1).unwrap_or(self.phase))
            }
            KeyCode::Char(c @ '1'..='9') => self.select_phase(c as usize - '1' as usize),
            KeyCode::Char('s') => self.set_status(Status::InProgress),
            KeyCode::Char('d') => self.set_status(Status::Done),
            KeyCode::Char('x') => self.set_status(Status::Skipped),
            KeyCode::Char('r') => {
                if let Some(item) = self.selected_item() {
                    self.mode = Mode::ConfirmReset(item);
                }
            }
            KeyCode::Char('l') => {
                if let Some(item) = self.selected_item() {
                    self.mode = Mode::Log(LogForm::new(&item));
                }
            }
            KeyCode::Char('n') => {
                if let Some(item) = self.selected_item() {
                    self.mode = Mode::Note {
                        item,
                        input: TextInput::default(),
                    };
                }
            }
            KeyCode::Char('/') => {
                self.mode = Mode::Search {
                    input: TextInput::default(),
                    selected: 0,
                }
            }
            KeyCode::Enter => {
                if let Some(item) = self.selected_item() {
                    self.mode = Mode::Detail(item);
                }
            }
            KeyCode::Char('R') => self.ask_run(),
            KeyCode::Char('v') => {
                if self.run.is_some() {
                    self.mode = Mode::Run;
                } else {
                    self.info("no run yet: R runs the phase's milestone".into());
                }
            }
            _ => {}
        }
    }

    fn request_quit(&mut self) {
        if self.run.as_ref().is_some_and(|r| r.running()) {
            self.info("a run is in progress: v shows it, Esc there cancels it".into());
        } else {
            self.quit = true;
        }
    }

    fn select_phase(&mut self, idx: usize) {
        if idx < self.roadmap.phases.len() && idx != self.phase {
            self.phase = idx;
            self.item = 0;
        }
    }

    /// `R`: asks for the runner's flags (Enter alone = defaults), unless the
    /// phase cannot be run.
    fn ask_run(&mut self) {
        if self.run.as_ref().is_some_and(|r| r.running()) {
            self.mode = Mode::Run;
            return;
        }
        let phase = self.selected_phase();
        let why_not = match &phase.milestone {
            None => Some(format!("{} has no milestone to run", phase.id)),
            Some(m) if m.runner.is_none() => Some(format!(
                "{}'s milestone \"{}\" has no runner in this version of roadmap: it is tracked by hand (d marks {} done)",
                phase.id, m.title, m.id
            )),
            Some(_) => None,
        };
        match why_not {
            Some(text) => self.message = Some(Message { error: true, text }),
            None => {
                self.mode = Mode::RunArgs {
                    phase: phase.id.clone(),
                    input: TextInput::default(),
                }
            }
        }
    }

    fn start_run(&mut self, phase: &str, args: &[String]) {
        let Some(launcher) = &self.launcher else {
            self.message = Some(Message {
                error: true,
                text: "runs cannot be started here".into(),
            });
            return;
        };
        let estimate = self
            .data
            .runs_of(phase)
            .find(|r| r.kind == "run" && matches!(r.status.as_str(), "passed" | "failed"))
            .and_then(|r| r.duration_seconds);
        let after = self.data.runs.iter().map(|r| r.id).max().unwrap_or(0);
        match launcher.spawn(phase, args, estimate, after) {
            Ok(pane) => {
                self.run = Some(pane);
                self.mode = Mode::Run;
                self.info(format!(
                    "running {phase}: Esc or Ctrl-C cancels, b goes back"
                ));
            }
            Err(e) => self.error(&e),
        }
    }

    /// Items whose id or title contains `query` (case-insensitive), in roadmap order.
    pub fn search(&self, query: &str) -> Vec<Hit> {
        let q = query.trim().to_lowercase();
        if q.is_empty() {
            return Vec::new();
        }
        let mut hits = Vec::new();
        for (pi, phase) in self.roadmap.phases.iter().enumerate() {
            for (ii, item) in phase.items().iter().enumerate() {
                if item.id.to_lowercase().contains(&q) || item.title.to_lowercase().contains(&q) {
                    hits.push(Hit {
                        phase: pi,
                        item: ii,
                        id: item.id.to_string(),
                        title: item.title.to_string(),
                    });
                }
            }
        }
        hits
    }
}
