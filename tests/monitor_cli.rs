//! `roadmap monitor service`: drift of the RAG service's request-log
//! features, through the real CLI, on logs written by the service's own
//! request-log writer.

use assert_cmd::Command;
use predicates::prelude::*;
use roadmap_rag_service::requestlog::{LogBackend, LogWrite, RequestRecord, SqliteLog};
use serde_json::Value;

/// 2026-12-02T00:00:00Z.
const END: f64 = 1_796_169_600.0;
const END_TEXT: &str = "2026-12-02T00:00:00Z";
const DAY: f64 = 86_400.0;

/// One request whose features follow a fixed pattern of `i`; `shift`
/// moves the current window's distribution (0 = the same as the reference).
fn request(i: usize, at: f64, shift: f64) -> LogWrite {
    let u = ((i * 7919) % 100) as f64 / 100.0; // evenly spread in [0, 1)
    let tokens = 6.0 + (u * 10.0).floor() + shift * 8.0;
    let search = i.is_multiple_of(5);
    LogWrite::Request(Box::new(RequestRecord {
        request_id: format!("r{i}-{at}"),
        at_unix: at,
        route: if search { "/v1/search" } else { "/v1/ask" }.into(),
        status: 200,
        question_tokens: Some(tokens as u32),
        top_score: Some(0.3 + 0.5 * u - 0.2 * shift),
        hits_above: Some((u * 5.0) as u32),
        answer_chars: (!search).then_some((80.0 + 200.0 * u + 300.0 * shift) as u32),
        grounding: (!search).then(|| {
            if (i % 10) as f64 / 10.0 < 0.8 - 0.5 * shift {
                "cited".to_owned()
            } else {
                "none".to_owned()
            }
        }),
        no_answer: (!search).then_some((i % 20) as f64 / 20.0 < 0.1 + 0.4 * shift),
        latency_ms: 20.0 + 100.0 * u + 400.0 * shift,
        ..Default::default()
    }))
}

/// A log with 700 requests over the 7 days before the current day and 300
/// in the current day, the current ones shifted by `shift`.
fn log(dir: &std::path::Path, shift: f64) -> std::path::PathBuf {
    let path = dir.join("rag.db");
    let mut log = SqliteLog::open(&path).unwrap();
    let mut writes = Vec::new();
    for i in 0..700 {
        writes.push(request(i, END - DAY - 7.0 * DAY + i as f64 * 800.0, 0.0));
    }
    for i in 0..300 {
        writes.push(request(i, END - DAY + i as f64 * 250.0, shift));
    }
    // Rejected and non-question requests do not count.
    let mut bad = request(9999, END - 10.0, 5.0);
    if let LogWrite::Request(r) = &mut bad {
        r.status = 422;
    }
    writes.push(bad);
    log.write(&writes).unwrap();
    path
}

fn monitor(store: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut c = Command::cargo_bin("roadmap").unwrap();
    c.env_remove("ROADMAP_RAG_STORE")
        .args(["monitor", "service", "--store"])
        .arg(store)
        .args(extra);
    if !extra.contains(&"--end") {
        c.args(["--end", END_TEXT]);
    }
    c.output().unwrap()
}

fn json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn drifted(v: &Value) -> Vec<String> {
    v["drift"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["drifted"] == true)
        .map(|c| c["column"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_unchanged_service_shows_no_drift() {
    let dir = tempfile::tempdir().unwrap();
    let store = log(dir.path(), 0.0);
    let v = json(&monitor(&store, &["--json"]));
    assert_eq!(v["reference_requests"], 700);
    assert_eq!(
        v["current_requests"], 300,
        "the 422 is not a question request"
    );
    assert_eq!(v["drift"]["dataset_drift"], false, "{}", v["drift"]);
    assert_eq!(drifted(&v), Vec::<String>::new());
    let features: Vec<&str> = v["drift"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["column"].as_str().unwrap())
        .collect();
    assert_eq!(features, roadmap_rag_service::metrics::DRIFT_FEATURES);
}

#[test]
fn a_drifted_window_is_flagged_feature_by_feature() {
    let dir = tempfile::tempdir().unwrap();
    let store = log(dir.path(), 1.0);
    let html = dir.path().join("drift.html");
    let v = json(&monitor(
        &store,
        &["--json", "--html", html.to_str().unwrap()],
    ));
    assert_eq!(v["drift"]["dataset_drift"], true);
    let d = drifted(&v);
    for f in [
        "question_tokens",
        "top_score",
        "answer_chars",
        "latency_ms",
        "grounded",
        "no_answer",
    ] {
        assert!(d.contains(&f.to_owned()), "{f} should drift: {d:?}");
    }
    assert!(
        !d.contains(&"hits_above".to_owned()),
        "hits_above did not change: {d:?}"
    );
    assert!(std::fs::read_to_string(&html).unwrap().contains("<svg"));
    // The terminal table names the windows.
    let out = monitor(&store, &[]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("2026-12-01T00:00:00Z .. 2026-12-02T00:00:00Z"),
        "{text}"
    );
}

#[test]
fn empty_windows_and_bad_flags_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = log(dir.path(), 0.0);
    let out = monitor(
        &store,
        &["--current-window", "1d", "--end", "2027-06-01T00:00:00Z"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the reference window") || err.contains("the current window"),
        "{err}"
    );
    assert!(
        err.contains("1000 question requests in the whole log"),
        "{err}"
    );
    let out = monitor(&store, &["--reference-window", "7w"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--reference-window `7w` is not a duration")
    );
    let out = monitor(&store, &["--stattest", "latency=psi"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no feature `latency`"));
    Command::cargo_bin("roadmap")
        .unwrap()
        .env_remove("ROADMAP_RAG_STORE")
        .args(["monitor", "service", "--store"])
        .arg(dir.path().join("missing.db"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("no such file"));
}
