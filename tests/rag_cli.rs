//! `roadmap rag ...` end to end through the binary, with the hashing embedder
//! (no model files): JSON output, model refusal, evaluation, and an ingest
//! killed with SIGKILL mid-way and run again.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use roadmap_rag::SqliteStore;

fn roadmap() -> Command {
    let mut c = Command::cargo_bin("roadmap").unwrap();
    c.env_remove("ROADMAP_ALL_MINILM_L6_V2_DIR");
    c
}

fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).unwrap_or_else(|e| {
        panic!(
            "not one JSON object ({e}): {}",
            String::from_utf8_lossy(out)
        )
    })
}

#[test]
fn ingest_search_and_refuse_another_model() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(
        docs.join("a.md"),
        "# Cats\n\nCats purr when content.\n\n# Dogs\n\nDogs bark at strangers.\n",
    )
    .unwrap();
    std::fs::write(docs.join("b.bin"), [0u8, 1, 2]).unwrap();
    let store = dir.path().join("kb.sqlite");
    let s = store.to_str().unwrap();
    let out = roadmap()
        .args([
            "rag",
            "ingest",
            docs.to_str().unwrap(),
            "--store",
            s,
            "--embedder",
            "hash",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out.stdout);
    assert_eq!(v["added"], 1);
    assert_eq!(v["skipped"].as_array().unwrap().len(), 1);
    let out = roadmap()
        .args([
            "rag",
            "search",
            "which",
            "animal",
            "barks",
            "--collection",
            "default",
            "--store",
            s,
            "--embedder",
            "hash",
            "--json",
            "-k",
            "1",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out.stdout);
    assert_eq!(v["hits"][0]["heading"][0], "Dogs");
    assert_eq!(v["hits"][0]["line_start"], 5);
    assert_eq!(v["mode"], "hybrid");
    // A missing model directory is a clear error naming it (mixed-model refusal is tested in the library).
    let out = roadmap()
        .args([
            "rag",
            "search",
            "cats",
            "--collection",
            "default",
            "--store",
            s,
            "--model-dir",
            "/nonexistent/model",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/model"));
}

#[test]
fn eval_on_a_tiny_squad_file() {
    let squad =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("milestones/rag/tests/fixtures/tiny_squad.json");
    let out = roadmap()
        .args([
            "rag",
            "eval",
            "--squad",
            squad.to_str().unwrap(),
            "--embedder",
            "hash",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out.stdout);
    assert_eq!(v["questions"], 6);
    let modes = v["modes"].as_array().unwrap();
    assert_eq!(modes.len(), 3);
    for m in modes {
        assert_eq!(m["hit_at_1"], 1.0, "{m}");
    }
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "{\"data\": 3}").unwrap();
    let out = roadmap()
        .args([
            "rag",
            "eval",
            "--squad",
            bad.path().to_str().unwrap(),
            "--embedder",
            "hash",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a SQuAD-format file"));
}

fn doc_count(store: &Path) -> i64 {
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(store, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return 0;
    };
    conn.busy_timeout(Duration::from_secs(2)).ok();
    conn.query_row("SELECT count(*) FROM documents", [], |r| r.get(0))
        .unwrap_or(0)
}

#[test]
fn sigkilled_ingest_then_rerun_ends_exact() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    let total = 1500;
    for i in 0..total {
        let body: String = (0..12)
            .map(|j| {
                format!(
                    "File {i} sentence {j} is about subject {} and more. ",
                    (i * 7 + j) % 97
                )
            })
            .collect();
        std::fs::write(docs.join(format!("f{i:05}.txt")), body).unwrap();
    }
    let killed = dir.path().join("killed.sqlite");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("roadmap"))
        .args([
            "rag",
            "ingest",
            docs.to_str().unwrap(),
            "--store",
            killed.to_str().unwrap(),
            "--embedder",
            "hash",
            "--json",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while doc_count(&killed) < 50 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "ingest ended before it could be killed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "ingest made no progress"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at_kill = doc_count(&killed);
    assert!(
        at_kill < total,
        "the kill landed mid-ingest ({at_kill} of {total})"
    );

    let out = roadmap()
        .args([
            "rag",
            "ingest",
            docs.to_str().unwrap(),
            "--store",
            killed.to_str().unwrap(),
            "--embedder",
            "hash",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out.stdout);
    assert_eq!(
        v["added"].as_i64().unwrap() + v["unchanged"].as_i64().unwrap(),
        total
    );
    assert!(v["unchanged"].as_i64().unwrap() >= 50);

    let fresh = dir.path().join("fresh.sqlite");
    roadmap()
        .args([
            "rag",
            "ingest",
            docs.to_str().unwrap(),
            "--store",
            fresh.to_str().unwrap(),
            "--embedder",
            "hash",
            "--json",
        ])
        .assert()
        .success();
    let a = SqliteStore::open(&killed).unwrap();
    let b = SqliteStore::open(&fresh).unwrap();
    a.check_integrity().unwrap();
    assert_eq!(
        a.snapshot("default").unwrap(),
        b.snapshot("default").unwrap()
    );
}
