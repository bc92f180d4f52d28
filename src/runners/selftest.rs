//! A tiny runner for exercising the tracker's run bookkeeping.
//!
//! It does no machine learning: it reports the metrics it is told to, after
//! an optional sleep, or fails on request. Tests point a milestone at it
//! through a custom `roadmap.toml`; the shipped roadmap never uses it.

use anyhow::{bail, Result};
use clap::{ArgMatches, CommandFactory, Parser};

use super::{flags, RunContext, RunOutcome, Runner};

pub struct SelfTest;

#[derive(Debug, Parser)]
#[command(
    name = "roadmap run <PHASE>",
    about = "Test runner: reports the given metrics"
)]
struct Args {
    /// A metric to report, as NAME=VALUE (repeatable).
    #[arg(long = "metric", value_parser = parse_metric)]
    metrics: Vec<(String, f64)>,
    /// Seconds to sleep before reporting (to test interruption).
    #[arg(long, default_value_t = 0.0)]
    sleep: f64,
    /// Fail with an error instead of reporting.
    #[arg(long)]
    fail: bool,
}

fn parse_metric(s: &str) -> Result<(String, f64), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got `{s}`"))?;
    let value = value
        .parse::<f64>()
        .map_err(|e| format!("`{value}` is not a number: {e}"))?;
    Ok((name.to_string(), value))
}

impl Runner for SelfTest {
    fn name(&self) -> &'static str {
        "selftest"
    }

    fn metrics(&self) -> &'static [&'static str] {
        &["score", "accuracy"]
    }

    fn command(&self) -> clap::Command {
        Args::command()
    }

    fn run(&self, ctx: &RunContext, args: &ArgMatches) -> Result<RunOutcome> {
        let args: Args = flags(args)?;
        if args.sleep > 0.0 {
            std::thread::sleep(std::time::Duration::from_secs_f64(args.sleep));
        }
        if args.fail {
            bail!("selftest failed on request (--fail)");
        }
        std::fs::write(ctx.artifact_dir.join("selftest.txt"), "selftest artifact\n")?;
        let mut outcome = RunOutcome {
            params: serde_json::json!({ "sleep": args.sleep }),
            ..Default::default()
        };
        for (name, value) in args.metrics {
            println!("{name} = {value}");
            outcome.metrics.insert(name, value);
        }
        Ok(outcome)
    }
}
