//! `roadmap run phase6` (the capstone runner) through the real binary with a
//! temporary home and database: what is recorded, which items are marked
//! done, and that a part whose check fails leaves its item open.
//!
//! The Adult data comes from the asset manager into the workspace's shared
//! test cache (fetched once per machine): no silent skip when it cannot be
//! fetched.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("progress.db")
    }

    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("roadmap").unwrap();
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("ROADMAP_DB", self.db())
            .env("ROADMAP_DATA_DIR", self.dir.path().join("data"))
            .env("ROADMAP_CACHE", cache())
            .env("ROADMAP_LEARNER", "ada")
            .env("NO_COLOR", "1")
            .timeout(Duration::from_secs(900));
        c
    }

    /// `(status, metrics)` of every run, oldest first.
    fn runs(&self) -> Vec<(String, Value)> {
        let conn = rusqlite::Connection::open(self.db()).unwrap();
        let mut stmt = conn
            .prepare("SELECT status, metrics FROM runs WHERE phase_id = 'phase6' ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })
        .unwrap()
        .map(|r| {
            let (s, m) = r.unwrap();
            (
                s,
                serde_json::from_str(m.as_deref().unwrap_or("{}")).unwrap(),
            )
        })
        .collect()
    }

    fn item_status(&self, id: &str) -> String {
        let conn = rusqlite::Connection::open(self.db()).unwrap();
        conn.query_row(
            "SELECT COALESCE((SELECT status FROM v_progress WHERE item_id = ?1), 'todo')",
            [id],
            |r| r.get(0),
        )
        .unwrap()
    }
}

/// The workspace's shared asset cache for tests.
fn cache() -> PathBuf {
    roadmap_common::assets::test_cache_dir(env!("CARGO_TARGET_TMPDIR"))
}

fn part<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["part"] == name)
        .unwrap_or_else(|| panic!("no part {name} in {v}"))
}

fn metric(m: &Value, name: &str) -> f64 {
    m[name]
        .as_f64()
        .unwrap_or_else(|| panic!("metric {name} missing from {m}"))
}

#[test]
fn service_audit_quality_and_ab_pass_and_mark_their_items() {
    let env = Env::new();
    let out = env
        .cmd()
        .args([
            "run",
            "phase6",
            "--parts",
            "service,audit,quality,ab",
            "--json",
            "--bootstrap",
            "50",
            "--ab-users",
            "1000",
            "--service-burst",
            "0",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}); stderr: {stderr}"));
    for p in ["service", "audit", "quality", "ab"] {
        assert_eq!(part(&v, p)["status"], "passed", "{p}: {}", part(&v, p));
    }
    assert_eq!(part(&v, "deploy")["status"], "skipped");
    assert!(part(&v, "deploy")["reason"]
        .as_str()
        .unwrap()
        .contains("not selected"));
    // Every check was streamed on stderr as it was decided.
    for c in [
        "✓ service.ingest_with_one_bad_document:",
        "✓ service.validation:",
        "✓ service.metrics_count_requests:",
        "✓ service.drift_quiet_on_normal_traffic:",
        "✓ service.drift_fires_on_drifted_traffic:",
        "✓ audit.model:",
        "✓ audit.sex:",
        "✓ audit.race:",
        "✓ audit.shap:",
        "✓ quality.clean:",
        "✓ quality.corrupted:",
        "✓ quality.undrifted:",
        "✓ quality.drifted:",
        "✓ ab.winner:",
        "✓ ab.srm:",
        "✓ ab.skewed:",
    ] {
        assert!(stderr.contains(c), "{c} not printed: {stderr}");
    }

    let runs = env.runs();
    assert_eq!(runs.len(), 1);
    // The milestone needs all five parts: four passing is not enough.
    let (status, m) = &runs[0];
    assert_eq!(status, "failed");
    assert_eq!(metric(m, "parts_passed"), 4.0);
    assert_eq!(metric(m, "parts_skipped"), 1.0);
    assert_eq!(metric(m, "checks_failed"), 0.0);
    assert!(metric(m, "checks_passed") >= 15.0);
    // Service: the workload's figures, no burst asked for (so no 429 count).
    assert_eq!(metric(m, "service_error_ratio"), 0.0);
    assert!(metric(m, "service_search_p95_ms") >= metric(m, "service_search_p50_ms"));
    assert!(metric(m, "service_ask_p50_ms") > 0.0);
    assert_eq!(metric(m, "service_ingest_rejected"), 1.0);
    assert!(metric(m, "service_validation_rejected") >= 1.0);
    assert!(m.get("service_burst_429").is_none(), "{m}");
    // The drift gauges: no feature drifted under normal traffic; at least half under off-topic questions.
    assert_eq!(metric(m, "service_drift_share_normal"), 0.0);
    assert!(metric(m, "service_drift_share_drifted") >= 0.5);
    // Audit: Adult's model is known to fail the four-fifths rule on sex.
    assert!(metric(m, "audit_test_accuracy") > 0.83);
    let dpd = metric(m, "audit_sex_dpd");
    assert!(dpd > 0.05 && dpd < 0.5, "{dpd}");
    assert!(metric(m, "audit_sex_dpr") < 0.8);
    assert_eq!(metric(m, "audit_sex_four_fifths"), 0.0);
    assert!(metric(m, "audit_race_eod") >= 0.0);
    assert!(metric(m, "audit_additivity_error") <= 1e-9);
    // Quality: exactly the planted cells; only the shifted columns drift.
    assert_eq!(metric(m, "quality_planted_failures"), 6.0);
    assert_eq!(metric(m, "quality_found_failures"), 6.0);
    assert_eq!(metric(m, "quality_clean_failures"), 0.0);
    assert_eq!(metric(m, "quality_undrifted_columns_drifted"), 0.0);
    assert_eq!(metric(m, "quality_shifted_columns_drifted"), 3.0);
    // A/B: the known winner, no SRM on the clean log, an alert on the skewed one.
    assert!(metric(m, "ab_treatment_hit_rate") > metric(m, "ab_control_hit_rate"));
    assert!(metric(m, "ab_hit_rate_p_value") < 0.05);
    assert!(metric(m, "ab_srm_p_value") >= 0.001);
    assert!(metric(m, "ab_skewed_srm_p_value") < 0.001);
    assert_eq!(metric(m, "ab_users"), 1000.0);

    for item in [
        "phase6.monitoring-logging",
        "phase6.bias-audit-shap",
        "phase6.data-validation",
        "phase6.ab-testing",
    ] {
        assert_eq!(env.item_status(item), "done", "{item}");
    }
    for item in ["phase6.containerize-deploy", "phase6.milestone"] {
        assert_ne!(env.item_status(item), "done", "{item}");
    }
}

#[test]
fn a_failing_part_leaves_its_item_unmarked() {
    let env = Env::new();
    // Treatment k = 1 is the control itself: no winner may be found.
    let out = env
        .cmd()
        .args([
            "run",
            "phase6",
            "--parts",
            "ab",
            "--ab-treatment-k",
            "1",
            "--ab-users",
            "1000",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The run completed (its verdict is recorded), so the exit status is 0.
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("✗ ab.winner:"), "{stdout}");
    assert!(stdout.contains("✓ ab.skewed:"), "{stdout}");
    assert!(
        stdout.contains("ab       FAILED") && stdout.contains("ab.winner"),
        "{stdout}"
    );
    let runs = env.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].0, "failed");
    assert_eq!(metric(&runs[0].1, "parts_failed"), 1.0);
    assert!(metric(&runs[0].1, "checks_failed") >= 1.0);
    assert_ne!(env.item_status("phase6.ab-testing"), "done");
}

#[test]
fn bad_flags_are_usage_errors_before_anything_is_recorded() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["run", "phase6", "--parts", "audit,nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nope"), "{stderr}");
    assert!(
        !Path::new(&env.db()).exists() || env.runs().is_empty(),
        "a usage error recorded a run"
    );
}
