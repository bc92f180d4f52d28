//! Replay: an experiment without live users (`roadmap ab simulate`).
//!
//! `N` simulated users with deterministic keys (`sim-{seed}-{i}`) are
//! assigned by the real assignment code ([`crate::config::Experiment::assigner`]),
//! each asks questions drawn with a seeded ChaCha8 generator, and a
//! [`VariantRunner`] answers every question under the user's variant and
//! scores it. The result is the same per-user rows the live service's store
//! would give ([`crate::analysis::UserRow`]) plus one record per request for
//! the request log, so a replayed experiment is analysed exactly like a live one.
//!
//! The runner is a trait because answering lives in the RAG crate (retrieval,
//! generation, SQuAD scoring: hit@k of the gold paragraph, answer F1,
//! grounding); this crate only needs the scores. Same seed, same users, same
//! questions, same assignments: two runs give identical rows.
//!
//! A user's several questions reduce to one value per metric as
//! [`crate::analysis::METRICS`] recommends: the mean for continuous metrics,
//! "all answers" for `grounded` and `hit_at_k`, "any" for `no_answer`, the
//! last vote for `thumbs_up`.
//!
//! [`Simulation::lose_exposures`] drops a share of one variant's users from
//! the log, imitating a logging bug, so a learner (and the phase-6 check)
//! can watch the sample-ratio test raise its alert.

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::analysis::{Direction, Metric, MetricKind, UserRow, METRICS};
use crate::config::{Experiment, Status, Variant};

/// hit@k of the gold paragraph: only a replay with gold answers knows it.
pub const HIT_AT_K: Metric = Metric {
    key: "hit_at_k",
    label: "hit@k",
    kind: MetricKind::Binary,
    direction: Direction::HigherIsBetter,
    unit: "",
};

/// The metrics of a replay: [`METRICS`] then [`HIT_AT_K`]; the order of
/// [`UserRow::values`] in [`SimulationResult::rows`].
pub const SIMULATION_METRICS: [Metric; 7] = [
    METRICS[0], METRICS[1], METRICS[2], METRICS[3], METRICS[4], METRICS[5], HIT_AT_K,
];

/// What answering one question under one variant produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub latency_ms: f64,
    pub grounded: bool,
    pub no_answer: bool,
    /// Characters of the answer.
    pub answer_length: f64,
    /// SQuAD token F1 against the gold answers, when there are some.
    pub answer_f1: Option<f64>,
    /// Whether retrieval found the gold paragraph in its top k.
    pub hit_at_k: Option<bool>,
    /// A simulated thumbs-up (e.g. F1 ≥ 0.5), or `None` for no vote.
    pub thumbs_up: Option<bool>,
}

/// Answers a question under a variant's overrides and scores the answer.
/// The RAG side implements it; tests use a double.
pub trait VariantRunner<Q> {
    type Error: std::error::Error + Send + Sync + 'static;
    fn run(&mut self, question: &Q, variant: &Variant) -> Result<Outcome, Self::Error>;
}

/// How to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    pub users: usize,
    pub seed: u64,
    pub questions_per_user: usize,
    /// First exposure of user 0; `None` = the experiment's start (else 2026-01-01).
    pub start: Option<DateTime<Utc>>,
    /// Time between consecutive users' first requests.
    pub spacing: Duration,
    /// `(variant index, share)`: drop that share of the variant's users from
    /// the log (a deliberate logging bug for the SRM check).
    pub lose_exposures: Option<(usize, f64)>,
}

impl Simulation {
    pub fn new(users: usize, seed: u64) -> Simulation {
        Simulation {
            users,
            seed,
            questions_per_user: 1,
            start: None,
            spacing: Duration::seconds(1),
            lose_exposures: None,
        }
    }
}

/// One replayed request, as the service would log it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimRequest {
    pub user: String,
    pub variant: String,
    pub at: DateTime<Utc>,
    /// Index into the question list.
    pub question: usize,
    pub outcome: Outcome,
}

/// Everything a replay produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulationResult {
    /// Per-user rows for [`crate::analysis::aggregate`], values in
    /// [`SIMULATION_METRICS`] order.
    pub rows: Vec<UserRow>,
    /// Per-request records for the request log.
    pub requests: Vec<SimRequest>,
    /// Users the coverage or namespace left out (served defaults, not logged).
    pub not_in_experiment: usize,
    /// Users dropped by [`Simulation::lose_exposures`].
    pub lost: usize,
}

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("no questions to ask: give a SQuAD file with at least one question")]
    NoQuestions,
    #[error("no users to simulate: give --users N with N ≥ 1 and at least one question per user")]
    NoUsers,
    #[error("experiment `{0}` is stopped: it assigns nobody new, so there is nothing to replay (its data can still be analysed)")]
    Stopped(String),
    #[error(
        "lose_exposures ({variant}, {share}): the variant must exist and the share lie in 0..=1"
    )]
    BadLoss { variant: usize, share: f64 },
    #[error("answering question {question} for user `{user}` in variant `{variant}`: {source}")]
    Runner {
        user: String,
        variant: String,
        question: usize,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Replays `sim.users` users through `experiment`.
pub fn simulate<Q, R: VariantRunner<Q>>(
    experiment: &Experiment,
    questions: &[Q],
    runner: &mut R,
    sim: &Simulation,
) -> Result<SimulationResult, SimulateError> {
    if questions.is_empty() {
        return Err(SimulateError::NoQuestions);
    }
    if sim.users == 0 || sim.questions_per_user == 0 {
        return Err(SimulateError::NoUsers);
    }
    if experiment.status == Status::Stopped {
        return Err(SimulateError::Stopped(experiment.key.clone()));
    }
    if let Some((variant, share)) = sim.lose_exposures {
        if variant >= experiment.variants.len() || !(0.0..=1.0).contains(&share) {
            return Err(SimulateError::BadLoss { variant, share });
        }
    }
    let start = sim.start.or(experiment.start).unwrap_or_else(|| {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .expect("constant date")
            .with_timezone(&Utc)
    });
    let assigner = experiment.assigner();
    let mut rng = ChaCha8Rng::seed_from_u64(sim.seed);
    let mut result = SimulationResult {
        rows: Vec::new(),
        requests: Vec::new(),
        not_in_experiment: 0,
        lost: 0,
    };
    for i in 0..sim.users {
        let user = format!("sim-{}-{i}", sim.seed);
        // Draw the questions and the loss before assignment so every user
        // consumes the same random numbers whatever variant it lands in.
        let picks: Vec<usize> = (0..sim.questions_per_user)
            .map(|_| rng.random_range(0..questions.len()))
            .collect();
        let loss_draw: f64 = rng.random();
        let Some(v) = assigner.assign(&user).variant() else {
            result.not_in_experiment += 1;
            continue;
        };
        if sim
            .lose_exposures
            .is_some_and(|(lv, share)| lv == v && loss_draw < share)
        {
            result.lost += 1;
            continue;
        }
        let variant = &experiment.variants[v];
        let first = start + sim.spacing * i as i32;
        let mut outcomes = Vec::with_capacity(picks.len());
        for (j, &q) in picks.iter().enumerate() {
            let outcome =
                runner
                    .run(&questions[q], variant)
                    .map_err(|e| SimulateError::Runner {
                        user: user.clone(),
                        variant: variant.name.clone(),
                        question: q,
                        source: Box::new(e),
                    })?;
            result.requests.push(SimRequest {
                user: user.clone(),
                variant: variant.name.clone(),
                at: first + Duration::milliseconds(j as i64),
                question: q,
                outcome: outcome.clone(),
            });
            outcomes.push(outcome);
        }
        result.rows.push(UserRow {
            user,
            variant: variant.name.clone(),
            first_exposure: first,
            exposures: outcomes.len() as u64,
            values: per_user_values(&outcomes),
        });
    }
    Ok(result)
}

fn mean_of(values: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = values.collect();
    (!v.is_empty()).then(|| roadmap_common::stats::mean(&v))
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// One value per [`SIMULATION_METRICS`] entry from a user's outcomes.
fn per_user_values(outcomes: &[Outcome]) -> Vec<Option<f64>> {
    let hits: Vec<bool> = outcomes.iter().filter_map(|o| o.hit_at_k).collect();
    vec![
        outcomes.iter().rev().find_map(|o| o.thumbs_up).map(flag),
        Some(flag(outcomes.iter().all(|o| o.grounded))),
        Some(flag(outcomes.iter().any(|o| o.no_answer))),
        mean_of(outcomes.iter().map(|o| o.latency_ms)),
        mean_of(outcomes.iter().map(|o| o.answer_length)),
        mean_of(outcomes.iter().filter_map(|o| o.answer_f1)),
        (!hits.is_empty()).then(|| flag(hits.iter().all(|&h| h))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_user_reduction_follows_the_documented_rules() {
        let o = |lat: f64, grounded: bool, no_answer: bool, f1: Option<f64>, up: Option<bool>| {
            Outcome {
                latency_ms: lat,
                grounded,
                no_answer,
                answer_length: 10.0,
                answer_f1: f1,
                hit_at_k: Some(grounded),
                thumbs_up: up,
            }
        };
        let v = per_user_values(&[
            o(100.0, true, false, Some(1.0), Some(true)),
            o(300.0, false, true, None, Some(false)),
            o(200.0, true, false, Some(0.5), None),
        ]);
        assert_eq!(
            v,
            vec![
                Some(0.0),
                Some(0.0),
                Some(1.0),
                Some(200.0),
                Some(10.0),
                Some(0.75),
                Some(0.0)
            ]
        );
    }
}
