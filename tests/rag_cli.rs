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

/// `roadmap rag --store STORE --embedder hash` (the tests' knowledge-base commands).
fn rag_hash(store: &Path) -> Command {
    let mut c = roadmap();
    c.args([
        "rag",
        "--store",
        store.to_str().unwrap(),
        "--embedder",
        "hash",
    ]);
    c
}

/// Fails the test with the command's stderr unless it exited successfully.
fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The PostgreSQL + pgvector server of CI's .ci/setup-postgres, if one is set up;
/// the PostgreSQL tests skip (and say so) without it.
fn pg_url() -> Option<String> {
    let url = std::env::var("ROADMAP_TEST_PG_URL").ok();
    if url.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but ROADMAP_TEST_PG_URL is not: .ci/setup-postgres must start the server"
        );
        eprintln!(
            "skipped: ROADMAP_TEST_PG_URL is not set (no PostgreSQL + pgvector to test against)"
        );
    }
    url
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
    assert_ok(&out);
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
    assert_ok(&out);
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
    assert_ok(&out);
    let v = json(&out.stdout);
    assert_eq!(v["questions"], 6);
    let modes = v["modes"].as_array().unwrap();
    let names: Vec<&str> = modes.iter().map(|m| m["name"].as_str().unwrap()).collect();
    // The default fusion and plain RRF are both reported for hybrid.
    assert_eq!(names, ["dense", "bm25", "hybrid", "hybrid_rrf"]);
    assert_eq!(modes[2]["fusion"]["method"], "convex");
    assert_eq!(modes[3]["fusion"]["k"], 60.0);
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
    assert_ok(&out);
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

/// A store with one ingested collection `kb` (hashing embedder), for `ask`.
fn kb_store(dir: &Path) -> std::path::PathBuf {
    let docs = dir.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(
        docs.join("tower.md"),
        "# Eiffel Tower\n\nThe Eiffel Tower is in Paris. It was completed in 1889 for the World's Fair.\n\n\
         # Big Ben\n\nBig Ben is the nickname of the great bell in London.\n",
    )
    .unwrap();
    let store = dir.join("kb.sqlite");
    let out = roadmap()
        .args([
            "rag",
            "ingest",
            docs.to_str().unwrap(),
            "--collection",
            "kb",
        ])
        .args([
            "--store",
            store.to_str().unwrap(),
            "--embedder",
            "hash",
            "--json",
        ])
        .output()
        .unwrap();
    assert_ok(&out);
    store
}

#[test]
fn ask_extractive_answers_with_citations() {
    let dir = tempfile::tempdir().unwrap();
    let store = kb_store(dir.path());
    let s = store.to_str().unwrap();
    let base = [
        "rag",
        "ask",
        "When was the Eiffel Tower completed?",
        "--collection",
        "kb",
    ];
    let out = roadmap()
        .args(base)
        .args(["--store", s, "--embedder", "hash", "--json"])
        .output()
        .unwrap();
    assert_ok(&out);
    let v = json(&out.stdout);
    let answer = v["answer"].as_str().unwrap();
    assert!(answer.contains("completed in 1889"), "{answer}");
    assert_eq!(v["generator"], "extractive");
    assert_eq!(v["retrieval_mode"], "hybrid");
    let cites = v["citations"].as_array().unwrap();
    assert!(!cites.is_empty(), "{v}");
    let c = &cites[0];
    assert!(answer.contains(&format!("[{}]", c["n"])), "{v}");
    assert!(c["text"].as_str().unwrap().contains("completed in 1889"));
    assert!(c["source"].as_str().unwrap().ends_with("tower.md"));
    assert!(v["timings"]["retrieval_ms"].as_f64().unwrap() >= 0.0);

    let out = roadmap()
        .args(base)
        .args(["--store", s, "--embedder", "hash"])
        .output()
        .unwrap();
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("completed in 1889"), "{text}");
    assert!(
        text.contains("sources:") && text.contains("tower.md:"),
        "{text}"
    );
}

#[test]
fn ask_rejects_bad_input_with_specific_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = kb_store(dir.path());
    let s = store.to_str().unwrap();
    let run = |question: &str, extra: &[&str]| {
        let out = roadmap()
            .args(["rag", "ask", question, "--store", s, "--embedder", "hash"])
            .args(extra)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{question:.40} {extra:?} succeeded");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let err = run("   ", &["--collection", "kb"]);
    assert!(err.contains("question is empty"), "{err}");
    let long = "a".repeat(20_000);
    let err = run(&long, &["--collection", "kb"]);
    assert!(
        err.contains("20000 characters long") && err.contains("limit is 2000"),
        "{err}"
    );
    let err = run("What is it?", &["--collection", "nothing-here"]);
    assert!(
        err.contains("collection `nothing-here` does not exist yet"),
        "{err}"
    );
    // A port nobody listens on: bind one, then free it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/v1");
    let model_dir = std::env::var("ROADMAP_SMOLLM2_135M_INSTRUCT_DIR").ok();
    let mut extra = vec![
        "--collection",
        "kb",
        "--generator",
        "openai",
        "--base-url",
        &url,
    ];
    if let Some(d) = model_dir.as_deref() {
        extra.extend(["--llm-model-dir", d]);
    }
    let err = run("When was the tower completed?", &extra);
    assert!(err.contains("cannot connect to the LLM server"), "{err}");
}

#[test]
fn eval_answers_scores_the_extractive_generator() {
    let squad =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("milestones/rag/tests/fixtures/tiny_squad.json");
    let out = roadmap()
        .args([
            "rag",
            "eval",
            "--answers",
            "--squad",
            squad.to_str().unwrap(),
        ])
        .args(["--embedder", "hash", "--json"])
        .output()
        .unwrap();
    assert_ok(&out);
    let v = json(&out.stdout);
    assert_eq!(v["questions"], 6);
    assert_eq!(v["generator"], "extractive");
    // Extractive answers are copied from the cited chunks: always supported.
    assert_eq!(v["citation_support"], 1.0, "{v}");
    for key in ["exact_match", "f1", "answer_contains_gold"] {
        let x = v[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&x), "{key} {x}");
    }
    assert!(v["f1"].as_f64().unwrap() > 0.0, "{v}");
}

#[test]
fn chat_answers_follow_ups_and_handles_commands() {
    let dir = tempfile::tempdir().unwrap();
    let store = kb_store(dir.path());
    let out = roadmap()
        .args([
            "rag",
            "chat",
            "--collection",
            "kb",
            "--store",
            store.to_str().unwrap(),
        ])
        .args(["--embedder", "hash"])
        .write_stdin(
            "When was the Eiffel Tower completed?\n/sources\n/mode bm25\n/mode fast\n/frobnicate\n\
             /reset\n/sources\n   \n/quit\nnever reached\n",
        )
        .output()
        .unwrap();
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("completed in 1889"), "{text}");
    assert!(text.matches("tower.md:").count() >= 2, "{text}");
    assert!(text.contains("retrieval mode: bm25"), "{text}");
    assert!(text.contains("not `fast`"), "{text}");
    assert!(text.contains("unknown command `/frobnicate`"), "{text}");
    assert!(
        text.contains("conversation forgotten") && text.contains("no answer yet"),
        "{text}"
    );
    // Nothing after /quit is answered ("never reached" would get the "I don't know" reply).
    assert!(!text.contains("I don't know"), "{text}");
}

/// A follow-up with only a pronoun is searched with the previous question's topic.
#[test]
fn chat_rewrites_follow_ups_into_standalone_queries() {
    let dir = tempfile::tempdir().unwrap();
    let store = kb_store(dir.path());
    let out = roadmap()
        .args(["rag", "chat", "--collection", "kb", "--store"])
        .arg(&store)
        .args(["--embedder", "hash"])
        .write_stdin("When was the Eiffel Tower completed?\nwhere is it?\n/quit\n")
        .output()
        .unwrap();
    assert_ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("(searching for: where is it? eiffel tower completed)"),
        "{err}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("The Eiffel Tower is in Paris."), "{text}");
}

/// `--store postgres://...` against the real server of `ROADMAP_TEST_PG_URL`
/// (set by CI's .ci/setup-postgres): ingest, search, list, the
/// `ROADMAP_RAG_STORE` variable, and no password in any output.
#[test]
fn ingest_and_search_in_postgres() {
    let Some(url) = pg_url() else { return };
    let collection = format!("cli_{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.md"),
        "# Cats\n\nCats purr when content.\n\n# Dogs\n\nDogs bark at strangers.\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = roadmap()
            .args(["rag", "--store", &url, "--embedder", "hash"])
            .args(args)
            .args(["--collection", &collection])
            .output()
            .unwrap();
        assert_ok(&out);
        out
    };
    let password = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('@').next())
        .and_then(|userinfo| userinfo.split(':').nth(1))
        .map(str::to_string);
    let v = json(&run(&["ingest", dir.path().to_str().unwrap(), "--json"]).stdout);
    assert_eq!(v["added"], 1);
    assert_eq!(v["chunks_embedded"], 2);
    let v = json(&run(&["ingest", dir.path().to_str().unwrap(), "--json"]).stdout);
    assert_eq!(
        (v["added"].clone(), v["unchanged"].clone()),
        (0.into(), 1.into())
    );
    for mode in ["bm25", "dense", "hybrid"] {
        let v = json(&run(&["search", "do cats purr", "--mode", mode, "--json"]).stdout);
        let top = &v["hits"][0];
        assert!(
            top["text"].as_str().unwrap().contains("Cats purr"),
            "{mode}: {v}"
        );
        assert_eq!(top["heading"], serde_json::json!(["Cats"]));
    }
    // The same through the environment variable instead of --store.
    let out = roadmap()
        .env("ROADMAP_RAG_STORE", &url)
        .args(["rag", "--embedder", "hash", "list"])
        .output()
        .unwrap();
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&collection), "{text}");
    let out = roadmap()
        .env("ROADMAP_RAG_STORE", &url)
        .args(["rag", "list", "--json"])
        .output()
        .unwrap();
    let v = json(&out.stdout);
    if let Some(pw) = &password {
        assert!(!v["store"].as_str().unwrap().contains(pw.as_str()), "{v}");
        assert!(!text.contains(pw.as_str()));
    }
    use roadmap_rag::VectorStore as _;
    roadmap_rag::PgStore::connect(&url)
        .unwrap()
        .drop_collection(&collection)
        .unwrap();
}

/// `roadmap run phase5 --store URL` evaluates inside PostgreSQL and records the run;
/// anything but a PostgreSQL URL is refused before any work.
#[test]
fn phase5_runner_evaluates_in_postgres() {
    let Some(url) = pg_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("progress.db");
    let squad =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("milestones/rag/tests/fixtures/tiny_squad.json");
    let out = roadmap()
        .args([
            "--db",
            db.to_str().unwrap(),
            "run",
            "phase5",
            "--store",
            &url,
        ])
        .args([
            "--squad",
            squad.to_str().unwrap(),
            "--hash-embedder",
            "--json",
        ])
        .output()
        .unwrap();
    let v = json(&out.stdout);
    assert_eq!(v["questions"], 6, "{v}");
    assert_eq!(v["modes"].as_array().unwrap().len(), 4, "{v}");
    let out = roadmap()
        .args(["--db", db.to_str().unwrap(), "history", "--json"])
        .output()
        .unwrap();
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("phase5"), "{text}");
    let out = roadmap()
        .args([
            "--db",
            db.to_str().unwrap(),
            "run",
            "phase5",
            "--store",
            "kb.sqlite",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--store takes a postgres://"), "{err}");
}

/// A stopped (or never started) PostgreSQL: a specific error that names the
/// server without its password and says how to start one; nothing else runs.
#[test]
fn a_stopped_postgres_is_a_specific_error() {
    // Bound and released: nothing listens on this port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://roadmap:hunter2@127.0.0.1:{port}/rag");
    for args in [
        vec!["search", "anything"],
        vec!["ingest", env!("CARGO_MANIFEST_DIR")],
        vec!["list"],
    ] {
        let out = roadmap()
            .args(["rag", "--store", &url, "--embedder", "hash"])
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("postgres://roadmap@127.0.0.1:{port}/rag"))
                && err.contains("connection refused")
                && err.contains("pgvector-server.sh"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
    }
}

/// An ingest into PostgreSQL killed with SIGKILL mid-way, run again, ends
/// with exactly the chunks of a fresh ingest: the server rolled back the
/// document whose transaction was open.
#[test]
fn sigkilled_ingest_into_postgres_then_rerun_ends_exact() {
    use roadmap_rag::{PgStore, VectorStore as _};
    let Some(url) = pg_url() else { return };
    let collection = format!("kill_{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    let total = 600;
    for i in 0..total {
        let body: String = (0..12)
            .map(|j| {
                format!(
                    "File {i} sentence {j} is about subject {}. ",
                    (i * 7 + j) % 97
                )
            })
            .collect();
        std::fs::write(docs.join(format!("f{i:05}.txt")), body).unwrap();
    }
    let ingest = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("roadmap"))
            .args(["rag", "ingest", docs.to_str().unwrap(), "--store", &url])
            .args(["--embedder", "hash", "--json", "--collection", &collection])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let watch = PgStore::connect(&url).unwrap();
    let count = || {
        watch
            .collection(&collection)
            .unwrap()
            .map_or(0, |c| c.documents)
    };
    let mut child = ingest();
    let started = Instant::now();
    while count() < 20 {
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
    let at_kill = count();
    assert!(
        at_kill < total,
        "the kill landed mid-ingest ({at_kill} of {total})"
    );

    let out = ingest().wait_with_output().unwrap();
    assert_ok(&out);
    let v = json(&out.stdout);
    assert_eq!(
        v["added"].as_i64().unwrap() + v["unchanged"].as_i64().unwrap(),
        total as i64
    );
    assert!(v["unchanged"].as_i64().unwrap() >= 20);

    let fresh = dir.path().join("fresh.sqlite");
    roadmap()
        .args([
            "rag",
            "ingest",
            docs.to_str().unwrap(),
            "--store",
            fresh.to_str().unwrap(),
        ])
        .args(["--embedder", "hash", "--json", "--collection", &collection])
        .assert()
        .success();
    watch.check_integrity().unwrap();
    let b = SqliteStore::open(&fresh).unwrap();
    assert_eq!(
        watch.snapshot(&collection).unwrap(),
        b.snapshot(&collection).unwrap()
    );
    let mut watch = watch;
    watch.drop_collection(&collection).unwrap();
}

/// The README's first `rag` example, on the built-in knowledge base.
#[test]
fn the_builtin_base_answers_what_to_build_in_a_phase() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("kb.sqlite");
    for (phase, title) in [
        ("4", "Embedding-Based Similarity Search"),
        ("2", "Text Classifier From Scratch"),
    ] {
        let out = rag_hash(&store)
            .args([
                "ask",
                &format!("what do I build in phase {phase}"),
                "--json",
            ])
            .output()
            .unwrap();
        assert_ok(&out);
        let v = json(&out.stdout);
        let answer = v["answer"].as_str().unwrap();
        assert!(
            answer.starts_with(&format!("In phase {phase} you build")) && answer.contains(title),
            "{answer}"
        );
        let cited = &v["citations"][0];
        assert_eq!(cited["source"], format!("phase{phase}.milestone"), "{v}");
    }
}

fn ask_builtin(store: &Path, extra: &[&str], question: &str) -> serde_json::Value {
    let out = roadmap()
        .args(extra)
        .args([
            "rag",
            "--store",
            store.to_str().unwrap(),
            "--embedder",
            "hash",
        ])
        .args(["ask", question, "--json"])
        .output()
        .unwrap();
    assert_ok(&out);
    json(&out.stdout)
}

/// The built-in knowledge base is prose: a question about a capstone
/// requirement is answered by a sentence about it (not a TOML line), citing
/// that requirement.
#[test]
fn the_builtin_base_answers_in_sentences_and_cites_the_item() {
    let dir = tempfile::tempdir().unwrap();
    let v = ask_builtin(&dir.path().join("kb.sqlite"), &[], "what is SHAP used for");
    let answer = v["answer"].as_str().unwrap();
    assert!(
        answer.contains("SHAP") && answer.contains("is used to explain a model's predictions"),
        "{answer}"
    );
    for raw in ["id =", "title =", "\"phase6.", "[["] {
        assert!(
            !answer.contains(raw),
            "raw roadmap text in the answer: {answer}"
        );
    }
    assert_eq!(v["citations"][0]["source"], "phase6.bias-audit-shap", "{v}");
}

/// `--roadmap PATH` changes the knowledge base: its items are indexed, the
/// embedded roadmap's are removed, and going back restores them.
#[test]
fn the_builtin_base_follows_the_roadmap_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("kb.sqlite");
    let custom = dir.path().join("roadmap.toml");
    std::fs::write(
        &custom,
        r#"format_version = 1
title = "A Tiny Roadmap"

[timeline]
focused_months = { min = 1, max = 2 }
part_time_months = { min = 2, max = 3 }

[[phases]]
id = "phase1"
title = "Rust Basics"
duration_months = { min = 1, max = 2 }

[[phases.resources]]
id = "phase1.rust-book"
title = "The Rust Programming Language"
provider = "The Rust Project"
kind = "book"
about = "The borrow checker is used to prove at compile time that every reference is valid and that no data race can happen."
"#,
    )
    .unwrap();
    let custom_flag = ["--roadmap", custom.to_str().unwrap()];
    let v = ask_builtin(&store, &custom_flag, "what is the borrow checker used for");
    assert!(
        v["answer"]
            .as_str()
            .unwrap()
            .contains("borrow checker is used to prove"),
        "{v}"
    );
    assert_eq!(v["citations"][0]["source"], "phase1.rust-book", "{v}");
    // Only the custom roadmap's documents are left in the collection.
    let out = roadmap()
        .args(custom_flag)
        .args([
            "rag",
            "--store",
            store.to_str().unwrap(),
            "--embedder",
            "hash",
        ])
        .args(["search", "SHAP explanations", "--json"])
        .output()
        .unwrap();
    assert_ok(&out);
    let hits = json(&out.stdout);
    let text = hits.to_string();
    assert!(!text.contains("phase6.bias-audit-shap"), "{text}");
    // Back on the embedded roadmap, the SHAP item is answered again.
    let v = ask_builtin(&store, &[], "what is SHAP used for");
    assert_eq!(v["citations"][0]["source"], "phase6.bias-audit-shap", "{v}");
}

/// `ask --explain`: exact Shapley values of the retrieved passages for the
/// answer-support game. The coverage game is monotone, so every value is ≥ 0,
/// and they add up to v(all passages); the cited passage carries the most.
/// More passages than the enumeration allows is a usage error.
#[test]
fn ask_explain_attributes_the_answer_to_passages_by_exact_shapley() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("kb.sqlite");
    let v = ask_builtin(&store, &[], "what is SHAP used for");
    assert!(
        v.get("explanation").is_none(),
        "explanation only when asked: {v}"
    );
    let out = rag_hash(&store)
        .args([
            "ask",
            "what is SHAP used for",
            "-k",
            "4",
            "--explain",
            "--json",
        ])
        .output()
        .unwrap();
    assert_ok(&out);
    let v = json(&out.stdout);
    let e = &v["explanation"];
    assert_eq!(e["coalitions"], 16, "{e}");
    assert_eq!(e["base_value"], 0.0, "{e}");
    let values: Vec<f64> = e["passages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["shapley"].as_f64().unwrap())
        .collect();
    assert_eq!(values.len(), 4);
    assert!(values.iter().all(|&x| x >= -1e-12), "{e}");
    let full = e["full_value"].as_f64().unwrap();
    assert!(full > 0.0 && full <= 1.0, "{e}");
    assert!((values.iter().sum::<f64>() - full).abs() < 1e-12, "{e}");
    assert!(e["additivity_error"].as_f64().unwrap() < 1e-12, "{e}");
    let best = (0..4)
        .max_by(|&a, &b| values[a].total_cmp(&values[b]))
        .unwrap();
    assert_eq!(
        e["passages"][best]["source"], v["citations"][0]["source"],
        "{v}"
    );

    let out = rag_hash(&store)
        .args(["ask", "what is SHAP used for", "-k", "7", "--explain"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("-k 6 or less"), "{err}");
}
