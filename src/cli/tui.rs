//! `roadmap tui`: the learner's full-screen interface (also `roadmap` alone on
//! a terminal). Everything it does is in [`crate::tui`].

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use super::Globals;
use crate::tui::Launcher;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, g: &Globals) -> Result<ExitCode> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        bail!("roadmap tui needs a terminal (stdin and stdout); `roadmap status` prints the same overview as text");
    }
    open(g)?;
    Ok(ExitCode::SUCCESS)
}

/// Opens the TUI on the learner's database.
pub fn open(g: &Globals) -> Result<()> {
    let roadmap = g.roadmap()?;
    let db = g.open_db()?;
    let learner = g.learner()?;
    let launcher = Launcher {
        exe: std::env::current_exe().context("cannot find this program to start runs")?,
        global_args: g.child_args(&learner)?,
    };
    crate::tui::run(roadmap, db, learner, launcher)
}
