//! The runner registry: the bridge between the tracker and the milestone crates.
//!
//! A milestone in `roadmap.toml` names its runner (`runner = "logreg"`). The
//! tracker looks that name up here, records the run in the progress database,
//! calls the runner, and records what it returns. Runners never see the
//! database: they get a [`RunContext`] and return a [`RunOutcome`].
//!
//! To add a runner: write `src/runners/<name>.rs` with a type implementing
//! [`Runner`], and add it to [`registry`].

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::ArgMatches;

pub mod capstone;
pub mod logreg;
pub mod rag_eval;
pub mod selftest;
pub mod sentiment;
pub mod serve;
pub mod similarity;

/// What the tracker hands a runner.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// A fresh directory for this run's artifacts (plots, models, reports).
    pub artifact_dir: PathBuf,
    /// The offline asset cache (models fetched from Python packages).
    pub cache_dir: PathBuf,
    /// The newest model of each kind recorded by a passed run, by model name
    /// (for example `sentiment` → its directory), for runners that build on
    /// an earlier phase.
    pub latest_models: BTreeMap<String, PathBuf>,
}

/// A model a run produced, to be registered in the `models` table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelArtifact {
    pub name: String,
    pub version: String,
    pub path: PathBuf,
}

/// What a runner returns; the tracker records all of it.
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    /// Named numbers checked against the milestone's acceptance criteria.
    pub metrics: BTreeMap<String, f64>,
    /// The effective parameters of the run (after defaults), as JSON.
    pub params: serde_json::Value,
    /// Models the run saved.
    pub models: Vec<ModelArtifact>,
    /// Items of the phase whose own checks passed in this run (phase 6's
    /// requirements), marked done by the tracker whatever the overall verdict.
    pub completes: Vec<String>,
}

/// A milestone runner.
///
/// A runner's flags are a [`clap::Command`] of its own, so the tracker parses
/// them (and answers `--help`) *before* it records anything: a typo in a flag
/// is a usage error, never a failed run in the database. Runners turn the
/// parsed matches back into their typed flags with [`flags`].
pub trait Runner: Sync {
    /// The name `roadmap.toml` uses (`runner = "..."`).
    fn name(&self) -> &'static str;
    /// Every metric this runner can report; acceptance criteria may only name
    /// these, and the tracker refuses a run that reports anything else.
    fn metrics(&self) -> &'static [&'static str];
    /// The flags of `roadmap run PHASE` for this runner.
    fn command(&self) -> clap::Command;
    /// Runs the milestone's reference implementation with flags parsed by
    /// [`Runner::command`]. Human-readable output goes to stdout (or one JSON
    /// object with `--json`).
    fn run(&self, ctx: &RunContext, args: &ArgMatches) -> Result<RunOutcome>;
    /// The flags of `roadmap verify PHASE`, for runners that can check a
    /// learner's own implementation.
    fn verify_command(&self) -> Option<clap::Command> {
        None
    }
    /// Scores a learner's own implementation (`roadmap verify PHASE ...`) with
    /// flags parsed by [`Runner::verify_command`].
    fn verify(&self, _ctx: &RunContext, _args: &ArgMatches) -> Result<RunOutcome> {
        anyhow::bail!(
            "the `{}` runner has no verifier: there is nothing of yours to check for this milestone",
            self.name()
        )
    }
    /// Writes the learner's copy of the milestone data (`roadmap data export PHASE --dir D`)
    /// and returns the files written.
    fn export(&self, _dir: &std::path::Path) -> Result<Vec<PathBuf>> {
        anyhow::bail!("the `{}` runner has no data to export", self.name())
    }
}

/// Parses `args` (what follows `roadmap run|verify PHASE`) with a runner's
/// command; `bin` is the usage name shown in help and errors.
pub fn parse_flags(
    cmd: clap::Command,
    bin: &str,
    args: &[OsString],
) -> Result<ArgMatches, clap::Error> {
    cmd.bin_name(bin.to_string())
        .try_get_matches_from(std::iter::once(OsString::from(bin)).chain(args.iter().cloned()))
}

/// Parses `args` with the runner's run command and runs it (tests call
/// runners the way the tracker does).
#[cfg(test)]
pub fn run_with(r: &dyn Runner, ctx: &RunContext, args: &[OsString]) -> Result<RunOutcome> {
    r.run(ctx, &parse_flags(r.command(), r.name(), args)?)
}

/// As [`run_with`], for the verifier.
#[cfg(test)]
pub fn verify_with(r: &dyn Runner, ctx: &RunContext, args: &[OsString]) -> Result<RunOutcome> {
    let cmd = r.verify_command().context("no verifier")?;
    r.verify(ctx, &parse_flags(cmd, r.name(), args)?)
}

/// A runner's typed flags from matches parsed by its own command.
pub fn flags<T: clap::FromArgMatches>(m: &ArgMatches) -> Result<T> {
    Ok(T::from_arg_matches(m)?)
}

/// Every runner this binary knows.
pub fn registry() -> &'static [&'static dyn Runner] {
    &[
        &logreg::LogReg,
        &sentiment::Sentiment,
        &serve::Serve,
        &similarity::Similarity,
        &rag_eval::RagEval,
        &capstone::Capstone,
        &selftest::SelfTest,
    ]
}

/// Looks a runner up by name.
pub fn find(name: &str) -> Option<&'static dyn Runner> {
    registry().iter().copied().find(|r| r.name() == name)
}

/// Reads a learner's predictions for `roadmap verify`: one probability per
/// line, in the order of the exported `rows_of` file; a non-numeric first line
/// is a header; blank lines and a trailing comma are tolerated.
pub fn read_predictions(path: &Path, expected: usize, rows_of: &str) -> Result<Vec<f64>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(file);
    let mut out = Vec::with_capacity(expected);
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.with_context(|| format!("{} is not readable as CSV text", path.display()))?;
        let line = rec.position().map_or(i as u64 + 1, |p| p.line());
        // `0.5,` (a trailing comma some writers add) is still one value.
        if rec.len() != 1 && rec.iter().skip(1).any(|f| !f.is_empty()) {
            bail!(
                "{} line {line}: {} columns; expected one probability per line (no row ids, no labels)",
                path.display(),
                rec.len()
            );
        }
        let cell = &rec[0];
        match cell.parse::<f64>() {
            Ok(p) if (0.0..=1.0).contains(&p) => out.push(p),
            Ok(p) => bail!(
                "{} line {line}: {p} is not a probability; every value must be in [0, 1] (apply the sigmoid)",
                path.display()
            ),
            Err(_) if i == 0 => {} // a header line
            Err(_) => bail!("{} line {line}: `{cell}` is not a number", path.display()),
        }
    }
    if out.len() != expected {
        bail!(
            "{} holds {} probabilities but the test split has {expected} rows; write one per row of {rows_of}, in order",
            path.display(),
            out.len()
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictions_allow_header_blank_lines_and_trailing_commas() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.csv");
        std::fs::write(&f, "probability\n0.25,\n\n0.75\n").unwrap();
        assert_eq!(read_predictions(&f, 2, "test.csv").unwrap(), [0.25, 0.75]);
        let e = read_predictions(&f, 3, "sentiment_test.csv").unwrap_err();
        assert!(
            e.to_string().contains("one per row of sentiment_test.csv"),
            "{e}"
        );
    }
}
