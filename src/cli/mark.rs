//! `roadmap start|done|skip|reset ITEM`: change an item's status.
//!
//! The four share one file because they are one operation with a different
//! target status; each change is logged in the events table. The change
//! itself is [`crate::tracker`]'s, shared with the TUI.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{bail, Result};

use super::Globals;
use crate::db::Status;
use crate::tracker;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The item's id (for example `phase1.math-for-ml`; `roadmap show PHASE` lists them)
    item: String,
}

#[derive(Debug, clap::Args)]
pub struct ResetArgs {
    /// The item's id
    item: String,
    /// Do not ask for confirmation
    #[arg(long, short)]
    yes: bool,
}

pub fn run(args: Args, status: Status, g: &Globals) -> Result<ExitCode> {
    let roadmap = g.roadmap()?;
    tracker::check_item(&roadmap, &args.item)?;
    let mut db = g.open_db()?;
    let previous = tracker::set_status(&mut db, &roadmap, &g.learner()?, &args.item, status)?;
    println!("{}: {} → {}", args.item, previous.as_str(), status.as_str());
    Ok(ExitCode::SUCCESS)
}

pub fn reset(args: ResetArgs, g: &Globals) -> Result<ExitCode> {
    let roadmap = g.roadmap()?;
    tracker::check_item(&roadmap, &args.item)?;
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            bail!("reset needs confirmation: run it on a terminal or pass --yes");
        }
        eprint!(
            "Reset {} to todo for {}? Sessions and notes are kept. [y/N] ",
            args.item,
            g.learner()?
        );
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("not reset");
            return Ok(ExitCode::FAILURE);
        }
    }
    let mut db = g.open_db()?;
    let previous = tracker::reset(&mut db, &roadmap, &g.learner()?, &args.item)?;
    println!("{}: {} → todo", args.item, previous.as_str());
    Ok(ExitCode::SUCCESS)
}
