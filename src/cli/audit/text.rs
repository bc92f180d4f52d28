//! `roadmap audit text`: the counterfactual template audit of the phase-2
//! sentiment network. Sentences that differ only in an identity term (gendered
//! words, first names, nationalities) are scored; per group, the mean score gap
//! to the reference group with a paired t-interval (`roadmap_audit::textbias`;
//! the shipped templates and their provenance are in
//! `milestones/audit/data/identity_templates.toml`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use roadmap_audit::textbias::{text_bias_audit, TemplateSet};

use super::super::Globals;
use super::{load_sentiment_model, write_file};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Sentiment model folder [default: the newest model of a passed `roadmap run phase2`]
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,
    /// Template set (TOML, the shipped file's format) instead of the shipped one
    #[arg(long, value_name = "FILE.toml")]
    templates: Option<PathBuf>,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
    /// Also write the report as Markdown
    #[arg(long, value_name = "OUT.md")]
    markdown: Option<PathBuf>,
}

pub fn run(a: Args, g: &Globals) -> Result<ExitCode> {
    let set = match &a.templates {
        None => TemplateSet::shipped(),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the template set {}", p.display()))?;
            TemplateSet::parse(&text).with_context(|| {
                format!(
                    "{}: not a usable template set (see milestones/audit/data/identity_templates.toml)",
                    p.display()
                )
            })?
        }
    };
    let (dir, model) = load_sentiment_model(a.model.as_deref(), g)?;
    let report = text_bias_audit(&model, &set)
        .with_context(|| format!("cannot audit the sentiment model in {}", dir.display()))?;
    if let Some(path) = &a.markdown {
        write_file(path, &report.render_markdown())?;
        eprintln!("Markdown report written to {}", path.display());
    }
    if a.json {
        let mut v = serde_json::to_value(&report)?;
        v["model"] = serde_json::json!(dir);
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("Model: {}", dir.display());
        print!("{}", report.render_table());
        for d in &report.dimensions {
            let (first, second, gap) = &d.largest_gap;
            println!(
                "{}: largest gap, {first} − {second}: {gap:+.4} in P(positive)",
                d.dimension
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
