//! `roadmap completions SHELL`: shell completion scripts, including each
//! runner's own flags under `roadmap run PHASE` and `roadmap verify PHASE`.

use std::process::ExitCode;

use anyhow::Result;
use clap::CommandFactory;

use super::Globals;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to generate completions for
    shell: clap_complete::Shell,
}

pub fn run(args: Args, g: &Globals) -> Result<ExitCode> {
    let mut cmd = completion_command(g)?;
    clap_complete::generate(args.shell, &mut cmd, "roadmap", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// The CLI as the shell should see it: `run` and `verify` take a phase, then
/// that phase's runner flags, which only the loaded roadmap knows; for
/// completion they become one subcommand per phase.
pub fn completion_command(g: &Globals) -> Result<clap::Command> {
    let roadmap = g.roadmap()?;
    let mut cmd = super::Cli::command();
    for (name, verify) in [("run", false), ("verify", true)] {
        let phases: Vec<clap::Command> = roadmap
            .phases
            .iter()
            .filter_map(|p| {
                let runner = crate::runners::find(p.milestone.as_ref()?.runner.as_deref()?)?;
                let c = if verify {
                    runner.verify_command()?
                } else {
                    runner.command()
                };
                Some(
                    c.name(p.id.clone())
                        .bin_name(format!("roadmap {name} {}", p.id)),
                )
            })
            .collect();
        cmd = cmd.mut_subcommand(name, |sub| {
            let about = sub.get_about().cloned().unwrap_or_default();
            clap::Command::new(name)
                .about(about)
                .subcommand_required(true)
                .subcommands(phases)
        });
    }
    Ok(cmd)
}
