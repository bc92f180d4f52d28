//! `roadmap history`: the learner's event log, oldest first.

use std::process::ExitCode;

use anyhow::{anyhow, Result};
use chrono::NaiveDate;

use super::Globals;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only events on or after this day (YYYY-MM-DD)
    #[arg(long)]
    since: Option<String>,
    /// Print a JSON array instead of lines
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, g: &Globals) -> Result<ExitCode> {
    let since = match &args.since {
        None => None,
        Some(s) => Some(
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| anyhow!("--since `{s}` is not a date: use YYYY-MM-DD"))?
                .to_string(),
        ),
    };
    let db = g.open_db()?;
    let events = db.events(&g.learner()?, since.as_deref())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&events)?);
        return Ok(ExitCode::SUCCESS);
    }
    if events.is_empty() {
        println!("no history yet for {}", g.learner()?);
    }
    for e in events {
        let item = e.item_id.as_deref().unwrap_or("-");
        let detail = match e.kind.as_str() {
            "status" => format!(
                "{} → {}",
                e.detail["from"].as_str().unwrap_or("?"),
                e.detail["to"].as_str().unwrap_or("?")
            ),
            "session" => format!(
                "{} min on {}",
                e.detail["minutes"],
                e.detail["date"].as_str().unwrap_or("?")
            ),
            "note" => e.detail["text"].as_str().unwrap_or("").to_string(),
            _ => e.detail.to_string(),
        };
        println!(
            "{}  {:<13} {:<32} {}",
            &e.at[..19.min(e.at.len())],
            e.kind,
            item,
            detail
        );
    }
    Ok(ExitCode::SUCCESS)
}
