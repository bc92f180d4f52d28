//! `roadmap completions SHELL`: shell completion scripts.

use std::process::ExitCode;

use anyhow::Result;
use clap::CommandFactory;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to generate completions for
    shell: clap_complete::Shell,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let mut cmd = super::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "roadmap", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
