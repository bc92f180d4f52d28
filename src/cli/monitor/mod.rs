//! `roadmap monitor`: data drift. `drift` compares two CSV files; `service`
//! compares the RAG service's request-log features in a reference window
//! with a current window. Both use `roadmap-quality`'s Evidently-default
//! drift tests and its renderers; one file per subcommand.

use std::process::ExitCode;

use anyhow::Result;

use super::Globals;

mod drift;
mod service;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// Drift of every column of CURRENT against REFERENCE (CSV files with a header row)
    Drift(drift::DriftArgs),
    /// Drift of the RAG service's request-log features: a reference window vs the current window
    Service(service::ServiceArgs),
}

pub fn run(args: Args, g: &Globals) -> Result<ExitCode> {
    match args.cmd {
        Cmd::Drift(a) => drift::run(a),
        Cmd::Service(a) => service::run(a, g),
    }
}
