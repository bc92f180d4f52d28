//! `roadmap data export PHASE --dir D`: the milestone's data for the learner's
//! own implementation (training data with labels, test data without).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::run::runner_for;
use super::Globals;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write the phase's training and test files into a folder
    Export {
        /// The phase (`phase1`, `phase2`)
        phase: String,
        /// Folder to write into (created if missing)
        #[arg(long)]
        dir: PathBuf,
    },
}

pub fn run(cmd: Command, g: &Globals) -> Result<ExitCode> {
    match cmd {
        Command::Export { phase, dir } => {
            let (_, runner) = runner_for(g, &phase)?;
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let files = runner.export(&dir)?;
            for f in files {
                println!("{}", f.display());
            }
            eprintln!("then: `roadmap verify {phase} --predictions FILE`");
            Ok(ExitCode::SUCCESS)
        }
    }
}
