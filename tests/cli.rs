//! End-to-end tests of the tracker: the real binary, a temporary database.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
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
            .env("ROADMAP_CACHE", self.dir.path().join("cache"))
            .env("ROADMAP_LEARNER", "ada")
            .timeout(Duration::from_secs(120));
        c
    }

    /// A command using the test roadmap whose milestones all use the `selftest` runner.
    fn selftest(&self) -> Command {
        let mut c = self.cmd();
        c.env("ROADMAP_FILE", fixture("roadmap-selftest.toml"));
        c
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn sqlite(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

#[test]
fn fresh_status_lists_six_phases() {
    let env = Env::new();
    let v = env.json(&["status", "--json"]);
    let phases = v["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 6);
    assert_eq!(phases[0]["id"], "phase1");
    assert_eq!(phases[5]["id"], "phase6");
    assert!(phases.iter().all(|p| p["done"] == 0));
    assert_eq!(v["current_phase"], "phase1");
    env.cmd().arg("status").assert().success().stdout(
        predicate::str::contains("Foundational Prerequisites")
            .and(predicate::str::contains("Next step")),
    );
}

#[test]
fn start_done_log_note_change_status_and_history() {
    let env = Env::new();
    env.cmd()
        .args(["start", "phase1.math-for-ml"])
        .assert()
        .success();
    env.cmd()
        .args([
            "log",
            "1h30m",
            "phase1.math-for-ml",
            "--note",
            "vectors",
            "--date",
            "2026-01-05",
        ])
        .assert()
        .success();
    env.cmd()
        .args(["log", "45m", "phase1.math-for-ml"])
        .assert()
        .success();
    env.cmd()
        .args(["note", "phase1.math-for-ml", "eigenvalues", "click"])
        .assert()
        .success();
    env.cmd()
        .args(["done", "phase1.math-for-ml"])
        .assert()
        .success();
    env.cmd()
        .args(["skip", "phase2.opencv-course"])
        .assert()
        .success();

    let v = env.json(&["status", "--json"]);
    assert_eq!(v["phases"][0]["done"], 1);
    assert_eq!(v["phases"][1]["skipped"], 1);
    assert_eq!(v["total_minutes"], 135);
    assert_eq!(v["pace"]["started"], "2026-01-05");

    let h = env.json(&["history", "--json"]);
    let kinds: Vec<&str> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["status", "session", "session", "note", "status", "status"]
    );
    assert_eq!(h[5]["detail"]["to"], "skipped");

    // reset refuses without a terminal or --yes, then works with --yes
    env.cmd()
        .args(["reset", "phase1.math-for-ml"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--yes"));
    env.cmd()
        .args(["reset", "phase1.math-for-ml", "--yes"])
        .assert()
        .success();
    assert_eq!(env.json(&["status", "--json"])["phases"][0]["done"], 0);

    env.cmd()
        .args(["show", "phase1.math-for-ml"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("eigenvalues click")
                .and(predicate::str::contains("2h15m in 2 sessions")),
        );
}

#[test]
fn unknown_ids_and_bad_durations_are_explained() {
    let env = Env::new();
    env.cmd()
        .args(["done", "phase2.milestne"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("did you mean phase2.milestone"));
    env.cmd()
        .args(["log", "ninety", "phase1.math-for-ml"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("not a duration"));
    env.cmd()
        .args(["log", "1h", "phase1.math-for-ml", "--date", "2026-13-01"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("YYYY-MM-DD"));
    env.cmd()
        .args(["done", "phase1"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("is a phase"));
}

#[test]
fn report_in_every_format() {
    let env = Env::new();
    env.cmd()
        .args(["log", "2h", "phase1.math-for-ml"])
        .assert()
        .success();
    env.cmd()
        .args(["--learner", "bob", "done", "phase1.python-for-everybody"])
        .assert()
        .success();

    let md = env.cmd().args(["report"]).output().unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(
        md.contains("## ada")
            && md.contains("| phase1 | Foundational Prerequisites | 0/4 | 0 | 2h00m |"),
        "{md}"
    );

    let json = env.json(&["report", "--format", "json", "--all"]);
    let learners: Vec<&str> = json["learners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["overview"]["learner"].as_str().unwrap())
        .collect();
    assert_eq!(learners, ["ada", "bob"]);

    let out = env.dir.path().join("r.csv");
    env.cmd()
        .args(["report", "--format", "csv", "--out"])
        .arg(&out)
        .assert()
        .success();
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 6);
    assert_eq!(&rows[0][6], "120");

    let html = env
        .cmd()
        .args(["report", "--format", "html"])
        .output()
        .unwrap();
    let html = String::from_utf8(html.stdout).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("Core MLOps &amp; Deployment"));
}

#[test]
fn run_bookkeeping_passed_failed_and_errors() {
    let env = Env::new();
    env.selftest()
        .args(["run", "phase1", "--metric", "score=0.9"])
        .assert()
        .success()
        .stderr(predicate::str::contains("PASSED"));
    env.selftest()
        .args(["run", "phase2", "--metric", "score=0.1"])
        .assert()
        .success()
        .stderr(predicate::str::contains("did not pass"));
    env.selftest()
        .args(["run", "phase3", "--fail"])
        .assert()
        .failure();
    env.selftest()
        .args(["run", "phase6"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no runner"));

    let conn = sqlite(&env.db());
    let runs: Vec<(String, String, String)> = conn
        .prepare("SELECT phase_id, status, metrics FROM runs ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(runs.len(), 3);
    assert_eq!(
        (runs[0].0.as_str(), runs[0].1.as_str()),
        ("phase1", "passed")
    );
    assert_eq!(runs[0].2, r#"{"score":0.9}"#);
    assert_eq!(runs[1].1, "failed");
    assert_eq!(runs[2].1, "failed");
    let status: String = conn
        .query_row(
            "SELECT status FROM v_progress WHERE item_id = 'phase1.milestone'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(status, "done");
    let latest: i64 = conn
        .query_row("SELECT COUNT(*) FROM v_latest_runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(latest, 3);
}

#[test]
fn sigkill_mid_run_leaves_it_interrupted_at_next_command() {
    let env = Env::new();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("roadmap"))
        .args(["run", "phase1", "--sleep", "60"])
        .env("ROADMAP_DB", env.db())
        .env("ROADMAP_FILE", fixture("roadmap-selftest.toml"))
        .env("ROADMAP_LEARNER", "ada")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the run is recorded as running.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let running = env.db().exists()
            && sqlite(&env.db())
                .query_row(
                    "SELECT COUNT(*) FROM runs WHERE status = 'running'",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap_or(0)
                == 1;
        if running {
            break;
        }
        assert!(Instant::now() < deadline, "the run never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    env.selftest().arg("status").assert().success();
    let status: String = sqlite(&env.db())
        .query_row("SELECT status FROM runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(status, "interrupted");
}

#[test]
fn two_processes_logging_concurrently_lose_nothing() {
    let env = Env::new();
    env.cmd().arg("status").assert().success(); // create the schema first
    let handles: Vec<_> = ["ada", "bob"]
        .into_iter()
        .map(|learner| {
            let db = env.db();
            std::thread::spawn(move || {
                // 200 separate `roadmap log` processes per learner, racing the other learner's.
                for i in 0..200 {
                    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("roadmap"))
                        .args([
                            "--learner",
                            learner,
                            "log",
                            "1m",
                            "phase1.math-for-ml",
                            "--note",
                        ])
                        .arg(format!("session {i}"))
                        .env("ROADMAP_DB", &db)
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let n: i64 = sqlite(&env.db())
        .query_row("SELECT COUNT(*) FROM study_sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 400);
    let events: i64 = sqlite(&env.db())
        .query_row(
            "SELECT COUNT(*) FROM events WHERE kind = 'session'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(events, 400);
}

#[test]
fn migrates_a_version_one_database() {
    let env = Env::new();
    {
        let conn = sqlite(&env.db());
        conn.execute_batch(include_str!("../src/db/migrations/0001_init.sql"))
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO learners (name, created_at) VALUES ('ada', '2026-01-01T00:00:00Z')",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO item_status (learner_id, item_id, status, updated_at) VALUES (1, 'phase1.math-for-ml', 'done', '2026-01-02T00:00:00Z')",
            [],
        )
        .unwrap();
    }
    let v = env.json(&["status", "--json"]);
    assert_eq!(v["phases"][0]["done"], 1);
    let version: i64 = sqlite(&env.db())
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(version >= 2);
    // The views of version 2 exist now.
    let n: i64 = sqlite(&env.db())
        .query_row("SELECT COUNT(*) FROM v_progress", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn not_a_database_and_newer_schema_are_refused() {
    let env = Env::new();
    std::fs::write(env.db(), "this is a text file, not SQLite\n".repeat(200)).unwrap();
    env.cmd()
        .arg("status")
        .assert()
        .failure()
        .stderr(predicate::str::contains("is not a SQLite database"));

    std::fs::remove_file(env.db()).unwrap();
    sqlite(&env.db())
        .pragma_update(None, "user_version", 99)
        .unwrap();
    env.cmd()
        .arg("status")
        .assert()
        .failure()
        .stderr(predicate::str::contains("newer roadmap (schema version 99"));
}

#[test]
fn broken_roadmap_files_name_line_column_and_problem() {
    let env = Env::new();
    let good = std::fs::read_to_string(fixture("roadmap-selftest.toml")).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        ("unknown key", good.replacen("kind = \"course\"", "kind = \"course\"\ncolour = \"red\"", 1), "unknown field `colour`"),
        ("duplicate id", good.replacen("id = \"phase1.python-for-everybody\"", "id = \"phase1.math-for-ml\"", 1), "duplicate id `phase1.math-for-ml`"),
        ("bad duration", good.replacen("duration_months = { min = 2, max = 3 }", "duration_months = { min = 3, max = 2 }", 1), "bad duration"),
        ("unknown runner", good.replacen("runner = \"selftest\"", "runner = \"magic\"", 1), "unknown runner `magic`"),
        ("unknown metric", good.replacen("criteria = [\"score >= 0.5\"]", "criteria = [\"accurracy >= 0.5\"]", 1), "unknown metric `accurracy`"),
        ("syntax", good.replacen("title = \"Foundational Prerequisites\"", "title = \"Foundational", 1), "roadmap.toml:"),
        ("empty phase", format!("{good}\n[[phases]]\nid = \"phase7\"\ntitle = \"Empty\"\nduration_months = {{ min = 1, max = 2 }}\n"), "phase `phase7` is empty"),
    ];
    for (what, text, expected) in cases {
        assert_ne!(text, good, "{what}: the fixture edit did not apply");
        let path = env.dir.path().join("roadmap.toml");
        std::fs::write(&path, text).unwrap();
        let out = env
            .cmd()
            .arg("--roadmap")
            .arg(&path)
            .arg("status")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{what}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{what}: {stderr}");
        // file:line:column
        let located = stderr.contains(&format!("{}:", path.display()))
            && stderr
                .split(&format!("{}:", path.display()))
                .nth(1)
                .is_some_and(|rest| {
                    let mut parts = rest.split(':');
                    parts.next().is_some_and(|l| l.parse::<u32>().is_ok())
                        && parts.next().is_some_and(|c| c.parse::<u32>().is_ok())
                });
        assert!(
            located || what == "empty phase" && stderr.contains(&path.display().to_string()),
            "{what}: no line:column in {stderr}"
        );
    }
}

#[test]
fn cohort_reads_databases_without_changing_them() {
    let a = Env::new();
    let b = Env::new();
    a.cmd()
        .args(["done", "phase1.math-for-ml"])
        .assert()
        .success();
    b.cmd()
        .args(["--learner", "bob", "log", "3h", "phase2.opencv-course"])
        .assert()
        .success();
    let hash =
        |p: &Path| roadmap_common::assets::sha256_reader(std::fs::File::open(p).unwrap()).unwrap();
    let before = (hash(&a.db()), hash(&b.db()));
    let out = a
        .cmd()
        .arg("cohort")
        .arg(a.db())
        .arg(b.db())
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[1]["overview"]["learner"], "bob");
    assert_eq!(v[1]["overview"]["total_minutes"], 180);
    assert_eq!(before, (hash(&a.db()), hash(&b.db())));
    a.cmd()
        .arg("cohort")
        .arg(a.dir.path().join("missing.db"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("no progress database"));
}

#[test]
fn completions_are_generated() {
    let env = Env::new();
    env.cmd()
        .args(["completions", "bash"])
        .assert()
        .success()
        // Runner flags too: `roadmap run phase1 --sol<TAB>`.
        .stdout(predicate::str::contains("roadmap").and(predicate::str::contains("--solver")));
}

/// Every byte of every file under `dir` (the database, its WAL, run artifacts).
fn all_bytes_under(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.extend(std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

#[test]
fn no_secret_reaches_the_database_reports_or_errors() {
    const PW: &str = "Sup3rSecretPW";
    const KEY: &str = "sk-env-provided-9f8e7d";
    let env = Env::new();
    // A server that refuses the connection (port 1): the run fails, and its
    // error message quotes the URL.
    let out = env
        .cmd()
        .env("OPENAI_API_KEY", KEY)
        .args([
            "run",
            "phase5",
            "--hash-embedder",
            "--articles",
            "1",
            "--store",
            &format!("postgres://alice:{PW}@127.0.0.1:1/rag"),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stderr.contains("alice@127.0.0.1"), "{stderr}");
    let report = env
        .cmd()
        .env("OPENAI_API_KEY", KEY)
        .args(["report", "--format", "json"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&report.stdout).into_owned();
    assert!(report.contains("alice@127.0.0.1"), "{report}");
    let files = all_bytes_under(env.dir.path());
    for secret in [PW, KEY] {
        for (what, text) in [
            ("stderr", &*stderr),
            ("stdout", &*stdout),
            ("report", &*report),
        ] {
            assert!(!text.contains(secret), "{secret} in {what}: {text}");
        }
        assert!(
            !files.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is stored in a file under the data dir"
        );
    }
}

#[test]
fn a_mistyped_runner_flag_records_nothing() {
    let env = Env::new();
    env.cmd()
        .args(["run", "phase1", "--sovler", "gd"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--sovler").and(predicate::str::contains("--solver")));
    // Help is answered from the runner's own command, without a run either.
    env.cmd()
        .args(["run", "phase1", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--solver"));
    // Out-of-range numbers are usage errors before anything is allocated.
    env.cmd()
        .args(["run", "phase4", "--pairs", "-k", "1000000000000"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("1000000000000"));
    if env.db().exists() {
        let n: i64 = sqlite(&env.db())
            .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }
}

#[test]
fn a_broken_config_file_is_an_error_naming_file_and_line() {
    let env = Env::new();
    let config = env.dir.path().join("config.toml");
    std::fs::write(&config, "# mine\nlerner = \"ana\"\n").unwrap();
    env.cmd()
        .env_remove("ROADMAP_LEARNER")
        .env("ROADMAP_CONFIG", &config)
        .args(["log", "1h", "phase1.milestone"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("config.toml:2:1").and(predicate::str::contains("lerner")),
        );
    std::fs::write(&config, "learner = \"ana\n").unwrap();
    env.cmd()
        .env_remove("ROADMAP_LEARNER")
        .env("ROADMAP_CONFIG", &config)
        .arg("status")
        .assert()
        .failure()
        .stderr(predicate::str::contains("config.toml:1:"));
    assert!(
        !env.db().exists() || {
            let n: i64 = sqlite(&env.db())
                .query_row("SELECT COUNT(*) FROM study_sessions", [], |r| r.get(0))
                .unwrap();
            n == 0
        }
    );
    std::fs::write(&config, "learner = \"ana\"\n").unwrap();
    env.cmd()
        .env_remove("ROADMAP_LEARNER")
        .env("ROADMAP_CONFIG", &config)
        .args(["log", "1h", "phase1.milestone"])
        .assert()
        .success();
    let who: String = sqlite(&env.db())
        .query_row("SELECT name FROM learners", [], |r| r.get(0))
        .unwrap();
    assert_eq!(who, "ana");
}

#[test]
fn corrupt_json_in_the_database_names_the_row() {
    let env = Env::new();
    env.selftest()
        .args(["run", "phase1", "--metric", "score=0.9"])
        .assert()
        .success();
    sqlite(&env.db())
        .execute(
            "UPDATE runs SET metrics = '{\"score\": 0.9' WHERE id = 1",
            [],
        )
        .unwrap();
    env.selftest()
        .args(["report", "--format", "json"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("runs row 1").and(predicate::str::contains("metrics")));
}

#[test]
fn no_subcommand_shows_status_and_what_next() {
    let env = Env::new();
    env.cmd()
        .assert()
        .success()
        .stdout(predicate::str::contains("Next step").and(predicate::str::contains("What next")));
}
