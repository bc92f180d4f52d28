//! Shared pieces of the roadmap milestones.
//!
//! Everything more than one milestone needs lives here exactly once:
//! evaluation metrics, descriptive statistics, dataset loading and splitting,
//! plots, secret redaction, and the offline asset manager that fetches models
//! from Python packages.

pub mod assets;
pub mod dataset;
pub mod metrics;
pub mod plot;
pub mod redact;
pub mod stats;
pub mod toml_error;
