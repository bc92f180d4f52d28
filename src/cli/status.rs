//! `roadmap status`: where the learner stands.

use std::process::ExitCode;

use anyhow::Result;

use super::Globals;
use crate::progress::{self, bar, hours};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object instead of the table
    #[arg(long)]
    json: bool,
}

/// `roadmap` with no subcommand: the status, then a short "what next".
pub fn overview(g: &Globals) -> Result<()> {
    run(Args { json: false }, g)?;
    println!();
    println!("What next:");
    println!("  roadmap show PHASE            the phase's resources, milestone and criteria");
    println!("  roadmap start ID | done ID    track an item (ids: `roadmap show`)");
    println!("  roadmap log 1h30m ID          log study time");
    println!(
        "  roadmap run PHASE             run the phase's milestone (`--help` lists its flags)"
    );
    println!("  roadmap --help                every command");
    Ok(())
}

pub fn run(args: Args, g: &Globals) -> Result<ExitCode> {
    let roadmap = g.roadmap()?;
    let db = g.open_db()?;
    let learner = g.learner()?;
    let o = progress::for_learner(&db, &roadmap, &learner, progress::today())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&o)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} — learner: {learner}\n", roadmap.title);
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING);
    table.set_header(["phase", "title", "progress", "items", "milestone", "time"]);
    for p in &o.phases {
        let marker = if o.current_phase.as_deref() == Some(p.id.as_str()) {
            "▶ "
        } else {
            "  "
        };
        table.add_row([
            format!("{marker}{}", p.id),
            p.title.clone(),
            bar(p.fraction(), 12),
            format!("{}/{}", p.done, p.total),
            p.milestone.clone(),
            hours(p.minutes),
        ]);
    }
    println!("{table}\n");
    match &o.current_phase {
        Some(id) => {
            let phase = roadmap.phase(id).expect("current phase exists");
            println!(
                "Current phase: {id} — {} ({})",
                phase.title, phase.duration_months
            );
        }
        None => println!("Current phase: none left"),
    }
    println!("Next step: {}", o.next_step);
    println!("Time logged: {}", hours(o.total_minutes));
    match &o.pace {
        None => println!("Pace: no activity yet"),
        Some(p) => {
            print!(
                "Pace: started {} ({} days ago), {:.0}% of the roadmap done",
                p.started,
                p.days_elapsed,
                p.fraction_done * 100.0
            );
            match (p.forecast_finish, p.projected_months) {
                (Some(d), Some(m)) => println!(
                    "; forecast finish {d} (~{m:.1} months in all): {}",
                    p.verdict
                ),
                _ => println!("; {}", p.verdict),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
