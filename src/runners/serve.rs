//! Phase 3 runner `serve`: the sentiment model behind the HTTP server, checked
//! from the outside.
//!
//! `roadmap run phase3` serves the newest passed phase-2 model on a free
//! 127.0.0.1 port, runs the verifier against it (contract, error codes, a
//! bounded load) and stops the server. `roadmap verify phase3 --url URL` runs
//! the same verifier against the learner's own server.
//!
//! Reported metrics: `p50_ms`, `p99_ms`, `requests_per_second` (the load
//! phase), `checks_passed`, `checks_failed`, `load_errors`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{ArgMatches, CommandFactory, Parser};
use roadmap_serve::verify::{verify_blocking, verify_in_process, METRIC_NAMES};
use roadmap_serve::{Classifier, SentimentClassifier, ServerConfig, VerifyOptions, VerifyReport};

use super::{flags, RunContext, RunOutcome, Runner};

pub struct Serve;

#[derive(Debug, clap::Args)]
struct LoadArgs {
    /// Requests in the load test.
    #[arg(long, default_value_t = 500)]
    requests: usize,
    /// Concurrent clients in the load test.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

impl LoadArgs {
    fn options(&self) -> Result<VerifyOptions> {
        anyhow::ensure!(self.requests >= 1, "--requests must be at least 1");
        anyhow::ensure!(self.concurrency >= 1, "--concurrency must be at least 1");
        anyhow::ensure!(
            self.timeout.is_finite() && self.timeout > 0.0,
            "--timeout must be a positive number of seconds, got {}",
            self.timeout
        );
        Ok(VerifyOptions {
            requests: self.requests,
            concurrency: self.concurrency,
            timeout: Duration::from_secs_f64(self.timeout),
        })
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "roadmap run <PHASE>",
    about = "Serve the phase-2 sentiment model on 127.0.0.1 and verify it over HTTP"
)]
struct RunArgs {
    /// Directory of a saved phase-2 model [default: the newest passed `roadmap run phase2`].
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(Debug, Parser)]
#[command(
    name = "roadmap verify <PHASE>",
    about = "Check your own sentiment server over HTTP: health, predict contract, error codes, latency under load"
)]
struct VerifyArgs {
    /// Base URL of your running server, for example http://127.0.0.1:8000
    #[arg(long)]
    url: String,
    #[command(flatten)]
    load: LoadArgs,
}

/// The model directory: `--model`, else the newest passed phase-2 model.
pub fn phase2_model_dir(explicit: Option<PathBuf>, ctx: &RunContext) -> Result<PathBuf> {
    match explicit.or_else(|| ctx.latest_models.get("sentiment").cloned()) {
        Some(dir) => Ok(dir),
        None => anyhow::bail!(
            "no trained sentiment model: run `roadmap run phase2` first (or pass --model DIR of a saved model)"
        ),
    }
}

fn print_report(report: &VerifyReport, json: bool, extra: serde_json::Value) -> Result<()> {
    if json {
        let mut value = serde_json::to_value(report)?;
        value["metrics"] = serde_json::to_value(report.metrics())?;
        if let (Some(obj), serde_json::Value::Object(extra)) = (value.as_object_mut(), extra) {
            obj.extend(extra);
        }
        println!("{value}");
        return Ok(());
    }
    println!("verified {}", report.url);
    for c in &report.checks {
        println!(
            "  {} {:<26} {}",
            if c.passed { "ok  " } else { "FAIL" },
            c.name,
            c.detail
        );
    }
    let l = &report.load;
    println!(
        "load: {} requests, {} concurrent: p50 {:.2} ms, p99 {:.2} ms, {:.0} requests/s, {} errors",
        l.requests, l.concurrency, l.p50_ms, l.p99_ms, l.requests_per_second, l.errors
    );
    println!(
        "checks: {} passed, {} failed",
        report.checks_passed(),
        report.checks_failed()
    );
    Ok(())
}

fn outcome(report: &VerifyReport, params: serde_json::Value) -> RunOutcome {
    RunOutcome {
        metrics: report.metrics(),
        params,
        ..Default::default()
    }
}

impl Runner for Serve {
    fn name(&self) -> &'static str {
        "serve"
    }

    fn metrics(&self) -> &'static [&'static str] {
        METRIC_NAMES
    }

    fn command(&self) -> clap::Command {
        RunArgs::command()
    }

    fn run(&self, ctx: &RunContext, args: &ArgMatches) -> Result<RunOutcome> {
        let args: RunArgs = flags(args)?;
        let opts = args.load.options()?;
        let dir = phase2_model_dir(args.model, ctx)?;
        let classifier = SentimentClassifier::load(&dir)
            .with_context(|| format!("cannot load the phase-2 model from {}", dir.display()))?;
        let info = classifier.info();
        if !args.load.json {
            eprintln!(
                "serving {} {} from {} on 127.0.0.1 (free port)",
                info.name,
                info.version,
                dir.display()
            );
        }
        let report = verify_in_process(Arc::new(classifier), ServerConfig::default(), &opts)
            .context("serving and verifying the model failed")?;
        let params = serde_json::json!({ "model_dir": dir, "model": info, "options": opts });
        print_report(
            &report,
            args.load.json,
            serde_json::json!({ "model": info }),
        )?;
        Ok(outcome(&report, params))
    }

    fn verify_command(&self) -> Option<clap::Command> {
        Some(VerifyArgs::command())
    }

    fn verify(&self, _ctx: &RunContext, args: &ArgMatches) -> Result<RunOutcome> {
        let args: VerifyArgs = flags(args)?;
        let opts = args.load.options()?;
        let report = verify_blocking(&args.url, &opts)?;
        print_report(&report, args.load.json, serde_json::json!({}))?;
        Ok(outcome(
            &report,
            serde_json::json!({ "url": args.url, "options": opts }),
        ))
    }
}
