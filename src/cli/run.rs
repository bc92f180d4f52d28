//! `roadmap run PHASE [ARGS...]`: run a milestone's reference implementation
//! with full bookkeeping.
//!
//! The run is inserted as `running` before the runner starts, so a crash
//! leaves a trace; Ctrl-C and SIGTERM mark it `interrupted` before exiting,
//! and a SIGKILL is caught at the next start (the run's process is gone).
//! When the runner returns, its metrics are checked against the milestone's
//! criteria and everything is recorded in one transaction; a passed run marks
//! the milestone done.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};

use super::{check_id, Globals};
use crate::db::{Db, NewModel, RunEnd, RunFinish};
use crate::roadmap::Criterion;
use crate::runners::{self, RunContext, RunOutcome, Runner};
use roadmap_common::redact::{redact_args, redact_json, redact_text};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The phase whose milestone to run (`phase1` ... `phase6`)
    #[arg(allow_hyphen_values = true)]
    phase: String,
    /// Arguments for the milestone's runner (`roadmap run PHASE --help` lists them)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

/// Whether a runner is asked to run the reference or to verify the learner's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Run,
    Verify,
}

pub fn run(args: Args, g: &Globals) -> Result<ExitCode> {
    if args.phase == "--help" || args.phase == "-h" {
        return super::print_subcommand_help("run");
    }
    execute(g, &args.phase, &args.args, Kind::Run)
}

/// Finds the runner of `phase`'s milestone, or explains why there is none.
pub fn runner_for(
    g: &Globals,
    phase: &str,
) -> Result<(crate::roadmap::Roadmap, &'static dyn Runner)> {
    let roadmap = g.roadmap()?;
    check_id(&roadmap, phase)?;
    let Some(p) = roadmap.phase(phase) else {
        bail!("`{phase}` is an item, not a phase: runs belong to phases (for example `roadmap run phase1`)");
    };
    let Some(m) = &p.milestone else {
        bail!("{phase} has no milestone to run");
    };
    let Some(name) = &m.runner else {
        bail!(
            "{phase}'s milestone \"{}\" has no runner in this version of roadmap: it is tracked by hand \
             (`roadmap done {}` when you have built it)",
            m.title,
            m.id
        );
    };
    let runner =
        runners::find(name).ok_or_else(|| anyhow!("runner `{name}` is not in this binary"))?;
    Ok((roadmap, runner))
}

pub fn execute(g: &Globals, phase: &str, args: &[OsString], kind: Kind) -> Result<ExitCode> {
    let (roadmap, runner) = runner_for(g, phase)?;
    let milestone = roadmap
        .phase(phase)
        .and_then(|p| p.milestone.clone())
        .expect("checked");
    let kind_name = match kind {
        Kind::Run => "run",
        Kind::Verify => "verify",
    };
    let command = match kind {
        Kind::Run => runner.command(),
        Kind::Verify => runner.verify_command().ok_or_else(|| {
            anyhow!(
                "the `{}` runner has no verifier: there is nothing of yours to check for {phase}'s milestone",
                runner.name()
            )
        })?,
    };
    // Flags are parsed (and `--help` answered) before anything is written: a
    // typo is a usage error, not a failed run in the learner's history.
    let matches = match runners::parse_flags(command, &format!("roadmap {kind_name} {phase}"), args)
    {
        Ok(m) => m,
        Err(e) => e.exit(),
    };
    let call = |ctx: &RunContext| match kind {
        Kind::Run => runner.run(ctx, &matches),
        Kind::Verify => runner.verify(ctx, &matches),
    };

    let mut db = g.open_db()?;
    let learner = g.learner()?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let artifact_dir: PathBuf = g.data_dir()?.join("runs").join(format!(
        "{phase}-{kind_name}-{stamp}-{}",
        std::process::id()
    ));
    let ctx = g.run_context_in(&db, artifact_dir.clone())?;
    let arg_strings: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // The command line is kept for the mentor, without its secrets.
    let params = serde_json::json!({ "args": redact_args(&arg_strings) });
    let run_id = db.begin_run(
        &learner,
        phase,
        runner.name(),
        kind_name,
        &params,
        &artifact_dir,
    )?;
    install_interrupt_handler(db.path().to_path_buf(), run_id);

    let started = std::time::Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(&ctx)))
        .unwrap_or_else(|panic| {
            Err(anyhow!(
                "the {} runner crashed: {}",
                runner.name(),
                panic_message(&panic)
            ))
        });
    let elapsed = started.elapsed().as_secs_f64();
    let result = result.and_then(|outcome| declared_only(runner, outcome));

    match result {
        Err(e) => {
            let message = redact_text(&format!("{e:#}"));
            db.finish_run(
                run_id,
                &RunFinish {
                    end: RunEnd::Failed,
                    params: &params,
                    metrics: &Default::default(),
                    criteria: &serde_json::json!([]),
                    error: Some(&message),
                    models: &[],
                    milestone_item: None,
                    completes: &[],
                },
            )?;
            eprintln!("{kind_name} #{run_id} of {phase} failed after {elapsed:.1}s (recorded)");
            Err(e)
        }
        Ok(outcome) => {
            let phase_items: Vec<String> = roadmap
                .phase(phase)
                .map(|p| p.items().iter().map(|i| i.id.to_string()).collect())
                .unwrap_or_default();
            let done = Finished {
                run_id,
                phase,
                kind_name,
                milestone_id: &milestone.id,
                criteria: &milestone.criteria,
                phase_items: &phase_items,
                elapsed,
            };
            done.record(&mut db, params, outcome)
        }
    }
}

/// A run that returned, about to be judged and recorded.
struct Finished<'a> {
    run_id: i64,
    phase: &'a str,
    kind_name: &'a str,
    milestone_id: &'a str,
    criteria: &'a [Criterion],
    /// The ids a runner may mark done: the phase's own items.
    phase_items: &'a [String],
    elapsed: f64,
}

impl Finished<'_> {
    fn record(
        &self,
        db: &mut Db,
        mut params: serde_json::Value,
        outcome: RunOutcome,
    ) -> Result<ExitCode> {
        let Finished {
            run_id,
            phase,
            kind_name,
            milestone_id,
            elapsed,
            ..
        } = *self;
        let results: Vec<_> = self
            .criteria
            .iter()
            .map(|c| c.check(&outcome.metrics))
            .collect();
        let passed = results.iter().all(|r| r.passed);
        if !outcome.params.is_null() {
            params["effective"] = redact_json(&outcome.params);
        }
        let models: Vec<NewModel> = outcome
            .models
            .iter()
            .map(|m| NewModel {
                name: m.name.clone(),
                version: m.version.clone(),
                path: m.path.canonicalize().unwrap_or_else(|_| m.path.clone()),
            })
            .collect();
        let end = if passed {
            RunEnd::Passed
        } else {
            RunEnd::Failed
        };
        // A runner may only complete items of its own phase.
        let mut completes: Vec<String> = outcome
            .completes
            .iter()
            .filter(|id| self.phase_items.contains(id))
            .cloned()
            .collect();
        if passed {
            completes.push(milestone_id.to_string());
        }
        db.finish_run(
            run_id,
            &RunFinish {
                end,
                params: &params,
                metrics: &outcome.metrics,
                criteria: &serde_json::to_value(&results)?,
                error: (!passed).then_some("acceptance criteria not met"),
                models: &models,
                milestone_item: Some(milestone_id),
                completes: &completes,
            },
        )?;
        eprintln!();
        for r in &results {
            let actual = r
                .actual
                .map(|a| format!("{a:.4}"))
                .unwrap_or_else(|| "missing".into());
            eprintln!(
                "  {} {}  (got {actual})",
                if r.passed { "✓" } else { "✗" },
                r.criterion
            );
        }
        for item in completes.iter().filter(|i| *i != milestone_id) {
            eprintln!("  {item} is done (its check passed)");
        }
        eprintln!(
            "{kind_name} #{run_id} of {phase} {} in {elapsed:.1}s{}",
            if passed { "PASSED" } else { "did not pass" },
            if passed {
                format!("; {milestone_id} is done")
            } else {
                String::new()
            }
        );
        for m in &models {
            eprintln!(
                "  model {} {} saved at {}",
                m.name,
                m.version,
                m.path.display()
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Criteria may only name declared metrics, so a metric a runner reports
/// without declaring it could never be judged: that is a bug in the runner,
/// and the run is recorded as failed rather than silently half-checked.
fn declared_only(runner: &dyn Runner, outcome: RunOutcome) -> Result<RunOutcome> {
    let undeclared: Vec<&str> = outcome
        .metrics
        .keys()
        .map(String::as_str)
        .filter(|k| !runner.metrics().contains(k))
        .collect();
    if !undeclared.is_empty() {
        bail!(
            "the {} runner reported metrics it does not declare ({}): a bug in this version of roadmap",
            runner.name(),
            undeclared.join(", ")
        );
    }
    Ok(outcome)
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}

/// On Ctrl-C / SIGTERM / SIGHUP: mark the run interrupted, then exit 130.
fn install_interrupt_handler(db_path: PathBuf, run_id: i64) {
    let result = ctrlc::set_handler(move || {
        if let Ok(mut db) = Db::open(&db_path) {
            let _ = db.end_run_if_running(
                run_id,
                RunEnd::Interrupted,
                "interrupted by a signal (Ctrl-C or SIGTERM)",
            );
        }
        eprintln!("\ninterrupted: run #{run_id} recorded as interrupted");
        std::process::exit(130);
    });
    if let Err(e) = result {
        eprintln!("warning: cannot catch Ctrl-C ({e}); an interrupted run will be marked at the next start");
    }
}
