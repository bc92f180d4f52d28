//! `roadmap`: the Machine Learning Engineer roadmap, tracked and runnable.
//!
//! `src/` is the command line and the progress tracker; each phase's
//! milestone is a library crate under `milestones/`, reached through the
//! runner registry in [`runners`].

mod cli;
mod db;
mod flags;
mod knowledge;
mod progress;
mod resolve;
mod roadmap;
mod runners;

fn main() -> std::process::ExitCode {
    cli::main()
}
