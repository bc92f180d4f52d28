//! The service's periodic drift check, end to end: a real server on
//! 127.0.0.1 with a drift check every 0.2 s over windows of seconds, normal
//! traffic (no dataset drift reported) then long off-topic questions (dataset
//! drift reported), read from `/metrics` as Prometheus would.

mod common;

use std::time::Duration;

use common::{metrics, seed, start, Options};
use roadmap_rag_service::drift_workload::{self, DriftWorkload};

const NORMAL: [&str; 4] = [
    "how does Prometheus scrape metrics",
    "what does a full queue answer",
    "is every request body validated",
    "what draws the dashboards",
];

fn drift_options(interval: f64, current: &str) -> Options {
    let mut o = Options::default();
    o.config.drift.interval_seconds = interval;
    o.config.drift.current_window = current.into();
    o.config.drift.reference_window = "60s".into();
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_drift_gauge_fires_on_drifted_traffic_and_not_on_normal_traffic() {
    let mut s = start(drift_options(0.2, "3s")).await;
    seed(&s).await;
    let report = drift_workload::run(DriftWorkload {
        base_url: s.base.clone(),
        questions: NORMAL.iter().map(|q| q.to_string()).collect(),
        collection: "notes".into(),
        requests_per_phase: 24,
        current_window_secs: 3.0,
        gap: Duration::from_secs(1),
        timeout: Duration::from_secs(10),
    })
    .await
    .unwrap();
    for c in &report.checks {
        eprintln!("{}: {}", c.name, c.detail);
        assert!(c.passed, "{}: {}\n{report:#?}", c.name, c.detail);
    }
    // Normal vs normal: the same questions, so the same lengths, scores and answers.
    assert_eq!(report.normal.dataset_drift, Some(0.0), "{report:#?}");
    assert_eq!(report.normal.window_requests["current"], 24.0);
    assert_eq!(report.normal.window_requests["reference"], 24.0);
    assert_eq!(report.normal.detected.get("question_tokens"), Some(&0.0));
    // Drifted: the current window holds only the 24 off-topic requests, the reference both normal phases.
    assert_eq!(report.drifted.dataset_drift, Some(1.0), "{report:#?}");
    assert_eq!(report.drifted.window_requests["current"], 24.0);
    assert_eq!(report.drifted.window_requests["reference"], 48.0);
    let (test, p) = &report.drifted.scores["question_tokens"];
    assert_eq!(
        test, "ks",
        "fewer than 1000 reference rows: Evidently picks KS"
    );
    assert!(*p < 0.05, "question_tokens p-value {p}");

    // The verdict holds as long as its windows do: the raw exposition says the same.
    let text = metrics(&s).await;
    assert!(
        text.contains("roadmap_rag_drift_runs_total{result=\"ok\"}"),
        "{text}"
    );
    assert!(
        text.contains("# HELP roadmap_rag_drift_score") && text.contains("a p-value"),
        "{text}"
    );
    s.stop().await;
}

/// No traffic: every run finds an empty window, which is counted, not a
/// verdict — `roadmap_rag_dataset_drift` has no sample, the alert has nothing
/// to fire on. Shutdown stops the check.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn empty_windows_give_no_verdict_and_shutdown_stops_the_check() {
    let mut s = start(drift_options(0.1, "2s")).await;
    let mut runs = 0.0;
    for _ in 0..100 {
        let text = metrics(&s).await;
        runs = text
            .lines()
            .find_map(|l| l.strip_prefix("roadmap_rag_drift_runs_total{result=\"empty_window\"} "))
            .map_or(0.0, |v| v.parse().unwrap());
        if runs >= 3.0 {
            assert!(
                !text
                    .lines()
                    .any(|l| l.starts_with("roadmap_rag_dataset_drift ")),
                "{text}"
            );
            assert!(
                text.contains("# TYPE roadmap_rag_dataset_drift gauge"),
                "{text}"
            );
            assert!(
                text.contains("roadmap_rag_drift_last_run_timestamp_seconds 0"),
                "{text}"
            );
            assert!(
                !text.contains("roadmap_rag_drift_runs_total{result=\"error\"}"),
                "{text}"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(runs >= 3.0, "the drift check did not run every 0.1 s");
    let started = std::time::Instant::now();
    s.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown waited {:?}",
        started.elapsed()
    );
}
