//! The service as Prometheus and Grafana see it: a real Prometheus scrapes a
//! running service and answers queries on its metrics; every metric named by
//! the deployment's dashboard and alert rules is one the service exports.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{client, metrics, seed, start, Options};
use serde_json::{json, Value};

/// Every `roadmap_…` identifier in `text`, with histogram suffixes removed.
fn metric_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("roadmap_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        if !out.iter().any(|n| n == base) {
            out.push(base.to_string());
        }
        rest = &tail[end..];
    }
    out
}

fn exported(metrics: &str, name: &str) -> bool {
    let family = name.strip_suffix("_total").unwrap_or(name);
    metrics.contains(&format!("# TYPE {family} "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_metric_of_the_dashboard_and_the_alert_rules_is_exported() {
    let mut s = start(Options::default()).await;
    seed(&s).await;
    let metrics = metrics(&s).await;
    let dashboard = include_str!("../../../deploy/grafana/dashboards/roadmap-rag.json");
    let dash: Value = serde_json::from_str(dashboard).unwrap();
    let mut exprs = String::new();
    fn walk(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if k == "expr" {
                        out.push_str(v.as_str().unwrap_or(""));
                        out.push('\n');
                    } else {
                        walk(v, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&dash, &mut exprs);
    let panel_names = metric_names(&exprs);
    assert!(
        panel_names.len() >= 5,
        "the dashboard names too few metrics: {panel_names:?}"
    );
    let alerts = include_str!("../../../deploy/prometheus/alerts.yml");
    let rule_names = metric_names(alerts);
    assert!(rule_names.len() >= 4, "{rule_names:?}");
    for name in panel_names.iter().chain(&rule_names) {
        assert!(
            exported(&metrics, name),
            "`{name}` is used by the deployment but not exported:\n{metrics}"
        );
    }
    s.stop().await;
}

/// Kills the child process when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn query(base: &str, q: &str) -> Option<f64> {
    let r: Value = client()
        .get(format!("{base}/api/v1/query"))
        .query(&[("query", q)])
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let v = r["data"]["result"][0]["value"][1]
        .as_str()?
        .parse::<f64>()
        .ok()?;
    v.is_finite().then_some(v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prometheus_scrapes_the_service_and_answers_queries() {
    if !on_path("prometheus") {
        if std::env::var_os("CI").is_some() {
            panic!(
                "CI is set but `prometheus` is not on PATH: install Debian's prometheus package"
            );
        }
        eprintln!("skipped: `prometheus` is not on PATH (CI installs Debian's prometheus package)");
        return;
    }
    let mut s = start(Options::default()).await;
    seed(&s).await;
    let dir = tempfile::tempdir().unwrap();
    let port = s.base.rsplit(':').next().unwrap().to_string();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: roadmap-rag\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .unwrap();
    let prom_port = free_port();
    let _prom = Killed(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting prometheus"),
    );
    let prom = format!("http://127.0.0.1:{prom_port}");

    // Traffic over several scrapes, so rate() has two points to work with.
    let deadline = Instant::now() + Duration::from_secs(90);
    let (mut searches, mut found_count, mut p95) = (0, None, None);
    while Instant::now() < deadline && (found_count.is_none() || p95.is_none()) {
        for _ in 0..5 {
            let r = client()
                .post(s.url("/v1/search"))
                .json(&json!({"query": "what does a full queue answer"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            searches += 1;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        if found_count.is_none() {
            found_count = query(&prom, "sum(roadmap_rag_requests_total{job=\"roadmap-rag\",route=\"/v1/search\",status=\"200\"})")
                .await
                .filter(|v| *v >= 10.0);
        }
        p95 = query(
            &prom,
            "histogram_quantile(0.95, sum by (le) (rate(roadmap_rag_request_duration_seconds_bucket{route=\"/v1/search\"}[10s])))",
        )
        .await
        .filter(|v| *v > 0.0);
    }
    let count = found_count.expect("Prometheus never reported the search counter");
    assert!(count <= searches as f64, "{count} counted, {searches} sent");
    let p95 = p95.expect("Prometheus never computed the p95 of /v1/search");
    assert!(
        p95 < 5.0,
        "p95 {p95} s: the buckets are wrong or the service is stuck"
    );
    s.stop().await;
}

/// `promtool` from PATH; `None` (skip) unless CI is set, where it must be there.
fn promtool() -> Option<&'static str> {
    if on_path("promtool") {
        return Some("promtool");
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but `promtool` is not on PATH: install Debian's prometheus package");
    }
    eprintln!("skipped: `promtool` is not on PATH (CI installs Debian's prometheus package)");
    None
}

/// The alert rules parse, and each fires (or stays silent) on the series of
/// its unit test in `deploy/prometheus/tests/alerts_test.yml` — among them the
/// drift alert: fires after 30 minutes of `roadmap_rag_dataset_drift` 1, not
/// while 0, not when the verdict goes away.
#[test]
fn the_alert_rules_pass_promtool_and_their_unit_tests() {
    let Some(promtool) = promtool() else {
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prometheus");
    for args in [
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "tests/alerts_test.yml"],
    ] {
        let out = Command::new(promtool)
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("running promtool");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "promtool {}:\n{text}", args.join(" "));
        assert!(
            text.contains("SUCCESS"),
            "promtool {}:\n{text}",
            args.join(" ")
        );
    }
    let tests = std::fs::read_to_string(dir.join("tests/alerts_test.yml")).unwrap();
    for alert in ["RagDatasetDrift", "RagDriftCheckFailing"] {
        assert!(
            tests.contains(&format!("alertname: {alert}")),
            "{alert} has no promtool test case"
        );
    }
}
