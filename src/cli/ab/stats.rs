//! `roadmap ab stats`: one statistic on numbers you give it (sample-ratio
//! mismatch, two-proportion z-test, Welch's t-test), for learners and for
//! checking a report by hand.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use roadmap_abtest::{render, stateless};

#[derive(Debug, clap::Subcommand)]
pub enum StatsCmd {
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

pub fn run(s: StatsCmd) -> Result<ExitCode> {
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
