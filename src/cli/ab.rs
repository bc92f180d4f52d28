//! `roadmap ab`: A/B experiments on the RAG service (phase 6, requirement 4).
//!
//! `assign` answers "which variant does this user get?" exactly as GrowthBook's
//! SDKs would, from an experiments file or statelessly from a seed and
//! weights; `stats` runs one statistic on numbers you give it. The
//! statistics and the assignment live in `roadmap-abtest`; this file only
//! parses flags and prints.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use roadmap_abtest::config::{self, Decision, ExperimentsFile};
use roadmap_abtest::{render, stateless};

use super::Globals;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// The variant a user gets: `--experiment KEY --user ID`, or statelessly
    /// `--seed SEED --weights 0.5,0.5 --user ID [--hash-version 2]`
    Assign(AssignArgs),
    /// One statistic from numbers you give: srm, proportions, welch
    #[command(subcommand)]
    Stats(StatsCmd),
}

#[derive(Debug, clap::Args)]
struct AssignArgs {
    /// The user key (what the service reads from `user` or `X-User-Id`)
    #[arg(long)]
    user: String,
    /// An experiment of the experiments file
    #[arg(long, conflicts_with_all = ["seed", "weights"], required_unless_present = "seed")]
    experiment: Option<String>,
    /// The experiments file [default: the shipped example]
    #[arg(long, env = "ROADMAP_RAG_EXPERIMENTS", value_name = "FILE")]
    experiments: Option<PathBuf>,
    /// Stateless: the hash seed (GrowthBook's `seed`, usually the experiment key)
    #[arg(long, requires = "weights")]
    seed: Option<String>,
    /// Stateless: variant weights summing to 1, e.g. 0.5,0.5
    #[arg(long, requires = "seed")]
    weights: Option<String>,
    /// Stateless: GrowthBook hash version, 1 or 2
    #[arg(long, default_value_t = 2)]
    hash_version: i64,
    /// Stateless: share of users in the experiment (0..=1)
    #[arg(long, default_value_t = 1.0)]
    coverage: f64,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum StatsCmd {
    /// Sample-ratio mismatch: chi-square goodness of fit of counts against weights
    Srm {
        /// Users (or exposures) per variant, e.g. 5100,4900
        #[arg(long)]
        counts: String,
        /// Configured weights [default: equal]
        #[arg(long)]
        weights: Option<String>,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Two-proportion z-test with the confidence interval of the difference (A = control)
    Proportions {
        /// Control as SUCCESSES/TRIALS, e.g. 480/5000
        #[arg(long)]
        a: String,
        /// Treatment as SUCCESSES/TRIALS
        #[arg(long)]
        b: String,
        /// Significance level
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Welch's t-test on two files of numbers, one per line (A = control)
    Welch {
        /// Control values
        #[arg(long, value_name = "FILE")]
        a: PathBuf,
        /// Treatment values
        #[arg(long, value_name = "FILE")]
        b: PathBuf,
        /// Significance level
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: Args, _g: &Globals) -> Result<ExitCode> {
    match args.cmd {
        Cmd::Assign(a) => assign(a),
        Cmd::Stats(s) => stats(s),
    }
}

/// The experiments file, or the shipped example when none is given.
pub fn experiments_file(path: Option<&std::path::Path>) -> Result<ExperimentsFile> {
    Ok(match path {
        Some(p) => ExperimentsFile::load(p)?,
        None => config::parse(config::EXAMPLE, "<shipped example experiments.toml>")?,
    })
}

fn assign(a: AssignArgs) -> Result<ExitCode> {
    if let (Some(seed), Some(weights)) = (&a.seed, &a.weights) {
        let r = stateless::assign_from_args(seed, weights, &a.user, a.hash_version, a.coverage)?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&r)?);
        } else {
            match r.variant {
                Some(v) => println!("user {} → variant {v} (hash {:.4})", r.user, r.hash),
                None => println!(
                    "user {} is outside the experiment's coverage (hash {:.4})",
                    r.user, r.hash
                ),
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let key = a
        .experiment
        .as_deref()
        .context("--experiment KEY or --seed/--weights")?;
    let file = experiments_file(a.experiments.as_deref())?;
    let exp = file.get(key)?;
    let decision = exp.decide(&a.user, chrono::Utc::now());
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "experiment": exp.key,
                "user": a.user,
                "hash": exp.assigner().hash(&a.user),
                "decision": decision,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    match decision {
        Decision::Assigned { variant, index, .. } => {
            println!(
                "user {} → {variant} (variant {index} of {})",
                a.user, exp.key
            )
        }
        Decision::NotInExperiment => println!(
            "user {} is not in {} (outside its coverage or namespace): served the defaults",
            a.user, exp.key
        ),
        Decision::Inactive { reason } => println!(
            "{} assigns nobody now ({reason:?}): every user is served the defaults",
            exp.key
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn stats(s: StatsCmd) -> Result<ExitCode> {
    match s {
        StatsCmd::Srm {
            counts,
            weights,
            json,
        } => {
            let r = stateless::srm_from_args(&counts, weights.as_deref())?;
            print_either(json, &r, || render::srm_text(&r))
        }
        StatsCmd::Proportions { a, b, alpha, json } => {
            check_alpha(alpha)?;
            let r = stateless::proportions_from_args(&a, &b, alpha)?;
            print_either(json, &r, || render::proportions_text(&r))
        }
        StatsCmd::Welch { a, b, alpha, json } => {
            check_alpha(alpha)?;
            let r = stateless::welch_from_files(&a, &b, alpha)?;
            print_either(json, &r, || render::welch_text(&r))
        }
    }
}

fn check_alpha(alpha: f64) -> Result<()> {
    if !(alpha > 0.0 && alpha < 1.0) {
        anyhow::bail!("--alpha must be between 0 and 1 (exclusive), got {alpha}");
    }
    Ok(())
}

fn print_either<T: serde::Serialize>(
    json: bool,
    value: &T,
    text: impl FnOnce() -> String,
) -> Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", text());
    }
    Ok(ExitCode::SUCCESS)
}
