//! `roadmap`: the Machine Learning Engineer roadmap, tracked and runnable.

mod cli;
mod runners;

fn main() -> std::process::ExitCode {
    cli::main()
}
