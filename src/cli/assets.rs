//! `roadmap assets list|fetch|verify|path`: the offline models and datasets.

use std::process::ExitCode;

use anyhow::Result;
use roadmap_common::assets::{self, Manifest, State};

use super::Globals;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Every asset, its package and whether it is on this machine
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Download and verify assets (all of them when no name is given)
    Fetch {
        /// The asset's name (`roadmap assets list` shows them)
        name: Option<String>,
        /// Fetch again even if a verified copy is cached
        #[arg(long)]
        force: bool,
    },
    /// Check every file of the cached (or overridden) assets against its sha256 pin
    Verify {
        /// Only this asset
        name: Option<String>,
    },
    /// Print the folder holding an asset's files
    Path {
        /// The asset's name
        name: String,
    },
}

pub fn run(cmd: Command, g: &Globals) -> Result<ExitCode> {
    let manifest = Manifest::embedded()?;
    let cache = g.cache_dir();
    let selected = |name: &Option<String>| -> Result<Vec<&assets::Asset>> {
        match name {
            Some(n) => Ok(vec![manifest.get(n)?]),
            None => Ok(manifest.assets.iter().collect()),
        }
    };
    match cmd {
        Command::List { json } => {
            if json {
                let v: Vec<_> = manifest
                    .assets
                    .iter()
                    .map(|a| {
                        serde_json::json!({
                            "name": a.name, "description": a.description, "package": format!("{}=={}", a.package, a.version),
                            "license": a.license, "state": assets::state(&cache, a), "path": assets::path(&cache, a),
                            "env": a.env_var(), "files": a.files,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(ExitCode::SUCCESS);
            }
            let mut table = comfy_table::Table::new();
            table.set_header(["asset", "package", "state", "description", "licence"]);
            for a in &manifest.assets {
                let state = match assets::state(&cache, a) {
                    State::Cached => "cached".to_string(),
                    State::Override => format!("from ${}", a.env_var()),
                    State::Missing => "not fetched".to_string(),
                    State::Modified => "changed since verified".to_string(),
                };
                table.add_row([
                    a.name.clone(),
                    format!("{}=={}", a.package, a.version),
                    state,
                    a.description.clone(),
                    a.license.clone(),
                ]);
            }
            println!("{table}");
            println!("cache: {}", cache.display());
        }
        Command::Fetch { name, force } => {
            for a in selected(&name)? {
                let dir = assets::fetch(&cache, a, force)?;
                println!("{}: {}", a.name, dir.display());
            }
        }
        Command::Verify { name } => {
            let mut failed = 0;
            for a in selected(&name)? {
                if name.is_none() && assets::state(&cache, a) == State::Missing {
                    println!("{}: not fetched", a.name);
                    continue;
                }
                match assets::verify(&cache, a) {
                    Ok(dir) => println!("{}: ok ({})", a.name, dir.display()),
                    Err(e) => {
                        failed += 1;
                        eprintln!("{}: {e}", a.name);
                    }
                }
            }
            if failed > 0 {
                anyhow::bail!("{failed} asset(s) failed verification");
            }
        }
        Command::Path { name } => {
            let a = manifest.get(&name)?;
            println!("{}", assets::path(&cache, a).display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
