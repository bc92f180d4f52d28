//! Capstone part `ab` (issue 14): an A/B experiment replayed over the real
//! retriever, whose winner is known before it runs, and a broken log that must
//! raise the sample-ratio-mismatch alarm.
//!
//! The experiment (`capstone-k1-vs-kK`, 50/50, GrowthBook's hash v2) compares
//! two configurations of the phase-5 retriever on the shipped SQuAD subset
//! (BM25 over its paragraphs, an in-memory store): the control returns the top
//! **1** passage, the treatment the top **K** (5 by default). Each simulated user
//! (`roadmap_abtest::simulate`: deterministic keys, seeded questions, the real
//! assignment code) asks one SQuAD question; the outcome is whether the gold
//! paragraph is among the passages returned (hit@k) and the search latency. The
//! top K always contain the top 1, so for K > 1 the treatment's hit@k can only
//! be higher: the winner is known in advance, and the analysis must find it.
//!
//! Checks:
//! 1. `winner`: hit@k of the treatment is `better` — two-proportion z-test
//!    (statsmodels' `proportions_ztest`, pooled), `p < α = 0.05`, positive
//!    difference; with `--ab-treatment-k 1` the variants are identical and this
//!    check must fail (a negative control).
//! 2. `srm`: the split of that replay raises no SRM alert (Pearson χ² of the
//!    user counts against the weights, alert at `p < 0.001`, as Statsig and
//!    GrowthBook).
//! 3. `skewed`: the same replay with 30 % of the treatment's users lost from
//!    the log (`Simulation::lose_exposures`, a logging bug) raises the alert.
//!    With the minimum of 1,000 users that is about 500 vs 350, χ² ≈ 26,
//!    p ≈ 3e-7: far past the alert threshold, so the check has the power to
//!    see the bug it plants.
//!
//! The replay writes no answers, so only `latency_ms` and `hit_at_k` are
//! analysed. Artifact: `ab_report.json` (the analysis of the clean replay).

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result};
use roadmap_abtest::analysis::{
    analyze_rows, AnalysisOptions, Conclusion, Metric, Report, UserRow,
};
use roadmap_abtest::config::{self, Experiment, Variant};
use roadmap_abtest::overrides::RetrievalMode;
use roadmap_abtest::simulate::{
    simulate, Outcome, Simulation, SimulationResult, VariantRunner, SIMULATION_METRICS,
};
use roadmap_abtest::stats::srm::SrmVerdict;
use roadmap_rag::ingest::{index_document, IngestOptions};
use roadmap_rag::retrieve::{search_with_vector, Mode, SearchOptions};
use roadmap_rag::squad::{self, EvalQuestion};
use roadmap_rag::{HashEmbedder, SqliteStore, TextEmbedder, VectorStore};
use serde_json::json;

use super::{Ran, Reporter, Settings};

pub const METRICS: &[&str] = &[
    "ab_users",
    "ab_control_hit_rate",
    "ab_treatment_hit_rate",
    "ab_hit_rate_p_value",
    "ab_srm_p_value",
    "ab_skewed_srm_p_value",
];

/// Share of the treatment's users the skewed replay loses.
pub const LOST_SHARE: f64 = 0.3;
/// The analysed metrics, by key, from [`SIMULATION_METRICS`].
const ANALYSED: [&str; 2] = ["hit_at_k", "latency_ms"];
const COLLECTION: &str = "capstone-ab";

/// The experiment: control top-1, treatment top-`k`, both BM25.
pub fn experiment(k: usize) -> Result<Experiment> {
    let text = format!(
        r#"
[[experiment]]
key = "capstone-k1-vs-k{k}"
seed = "capstone-replay"
hash_version = 2
coverage = 1.0
status = "running"
start = 2026-12-01T00:00:00Z
description = "Retrieval depth: the top passage (control) vs the top {k} (treatment); hit@k of the gold SQuAD paragraph."

[[experiment.variant]]
name = "control-top1"
weight = 0.5
overrides = {{ mode = "bm25", k = 1 }}

[[experiment.variant]]
name = "treatment-top{k}"
weight = 0.5
overrides = {{ mode = "bm25", k = {k} }}
"#
    );
    let file = config::parse(&text, "the capstone experiment")?;
    Ok(file.experiments.into_iter().next().expect("one experiment"))
}

/// Answers a replayed question with the retriever under a variant's overrides.
struct Retriever {
    store: SqliteStore,
}

impl VariantRunner<EvalQuestion> for Retriever {
    type Error = roadmap_rag::RagError;

    fn run(&mut self, q: &EvalQuestion, variant: &Variant) -> Result<Outcome, Self::Error> {
        let o = &variant.overrides;
        let opts = SearchOptions {
            k: o.k.unwrap_or(5),
            mode: match o.mode {
                Some(RetrievalMode::Dense) => Mode::Dense,
                Some(RetrievalMode::Hybrid) => Mode::Hybrid,
                Some(RetrievalMode::Bm25) | None => Mode::Bm25,
            },
            mmr_lambda: None,
            source_prefix: None,
            pool: 50,
            fusion: Default::default(),
        };
        bm25_only(opts.mode)?;
        let t = Instant::now();
        let hits = search_with_vector(&self.store, COLLECTION, &q.question, None, &opts)?;
        let latency_ms = t.elapsed().as_secs_f64() * 1e3;
        let hit = hits
            .iter()
            .any(|h| h.start < q.gold_end && q.gold_start < h.end);
        Ok(Outcome {
            latency_ms,
            // No answer is written in a retrieval replay: nothing is grounded or rated.
            grounded: false,
            no_answer: hits.is_empty(),
            answer_length: 0.0,
            answer_f1: None,
            hit_at_k: Some(hit),
            thumbs_up: None,
        })
    }
}

/// The replay searches without query vectors, so only BM25 can run.
fn bm25_only(mode: Mode) -> Result<(), roadmap_rag::RagError> {
    if mode == Mode::Bm25 {
        Ok(())
    } else {
        Err(roadmap_rag::RagError::Invalid(format!(
            "the capstone replay retrieves with BM25 only, not {}",
            mode.as_str()
        )))
    }
}

/// The analysed metrics and the rows reduced to them.
fn analysed_rows(result: &SimulationResult) -> (Vec<Metric>, Vec<UserRow>) {
    let idx: Vec<usize> = ANALYSED
        .iter()
        .map(|k| {
            SIMULATION_METRICS
                .iter()
                .position(|m| m.key == *k)
                .expect("a simulation metric")
        })
        .collect();
    let metrics = idx.iter().map(|&i| SIMULATION_METRICS[i]).collect();
    let rows = result
        .rows
        .iter()
        .map(|r| UserRow {
            values: idx.iter().map(|&i| r.values[i]).collect(),
            ..r.clone()
        })
        .collect();
    (metrics, rows)
}

fn analyse(exp: &Experiment, result: &SimulationResult) -> Result<Report> {
    let (metrics, rows) = analysed_rows(result);
    Ok(analyze_rows(
        exp,
        &metrics,
        &rows,
        &AnalysisOptions::default(),
    )?)
}

pub fn run(s: &Settings, rep: &mut Reporter) -> Result<Ran> {
    let exp = experiment(s.ab_treatment_k)?;
    rep.progress("indexing the shipped SQuAD subset (BM25, in memory)");
    let file = squad::parse(squad::SHIPPED.as_bytes(), "the shipped SQuAD subset")?;
    let corpus = squad::corpus(&file, None);
    let embedder = HashEmbedder::default();
    let mut store = SqliteStore::in_memory()?;
    store.ensure_collection(COLLECTION, &embedder.model_id(), embedder.dim())?;
    let ingest = IngestOptions {
        collection: COLLECTION.into(),
        progress: false,
        ..Default::default()
    };
    index_document(
        &mut store,
        &embedder,
        &ingest,
        "squad",
        "squad-json",
        "-",
        corpus.doc.clone(),
    )
    .context("cannot index the SQuAD subset")?;
    let mut retriever = Retriever { store };

    rep.progress(&format!(
        "replaying {} users over {} questions: {} vs {}",
        s.ab_users,
        corpus.questions.len(),
        exp.variants[0].name,
        exp.variants[1].name
    ));
    let sim = Simulation::new(s.ab_users, s.seed);
    let clean =
        simulate(&exp, &corpus.questions, &mut retriever, &sim).context("the replay failed")?;
    let report = analyse(&exp, &clean)?;
    std::fs::write(
        s.artifact_dir.join("ab_report.json"),
        roadmap_abtest::render::json(&report),
    )?;
    let mut metrics = BTreeMap::new();
    metrics.insert("ab_users".to_string(), clean.rows.len() as f64);
    let hit_mean = |v: usize| {
        report.variants[v]
            .metrics
            .iter()
            .find(|m| m.metric == "hit_at_k")
            .and_then(|m| m.mean)
    };
    let (control, treatment) = (hit_mean(0), hit_mean(1));
    if let (Some(c), Some(t)) = (control, treatment) {
        metrics.insert("ab_control_hit_rate".to_string(), c);
        metrics.insert("ab_treatment_hit_rate".to_string(), t);
    }
    let effect = report
        .effects
        .iter()
        .find(|e| e.metric == "hit_at_k")
        .context("the analysis has no hit@k effect")?;
    let p = effect.absolute.as_ref().map(|a| a.p_value());
    if let Some(p) = p {
        metrics.insert("ab_hit_rate_p_value".to_string(), p);
    }
    let users = |v: usize| report.variants[v].users;
    rep.check(
        "winner",
        effect.conclusion == Conclusion::Better,
        format!(
            "{} users ({} {} / {} {}): hit@k {} → {}, {}; conclusion: {:?} (expected: {} better)",
            clean.rows.len(),
            exp.variants[0].name,
            users(0),
            exp.variants[1].name,
            users(1),
            control.map_or("-".into(), |c| format!("{c:.3}")),
            treatment.map_or("-".into(), |t| format!("{t:.3}")),
            p.map_or("no test".into(), |p| format!(
                "two-proportion z-test p = {p:.2e}"
            )),
            effect.conclusion,
            exp.variants[1].name
        ),
    );
    let srm = report.health.srm.as_ref();
    if let Some(x) = srm {
        metrics.insert("ab_srm_p_value".to_string(), x.p_value);
    }
    rep.check(
        "srm",
        srm.is_some_and(|x| x.verdict != SrmVerdict::Alert),
        match srm {
            Some(x) => format!(
                "split {}/{} for weights 0.5/0.5: χ² = {:.3}, p = {:.3}, verdict {}",
                users(0),
                users(1),
                x.chi2,
                x.p_value,
                x.verdict
            ),
            None => format!(
                "no SRM test: {}",
                report
                    .health
                    .srm_note
                    .as_deref()
                    .unwrap_or("no reason given")
            ),
        },
    );

    rep.progress(&format!(
        "replaying again with {:.0}% of {}'s users lost from the log",
        LOST_SHARE * 100.0,
        exp.variants[1].name
    ));
    let skewed_sim = Simulation {
        lose_exposures: Some((1, LOST_SHARE)),
        ..sim
    };
    let skewed = simulate(&exp, &corpus.questions, &mut retriever, &skewed_sim)
        .context("the skewed replay failed")?;
    let skewed_report = analyse(&exp, &skewed)?;
    let srm2 = skewed_report.health.srm.as_ref();
    if let Some(x) = srm2 {
        metrics.insert("ab_skewed_srm_p_value".to_string(), x.p_value);
    }
    rep.check(
        "skewed",
        srm2.is_some_and(|x| x.verdict == SrmVerdict::Alert),
        match srm2 {
            Some(x) => format!(
                "{} users lost from {}: split {}/{}, χ² = {:.1}, p = {:.2e}, verdict {}",
                skewed.lost,
                exp.variants[1].name,
                skewed_report.variants[0].users,
                skewed_report.variants[1].users,
                x.chi2,
                x.p_value,
                x.verdict
            ),
            None => format!(
                "no SRM test: {}",
                skewed_report
                    .health
                    .srm_note
                    .as_deref()
                    .unwrap_or("no reason given")
            ),
        },
    );
    Ok(Ran::Done {
        metrics,
        details: json!({
            "experiment": exp.key,
            "questions": corpus.questions.len(),
            "conclusion": effect.conclusion,
            "lost_users": skewed.lost,
        }),
    })
}
