//! Helpers shared by the dashboard and browser tests: three learners'
//! databases made with the real CLI, and a running `roadmap dashboard`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/roadmap-selftest.toml")
}

pub fn roadmap_cmd(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_roadmap"));
    c.env("ROADMAP_FILE", fixture())
        .env("ROADMAP_CONFIG", dir.join("no-config.toml"))
        .env("ROADMAP_CACHE", dir.join("cache"))
        .env_remove("ROADMAP_DB")
        .env_remove("ROADMAP_DASHBOARD_TOKEN");
    c
}

pub fn ok(dir: &Path, db: &Path, learner: &str, args: &[&str]) {
    let out = roadmap_cmd(dir)
        .arg("--db")
        .arg(db)
        .args(["--learner", learner])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Three learners, one database each, at different stages.
pub fn cohort(dir: &Path) -> Vec<PathBuf> {
    let dbs: Vec<PathBuf> = ["alice", "bob", "carol"]
        .iter()
        .map(|n| dir.join(format!("{n}.db")))
        .collect();
    ok(dir, &dbs[0], "alice", &["done", "phase1.math-for-ml"]);
    ok(
        dir,
        &dbs[0],
        "alice",
        &[
            "log",
            "2h",
            "phase1.math-for-ml",
            "--note",
            "gradients <b>bold</b>",
        ],
    );
    ok(
        dir,
        &dbs[0],
        "alice",
        &["note", "phase1.math-for-ml", "revisit eigenvectors"],
    );
    ok(
        dir,
        &dbs[0],
        "alice",
        &["run", "phase1", "--metric", "score=0.9"],
    );
    ok(
        dir,
        &dbs[0],
        "alice",
        &["run", "phase2", "--metric", "score=0.1"],
    );
    ok(
        dir,
        &dbs[1],
        "bob",
        &["start", "phase1.python-for-everybody"],
    );
    ok(
        dir,
        &dbs[1],
        "bob",
        &["log", "5h", "phase1.python-for-everybody"],
    );
    ok(dir, &dbs[2], "carol", &["log", "30m", "phase1.math-for-ml"]);
    // A plot in alice's passed run, as the real runners leave them.
    let conn = rusqlite::Connection::open(&dbs[0]).unwrap();
    let art: String = conn
        .query_row(
            "SELECT artifact_dir FROM runs WHERE status = 'passed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);
    std::fs::write(
        Path::new(&art).join("loss.svg"),
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#,
    )
    .unwrap();
    dbs
}

/// A running `roadmap dashboard`, killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve(dir: &Path, dbs: &[PathBuf], extra: &[&str]) -> Server {
    let mut c = roadmap_cmd(dir);
    c.arg("dashboard");
    for db in dbs {
        c.arg("--db").arg(db);
    }
    let mut child = c
        .args(["--addr", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    Server { child, url }
}
