//! `roadmap verify PHASE [ARGS...]`: score the learner's own implementation
//! (for example `roadmap verify phase1 --predictions preds.csv`) and record it
//! as a verification of the milestone.

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Result;

use super::run::{execute, Kind};
use super::Globals;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The phase whose milestone to verify
    #[arg(allow_hyphen_values = true)]
    phase: String,
    /// Arguments for the verifier (`roadmap verify PHASE --help` lists them)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

pub fn run(args: Args, g: &Globals) -> Result<ExitCode> {
    if args.phase == "--help" || args.phase == "-h" {
        return super::print_subcommand_help("verify");
    }
    execute(g, &args.phase, &args.args, Kind::Verify)
}
