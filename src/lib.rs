//! `roadmap`: the Machine Learning Engineer roadmap, tracked and runnable.
//!
//! `src/` is the command line and the progress tracker; each phase's
//! milestone is a library crate under `milestones/`, reached through the
//! runner registry in [`runners`]. The learner's full-screen interface lives
//! in [`tui`] and the mentor's web dashboard in [`dashboard`]; both change and
//! read progress through the same tracker functions ([`tracker`], [`db`],
//! [`progress`]) as the subcommands in [`cli`].

pub mod cli;
pub mod dashboard;
pub mod db;
mod flags;
mod knowledge;
pub mod progress;
mod resolve;
pub mod roadmap;
pub mod runners;
pub mod tracker;
pub mod tui;
