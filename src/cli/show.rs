//! `roadmap show [PHASE_OR_ITEM]`: what a phase or item is, and where you stand on it.

use std::process::ExitCode;

use anyhow::Result;

use super::{check_id, Globals};
use crate::db::Status;
use crate::progress::hours;
use crate::roadmap::{ItemKind, Phase};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A phase id (`phase2`) or item id (`phase2.milestone`); omit to list every phase
    id: Option<String>,
}

pub fn run(args: Args, g: &Globals) -> Result<ExitCode> {
    let roadmap = g.roadmap()?;
    let learner = g.learner()?;
    let db = g.open_db()?;
    let states = db.item_states(&learner)?;
    let status = |id: &str| states.get(id).map(|s| s.status).unwrap_or(Status::Todo);
    let print_items = |phase: &Phase| {
        for item in phase.items() {
            let kind = match item.kind {
                ItemKind::Resource => "resource",
                ItemKind::Milestone => "milestone",
                ItemKind::Requirement => "requirement",
            };
            println!(
                "  [{:<11}] {:<36} {:<11} {}",
                status(item.id).as_str(),
                item.id,
                kind,
                item.title
            );
        }
    };

    let Some(id) = args.id else {
        println!("{}", roadmap.title);
        println!(
            "Timeline: focused {}, part-time {}\n",
            roadmap.timeline.focused_months, roadmap.timeline.part_time_months
        );
        for phase in &roadmap.phases {
            println!("{} — {} ({})", phase.id, phase.title, phase.duration_months);
            print_items(phase);
            println!();
        }
        return Ok(ExitCode::SUCCESS);
    };
    check_id(&roadmap, &id)?;

    if let Some(phase) = roadmap.phase(&id) {
        println!("{} — {}", phase.id, phase.title);
        println!("Duration: {}", phase.duration_months);
        if let Some(o) = &phase.objective {
            println!("Objective: {o}");
        }
        if let Some(o) = &phase.outcome {
            println!("After this phase: {o}");
        }
        if !phase.resources.is_empty() {
            println!("\nLearning:");
            for r in &phase.resources {
                println!(
                    "  [{:<11}] {:<36} {:?}: {} ({})",
                    status(&r.id).as_str(),
                    r.id,
                    r.kind,
                    r.title,
                    r.provider
                );
            }
        }
        if !phase.requirements.is_empty() {
            println!("\nRequirements:");
            for r in &phase.requirements {
                println!(
                    "  [{:<11}] {:<36} {}",
                    status(&r.id).as_str(),
                    r.id,
                    r.title
                );
            }
        }
        if let Some(m) = &phase.milestone {
            println!(
                "\nMilestone: [{}] {} — {}",
                status(&m.id).as_str(),
                m.id,
                m.title
            );
            println!("  {}", m.description);
            match &m.runner {
                Some(r) => {
                    println!("  Runner: {r} (`roadmap run {}`)", phase.id);
                    let criteria: Vec<String> = m.criteria.iter().map(|c| c.to_string()).collect();
                    println!("  Passes when: {}", criteria.join(", "));
                }
                None => println!(
                    "  No runner: mark it done by hand (`roadmap done {}`)",
                    m.id
                ),
            }
        }
        return Ok(ExitCode::SUCCESS);
    }

    let item = roadmap.item(&id).expect("checked above");
    println!("{} — {}", item.id, item.title);
    println!("Phase: {} — {}", item.phase.id, item.phase.title);
    if let Some(r) = item.phase.resources.iter().find(|r| r.id == id) {
        println!("Kind: {:?}, by {}", r.kind, r.provider);
    }
    if let Some(m) = item.phase.milestone.as_ref().filter(|m| m.id == id) {
        println!("{}", m.description);
        if let Some(r) = &m.runner {
            let criteria: Vec<String> = m.criteria.iter().map(|c| c.to_string()).collect();
            println!("Runner: {r}; passes when {}", criteria.join(", "));
        }
    }
    match states.get(&id) {
        None => println!("Status: todo"),
        Some(s) => println!(
            "Status: {} (started {}, finished {})",
            s.status.as_str(),
            s.started_at.as_deref().unwrap_or("-"),
            s.finished_at.as_deref().unwrap_or("-")
        ),
    }
    let sessions: Vec<_> = db
        .sessions(&learner)?
        .into_iter()
        .filter(|s| s.item_id == id)
        .collect();
    if !sessions.is_empty() {
        let total: i64 = sessions.iter().map(|s| s.minutes).sum();
        println!("Studied: {} in {} sessions", hours(total), sessions.len());
    }
    for n in db.notes(&learner)?.into_iter().filter(|n| n.item_id == id) {
        println!(
            "Note ({}): {}",
            &n.created_at[..10.min(n.created_at.len())],
            n.text
        );
    }
    if item.kind == ItemKind::Milestone {
        for r in db
            .runs(&learner)?
            .into_iter()
            .filter(|r| r.phase_id == item.phase.id)
        {
            println!(
                "{} #{} {}: {} {:?}",
                r.kind,
                r.id,
                &r.started_at[..19.min(r.started_at.len())],
                r.status,
                r.metrics
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
