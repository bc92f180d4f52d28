//! `roadmap ab`: assignment and stateless statistics through the real CLI.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn roadmap() -> Command {
    let mut c = Command::cargo_bin("roadmap").unwrap();
    c.env_remove("ROADMAP_RAG_EXPERIMENTS");
    c
}

fn json(args: &[&str]) -> Value {
    let out = roadmap().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn stateless_assignment_is_growthbooks() {
    // The library is checked against GrowthBook's SDK cases; the CLI must
    // report the same hash and be sticky.
    let a = json(&[
        "ab",
        "assign",
        "--seed",
        "fusion",
        "--weights",
        "0.5,0.5",
        "--user",
        "u1",
        "--json",
    ]);
    let b = json(&[
        "ab",
        "assign",
        "--seed",
        "fusion",
        "--weights",
        "0.5,0.5",
        "--user",
        "u1",
        "--json",
    ]);
    assert_eq!(a, b);
    let h = a["hash"].as_f64().unwrap();
    let expected =
        roadmap_abtest::assign::hash("fusion", "u1", roadmap_abtest::assign::HashVersion::V2);
    assert_eq!(h, expected);
    assert_eq!(a["variant"], if h < 0.5 { 0 } else { 1 });
}

#[test]
fn experiment_assignment_from_the_shipped_example() {
    let v = json(&[
        "ab",
        "assign",
        "--experiment",
        "fusion-convex-vs-rrf",
        "--user",
        "alice",
        "--json",
    ]);
    assert_eq!(v["decision"]["status"], "assigned");
    roadmap()
        .args([
            "ab",
            "assign",
            "--experiment",
            "fusion-convex-vs-rfr",
            "--user",
            "alice",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("fusion-convex-vs-rrf"));
}

#[test]
fn stats_match_scipy_and_bad_numbers_are_explained() {
    // scipy.stats.chisquare([5100, 4900]) -> statistic 4.0, pvalue 0.04550026389635842
    let v = json(&["ab", "stats", "srm", "--counts", "5100,4900", "--json"]);
    assert!((v["chi2"].as_f64().unwrap() - 4.0).abs() < 1e-12, "{v}");
    assert!(
        (v["p_value"].as_f64().unwrap() - 0.04550026389635842).abs() < 1e-9,
        "{v}"
    );
    roadmap()
        .args(["ab", "stats", "srm", "--counts", "51x0,4900"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("\"51x0\", not a whole number"));
    roadmap()
        .args([
            "ab",
            "stats",
            "proportions",
            "--a",
            "480/5000",
            "--b",
            "540",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("SUCCESSES/TRIALS"));
    roadmap()
        .args([
            "ab",
            "assign",
            "--seed",
            "s",
            "--weights",
            "0.5,0.6",
            "--user",
            "u",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("sum to"));
}
