//! The built-in knowledge base of `roadmap rag`: the loaded roadmap, written
//! out as prose a learner can be answered from.
//!
//! Why prose: retrieval and the extractive answerer work on sentences. Indexing
//! `roadmap.toml` itself made `rag ask "what is SHAP used for"` answer with the
//! line `id = "phase6.bias-audit-shap"`; here every phase and every item
//! becomes a short Markdown document of whole sentences ("SHAP ... is used to
//! explain a model's predictions ..."), whose source is the item's id
//! (`roadmap:phase6.bias-audit-shap`), so an answer cites the item it came from.
//!
//! Why from the *loaded* roadmap: `--roadmap PATH` replaces the embedded
//! roadmap for every command, so the knowledge base follows it. The collection
//! is synchronised on every use by content hash ([`roadmap_rag::ingest::ingest_memory`]
//! with `exact`): changed documents are re-embedded, documents of items that
//! are gone are removed.
//!
//! Documents: one per phase (objective, duration, what you learn, what you
//! build, outcome), one per resource and requirement (what it is, from its
//! `about`), one per milestone (what you build and when it passes), and one for
//! the whole timeline.

use std::fmt::Write as _;

use roadmap_rag::embedder::TextEmbedder;
use roadmap_rag::extract::Kind;
use roadmap_rag::ingest::{ingest_memory, IngestOptions, IngestSummary, MemoryDoc, BUILTIN_SCHEME};
use roadmap_rag::VectorStore;

use crate::roadmap::{Phase, ResourceKind, Roadmap};

/// The collection that holds the built-in knowledge base.
pub const COLLECTION: &str = roadmap_rag::ingest::BUILTIN_COLLECTION;

/// `phase4` → `4`; other ids as they are.
fn number(phase: &Phase) -> &str {
    phase.id.strip_prefix("phase").unwrap_or(&phase.id)
}

/// A title without the full stop some titles end with, for use inside a sentence.
fn bare(title: &str) -> &str {
    title.trim().trim_end_matches('.')
}

/// "2–3 months" (or "2 months").
fn months(m: &crate::roadmap::Months) -> String {
    if m.min == m.max {
        format!("{} months", m.min)
    } else {
        format!("{}–{} months", m.min, m.max)
    }
}

/// "a, b and c".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn kind_noun(k: ResourceKind) -> &'static str {
    match k {
        ResourceKind::Course => "a course",
        ResourceKind::Book => "a book",
        ResourceKind::Article => "an article",
        ResourceKind::Library => "a library",
    }
}

/// One document: `roadmap:<name>`, Markdown.
fn doc(name: &str, text: String) -> MemoryDoc {
    MemoryDoc {
        source: format!("{BUILTIN_SCHEME}{name}"),
        kind: Kind::Markdown,
        bytes: text.into_bytes(),
    }
}

/// The knowledge base's documents for `roadmap`, in roadmap order.
pub fn documents(roadmap: &Roadmap) -> Vec<MemoryDoc> {
    let mut docs = Vec::new();
    let phases: Vec<String> = roadmap
        .phases
        .iter()
        .map(|p| format!("phase {} ({})", number(p), bare(&p.title)))
        .collect();
    docs.push(doc(
        "timeline",
        format!(
            "# {}\n\nThe roadmap has {} phases: {}. How long does the whole roadmap take? About {} at a \
             focused pace, or {} part-time while working.\n",
            bare(&roadmap.title),
            roadmap.phases.len(),
            and_list(&phases),
            months(&roadmap.timeline.focused_months),
            months(&roadmap.timeline.part_time_months),
        ),
    ));
    for phase in &roadmap.phases {
        let n = number(phase);
        let in_phase = format!("phase {n} ({})", bare(&phase.title));
        let mut t = format!(
            "# Phase {n}: {}\n\nPhase {n} takes {}.",
            bare(&phase.title),
            months(&phase.duration_months)
        );
        if let Some(o) = &phase.objective {
            let _ = write!(t, " The objective of phase {n}: {}", o.trim());
        }
        let resources: Vec<String> = phase
            .resources
            .iter()
            .map(|r| format!("{} ({}, {})", bare(&r.title), kind_noun(r.kind), r.provider))
            .collect();
        if !resources.is_empty() {
            let _ = write!(
                t,
                "\n\nIn phase {n} you learn from {}.",
                and_list(&resources)
            );
        }
        if let Some(m) = &phase.milestone {
            let _ = write!(
                t,
                "\n\nThe milestone of phase {n} is \"{}\".",
                bare(&m.title)
            );
        }
        if !phase.requirements.is_empty() {
            let reqs: Vec<String> = phase
                .requirements
                .iter()
                .map(|r| bare(&r.title).to_string())
                .collect();
            let _ = write!(
                t,
                "\n\nPhase {n} has {} requirements: {}.",
                reqs.len(),
                and_list(&reqs)
            );
        }
        if let Some(o) = &phase.outcome {
            let _ = write!(t, "\n\nAfter phase {n} you are {}", o.trim());
        }
        t.push('\n');
        docs.push(doc(&phase.id, t));

        for r in &phase.resources {
            let mut t = format!(
                "# {}\n\n{} is {} by {}, one of the resources of {in_phase}.",
                bare(&r.title),
                bare(&r.title),
                kind_noun(r.kind),
                r.provider
            );
            if let Some(a) = &r.about {
                let _ = write!(t, "\n\n{}", a.trim());
            }
            t.push('\n');
            docs.push(doc(&r.id, t));
        }
        if let Some(m) = &phase.milestone {
            let mut t = format!(
                "# {}\n\nIn phase {n} you build the milestone project \"{}\": {}",
                bare(&m.title),
                bare(&m.title),
                m.description.trim()
            );
            if m.runner.is_some() {
                let criteria: Vec<String> = m.criteria.iter().map(|c| c.to_string()).collect();
                let _ = write!(
                    t,
                    "\n\nThe roadmap has a reference implementation of this milestone, run by `roadmap run {}`.",
                    phase.id
                );
                if !criteria.is_empty() {
                    let _ = write!(t, " The milestone passes when {}.", and_list(&criteria));
                }
            }
            t.push('\n');
            docs.push(doc(&m.id, t));
        }
        for r in &phase.requirements {
            let mut t = format!(
                "# {}\n\n{} is one of the {} requirements of {in_phase}.",
                bare(&r.title),
                bare(&r.title),
                phase.requirements.len()
            );
            if let Some(a) = &r.about {
                let _ = write!(t, "\n\n{}", a.trim());
            }
            t.push('\n');
            docs.push(doc(&r.id, t));
        }
    }
    docs
}

/// Brings the `roadmap` collection of `store` up to date with `roadmap`.
pub fn ensure(
    store: &mut dyn VectorStore,
    embedder: &dyn TextEmbedder,
    roadmap: &Roadmap,
    progress: bool,
) -> roadmap_rag::Result<IngestSummary> {
    let opts = IngestOptions {
        collection: COLLECTION.to_string(),
        progress,
        ..Default::default()
    };
    ingest_memory(store, embedder, &documents(roadmap), &opts, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedded() -> Roadmap {
        Roadmap::load(None, &|name| {
            crate::runners::find(name).map(|r| r.metrics().iter().map(|m| m.to_string()).collect())
        })
        .unwrap()
    }

    fn text_of<'a>(docs: &'a [MemoryDoc], id: &str) -> &'a str {
        let d = docs
            .iter()
            .find(|d| d.source == format!("{BUILTIN_SCHEME}{id}"))
            .unwrap_or_else(|| panic!("no document for {id}"));
        std::str::from_utf8(&d.bytes).unwrap()
    }

    #[test]
    fn every_phase_and_item_has_a_document_of_sentences() {
        let r = embedded();
        let docs = documents(&r);
        let n_items: usize = r
            .phases
            .iter()
            .map(|p| p.resources.len() + p.requirements.len() + p.milestone.is_some() as usize)
            .sum();
        assert_eq!(docs.len(), 1 + r.phases.len() + n_items);
        for d in &docs {
            let text = std::str::from_utf8(&d.bytes).unwrap();
            // No TOML: no `key = "value"` lines, no tables.
            assert!(!text.contains(" = \""), "{}: {text}", d.source);
            assert!(!text.contains("[["), "{}: {text}", d.source);
        }
        let shap = text_of(&docs, "phase6.bias-audit-shap");
        assert!(
            shap.contains("SHAP (SHapley Additive exPlanations) is used to explain"),
            "{shap}"
        );
        assert!(
            shap.contains("one of the 5 requirements of phase 6"),
            "{shap}"
        );
        let m4 = text_of(&docs, "phase4.milestone");
        assert!(
            m4.contains(
                "In phase 4 you build the milestone project \"Embedding-Based Similarity Search\""
            ),
            "{m4}"
        );
        assert!(m4.contains("`roadmap run phase4`"), "{m4}");
    }

    #[test]
    fn lists_read_as_english() {
        assert_eq!(and_list(&[]), "");
        assert_eq!(and_list(&["a".into()]), "a");
        assert_eq!(
            and_list(&["a".into(), "b".into(), "c".into()]),
            "a, b and c"
        );
        assert_eq!(
            bare("A/B testing architecture."),
            "A/B testing architecture"
        );
    }
}
