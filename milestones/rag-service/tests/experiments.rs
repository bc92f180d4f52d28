//! A/B experiments in the running service, over real HTTP on 127.0.0.1:
//! GrowthBook-identical sticky assignment, the answer headers, overrides
//! that change what a request does, exposures and outcomes in the request
//! log, stopped experiments, and the guard against re-weighting a running
//! experiment across restarts.

#![allow(clippy::field_reassign_with_default)] // options are built up field by field per test

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use common::{client, count, seed, Options, TestService, KEY};
use roadmap_abtest::assign::{Assigner, HashVersion};
use roadmap_rag::{HashEmbedder, SqliteStore};
use roadmap_rag_service::config::ServiceConfig;
use roadmap_rag_service::experiment_log::{experiment_users, open_store};
use roadmap_rag_service::requestlog::hash_user;
use roadmap_rag_service::state::Store;
use roadmap_rag_service::{Resources, RunningService, ServiceError};
use serde_json::{json, Value};

/// Two arms that differ in retrieval depth: k = 2 against k = 1. The seeded
/// collection has three chunks and the service default is k = 5, so the
/// number of hits tells which settings a request ran with.
fn experiments(status: &str, weights: (f64, f64)) -> String {
    format!(
        r#"
[[experiment]]
key = "depth"
seed = "depth-1"
status = "{status}"
start = 2020-01-01T00:00:00Z

[[experiment.variant]]
name = "k2"
weight = {}
overrides = {{ k = 2 }}

[[experiment.variant]]
name = "k1"
weight = {}
overrides = {{ k = 1 }}
"#,
        weights.0, weights.1
    )
}

/// The variant roadmap-abtest (GrowthBook's rule) gives `user`.
fn expected(user: &str, weights: (f64, f64)) -> &'static str {
    let a = Assigner::new("depth-1", HashVersion::V2, &[weights.0, weights.1], 1.0);
    match a.assign(user).variant() {
        Some(0) => "k2",
        Some(1) => "k1",
        other => panic!("{user}: {other:?}"),
    }
}

fn hits_of(variant: &str) -> usize {
    match variant {
        "k2" => 2,
        "k1" => 1,
        other => panic!("variant {other}"),
    }
}

/// Starts the service over the store `db` with experiments from `text`
/// (same salt as `common::start`, so restarts see the same user hashes).
async fn start_on(db: &Path, text: &str, force: bool) -> Result<RunningService, ServiceError> {
    let file = db.with_file_name("experiments.toml");
    std::fs::write(&file, text).unwrap();
    let mut config: ServiceConfig = Options::default().config;
    config.experiments.file = Some(file);
    config.experiments.force_reassign = force;
    let mut keys = roadmap_http::ApiKeys::none();
    keys.add(KEY, "test").unwrap();
    let path: PathBuf = db.to_path_buf();
    let resources = Resources {
        open_store: Arc::new(move || Ok(Box::new(SqliteStore::open(&path)?) as Store)),
        store_label: db.display().to_string(),
        embedder: Arc::new(HashEmbedder::default()),
        generators: Vec::new(),
        unavailable: Vec::new(),
        api_keys: keys,
        request_log: Some(db.to_path_buf()),
        user_salt: "salt".into(),
        revision: "test".into(),
    };
    roadmap_rag_service::start(config, resources).await
}

async fn start(text: &str) -> TestService {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rag.sqlite");
    let service = start_on(&db, text, false).await.unwrap();
    TestService {
        base: format!("http://{}", service.addr()),
        service: Some(service),
        dir,
        db,
        store_down: Arc::new(AtomicBool::new(false)),
    }
}

/// Restarts `s` over the same store with another experiments file.
async fn restart(s: &mut TestService, text: &str, force: bool) -> Result<(), ServiceError> {
    s.stop().await;
    let service = start_on(&s.db, text, force).await?;
    s.base = format!("http://{}", service.addr());
    s.service = Some(service);
    Ok(())
}

/// A search as `user` (in the body, or in X-User-Id when `header`):
/// (the variant header, number of hits).
async fn search(s: &TestService, user: Option<&str>, header: bool) -> (Option<String>, usize) {
    let mut body = json!({"query": "what happens when the queue is full"});
    let mut req = client().post(s.url("/v1/search"));
    match (user, header) {
        (Some(u), true) => req = req.header("X-User-Id", u),
        (Some(u), false) => body["user"] = json!(u),
        (None, _) => {}
    }
    let r = req.json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let variant = r
        .headers()
        .get("x-experiment-variant")
        .map(|v| v.to_str().unwrap().to_owned());
    if variant.is_some() {
        assert_eq!(r.headers()["x-experiment-key"], "depth");
    }
    let body: Value = r.json().await.unwrap();
    (variant, body["hits"].as_array().unwrap().len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_get_growthbooks_variant_its_overrides_and_their_exposures_logged() {
    let weights = (0.5, 0.5);
    let mut s = start(&experiments("running", weights)).await;
    seed(&s).await;

    // Anonymous: no variant, the service's own k (5 → all 3 chunks).
    assert_eq!(search(&s, None, false).await, (None, 3));

    let users: Vec<String> = (0..24).map(|i| format!("user-{i}")).collect();
    let mut arms = std::collections::BTreeMap::new();
    for (i, u) in users.iter().enumerate() {
        let want = expected(u, weights);
        // Twice, once by body and once by header: sticky, and the same either way.
        for header in [i % 2 == 0, i % 2 == 1] {
            let (variant, hits) = search(&s, Some(u), header).await;
            assert_eq!(variant.as_deref(), Some(want), "{u}");
            assert_eq!(hits, hits_of(want), "{u} in {want}");
        }
        *arms.entry(want).or_insert(0) += 1;
    }
    assert_eq!(arms.len(), 2, "both arms have users: {arms:?}");

    // An explicit k in the body wins over the variant.
    let k1_user = users.iter().find(|u| expected(u, weights) == "k1").unwrap();
    let r: Value = client()
        .post(s.url("/v1/search"))
        .json(&json!({"query": "queue", "k": 3, "user": k1_user}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["hits"].as_array().unwrap().len(), 3, "{r}");

    // Ask: the variant's k decides the passages the answer sees; feedback
    // lands on the request's row, which carries the variant.
    let r = client()
        .post(s.url("/v1/ask"))
        .header("X-User-Id", k1_user.as_str())
        .json(&json!({"question": "What does a full queue answer?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-experiment-variant"], "k1");
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["sources"].as_array().unwrap().len(), 1, "{answer}");
    let id = answer["request_id"].as_str().unwrap().to_owned();
    let fb = client()
        .post(s.url("/v1/feedback"))
        .json(&json!({"request_id": id, "rating": "up"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fb.status(), 200);

    // A header that contradicts the body, or a blank one: 422, nothing assigned.
    let r = client()
        .post(s.url("/v1/ask"))
        .header("X-User-Id", "someone-else")
        .json(&json!({"question": "queue?", "user": k1_user}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.headers().get("x-experiment-variant").is_none());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["detail"][0]["loc"], json!(["body", "user"]), "{body}");
    let r = client()
        .post(s.url("/v1/search"))
        .header("X-User-Id", " ")
        .json(&json!({"query": "queue"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);

    s.stop().await; // flushes the request log
    let db = s.db.clone();
    // One exposure per user however many requests, in the variant assigned.
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM exposures WHERE experiment = 'depth'"
        ),
        users.len() as i64
    );
    let conn = open_store(&db).unwrap();
    for u in &users {
        let v = roadmap_rag_service::experiment_log::first_variant(
            &conn,
            "depth",
            &hash_user("salt", u),
        )
        .unwrap();
        assert_eq!(v.as_deref(), Some(expected(u, weights)), "{u}");
    }
    // Every assigned request row carries experiment and variant; anonymous rows none.
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM request_log WHERE experiment = 'depth' AND variant IS NOT NULL AND user_hash IS NOT NULL"
        ),
        2 * users.len() as i64 + 2
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM request_log WHERE user_hash IS NULL AND experiment IS NULL"
        ),
        1
    );
    // The analysis' view: the voter's thumbs-up is on their variant.
    let rows = experiment_users(&conn, &db, "depth").unwrap();
    assert_eq!(rows.len(), users.len());
    let voter = rows
        .iter()
        .find(|r| r.user_hash == hash_user("salt", k1_user))
        .unwrap();
    assert_eq!(
        (voter.variant.as_str(), voter.thumbs_up, voter.requests),
        ("k1", Some(true), 4)
    );
    assert_eq!(voter.grounded, Some(true), "{voter:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reweighting_needs_force_and_a_stopped_experiment_assigns_nobody() {
    let mut s = start(&experiments("running", (0.5, 0.5))).await;
    seed(&s).await;
    for i in 0..10 {
        search(&s, Some(&format!("u{i}")), false).await;
    }

    // New weights while users are exposed: the start is refused, saying what and how.
    let e = restart(&mut s, &experiments("running", (0.2, 0.8)), false)
        .await
        .unwrap_err()
        .to_string();
    for needle in [
        "experiment `depth`",
        "10 users were already exposed",
        "old weights: k2 0.5, k1 0.5",
        "new weights: k2 0.2, k1 0.8",
        "force_reassign = true",
        "--force-experiment-change",
    ] {
        assert!(e.contains(needle), "`{needle}` missing from:\n{e}");
    }

    // Unchanged weights, plus a new experiment: fine.
    let mut two = experiments("running", (0.5, 0.5));
    two.push_str(
        &experiments("running", (0.5, 0.5))
            .replace("\"depth\"", "\"depth-two\"")
            .replace("depth-1", "depth-2"),
    );
    restart(&mut s, &two, false).await.unwrap();

    // Forced: the new split serves at once.
    restart(&mut s, &experiments("running", (0.2, 0.8)), true)
        .await
        .unwrap();
    for i in 0..20 {
        let u = format!("new-{i}");
        let (variant, hits) = search(&s, Some(&u), true).await;
        assert_eq!(variant.as_deref(), Some(expected(&u, (0.2, 0.8))), "{u}");
        assert_eq!(hits, hits_of(expected(&u, (0.2, 0.8))));
    }
    // ... and is the remembered one: restarting with it needs no force.
    restart(&mut s, &experiments("running", (0.2, 0.8)), false)
        .await
        .unwrap();

    // Stopped: nobody is assigned, the service defaults serve, no new exposures.
    restart(&mut s, &experiments("stopped", (0.2, 0.8)), false)
        .await
        .unwrap();
    assert_eq!(search(&s, Some("u1"), false).await, (None, 3));
    assert_eq!(search(&s, Some("late-user"), true).await, (None, 3));
    s.stop().await;
    assert_eq!(
        count(
            &s.db,
            "SELECT COUNT(*) FROM exposures WHERE experiment = 'depth'"
        ),
        30
    );
    assert_eq!(
        count(
            &s.db,
            "SELECT COUNT(*) FROM request_log WHERE user_hash IS NOT NULL AND experiment IS NULL"
        ),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bad_experiments_file_refuses_the_start_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rag.sqlite");
    let text = experiments("running", (0.5, 0.4));
    let e = start_on(&db, &text, false).await.err().unwrap().to_string();
    assert!(
        e.contains("experiments.toml:2: the weights of `depth` sum to 0.9"),
        "{e}"
    );
    let text = experiments("running", (0.5, 0.5)).replace("{ k = 1 }", "{ k = 1, memory = 2 }");
    let e = start_on(&db, &text, false).await.err().unwrap().to_string();
    assert!(e.contains("override `memory` cannot take effect"), "{e}");
}
