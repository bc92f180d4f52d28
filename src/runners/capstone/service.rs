//! Capstone part `service` (issue 12): the RAG service started on a free
//! 127.0.0.1 port under the scripted workload (`roadmap_rag_service::workload`).
//!
//! This build has no in-process start function for the HTTP service yet
//! (`roadmap rag serve` is being built), so the part reports itself skipped
//! with that reason and `phase6.monitoring-logging` stays open; it never
//! stands in a server of its own.

use anyhow::Result;

use super::{Ran, Reporter, Settings};

pub const METRICS: &[&str] = &[];

pub fn run(_s: &Settings, _rep: &mut Reporter) -> Result<Ran> {
    Ok(Ran::Skipped(
        "the RAG HTTP service (`roadmap rag serve`) is not in this build of roadmap, so there is no \
         service to drive the workload against"
            .into(),
    ))
}
