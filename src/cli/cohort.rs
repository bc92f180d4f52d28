//! `roadmap cohort DB...`: one comparison table over several learners'
//! databases. Each file is opened read-only and never modified.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use super::Globals;
use crate::db::Db;
use crate::progress::{self, hours};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Progress databases to compare
    #[arg(required = true)]
    dbs: Vec<PathBuf>,
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, g: &Globals) -> Result<ExitCode> {
    let roadmap = g.roadmap()?;
    let today = progress::today();
    let mut rows = Vec::new();
    for path in &args.dbs {
        let db = Db::open_read_only(path).with_context(|| format!("cohort: {}", path.display()))?;
        let learners = db.learners()?;
        if learners.is_empty() {
            bail!("{} has no learners yet", path.display());
        }
        for l in learners {
            let o = progress::for_learner(&db, &roadmap, &l, today)?;
            let passed = db.runs(&l)?.iter().filter(|r| r.status == "passed").count();
            rows.push((path.display().to_string(), o, passed));
        }
    }
    if args.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(db, o, passed)| serde_json::json!({ "db": db, "passed_runs": passed, "overview": o }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = comfy_table::Table::new();
    let mut header = vec!["database".to_string(), "learner".to_string()];
    header.extend(roadmap.phases.iter().map(|p| p.id.clone()));
    header.extend([
        "time".into(),
        "current".into(),
        "passed runs".into(),
        "forecast".into(),
    ]);
    table.set_header(header);
    for (db, o, passed) in &rows {
        let mut row = vec![db.clone(), o.learner.clone()];
        row.extend(o.phases.iter().map(|p| format!("{}/{}", p.done, p.total)));
        row.push(hours(o.total_minutes));
        row.push(o.current_phase.clone().unwrap_or_else(|| "finished".into()));
        row.push(passed.to_string());
        row.push(
            o.pace
                .as_ref()
                .and_then(|p| p.forecast_finish.map(|d| d.to_string()))
                .unwrap_or_else(|| "-".into()),
        );
        table.add_row(row);
    }
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}
