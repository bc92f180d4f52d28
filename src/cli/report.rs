//! `roadmap report`: the mentor's report — per-phase progress, time spent,
//! runs with their metrics, and pace — as Markdown, JSON, CSV or HTML.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde::Serialize;

use super::Globals;
use crate::db::Run;
use crate::progress::{self, hours, Overview};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Md,
    Json,
    Csv,
    Html,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format
    #[arg(long, value_enum, default_value = "md")]
    format: Format,
    /// Write to this file instead of standard output
    #[arg(long)]
    out: Option<PathBuf>,
    /// Every learner in the database (default: only --learner)
    #[arg(long)]
    all: bool,
}

#[derive(Serialize)]
struct LearnerReport {
    overview: Overview,
    runs: Vec<Run>,
}

pub fn run(args: Args, g: &Globals) -> Result<ExitCode> {
    let roadmap = g.roadmap()?;
    let db = g.open_db()?;
    let learners = if args.all {
        db.learners()?
    } else {
        vec![g.learner()?]
    };
    let today = progress::today();
    let reports = learners
        .iter()
        .map(|l| {
            Ok(LearnerReport {
                overview: progress::for_learner(&db, &roadmap, l, today)?,
                runs: db.runs(l)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&serde_json::json!({
            "roadmap": roadmap.title, "generated": today.to_string(), "learners": reports,
        }))?,
        Format::Md => markdown(&roadmap.title, &reports),
        Format::Csv => csv_text(&reports)?,
        // The dashboard's templates: the same sections as its learner pages.
        Format::Html => crate::dashboard::report_html(&roadmap, &db, &learners)?,
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, text)
                .with_context(|| format!("cannot write the report to {}", path.display()))?;
            eprintln!("report written to {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn metrics_text(r: &Run) -> String {
    r.metrics
        .iter()
        .map(|(k, v)| format!("{k}={v:.4}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn pace_text(o: &Overview) -> String {
    match &o.pace {
        None => "no activity yet".into(),
        Some(p) => match p.forecast_finish {
            Some(d) => format!(
                "{:.0}% done since {}; forecast finish {d}: {}",
                p.fraction_done * 100.0,
                p.started,
                p.verdict
            ),
            None => format!(
                "{:.0}% done since {}; {}",
                p.fraction_done * 100.0,
                p.started,
                p.verdict
            ),
        },
    }
}

fn markdown(title: &str, reports: &[LearnerReport]) -> String {
    let mut s = format!("# {title}: progress report\n\n");
    for r in reports {
        let o = &r.overview;
        let _ = writeln!(s, "## {}\n", o.learner);
        let _ = writeln!(
            s,
            "- Current phase: {}",
            o.current_phase.as_deref().unwrap_or("none (finished)")
        );
        let _ = writeln!(s, "- Time logged: {}", hours(o.total_minutes));
        let _ = writeln!(s, "- Pace: {}", pace_text(o));
        let _ = writeln!(s, "- Next step: {}\n", o.next_step);
        s.push_str("| phase | title | items done | skipped | time | milestone |\n|---|---|---|---|---|---|\n");
        for p in &o.phases {
            let _ = writeln!(
                s,
                "| {} | {} | {}/{} | {} | {} | {} |",
                p.id,
                p.title,
                p.done,
                p.total,
                p.skipped,
                hours(p.minutes),
                p.milestone
            );
        }
        if !r.runs.is_empty() {
            s.push_str("\n| run | phase | kind | status | started | seconds | metrics |\n|---|---|---|---|---|---|---|\n");
            for run in &r.runs {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    run.id,
                    run.phase_id,
                    run.kind,
                    run.status,
                    run.started_at,
                    run.duration_seconds
                        .map(|d| format!("{d:.1}"))
                        .unwrap_or_default(),
                    metrics_text(run)
                );
            }
        }
        s.push('\n');
    }
    s
}

fn csv_text(reports: &[LearnerReport]) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "learner",
        "phase",
        "title",
        "items_done",
        "items_total",
        "items_skipped",
        "minutes",
        "milestone",
        "runs",
        "latest_run_status",
        "latest_run_metrics",
    ])?;
    for r in reports {
        for p in &r.overview.phases {
            let runs: Vec<&Run> = r.runs.iter().filter(|x| x.phase_id == p.id).collect();
            let latest = runs.last();
            w.write_record([
                r.overview.learner.clone(),
                p.id.clone(),
                p.title.clone(),
                p.done.to_string(),
                p.total.to_string(),
                p.skipped.to_string(),
                p.minutes.to_string(),
                p.milestone.clone(),
                runs.len().to_string(),
                latest.map(|x| x.status.clone()).unwrap_or_default(),
                latest
                    .map(|x| serde_json::to_string(&x.metrics).unwrap_or_default())
                    .unwrap_or_default(),
            ])?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}
