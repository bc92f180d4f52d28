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

// ---- replay (`ab simulate`) and analysis from the request log (`ab report`) ----

/// k = 5 against k = 1 on two SQuAD articles: hit@k must differ; a stopped
/// experiment for the error path.
const EXPERIMENTS: &str = r#"
[[experiment]]
key = "k5-vs-k1"
status = "running"
start = 2026-12-01T00:00:00Z
[[experiment.variant]]
name = "k5"
weight = 0.5
overrides = { k = 5 }
[[experiment.variant]]
name = "k1"
weight = 0.5
overrides = { k = 1 }

[[experiment]]
key = "old"
status = "stopped"
start = 2026-11-01T00:00:00Z
[[experiment.variant]]
name = "a"
weight = 0.5
[[experiment.variant]]
name = "b"
weight = 0.5
"#;

struct Replay {
    dir: tempfile::TempDir,
}

impl Replay {
    fn new() -> Replay {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("experiments.toml"), EXPERIMENTS).unwrap();
        Replay { dir }
    }
    fn store(&self) -> std::path::PathBuf {
        self.dir.path().join("rag.db")
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = roadmap();
        c.env_remove("ROADMAP_RAG_STORE")
            .env("ROADMAP_DATA_DIR", self.dir.path())
            .args(args)
            .arg("--experiments")
            .arg(self.dir.path().join("experiments.toml"))
            .arg("--store")
            .arg(self.store());
        c
    }
    fn simulate(&self, extra: &[&str]) -> std::process::Output {
        let mut args = vec![
            "ab",
            "simulate",
            "--experiment",
            "k5-vs-k1",
            "--embedder",
            "hash",
            "--articles",
            "2",
            "--json",
        ];
        args.extend_from_slice(extra);
        self.cmd(&args).output().unwrap()
    }
}

fn ok_json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Equal JSON, numbers to 1e-9 relative (sums of floating-point values).
fn assert_close(a: &Value, b: &Value, path: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-300),
                "{path}: {x} != {y}"
            );
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}: lengths");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                assert_close(x, y, &format!("{path}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            let kx: Vec<_> = x.keys().collect();
            let ky: Vec<_> = y.keys().collect();
            assert_eq!(kx, ky, "{path}: keys");
            for (k, v) in x {
                assert_close(v, &y[k], &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

fn effect<'a>(report: &'a Value, metric: &str) -> &'a Value {
    report["effects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["metric"] == metric)
        .unwrap_or_else(|| panic!("no effect for {metric} in {report}"))
}

#[test]
fn simulate_logs_like_the_service_and_report_equals_the_library() {
    use roadmap_abtest::analysis::{analyze_rows, AnalysisOptions, UserRow};
    use roadmap_abtest::simulate::SIMULATION_METRICS;
    use roadmap_rag_service::experiment_log::{experiment_users, open_store};

    let r = Replay::new();
    let simulated = ok_json(&r.simulate(&["--users", "300", "--seed", "7"]));
    let reported = ok_json(
        &r.cmd(&["ab", "report", "--experiment", "k5-vs-k1", "--json"])
            .output()
            .unwrap(),
    );
    // simulate prints what report reads back
    assert_close(&simulated, &reported, "report");

    // The log holds what the service writes: one exposure per user, one
    // request row per question, each with the variant and a hashed user key.
    let conn = rusqlite::Connection::open(r.store()).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |row| row.get(0)).unwrap() };
    assert_eq!(
        count("SELECT COUNT(*) FROM exposures WHERE experiment = 'k5-vs-k1'"),
        300
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM request_log WHERE experiment = 'k5-vs-k1'"),
        300
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM request_log WHERE user_hash LIKE 'sim-%' OR length(user_hash) != 32"),
        0,
        "user keys are stored hashed"
    );
    assert_eq!(
        count("SELECT COUNT(DISTINCT k) FROM request_log WHERE experiment = 'k5-vs-k1'"),
        2
    );
    assert_eq!(count("SELECT COUNT(*) FROM replay_scores"), 300);

    // The library's analysis of the same rows gives the same numbers.
    let store = open_store(&r.store()).unwrap();
    let users = experiment_users(&store, &r.store(), "k5-vs-k1").unwrap();
    let f = |b: Option<bool>| b.map(|b| b as u8 as f64);
    let rows: Vec<UserRow> = users
        .iter()
        .map(|u| UserRow {
            user: u.user_hash.clone(),
            variant: u.variant.clone(),
            first_exposure: chrono::DateTime::from_timestamp_micros(
                (u.first_at_unix * 1e6).round() as i64,
            )
            .unwrap(),
            exposures: u.requests,
            values: vec![
                f(u.thumbs_up),
                f(u.grounded),
                f(u.no_answer),
                u.latency_ms,
                u.answer_chars,
                u.answer_f1,
                f(u.hit_at_k),
            ],
        })
        .collect();
    let file = roadmap_abtest::config::parse(EXPERIMENTS, "t").unwrap();
    let lib = analyze_rows(
        file.get("k5-vs-k1").unwrap(),
        &SIMULATION_METRICS,
        &rows,
        &AnalysisOptions::default(),
    )
    .unwrap();
    let lib: Value = serde_json::from_str(&roadmap_abtest::render::json(&lib)).unwrap();
    assert_close(&lib, &reported, "library");

    // And the replay says what k = 1 does to hit@k: fewer gold paragraphs found.
    let users_per_variant: Vec<u64> = reported["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["users"].as_u64().unwrap())
        .collect();
    assert_eq!(users_per_variant.iter().sum::<u64>(), 300);
    let hit = effect(&reported, "hit_at_k");
    assert_eq!(hit["conclusion"], "worse", "{hit}");
    assert!(hit["absolute"]["p_value"].as_f64().unwrap() < 0.05);
    assert_eq!(reported["health"]["srm"]["verdict"], "ok");
    let thumbs = &reported["variants"][0]["metrics"][0];
    assert_eq!(thumbs["n"], 0, "nobody voted in a replay: {thumbs}");
    assert!(!reported.to_string().contains("NaN"));

    // Same seed, same users, same assignments: a replay is reproducible,
    // and a second one into the same store must be asked for.
    let again = r.simulate(&["--users", "300", "--seed", "7"]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("--replace"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let replaced = ok_json(&r.simulate(&["--users", "300", "--seed", "7", "--replace"]));
    assert_eq!(
        replaced["variants"][0]["users"],
        reported["variants"][0]["users"]
    );
    assert_eq!(count("SELECT COUNT(*) FROM request_log"), 300);
}

#[test]
fn a_skewed_log_raises_the_srm_alert_and_the_html_report_is_written() {
    let r = Replay::new();
    let html = r.dir.path().join("report.html");
    let report = ok_json(&r.simulate(&[
        "--users",
        "400",
        "--lose-exposures",
        "k1=0.5",
        "--html",
        html.to_str().unwrap(),
    ]));
    assert_eq!(
        report["health"]["srm"]["verdict"], "alert",
        "{}",
        report["health"]
    );
    assert!(report["health"]["srm"]["p_value"].as_f64().unwrap() < 0.001);
    assert!(report["health"]["warnings"][0]
        .as_str()
        .unwrap()
        .contains("sample-ratio mismatch ALERT"));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("k5-vs-k1") && page.contains("<svg"), "{page}");
    // The terminal report says it too.
    r.cmd(&["ab", "report", "--experiment", "k5-vs-k1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ALERT"));
}

#[test]
fn replay_and_report_errors_say_what_to_fix() {
    let r = Replay::new();
    // No log yet.
    r.cmd(&["ab", "report", "--experiment", "k5-vs-k1"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no such file"));
    r.cmd(&["ab", "report", "--experiment", "k5-vs-k2"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("k5-vs-k1"));
    r.cmd(&[
        "ab",
        "simulate",
        "--experiment",
        "old",
        "--users",
        "10",
        "--embedder",
        "hash",
    ])
    .assert()
    .failure()
    .stderr(predicate::str::contains("stopped"));
    let out = r.simulate(&["--users", "10", "--lose-exposures", "k7=0.5"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the variants are k5, k1"));
    let out = r.simulate(&["--users", "0"]);
    assert!(!out.status.success());
    let bad = r.dir.path().join("bad.json");
    std::fs::write(&bad, "{\"data\": 3}").unwrap();
    let out = r.simulate(&["--users", "10", "--squad", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a SQuAD-format file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!r.store().exists(), "failed replays write nothing");

    // An experiment nobody was exposed to: a report with no users, no NaN.
    ok_json(&r.simulate(&["--users", "20"]));
    let other = r.dir.path().join("other.toml");
    std::fs::write(
        &other,
        EXPERIMENTS.replace("key = \"k5-vs-k1\"", "key = \"fresh\""),
    )
    .unwrap();
    let out = roadmap()
        .env_remove("ROADMAP_RAG_STORE")
        .args(["ab", "report", "--experiment", "fresh", "--json", "--store"])
        .arg(r.store())
        .arg("--experiments")
        .arg(&other)
        .output()
        .unwrap();
    let v = ok_json(&out);
    assert_eq!(v["variants"][0]["users"], 0);
    assert!(v["health"]["warnings"].to_string().contains("no users"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("k5-vs-k1 (20 users)"));
}

// ---- live traffic: the service assigns and logs, `ab report` analyses ----

/// The service on 127.0.0.1 with a k = 2 vs k = 1 experiment takes
/// searches and asks from 60 users (and one vote); `roadmap ab report` over
/// its store must count exactly the users and requests the answers'
/// `X-Experiment-Variant` headers said, and show the vote.
#[test]
fn report_analyses_the_live_services_traffic() {
    use roadmap_rag::{HashEmbedder, SqliteStore};
    use roadmap_rag_service::config::ServiceConfig;
    use roadmap_rag_service::state::Store;
    use roadmap_rag_service::{BackgroundService, Resources};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rag.sqlite");
    let file = dir.path().join("experiments.toml");
    std::fs::write(
        &file,
        r#"
[[experiment]]
key = "depth"
status = "running"
start = 2020-01-01T00:00:00Z
[[experiment.variant]]
name = "k2"
weight = 0.5
overrides = { k = 2 }
[[experiment.variant]]
name = "k1"
weight = 0.5
overrides = { k = 1 }
"#,
    )
    .unwrap();
    let mut config = ServiceConfig::default();
    config.server.addr = "127.0.0.1:0".parse().unwrap();
    config.retrieval.embedder = "hash".into();
    config.retrieval.default_collection = "notes".into();
    config.experiments.file = Some(file.clone());
    let mut keys = roadmap_http::ApiKeys::none();
    keys.add("e2e-key-0123456789abcdef", "test").unwrap();
    let path = db.clone();
    let service = BackgroundService::start(
        config,
        Resources {
            open_store: Arc::new(move || Ok(Box::new(SqliteStore::open(&path)?) as Store)),
            store_label: db.display().to_string(),
            embedder: Arc::new(HashEmbedder::default()),
            generators: Vec::new(),
            unavailable: Vec::new(),
            api_keys: keys,
            request_log: Some(db.clone()),
            user_salt: "e2e".into(),
            revision: "test".into(),
        },
    )
    .unwrap();
    let base = service.base_url();
    let http = reqwest::blocking::Client::new();
    let r = http
        .post(format!("{base}/v1/collections/notes/documents"))
        .bearer_auth("e2e-key-0123456789abcdef")
        .json(&serde_json::json!({"documents": [
            {"id": "queue.txt", "text": "Local generation runs through a bounded queue. A full queue answers 429 with a Retry-After header."},
            {"id": "drain.md", "text": "On SIGTERM the service drains: in-flight requests finish before it exits."},
            {"id": "metrics.md", "text": "Prometheus scrapes the metrics endpoint every few seconds."}
        ]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);

    let mut users: BTreeMap<String, u64> = BTreeMap::new();
    let mut requests: BTreeMap<String, u64> = BTreeMap::new();
    let mut voted = None;
    for i in 0..60 {
        let user = format!("live-{i}");
        // Every user searches; every third also asks (a second request).
        for route in ["search", "ask"] {
            if route == "ask" && i % 3 != 0 {
                continue;
            }
            let body = if route == "search" {
                serde_json::json!({"query": "what does a full queue answer", "user": user})
            } else {
                serde_json::json!({"question": "What does a full queue answer?"})
            };
            let r = http
                .post(format!("{base}/v1/{route}"))
                .header("X-User-Id", &user)
                .json(&body)
                .send()
                .unwrap();
            assert_eq!(r.status(), 200);
            let variant = r.headers()["x-experiment-variant"]
                .to_str()
                .unwrap()
                .to_owned();
            let body: Value = r.json().unwrap();
            if route == "search" {
                *users.entry(variant.clone()).or_default() += 1;
            } else if voted.is_none() {
                voted = Some((
                    body["request_id"].as_str().unwrap().to_owned(),
                    variant.clone(),
                ));
            }
            *requests.entry(variant).or_default() += 1;
        }
    }
    let (voted_id, voted_variant) = voted.unwrap();
    let r = http
        .post(format!("{base}/v1/feedback"))
        .json(&serde_json::json!({"request_id": voted_id, "rating": "up"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    service.shutdown().unwrap();

    let out = roadmap()
        .env_remove("ROADMAP_RAG_STORE")
        .env("ROADMAP_DATA_DIR", dir.path())
        .args([
            "ab",
            "report",
            "--experiment",
            "depth",
            "--json",
            "--experiments",
        ])
        .arg(&file)
        .arg("--store")
        .arg(&db)
        .output()
        .unwrap();
    let report = ok_json(&out);
    assert_eq!(report["experiment"], "depth");
    for v in report["variants"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        assert_eq!(v["users"], users[name], "{name}: {report}");
        assert_eq!(v["exposures"], requests[name], "{name}: {report}");
        let thumbs = v["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == "thumbs_up")
            .unwrap_or_else(|| panic!("no thumbs_up in {v}"));
        let voters = if name == voted_variant { 1 } else { 0 };
        assert_eq!(thumbs["n"], voters, "{name}: {thumbs}");
        if voters == 1 {
            assert_eq!(thumbs["mean"], 1.0, "{thumbs}");
        }
    }
    assert_eq!(report["health"]["users_in_several_variants"], 0);
    assert!(
        report["health"]["srm"]["p_value"].as_f64().is_some(),
        "{report}"
    );
}
