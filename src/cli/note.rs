//! `roadmap note ITEM TEXT`: attach a note to an item.

use std::process::ExitCode;

use anyhow::Result;

use super::Globals;
use crate::tracker;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The item (or phase) the note is about
    item: String,
    /// The note
    #[arg(required = true, num_args = 1..)]
    text: Vec<String>,
}

pub fn run(args: Args, g: &Globals) -> Result<ExitCode> {
    let roadmap = g.roadmap()?;
    let text = args.text.join(" ");
    tracker::check_note(&roadmap, &args.item, &text)?;
    let mut db = g.open_db()?;
    tracker::add_note(&mut db, &roadmap, &g.learner()?, &args.item, &text)?;
    println!("noted on {}", args.item);
    Ok(ExitCode::SUCCESS)
}
