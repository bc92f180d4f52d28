//! Benchmark of issue 14's goal "`ab report` over 1,000,000 exposures and
//! outcomes in the request log in under 1 s (SQLite)".
//!
//! Builds a request log with the service's own writer (`SqliteLog`):
//! `--users` exposures (one per user, GrowthBook-assigned to two variants)
//! and `--requests` successful `/v1/ask` rows spread over those users, with
//! latency, answer length, grounding, no-answer and a vote on every tenth
//! request. Then times, `--rounds` times, the exact sequence of
//! `roadmap ab report` (`src/cli/ab/report.rs::from_store`): open the store,
//! read the users (`experiment_users`), make the analysis rows
//! (`user_rows`), analyse (`analyze_rows`) and render the JSON — by stage.
//! With `--roadmap BIN` it also times the real command as a subprocess,
//! `BIN ab report --experiment bench --experiments F --store DB --json`.
//!
//! ```sh
//! cargo run --release -p roadmap-rag-service --example ab_report_rate -- \
//!     [--users 1000000] [--requests 1000000] [--rounds 3] [--db PATH] [--roadmap target/release/roadmap]
//! ```
//!
//! `--db PATH` keeps the log (an existing file with the right row counts is
//! reused, so the build is paid once).

use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use roadmap_abtest::analysis::{analyze_rows, AnalysisOptions};
use roadmap_abtest::config;
use roadmap_abtest::render;
use roadmap_rag_service::experiment_log::{experiment_users, metrics_for, open_store, user_rows};
use roadmap_rag_service::requestlog::{hash_user, LogBackend, LogWrite, RequestRecord, SqliteLog};

/// Nanoseconds this thread has run on a CPU (Linux `/proc/thread-self/schedstat`),
/// so the cost can be read while other processes share the machine.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

const EXPERIMENTS: &str = r#"
[[experiment]]
key = "bench"
status = "running"
start = 2026-01-01T00:00:00Z

[[experiment.variant]]
name = "control"
weight = 0.5
overrides = { k = 5 }

[[experiment.variant]]
name = "treatment"
weight = 0.5
overrides = { k = 3 }
"#;

/// 2026-01-01T00:00:00Z.
const START: f64 = 1_767_225_600.0;

struct Args {
    users: usize,
    requests: usize,
    rounds: usize,
    db: Option<PathBuf>,
    roadmap: Option<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        users: 1_000_000,
        requests: 1_000_000,
        rounds: 3,
        db: None,
        roadmap: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--users" => a.users = value().parse().expect("--users N"),
            "--requests" => a.requests = value().parse().expect("--requests N"),
            "--rounds" => a.rounds = value().parse().expect("--rounds N"),
            "--db" => a.db = Some(value().into()),
            "--roadmap" => a.roadmap = Some(value().into()),
            other => panic!("unknown argument {other}; see the file's header"),
        }
    }
    assert!(
        a.users >= 1 && a.requests >= a.users,
        "need 1 ≤ users ≤ requests (every exposed user makes a request)"
    );
    a
}

fn rows(db: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db)
        .and_then(|c| c.query_row(sql, [], |r| r.get(0)))
        .unwrap_or(-1)
}

/// Writes the log through the service's writer, in transactions of 20,000 rows.
fn build(db: &Path, users: usize, requests: usize) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    let t = Instant::now();
    let file = config::parse(EXPERIMENTS, "bench").unwrap();
    let assigner = file.get("bench").unwrap().assigner();
    let names = ["control", "treatment"];
    let mut log = SqliteLog::open(db).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let mut batch = Vec::with_capacity(20_000);
    let hashes: Vec<(String, &str)> = (0..users)
        .map(|u| {
            let key = format!("user-{u}");
            let v = assigner.assign(&key).variant().unwrap();
            (hash_user("bench", &key), names[v])
        })
        .collect();
    for r in 0..requests {
        // The first `users` requests are each user's first; the rest go to random users.
        let u = if r < users {
            r
        } else {
            rng.random_range(0..users)
        };
        let (user_hash, variant) = &hashes[u];
        let at = START + r as f64 * 0.01;
        if r < users {
            batch.push(LogWrite::Exposure {
                experiment: "bench".into(),
                user_hash: user_hash.clone(),
                variant: (*variant).into(),
                at_unix: at,
            });
        }
        let treated = *variant == "treatment";
        let latency =
            150.0 + 30.0 * (rng.random::<f64>() - 0.5) * 3.4 + if treated { -5.0 } else { 0.0 };
        batch.push(LogWrite::Request(Box::new(RequestRecord {
            request_id: format!("req-{r}"),
            at_unix: at,
            route: "/v1/ask".into(),
            status: 200,
            collection: Some("notes".into()),
            k: Some(if treated { 3 } else { 5 }),
            answer_chars: Some(rng.random_range(40..240)),
            grounding: Some(
                if rng.random::<f64>() < 0.8 {
                    "cited"
                } else {
                    "none"
                }
                .into(),
            ),
            no_answer: Some(rng.random::<f64>() < 0.05),
            latency_ms: latency,
            user_hash: Some(user_hash.clone()),
            experiment: Some("bench".into()),
            variant: Some((*variant).into()),
            ..Default::default()
        })));
        if batch.len() >= 20_000 {
            log.write(&batch).unwrap();
            batch.clear();
        }
    }
    log.write(&batch).unwrap();
    drop(log);
    // A vote on every tenth request, 60 % up (one UPDATE, as /v1/feedback would row by row).
    rusqlite::Connection::open(db)
        .unwrap()
        .execute_batch(
            "UPDATE request_log SET feedback = CASE WHEN rowid % 5 < 3 THEN 'up' ELSE 'down' END,
                 feedback_at_unix = at_unix + 5 WHERE rowid % 10 = 0;
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
    eprintln!(
        "built {} ({users} exposures, {requests} requests) in {:.1} s",
        db.display(),
        t.elapsed().as_secs_f64()
    );
}

fn main() {
    let a = args();
    let tmp = tempfile::tempdir().unwrap();
    let db =
        a.db.clone()
            .unwrap_or_else(|| tmp.path().join("bench.sqlite"));
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).unwrap();
    }
    let exp_file = db.with_extension("experiments.toml");
    std::fs::write(&exp_file, EXPERIMENTS).unwrap();
    let have = (
        rows(&db, "SELECT COUNT(*) FROM exposures"),
        rows(&db, "SELECT COUNT(*) FROM request_log"),
    );
    if have != (a.users as i64, a.requests as i64) {
        build(&db, a.users, a.requests);
    } else {
        eprintln!(
            "reusing {} ({} exposures, {} requests)",
            db.display(),
            have.0,
            have.1
        );
    }
    let file = config::parse(EXPERIMENTS, "bench").unwrap();
    let exp = file.get("bench").unwrap();
    println!(
        "ab report over {} exposures and {} requests (profile: {})",
        a.users,
        a.requests,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    for round in 1..=a.rounds {
        let (t, c0) = (Instant::now(), cpu_ns());
        let conn = open_store(&db).unwrap();
        let users = experiment_users(&conn, &db, &exp.key).unwrap();
        let read = t.elapsed().as_secs_f64();
        let metrics = metrics_for(&users);
        let n_users = users.len();
        let rows = user_rows(users, metrics).unwrap();
        let to_rows = t.elapsed().as_secs_f64() - read;
        let report = analyze_rows(exp, metrics, &rows, &AnalysisOptions::default()).unwrap();
        let analyse = t.elapsed().as_secs_f64() - read - to_rows;
        let json = render::json(&report);
        let total = t.elapsed().as_secs_f64();
        let cpu = cpu_ns().zip(c0).map_or("n/a".to_owned(), |(c1, c0)| {
            format!("{:.3} s", (c1 - c0) as f64 / 1e9)
        });
        println!(
            "round {round}: wall {total:.3} s, thread CPU {cpu} (wall: read users {read:.3} s, rows {to_rows:.3} s, \
             analyse {analyse:.3} s, json {:.3} s); {} users, SRM p = {:.3}",
            total - read - to_rows - analyse,
            n_users,
            report.health.srm.as_ref().map_or(f64::NAN, |s| s.p_value),
        );
        assert!(json.contains("\"bench\""));
    }
    if let Some(bin) = &a.roadmap {
        for round in 1..=a.rounds {
            let t = Instant::now();
            let out = std::process::Command::new(bin)
                .args([
                    "ab",
                    "report",
                    "--experiment",
                    "bench",
                    "--json",
                    "--experiments",
                ])
                .arg(&exp_file)
                .arg("--store")
                .arg(&db)
                .env_remove("ROADMAP_RAG_STORE")
                .output()
                .unwrap();
            let secs = t.elapsed().as_secs_f64();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            println!(
                "`{} ab report --json` round {round}: {secs:.3} s (whole process)",
                bin.display()
            );
        }
    }
}
