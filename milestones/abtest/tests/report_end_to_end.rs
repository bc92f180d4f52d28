//! The report end to end: a replay through the real assignment with a test
//! double for the RAG service, the database path against the row path, and
//! the bad inputs of the issue (a variant with zero users, a skewed split).

use roadmap_abtest::analysis::{
    aggregate, analyze, analyze_rows, AnalysisOptions, Conclusion, ExperimentData, Report, UserRow,
    VariantData,
};
use roadmap_abtest::config::{parse, Experiment, Variant};
use roadmap_abtest::overrides::FusionMethod;
use roadmap_abtest::render;
use roadmap_abtest::simulate::{
    simulate, Outcome, SimulateError, Simulation, VariantRunner, SIMULATION_METRICS,
};
use roadmap_abtest::stats::srm::SrmVerdict;
use roadmap_abtest::stats::Moments;

fn fusion_experiment() -> Experiment {
    parse(roadmap_abtest::config::EXAMPLE, "experiments.toml")
        .unwrap()
        .get("fusion-convex-vs-rrf")
        .unwrap()
        .clone()
}

/// Stands in for the RAG service: RRF finds the gold paragraph more often
/// (80% vs 65%) and is a little slower; everything is a deterministic
/// function of the question number, so the winner is known in advance.
struct FakeRag;

#[derive(Debug, thiserror::Error)]
#[error("the fake service failed")]
struct FakeError;

impl VariantRunner<u32> for FakeRag {
    type Error = FakeError;
    fn run(&mut self, q: &u32, variant: &Variant) -> Result<Outcome, FakeError> {
        let rrf = variant.overrides.fusion == Some(FusionMethod::Rrf);
        // A fixed pseudo-random number in [0, 1) per question.
        let u = f64::from(q.wrapping_mul(2_654_435_761) % 10_000) / 10_000.0;
        let hit = u < if rrf { 0.80 } else { 0.65 };
        let f1 = if hit { 0.5 + 0.5 * u } else { 0.2 * u };
        Ok(Outcome {
            latency_ms: 120.0 + 40.0 * u + if rrf { 6.0 } else { 0.0 },
            grounded: hit,
            no_answer: !hit && u > 0.9,
            answer_length: 80.0 + 100.0 * u,
            answer_f1: Some(f1),
            hit_at_k: Some(hit),
            thumbs_up: q.is_multiple_of(3).then_some(f1 >= 0.5),
        })
    }
}

fn questions() -> Vec<u32> {
    (0..997).collect()
}

/// The default analysis of replayed rows.
fn report_of(exp: &Experiment, rows: &[UserRow]) -> Report {
    analyze_rows(exp, &SIMULATION_METRICS, rows, &AnalysisOptions::default()).unwrap()
}

fn effect<'a>(r: &'a Report, metric: &str) -> &'a roadmap_abtest::analysis::Effect {
    r.effects.iter().find(|e| e.metric == metric).unwrap()
}

#[test]
fn a_replay_with_a_known_winner_is_significant_and_healthy() {
    let exp = fusion_experiment();
    let sim = simulate(&exp, &questions(), &mut FakeRag, &Simulation::new(4000, 7)).unwrap();
    assert_eq!(sim.rows.len(), 4000, "coverage 1: everyone is in");
    let report = report_of(&exp, &sim.rows);
    let hit = effect(&report, "hit_at_k");
    assert_eq!(hit.conclusion, Conclusion::Better, "{hit:?}");
    assert!(hit.bayes.as_ref().unwrap().chance_to_win > 0.99);
    assert_eq!(effect(&report, "latency_ms").conclusion, Conclusion::Worse);
    let srm = report.health.srm.as_ref().unwrap();
    assert_ne!(srm.verdict, SrmVerdict::Alert, "p = {}", srm.p_value);
    assert!(
        report.health.warnings.is_empty(),
        "{:?}",
        report.health.warnings
    );
}

#[test]
fn replays_are_deterministic() {
    let exp = fusion_experiment();
    let sim = Simulation::new(300, 11);
    let a = simulate(&exp, &questions(), &mut FakeRag, &sim).unwrap();
    let b = simulate(&exp, &questions(), &mut FakeRag, &sim).unwrap();
    assert_eq!(a, b);
    let other = simulate(&exp, &questions(), &mut FakeRag, &Simulation::new(300, 12)).unwrap();
    assert_ne!(a.rows, other.rows);
}

#[test]
fn a_skewed_log_raises_the_srm_alert() {
    let exp = fusion_experiment();
    let mut sim = Simulation::new(4000, 7);
    sim.lose_exposures = Some((1, 0.15));
    let out = simulate(&exp, &questions(), &mut FakeRag, &sim).unwrap();
    assert!(out.lost > 200, "{}", out.lost);
    let report = report_of(&exp, &out.rows);
    assert_eq!(
        report.health.srm.as_ref().unwrap().verdict,
        SrmVerdict::Alert
    );
    assert!(
        report.health.warnings[0].contains("ALERT"),
        "{:?}",
        report.health.warnings
    );
}

#[test]
fn the_database_path_gives_the_same_report() {
    let exp = fusion_experiment();
    let sim = simulate(&exp, &questions(), &mut FakeRag, &Simulation::new(1500, 3)).unwrap();
    let options = AnalysisOptions::default();
    let from_rows = analyze_rows(&exp, &SIMULATION_METRICS, &sim.rows, &options).unwrap();
    // What `SELECT variant, COUNT(*), SUM(x), SUM(x*x) … GROUP BY variant` returns: unshifted sums.
    let mut data = ExperimentData {
        variants: vec![VariantData::default(), VariantData::default()],
        ..ExperimentData::default()
    };
    for v in &mut data.variants {
        v.metrics = vec![Moments::default(); SIMULATION_METRICS.len()];
    }
    for row in &sim.rows {
        let v = &mut data.variants[exp.variant_index(&row.variant).unwrap()];
        v.users += 1;
        v.exposures += row.exposures;
        for (m, x) in row.values.iter().enumerate() {
            if let Some(x) = x {
                v.metrics[m].push(*x);
            }
        }
    }
    let from_sums = analyze(&exp, &SIMULATION_METRICS, &data, &options).unwrap();
    assert_eq!(from_rows.variants.len(), from_sums.variants.len());
    for (a, b) in from_rows.effects.iter().zip(&from_sums.effects) {
        assert_eq!(a.conclusion, b.conclusion, "{}", a.metric);
        if let (Some(x), Some(y)) = (&a.lift, &b.lift) {
            assert!((x.lift - y.lift).abs() < 1e-9, "{}", a.metric);
            assert!((x.ci.0 - y.ci.0).abs() < 1e-9 && (x.p_value - y.p_value).abs() < 1e-9);
        }
    }
    assert_eq!(
        aggregate(&exp, &SIMULATION_METRICS, &sim.rows)
            .unwrap()
            .variants[0]
            .users,
        data.variants[0].users
    );
}

/// Every `null` in the JSON of an effect or a variant metric comes with a reason.
fn nulls_have_reasons(json: &serde_json::Value) {
    for e in json["effects"].as_array().unwrap() {
        let nulls = ["absolute", "lift", "sequential", "bayes"]
            .iter()
            .filter(|k| e[**k].is_null())
            .count();
        if nulls > 0 {
            assert!(!e["notes"].as_array().unwrap().is_empty(), "{e}");
        }
    }
    for v in json["variants"].as_array().unwrap() {
        for m in v["metrics"].as_array().unwrap() {
            if m["mean"].is_null() || m["sd"].is_null() {
                assert!(m["note"].is_string(), "{m}");
            }
        }
    }
}

#[test]
fn a_variant_with_zero_users_is_reported_without_nan() {
    let exp = fusion_experiment();
    let sim = simulate(&exp, &questions(), &mut FakeRag, &Simulation::new(600, 5)).unwrap();
    let control_only: Vec<_> = sim
        .rows
        .into_iter()
        .filter(|r| r.variant == "convex")
        .collect();
    let report = report_of(&exp, &control_only);
    assert_eq!(report.health.empty_variants, vec!["rrf".to_owned()]);
    assert!(report
        .health
        .warnings
        .iter()
        .any(|w| w.contains("`rrf` has no users")));
    assert_eq!(report.variants[1].share, Some(0.0));
    for e in &report.effects {
        assert_eq!(e.conclusion, Conclusion::NotComputed);
        assert!(
            e.notes
                .iter()
                .any(|n| n.contains("0 units") || n.contains("no user")),
            "{:?}",
            e.notes
        );
    }
    let text = render::json(&report);
    assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");
    nulls_have_reasons(&serde_json::from_str(&text).unwrap());
    let table = render::text(&report);
    assert!(table.contains('—'), "{table}");
    render::html(&report).unwrap();
}

#[test]
fn no_users_at_all_is_a_report_not_an_error() {
    let exp = fusion_experiment();
    let report = analyze_rows(&exp, &SIMULATION_METRICS, &[], &AnalysisOptions::default()).unwrap();
    assert!(report.health.srm.is_none());
    assert!(report
        .health
        .srm_note
        .as_deref()
        .unwrap()
        .contains("no users"));
    assert!(report.variants.iter().all(|v| v.share.is_none()));
    nulls_have_reasons(&serde_json::to_value(&report).unwrap());
}

#[test]
fn the_html_page_is_self_contained() {
    let exp = fusion_experiment();
    let sim = simulate(&exp, &questions(), &mut FakeRag, &Simulation::new(2000, 9)).unwrap();
    let report = report_of(&exp, &sim.rows);
    let html = render::html(&report).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains("<svg") && html.contains("hit_at_k · rrf"),
        "chart with its row labels"
    );
    for external in ["<script src", "<link", "<img", "@import"] {
        assert!(!html.contains(external), "{external}");
    }
    let text = render::text(&report);
    assert!(
        text.contains("hit_at_k") && text.contains("better"),
        "{text}"
    );
}

#[test]
fn a_stopped_experiment_is_not_replayed_but_still_analysed() {
    let mut exp = fusion_experiment();
    let sim = simulate(&exp, &questions(), &mut FakeRag, &Simulation::new(200, 1)).unwrap();
    exp.status = roadmap_abtest::config::Status::Stopped;
    assert!(matches!(
        simulate(&exp, &questions(), &mut FakeRag, &Simulation::new(10, 1)),
        Err(SimulateError::Stopped(_))
    ));
    let report = report_of(&exp, &sim.rows);
    assert_eq!(report.variants.iter().map(|v| v.users).sum::<u64>(), 200);
}
