//! `roadmap ab assign`: the variant a user gets, exactly as GrowthBook's SDKs
//! would assign it, from an experiments file or statelessly from a seed and
//! weights.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use roadmap_abtest::config::Decision;
use roadmap_abtest::stateless;

use super::experiments_file;

#[derive(Debug, clap::Args)]
pub struct AssignArgs {
    /// The user key (what the service reads from `user` or `X-User-Id`)
    #[arg(long)]
    user: String,
    /// An experiment of the experiments file
    #[arg(long, conflicts_with_all = ["seed", "weights"], required_unless_present = "seed")]
    experiment: Option<String>,
    /// The experiments file [default: the shipped example]
    #[arg(long, env = "ROADMAP_RAG_EXPERIMENTS", value_name = "FILE")]
    experiments: Option<PathBuf>,
    /// Stateless: the hash seed (GrowthBook's `seed`, usually the experiment key)
    #[arg(long, requires = "weights")]
    seed: Option<String>,
    /// Stateless: variant weights summing to 1, e.g. 0.5,0.5
    #[arg(long, requires = "seed")]
    weights: Option<String>,
    /// Stateless: GrowthBook hash version, 1 or 2
    #[arg(long, default_value_t = 2)]
    hash_version: i64,
    /// Stateless: share of users in the experiment (0..=1)
    #[arg(long, default_value_t = 1.0)]
    coverage: f64,
    /// Print one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run(a: AssignArgs) -> Result<ExitCode> {
    if let (Some(seed), Some(weights)) = (&a.seed, &a.weights) {
        let r = stateless::assign_from_args(seed, weights, &a.user, a.hash_version, a.coverage)?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&r)?);
        } else {
            match r.variant {
                Some(v) => println!("user {} → variant {v} (hash {:.4})", r.user, r.hash),
                None => println!(
                    "user {} is outside the experiment's coverage (hash {:.4})",
                    r.user, r.hash
                ),
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let key = a
        .experiment
        .as_deref()
        .context("--experiment KEY or --seed/--weights")?;
    let file = experiments_file(a.experiments.as_deref())?;
    let exp = file.get(key)?;
    let decision = exp.decide(&a.user, chrono::Utc::now());
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "experiment": exp.key,
                "user": a.user,
                "hash": exp.assigner().hash(&a.user),
                "decision": decision,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    match decision {
        Decision::Assigned { variant, index, .. } => {
            println!(
                "user {} → {variant} (variant {index} of {})",
                a.user, exp.key
            )
        }
        Decision::NotInExperiment => println!(
            "user {} is not in {} (outside its coverage or namespace): served the defaults",
            a.user, exp.key
        ),
        Decision::Inactive { reason } => println!(
            "{} assigns nobody now ({reason:?}): every user is served the defaults",
            exp.key
        ),
    }
    Ok(ExitCode::SUCCESS)
}
