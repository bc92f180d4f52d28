//! `roadmap log DURATION ITEM`: record a study session (parsing and checks:
//! [`crate::tracker::log_session`], shared with the TUI's log form).

use std::process::ExitCode;

use anyhow::Result;

use super::Globals;
use crate::progress;
use crate::tracker::{self, SessionInput};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How long you studied: `90m`, `1h30m`, `2h`
    duration: String,
    /// What you studied: an item id (or a phase id)
    item: String,
    /// A short note about the session
    #[arg(long)]
    note: Option<String>,
    /// The day of the session, YYYY-MM-DD [default: today]
    #[arg(long)]
    date: Option<String>,
}

pub fn run(args: Args, g: &Globals) -> Result<ExitCode> {
    let roadmap = g.roadmap()?;
    let session = SessionInput {
        duration: &args.duration,
        item: &args.item,
        date: args.date.as_deref(),
        note: args.note.as_deref(),
    }
    .check(&roadmap, progress::today())?;
    let mut db = g.open_db()?;
    tracker::log_session(&mut db, &g.learner()?, &session)?;
    println!(
        "logged {} on {} for {}",
        progress::hours(session.minutes),
        args.item,
        session.date
    );
    Ok(ExitCode::SUCCESS)
}
