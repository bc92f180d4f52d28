//! `roadmap run phase6 --parts deploy` through the real binary: the service
//! image built around this very binary, run as a container, driven by the
//! capstone workload, stopped and removed (issue 16).
//!
//! Where a Docker engine answers, the part must pass and mark
//! `phase6.containerize-deploy`; it may make the base image first
//! (debootstrap, 1–3 min, root; `.ci/run` installs debootstrap before the
//! tests, and `.ci/deploy-e2e` later reuses the image). Where none answers it
//! must be skipped with the reason — except under CI (`CI` set), where a
//! missing engine fails the test. Either way no container of the run may be
//! left behind.

use std::path::PathBuf;
use std::process::Command as Std;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

fn cache() -> PathBuf {
    roadmap_common::assets::test_cache_dir(env!("CARGO_TARGET_TMPDIR"))
}

/// Whether `docker version` reaches a server (bounded by `timeout`).
fn engine_answers() -> bool {
    Std::new("timeout")
        .args(["20", "docker", "version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
}

/// Containers the deploy part labelled, of any run.
fn part_containers() -> String {
    Std::new("timeout")
        .args([
            "60",
            "docker",
            "ps",
            "--all",
            "--quiet",
            "--filter",
            "label=org.roadmap.capstone=deploy",
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// The tests of this file one at a time: both may build the same images.
static ENGINE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `roadmap` with a temporary home and database, the shared asset cache, and
/// the variables that say where the engine is.
fn roadmap(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("roadmap").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("ROADMAP_DB", dir.join("progress.db"))
        .env("ROADMAP_DATA_DIR", dir.join("data"))
        .env("ROADMAP_CACHE", cache())
        .env("ROADMAP_LEARNER", "ada")
        .env("NO_COLOR", "1")
        // Base image (debootstrap) + image build + start + workload, with room to spare.
        .timeout(Duration::from_secs(1500));
    for var in ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "TMPDIR"] {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    cmd
}

/// The deploy part's report in a `--json` run's output.
fn deploy_part(v: &Value) -> Value {
    v["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["part"] == "deploy")
        .unwrap()
        .clone()
}

/// `roadmap run phase6 --parts deploy --json --service-burst BURST`: its one
/// JSON object on stdout, and its stderr (the checks as they are decided).
fn run_deploy(mut cmd: Command, burst: usize) -> (Value, String) {
    let out = cmd
        .args([
            "run",
            "phase6",
            "--parts",
            "deploy",
            "--json",
            "--service-burst",
        ])
        .arg(burst.to_string())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}); stderr: {stderr}"));
    (v, stderr)
}

/// Whether the deploy part must run here: an engine answers, or this is CI
/// (where a missing engine is a failure, not a skip).
fn engine_required() -> bool {
    engine_answers() || std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

#[test]
fn deploy_part_runs_the_service_in_a_container_or_says_why_not() {
    let _one = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("progress.db");
    // The burst runs too: the container loads SmolLM2 and must refuse past its queue.
    let (v, stderr) = run_deploy(roadmap(dir.path()), 4);
    let part = deploy_part(&v);
    if !engine_required() {
        assert_eq!(part["status"], "skipped", "{part}");
        assert!(
            part["reason"]
                .as_str()
                .unwrap()
                .contains("no Docker engine answers"),
            "{part}"
        );
        eprintln!("no Docker engine here: {}", part["reason"]);
        return;
    }
    assert_eq!(
        part["status"], "passed",
        "the deploy part must pass where an engine runs (and under CI, where one must run): {part}\n{stderr}"
    );
    for c in [
        "✓ deploy.engine:",
        "✓ deploy.base_image:",
        "✓ deploy.image:",
        "✓ deploy.image_config:",
        "✓ deploy.start:",
        "✓ deploy.ready:",
        "✓ deploy.ingest_with_one_bad_document:",
        "✓ deploy.streamed_ask:",
        "✓ deploy.validation:",
        "✓ deploy.burst_back_pressure:",
        "✓ deploy.metrics_count_requests:",
        "✓ deploy.metrics:",
        "✓ deploy.healthcheck:",
        "✓ deploy.stop:",
        "✓ deploy.cleanup:",
    ] {
        assert!(stderr.contains(c), "{c} not printed: {stderr}");
    }

    let m = &v["metrics"];
    let emitted: Vec<&str> = m
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| k.starts_with("deploy_"))
        .collect();
    let mut declared = roadmap::runners::capstone::deploy::METRICS.to_vec();
    declared.sort();
    assert_eq!(emitted, declared, "{m}");
    let f = |k: &str| m[k].as_f64().unwrap();
    assert!(f("deploy_image_mb") > 10.0, "{m}");
    assert!(f("deploy_ready_s") > 0.0, "{m}");
    assert_eq!(f("deploy_error_ratio"), 0.0, "{m}");
    assert!(f("deploy_ask_p95_ms") >= f("deploy_ask_p50_ms"), "{m}");
    assert!(f("deploy_answers") >= 5.0, "{m}");
    assert_eq!(
        v["completes"],
        serde_json::json!(["phase6.containerize-deploy"])
    );

    let conn = rusqlite::Connection::open(&db).unwrap();
    let status: String = conn
        .query_row(
            "SELECT COALESCE((SELECT status FROM v_progress WHERE item_id = 'phase6.containerize-deploy'), 'todo')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(status, "done");
    assert_eq!(part_containers(), "", "containers of the part left behind");
}

/// Bad input: a service that cannot start in its container. The MiniLM folder
/// given to the run holds the model's file names but not its contents, so the
/// host side accepts it, mounts it, and the service in the container fails to
/// load it and exits: the `ready` check must fail with the container's logs,
/// and the container must be gone.
#[test]
fn a_container_that_never_becomes_ready_fails_the_part_with_its_logs_and_is_removed() {
    if !engine_required() {
        eprintln!("no Docker engine here (and not CI): nothing to check");
        return;
    }
    let _one = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken-minilm");
    std::fs::create_dir(&broken).unwrap();
    for f in ["model.safetensors", "tokenizer.json", "config.json"] {
        std::fs::write(broken.join(f), "not a model\n").unwrap();
    }
    let mut cmd = roadmap(dir.path());
    cmd.env("ROADMAP_ALL_MINILM_L6_V2_DIR", &broken);
    let (v, stderr) = run_deploy(cmd, 0);
    let part = deploy_part(&v);
    assert_eq!(part["status"], "failed", "{part}\n{stderr}");
    let ready = part["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "deploy.ready")
        .unwrap_or_else(|| panic!("no ready check: {part}"));
    assert_eq!(ready["passed"], false, "{ready}");
    let detail = ready["detail"].as_str().unwrap();
    assert!(
        detail.contains("stopped before it was ready") && detail.contains("log lines of"),
        "{detail}"
    );
    // The logs say why: the embedder could not be loaded from the mounted folder.
    assert!(detail.contains("/models/all-minilm-l6-v2"), "{detail}");
    assert!(v["completes"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(
        part_containers(),
        "",
        "the failed container was left behind"
    );
}
