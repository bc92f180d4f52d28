//! `roadmap log DURATION ITEM`: record a study session.

use std::process::ExitCode;

use anyhow::{anyhow, Result};
use chrono::NaiveDate;

use super::{check_id, Globals};
use crate::progress::{self, parse_duration};

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
    let minutes = parse_duration(&args.duration).map_err(|e| anyhow!(e))?;
    let roadmap = g.roadmap()?;
    check_id(&roadmap, &args.item)?;
    let date = match &args.date {
        None => progress::today(),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
            anyhow!("--date `{d}` is not a date: use YYYY-MM-DD, for example 2026-03-01")
        })?,
    };
    if date > progress::today() {
        return Err(anyhow!("--date {date} is in the future"));
    }
    let mut db = g.open_db()?;
    db.log_session(
        &g.learner()?,
        &args.item,
        date,
        minutes,
        args.note.as_deref(),
    )?;
    println!(
        "logged {} on {} for {date}",
        progress::hours(minutes),
        args.item
    );
    Ok(ExitCode::SUCCESS)
}
