//! Phase 6 runner `capstone`: the production-grade RAG service's requirements,
//! each checked by a part of this runner (`roadmap run phase6`).
//!
//! The capstone has five requirements (`roadmap.toml`'s phase 6); each part
//! checks one of them with the project's own library crate and marks its item
//! done when every one of its checks passed:
//!
//! | part | item | what is checked |
//! |---|---|---|
//! | `service` | `phase6.monitoring-logging` | [`service`]: the RAG service started on 127.0.0.1 under the scripted workload, `/metrics` scraped |
//! | `quality` | `phase6.data-validation` | [`quality`]: a corrupted CSV gives exactly its planted failure cases; a shifted half drifts, an unshifted one does not |
//! | `ab` | `phase6.ab-testing` | [`ab`]: a replayed experiment with a winner known in advance, and a skewed log that must raise the SRM alert |
//! | `audit` | `phase6.bias-audit-shap` | [`audit`]: the Adult model trained, audited on sex and race, explained with SHAP |
//! | `deploy` | `phase6.containerize-deploy` | [`deploy`]: with a Docker engine, the base image (reused, or made by debootstrap), the service image around the running binary, one hardened container on a 127.0.0.1 port under the same workload, `/metrics`, health check, SIGTERM drain, clean-up |
//!
//! Every check is printed the moment it is decided (`✓ part.check: detail` or
//! `✗ part.check: detail`, on stdout, or on stderr with `--json`) so a
//! front end can stream them. A part that is not selected, or cannot run here
//! (no data, no engine), is reported *skipped* with the reason — never passed.
//! The milestone itself passes when all five parts passed (`parts_passed >= 5`
//! in `roadmap.toml`); the tracker marks each passed part's item on its own.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{ArgMatches, CommandFactory, Parser};
use serde::Serialize;
use serde_json::json;

use super::{flags, RunContext, RunOutcome, Runner};

pub mod ab;
pub mod audit;
pub mod deploy;
pub mod quality;
pub mod service;

pub struct Capstone;

/// The parts of the capstone, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PartName {
    /// The RAG service under the scripted workload (requirement: monitoring and logging)
    Service,
    /// Schema validation and drift detection on Adult (requirement: data validation)
    Quality,
    /// A replayed A/B experiment and an SRM alarm (requirement: A/B testing)
    Ab,
    /// Bias audit and SHAP explanations of the Adult model (requirement: bias audit + SHAP)
    Audit,
    /// The containerized deployment (requirement: containerize and deploy)
    Deploy,
}

impl PartName {
    pub const ALL: [PartName; 5] = [
        PartName::Service,
        PartName::Quality,
        PartName::Ab,
        PartName::Audit,
        PartName::Deploy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PartName::Service => "service",
            PartName::Quality => "quality",
            PartName::Ab => "ab",
            PartName::Audit => "audit",
            PartName::Deploy => "deploy",
        }
    }

    /// The phase-6 item this part completes.
    pub fn item(self) -> &'static str {
        match self {
            PartName::Service => "phase6.monitoring-logging",
            PartName::Quality => "phase6.data-validation",
            PartName::Ab => "phase6.ab-testing",
            PartName::Audit => "phase6.bias-audit-shap",
            PartName::Deploy => "phase6.containerize-deploy",
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "roadmap run <PHASE>",
    about = "The capstone's checks: service, data quality, A/B test, bias audit + SHAP, deployment"
)]
pub struct Args {
    /// Parts to run, comma-separated; the others are reported as skipped
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "service,quality,ab,audit,deploy"
    )]
    parts: Vec<PartName>,
    /// Audit: bootstrap replicates for the 95% intervals of the fairness aggregates (0: none)
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = crate::flags::count_in(0..=100_000))]
    bootstrap: usize,
    /// A/B: simulated users in the replayed experiment (at least 1000, so the SRM test can see the
    /// planted logging bug)
    #[arg(long, value_name = "N", default_value_t = 2000, value_parser = crate::flags::count_in(1000..=200_000))]
    ab_users: usize,
    /// A/B: passages the treatment retrieves (the control retrieves 1); 1 makes the variants
    /// identical, a negative control in which no winner may be found
    #[arg(long, value_name = "K", default_value_t = 5, value_parser = crate::flags::count_in(1..=50))]
    ab_treatment_k: usize,
    /// Service and deploy: local-LLM asks fired at once past the generation queue (1 slot + 1
    /// place); 0 runs the workload without the burst and without loading the local LLM
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = crate::flags::count_in(0..=64))]
    service_burst: usize,
    /// Seed of the A/B replay and of the audit's bootstrap
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Print one JSON object (the check lines go to stderr)
    #[arg(long)]
    json: bool,
}

/// One named check of a part and whether it held.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// How a part ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    Skipped,
}

/// What one part reports.
#[derive(Debug, Clone, Serialize)]
pub struct PartReport {
    pub part: PartName,
    pub item: &'static str,
    pub status: Status,
    /// One line: why it was skipped or failed, or what passed.
    pub reason: String,
    pub checks: Vec<Check>,
    pub metrics: BTreeMap<String, f64>,
    /// Part-specific figures that are not numbers (top features, drifted columns…).
    pub details: serde_json::Value,
    pub seconds: f64,
}

/// What a part's `run` returns.
pub enum Ran {
    /// The part ran: its metrics and details (its checks are in the [`Reporter`]).
    Done {
        metrics: BTreeMap<String, f64>,
        details: serde_json::Value,
    },
    /// The part cannot run here, for this reason.
    Skipped(String),
}

/// What every part gets.
pub struct Settings {
    pub artifact_dir: PathBuf,
    pub cache_dir: PathBuf,
    pub bootstrap: usize,
    pub ab_users: usize,
    pub ab_treatment_k: usize,
    pub service_burst: usize,
    pub seed: u64,
    pub json: bool,
}

/// Collects a part's checks and prints each one as it is decided.
pub struct Reporter {
    part: &'static str,
    json: bool,
    checks: Vec<Check>,
}

impl Reporter {
    pub fn new(part: &'static str, json: bool) -> Reporter {
        Reporter {
            part,
            json,
            checks: Vec::new(),
        }
    }

    /// Records and prints `✓ part.name: detail` (or `✗`); returns `passed`.
    pub fn check(&mut self, name: &str, passed: bool, detail: impl Into<String>) -> bool {
        let c = Check {
            name: format!("{}.{name}", self.part),
            passed,
            detail: detail.into(),
        };
        self.line(&format!(
            "{} {}: {}",
            if passed { "✓" } else { "✗" },
            c.name,
            c.detail
        ));
        self.checks.push(c);
        passed
    }

    /// A progress line for a long step (stderr, so it never mixes with JSON).
    pub fn progress(&self, what: &str) {
        eprintln!("  … {}: {what}", self.part);
    }

    fn line(&self, text: &str) {
        if self.json {
            eprintln!("{text}");
        } else {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }
}

/// Overall metrics, reported whatever parts ran.
const SUMMARY_METRICS: [&str; 5] = [
    "parts_passed",
    "parts_failed",
    "parts_skipped",
    "checks_passed",
    "checks_failed",
];

/// Every metric the runner can report: the summary, then each part's.
fn all_metrics() -> &'static [&'static str] {
    static ALL: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        SUMMARY_METRICS
            .iter()
            .chain(service::METRICS)
            .chain(quality::METRICS)
            .chain(ab::METRICS)
            .chain(audit::METRICS)
            .chain(deploy::METRICS)
            .copied()
            .collect()
    })
}

/// Runs one part, turning its result or error into a report.
fn run_part(part: PartName, s: &Settings) -> PartReport {
    let started = std::time::Instant::now();
    let mut rep = Reporter::new(part.as_str(), s.json);
    let result = match part {
        PartName::Service => service::run(s, &mut rep),
        PartName::Quality => quality::run(s, &mut rep),
        PartName::Ab => ab::run(s, &mut rep),
        PartName::Audit => audit::run(s, &mut rep),
        PartName::Deploy => deploy::run(s, &mut rep),
    };
    let seconds = started.elapsed().as_secs_f64();
    let checks = std::mem::take(&mut rep.checks);
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    let (status, reason, metrics, details) = match result {
        Ok(Ran::Skipped(why)) => (Status::Skipped, why, BTreeMap::new(), json!({})),
        Ok(Ran::Done { metrics, details }) if checks.is_empty() => (
            Status::Failed,
            "the part ran no check (a bug in this version of roadmap)".to_string(),
            metrics,
            details,
        ),
        Ok(Ran::Done { metrics, details }) if failed.is_empty() => (
            Status::Passed,
            format!("{} checks passed", checks.len()),
            metrics,
            details,
        ),
        Ok(Ran::Done { metrics, details }) => (
            Status::Failed,
            format!(
                "{} of {} checks failed: {}",
                failed.len(),
                checks.len(),
                failed.join(", ")
            ),
            metrics,
            details,
        ),
        Err(e) => {
            let why = roadmap_common::redact::redact_text(&format!("{e:#}"));
            rep.line(&format!("✗ {}: could not run: {why}", part.as_str()));
            (
                Status::Failed,
                format!("could not run: {why}"),
                BTreeMap::new(),
                json!({}),
            )
        }
    };
    PartReport {
        part,
        item: part.item(),
        status,
        reason,
        checks,
        metrics,
        details,
        seconds,
    }
}

/// Runs the selected parts and reports the others as skipped.
pub fn run_parts(selected: &[PartName], s: &Settings) -> Vec<PartReport> {
    PartName::ALL
        .iter()
        .map(|&part| {
            if selected.contains(&part) {
                if !s.json {
                    println!("── {} ({})", part.as_str(), part.item());
                }
                run_part(part, s)
            } else {
                PartReport {
                    part,
                    item: part.item(),
                    status: Status::Skipped,
                    reason: "not selected (--parts)".into(),
                    checks: Vec::new(),
                    metrics: BTreeMap::new(),
                    details: json!({}),
                    seconds: 0.0,
                }
            }
        })
        .collect()
}

/// The run's metrics: every part's, plus the summary counts.
pub fn outcome_metrics(reports: &[PartReport]) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    let count = |st: Status| reports.iter().filter(|r| r.status == st).count() as f64;
    m.insert("parts_passed".into(), count(Status::Passed));
    m.insert("parts_failed".into(), count(Status::Failed));
    m.insert("parts_skipped".into(), count(Status::Skipped));
    let checks = reports.iter().flat_map(|r| &r.checks);
    m.insert(
        "checks_passed".into(),
        checks.clone().filter(|c| c.passed).count() as f64,
    );
    m.insert(
        "checks_failed".into(),
        checks.filter(|c| !c.passed).count() as f64,
    );
    for r in reports {
        m.extend(r.metrics.iter().map(|(k, v)| (k.clone(), *v)));
    }
    m
}

impl Runner for Capstone {
    fn name(&self) -> &'static str {
        "capstone"
    }

    fn metrics(&self) -> &'static [&'static str] {
        all_metrics()
    }

    fn command(&self) -> clap::Command {
        Args::command()
    }

    fn run(&self, ctx: &RunContext, args: &ArgMatches) -> Result<RunOutcome> {
        let a: Args = flags(args)?;
        let s = Settings {
            artifact_dir: ctx.artifact_dir.clone(),
            cache_dir: ctx.cache_dir.clone(),
            bootstrap: a.bootstrap,
            ab_users: a.ab_users,
            ab_treatment_k: a.ab_treatment_k,
            service_burst: a.service_burst,
            seed: a.seed,
            json: a.json,
        };
        let reports = run_parts(&a.parts, &s);
        let metrics = outcome_metrics(&reports);
        let completes: Vec<String> = reports
            .iter()
            .filter(|r| r.status == Status::Passed)
            .map(|r| r.item.to_string())
            .collect();
        std::fs::write(
            ctx.artifact_dir.join("capstone.json"),
            serde_json::to_vec_pretty(&json!({ "parts": reports, "metrics": metrics }))?,
        )?;
        if a.json {
            println!(
                "{}",
                json!({ "parts": reports, "metrics": metrics, "completes": completes })
            );
        } else {
            println!("── summary");
            for r in &reports {
                println!(
                    "  {:<8} {:<8} {:<28} {}",
                    r.part.as_str(),
                    match r.status {
                        Status::Passed => "passed",
                        Status::Failed => "FAILED",
                        Status::Skipped => "skipped",
                    },
                    r.item,
                    r.reason
                );
            }
        }
        let params = json!({
            "parts": a.parts.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            "bootstrap": a.bootstrap,
            "ab_users": a.ab_users,
            "ab_treatment_k": a.ab_treatment_k,
            "service_burst": a.service_burst,
            "seed": a.seed,
            "details": reports.iter().map(|r| (r.part.as_str(), r.details.clone())).collect::<BTreeMap<_, _>>(),
        });
        Ok(RunOutcome {
            metrics,
            params,
            models: Vec::new(),
            completes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_are_unique_and_parts_have_distinct_items() {
        let all = all_metrics();
        let set: std::collections::BTreeSet<_> = all.iter().collect();
        assert_eq!(set.len(), all.len(), "a metric is declared twice");
        let items: std::collections::BTreeSet<_> = PartName::ALL.iter().map(|p| p.item()).collect();
        assert_eq!(items.len(), 5);
    }

    /// The workspace's shared test asset cache (`<target>/tmp/roadmap-test-assets`,
    /// as integration tests find it through `CARGO_TARGET_TMPDIR`); this unit
    /// test binary lives in `<target>/debug/deps/`.
    fn shared_test_cache() -> std::path::PathBuf {
        let exe = std::env::current_exe().unwrap();
        let target = exe.ancestors().nth(3).expect("<target>/debug/deps/<exe>");
        roadmap_common::assets::test_cache_dir(&target.join("tmp").to_string_lossy())
    }

    #[test]
    fn emitted_metrics_are_exactly_the_declared_ones_of_the_parts_that_ran() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = RunContext {
            artifact_dir: dir.path().to_path_buf(),
            cache_dir: shared_test_cache(),
            latest_models: Default::default(),
        };
        // Deploy is left out: it packs the running binary into an image, and
        // this is the unit-test binary (tests/capstone_deploy.rs runs it).
        let args: Vec<std::ffi::OsString> = [
            "--parts",
            "service,quality,ab,audit",
            "--json",
            "--bootstrap",
            "0",
            "--ab-users",
            "1000",
            "--service-burst",
            "0",
        ]
        .iter()
        .map(Into::into)
        .collect();
        let out = crate::runners::run_with(&Capstone, &ctx, &args).unwrap();
        let emitted: std::collections::BTreeSet<&str> =
            out.metrics.keys().map(String::as_str).collect();
        // Without a burst (no local LLM in the test cache) the service has no
        // 429 count to report; every other metric of the parts that ran is emitted.
        let declared: std::collections::BTreeSet<&str> = all_metrics()
            .iter()
            .copied()
            .filter(|m| *m != "service_burst_429" && !deploy::METRICS.contains(m))
            .collect();
        assert_eq!(emitted, declared);
        assert_eq!(
            out.completes,
            [
                "phase6.monitoring-logging",
                "phase6.data-validation",
                "phase6.ab-testing",
                "phase6.bias-audit-shap"
            ]
        );
        for f in [
            "capstone.json",
            "adult-model.json",
            "fairness.md",
            "shap-bar.svg",
            "failure_cases.csv",
            "drift.html",
            "ab_report.json",
            "service.sqlite",
        ] {
            assert!(dir.path().join(f).is_file(), "{f} missing");
        }
    }

    #[test]
    fn unselected_parts_are_skipped_with_a_reason_and_count_as_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings {
            artifact_dir: dir.path().to_path_buf(),
            cache_dir: dir.path().join("cache"),
            bootstrap: 0,
            ab_users: 1000,
            ab_treatment_k: 5,
            service_burst: 0,
            seed: 1,
            json: true,
        };
        let reports = run_parts(&[], &s);
        assert_eq!(reports.len(), 5);
        assert!(reports
            .iter()
            .all(|r| r.status == Status::Skipped && r.reason.contains("--parts")));
        let m = outcome_metrics(&reports);
        assert_eq!(m["parts_skipped"], 5.0);
        assert_eq!(m["parts_passed"], 0.0);
        assert_eq!(m["checks_passed"], 0.0);
    }
}
