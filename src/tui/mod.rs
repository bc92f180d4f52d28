//! The learner's full-screen interface: `roadmap tui`, or `roadmap` alone on
//! a terminal (ratatui over crossterm).
//!
//! - [`state`]: what is selected, which dialog is open, what every key does;
//!   changes go through [`crate::tracker`] like the CLI's.
//! - [`ui`]: drawing the state (tested with ratatui's `TestBackend`).
//! - [`form`]: the text fields of the log, note, search and run dialogs.
//! - [`run`]: a milestone run as a `roadmap run` child process, streamed.
//!
//! This module owns the terminal: raw mode and the alternate screen on entry,
//! restored on exit and on panic (ratatui's `init` installs the panic hook).

pub mod form;
pub mod run;
pub mod state;
pub mod ui;

use std::time::Duration;

use anyhow::{Context, Result};
use ratatui::crossterm::event::{self, Event, KeyEventKind};

use crate::db::Db;
use crate::progress;
use crate::roadmap::Roadmap;
pub use run::Launcher;
pub use state::App;
pub use ui::Theme;

/// Runs the TUI until the learner quits.
pub fn run(roadmap: Roadmap, db: Db, learner: String, launcher: Launcher) -> Result<()> {
    let mut app = App::new(roadmap, db, learner, progress::today(), Some(launcher))?;
    let theme = Theme::from_env();
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    let result = event_loop(&mut terminal, &mut app, &theme);
    // Ends a run still going (recorded interrupted) before giving the terminal back.
    app.run = None;
    ratatui::try_restore().context("cannot restore the terminal")?;
    result
}

fn event_loop(terminal: &mut ratatui::DefaultTerminal, app: &mut App, theme: &Theme) -> Result<()> {
    while !app.quit {
        terminal.draw(|f| ui::draw(f, app, theme))?;
        // Short polls keep a streaming run's pane and progress bar moving.
        if event::poll(Duration::from_millis(100))? {
            match event::read()? {
                Event::Key(k) if k.kind == KeyEventKind::Press => app.key(k),
                // The next draw lays out for the new size.
                Event::Resize(..) => {}
                _ => {}
            }
        }
        app.today = progress::today();
        app.tick();
    }
    Ok(())
}
