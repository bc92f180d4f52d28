//! Group metrics and aggregates against fairlearn 0.15 (`tests/fixtures/fairlearn.json`,
//! made by `scripts/reference.py` on `tests/fixtures/predictions.csv`): exact equality.

use std::path::{Path, PathBuf};

use roadmap_audit::fairness::{
    read_predictions, AuditOptions, FairnessReport, GroupAudit, PredictionColumns, METRICS,
};
use roadmap_audit::mitigation::{mitigate, Constraint};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("fairlearn.json")).unwrap()).unwrap()
}

fn report(favourable: u8) -> FairnessReport {
    let cols = PredictionColumns::standard(vec!["sex".into(), "race".into()]);
    let input = read_predictions(&fixture("predictions.csv"), &cols).unwrap();
    FairnessReport::compute(
        &input,
        &AuditOptions {
            favourable,
            bootstrap: 200,
            ..Default::default()
        },
    )
    .unwrap()
}

fn check(audit: &GroupAudit, e: &Value, label: &str) {
    let groups: Vec<&str> = e["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    let ours: Vec<&str> = audit.by_group.iter().map(|g| g.group.as_str()).collect();
    assert_eq!(ours, groups, "{label}: groups in fairlearn's order");
    for (k, name) in METRICS.iter().enumerate() {
        let col = e["by_group"][name].as_array().unwrap();
        for (g, v) in audit.by_group.iter().zip(col) {
            assert_eq!(
                g.metrics[k].fairlearn_value(),
                v.as_f64(),
                "{label}: {name} of {}",
                g.group
            );
        }
        assert_eq!(
            audit.overall.metrics[k].fairlearn_value(),
            e["overall"][name].as_f64(),
            "{label}: overall {name}"
        );
        let d = &audit.disparities[k];
        assert_eq!(
            d.difference.fairlearn_value(),
            e["difference"][name].as_f64(),
            "{label}: {name} difference"
        );
        assert_eq!(
            d.ratio.fairlearn_value(),
            e["ratio"][name].as_f64(),
            "{label}: {name} ratio"
        );
    }
    for a in audit
        .aggregates
        .iter()
        .filter(|a| a.name != "disparate_impact")
    {
        assert_eq!(
            a.value.fairlearn_value(),
            e["aggregates"][a.name].as_f64(),
            "{label}: {}",
            a.name
        );
    }
}

#[test]
fn metric_frames_and_aggregates_equal_fairlearn() {
    let r = report(1);
    let e = expected();
    assert_eq!(r.audits.len(), 3);
    check(&r.audits[0], &e["audits"]["sex"], "sex");
    check(&r.audits[1], &e["audits"]["race"], "race");
    check(&r.audits[2], &e["audits"]["sex, race"], "sex × race");
    let fr = report(0);
    check(
        &fr.audits[0],
        &e["audits"]["sex favourable=0"],
        "sex, favourable 0",
    );
}

#[test]
fn a_group_without_positives_is_reported_undefined_not_as_fairlearns_zero() {
    let r = report(1);
    let race = &r.audits[1];
    let eod = race
        .aggregates
        .iter()
        .find(|a| a.name == "equalized_odds_difference")
        .unwrap();
    assert_eq!(eod.value.value, None);
    assert!(
        eod.value.undefined.as_ref().unwrap().contains("group `E`"),
        "{:?}",
        eod.value
    );
    // fairlearn counts E's TPR as 0 (scikit-learn's 0/0 → 0), so its EOD is the largest TPR.
    assert_eq!(
        eod.value.fairlearn,
        expected()["audits"]["race"]["aggregates"]["equalized_odds_difference"].as_f64()
    );
    assert!(race
        .warnings
        .iter()
        .any(|w| w.contains("`E`") && w.contains("10 rows")));
    // Demographic parity does not involve TPR: defined, with an interval around it.
    let dpd = race
        .aggregates
        .iter()
        .find(|a| a.name == "demographic_parity_difference")
        .unwrap();
    let [lo, hi] = dpd.ci95.unwrap();
    assert!(lo <= dpd.value.value.unwrap() && dpd.value.value.unwrap() <= hi);
    let json = serde_json::to_string(&r.to_json()).unwrap();
    assert!(!json.contains("NaN"));
}

#[test]
fn mitigation_on_the_fixture_reports_its_cost() {
    let cols = PredictionColumns::standard(vec!["sex".into()]);
    let input = read_predictions(&fixture("predictions.csv"), &cols).unwrap();
    let m = mitigate(&input, "sex", Constraint::DemographicParity, 0.01).unwrap();
    assert!(m.after.demographic_parity_difference <= 0.01, "{m:?}");
    assert!(m.before.demographic_parity_difference > m.after.demographic_parity_difference);
    let out = m.render_table();
    assert!(out.contains("Female") && out.contains("cost"));
}
