//! `roadmap note ITEM TEXT`: attach a note to an item.

use std::process::ExitCode;

use anyhow::{bail, Result};

use super::{check_id, Globals};

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
    check_id(&roadmap, &args.item)?;
    let text = args.text.join(" ");
    if text.trim().is_empty() {
        bail!("the note is empty");
    }
    let mut db = g.open_db()?;
    db.add_note(&g.learner()?, &args.item, text.trim())?;
    println!("noted on {}", args.item);
    Ok(ExitCode::SUCCESS)
}
