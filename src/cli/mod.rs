//! The command line: one file per subcommand.

use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "roadmap", version, about = "The Machine Learning Engineer roadmap: track progress, run each phase's milestone")]
pub struct Cli {}

pub fn main() -> ExitCode {
    let _cli = Cli::parse();
    let _ = crate::runners::registry();
    ExitCode::SUCCESS
}
