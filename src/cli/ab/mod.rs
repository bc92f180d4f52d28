//! `roadmap ab`: A/B experiments on the RAG service (phase 6, requirement 4).
//!
//! One file per subcommand: `assign` answers "which variant does this user
//! get?" exactly as GrowthBook's SDKs would; `stats` runs one statistic on
//! numbers you give it; `simulate` replays SQuAD questions as simulated
//! users through every variant and writes what the live service would log;
//! `report` analyses an experiment from the request log. The statistics and
//! the assignment live in `roadmap-abtest`, the request log in
//! `roadmap-rag-service`; these files parse flags, connect the two and print.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};
use roadmap_abtest::config::{self, ExperimentsFile};

use super::Globals;

mod assign;
mod report;
mod simulate;
mod stats;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// The variant a user gets: `--experiment KEY --user ID`, or statelessly
    /// `--seed SEED --weights 0.5,0.5 --user ID [--hash-version 2]`
    Assign(assign::AssignArgs),
    /// One statistic from numbers you give: srm, proportions, welch
    #[command(subcommand)]
    Stats(stats::StatsCmd),
    /// Replay SQuAD questions as N simulated users through every variant, log them as the service
    /// would, and print the experiment's report
    Simulate(simulate::SimulateArgs),
    /// An experiment's report from the request log: users, metrics, health (SRM), effects
    Report(report::ReportArgs),
}

pub fn run(args: Args, g: &Globals) -> Result<ExitCode> {
    match args.cmd {
        Cmd::Assign(a) => assign::run(a),
        Cmd::Stats(s) => stats::run(s),
        Cmd::Simulate(a) => simulate::run(a, g),
        Cmd::Report(a) => report::run(a, g),
    }
}

/// The experiments file, or the shipped example when none is given.
pub fn experiments_file(path: Option<&std::path::Path>) -> Result<ExperimentsFile> {
    Ok(match path {
        Some(p) => ExperimentsFile::load(p)?,
        None => config::parse(config::EXAMPLE, "<shipped example experiments.toml>")?,
    })
}

/// The service's SQLite store holding the request log: `--store`, else
/// `rag.sqlite` in the data directory (the default store of `roadmap rag serve`).
pub fn store_path(store: Option<&str>, g: &Globals) -> Result<PathBuf> {
    match store {
        Some(s) if s.starts_with("postgres://") || s.starts_with("postgresql://") => bail!(
            "--store (or ROADMAP_RAG_STORE) names a PostgreSQL server; the request-log commands read \
             a SQLite store only: pass --store with the SQLite file"
        ),
        Some(s) => Ok(PathBuf::from(s)),
        None => Ok(g.data_dir()?.join("rag.sqlite")),
    }
}

/// `path` for messages.
pub fn shown(path: &Path) -> String {
    path.display().to_string()
}
