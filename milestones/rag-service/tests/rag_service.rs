//! The RAG service over real HTTP on 127.0.0.1: happy paths, every error
//! path of the issue, SSE, back-pressure, drain, metrics and the request log.

#![allow(clippy::field_reassign_with_default)] // options are built up field by field per test

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{client, count, metrics, seed, start, Options, SlowGenerator, KEY};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ingest_search_ask_feedback_delete_and_the_request_log() {
    let mut s = start(Options::default()).await;
    let r = seed(&s).await;
    assert_eq!(r["ingested"], 3, "{r}");

    // Re-sending the same documents: unchanged, nothing re-embedded.
    let again = seed(&s).await;
    assert_eq!(again["unchanged"], 3, "{again}");

    // A batch with bad documents: each rejected with its reason, the rest ingested.
    let r: Value = client()
        .post(s.url("/v1/collections/notes/documents"))
        .bearer_auth(KEY)
        .json(&json!({"documents": [
            {"id": "empty.md", "text": "   \n"},
            {"id": "copy.txt", "text": "Local generation runs through a bounded queue. A full queue answers 429 with a Retry-After header."},
            {"id": "drain.md", "text": "On SIGTERM the service drains: in-flight requests finish before it exits."}
        ]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let status: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["rejected", "rejected", "ingested"], "{r}");
    assert!(
        r["results"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("empty"),
        "{r}"
    );
    assert!(
        r["results"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("duplicate content of document `queue.txt`"),
        "{r}"
    );

    let r = client()
        .post(s.url("/v1/search"))
        .json(&json!({"query": "what happens when the queue is full", "k": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    let body: Value = r.json().await.unwrap();
    let hits = body["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 2, "{body}");
    assert_eq!(hits[0]["source"], "queue.txt", "{body}");
    assert!(hits[0]["end"].as_u64().unwrap() > hits[0]["start"].as_u64().unwrap());
    assert!(hits[0]["score"].as_f64().unwrap() >= hits[1]["score"].as_f64().unwrap());

    let body: Value = client()
        .post(s.url("/v1/ask"))
        .json(&json!({"question": "What does a full queue answer?", "user": "ada"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["answer"].as_str().unwrap().contains("429"), "{body}");
    assert_eq!(body["grounding"], "cited", "{body}");
    assert_eq!(body["citations"][0]["source"], "queue.txt", "{body}");
    assert!(body["sources"].as_array().unwrap().len() >= 2);
    assert!(body["timings"]["retrieval_ms"].as_f64().is_some());
    let ask_id = body["request_id"].as_str().unwrap().to_string();

    // Feedback on that answer is stored with its row; an unknown id is 404.
    let r = client()
        .post(s.url("/v1/feedback"))
        .json(&json!({"request_id": ask_id, "rating": "up", "comment": "right"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client()
        .post(s.url("/v1/feedback"))
        .json(&json!({"request_id": "no-such-request", "rating": "down"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let cols: Value = client()
        .get(s.url("/v1/collections"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cols["collections"][0]["name"], "notes", "{cols}");
    assert_eq!(cols["collections"][0]["documents"], 4, "{cols}");

    let del = |id: &str| {
        client()
            .delete(s.url(&format!("/v1/collections/notes/documents/{id}")))
            .bearer_auth(KEY)
            .send()
    };
    assert_eq!(del("drain.md").await.unwrap().status(), 200);
    assert_eq!(del("drain.md").await.unwrap().status(), 404);

    let db = s.db.clone();
    s.stop().await; // flushes the request log
    assert_eq!(count(&db, "SELECT COUNT(*) FROM request_log WHERE route = '/v1/ask' AND status = 200 AND grounding = 'cited'"), 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM request_log WHERE route = '/v1/search' AND top_score > 0 AND k = 2"), 1);
    assert_eq!(
        count(&db, &format!("SELECT COUNT(*) FROM request_log WHERE request_id = '{ask_id}' AND feedback = 'up' AND user_hash IS NOT NULL AND user_hash != 'ada'")),
        1
    );
}

/// `explain: true` attributes the answer to its passages by exact Shapley
/// values (roadmap_rag::explain): one per source, adding up to the supported
/// share, the cited passage first; k above 6 is refused with the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn explained_answers_split_the_answer_over_their_passages() {
    let mut s = start(Options::default()).await;
    seed(&s).await;
    let ask = |body: Value| {
        let url = s.url("/v1/ask");
        async move { client().post(url).json(&body).send().await.unwrap() }
    };
    let plain: Value = ask(json!({"question": "What does a full queue answer?", "k": 3}))
        .await
        .json()
        .await
        .unwrap();
    assert!(plain.get("explanation").is_none(), "{plain}");

    let body: Value =
        ask(json!({"question": "What does a full queue answer?", "k": 3, "explain": true}))
            .await
            .json()
            .await
            .unwrap();
    let e = &body["explanation"];
    let sources = body["sources"].as_array().unwrap().len();
    assert_eq!(e["coalitions"], 1u64 << sources, "{body}");
    let values: Vec<f64> = e["passages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["shapley"].as_f64().unwrap())
        .collect();
    assert_eq!(values.len(), sources, "{body}");
    let full = e["full_value"].as_f64().unwrap();
    assert!(full > 0.0 && full <= 1.0, "{e}");
    assert!((values.iter().sum::<f64>() - full).abs() < 1e-12, "{e}");
    assert!(values.iter().all(|&v| v >= -1e-12), "{e}");
    let cited = body["citations"][0]["n"].as_u64().unwrap() as usize;
    let best = (0..values.len())
        .max_by(|&a, &b| values[a].total_cmp(&values[b]))
        .unwrap();
    assert_eq!(best + 1, cited, "{body}");

    let r =
        ask(json!({"question": "What does a full queue answer?", "k": 7, "explain": true})).await;
    assert_eq!(r.status(), 422);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["detail"][0]["loc"], json!(["body", "k"]), "{err}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_get_their_status_and_every_problem() {
    let mut opts = Options::default();
    opts.config.server.max_body_bytes = 4096;
    let mut s = start(opts).await;
    seed(&s).await;
    let c = client();

    let r = c
        .post(s.url("/v1/ask"))
        .json(&json!({"question": " ", "k": 99, "collection": "Bad Name", "mode": "fuzzy", "generator": 3, "colour": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    let locs: Vec<String> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["loc"][1].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        locs,
        ["question", "collection", "k", "mode", "generator", "colour"],
        "{body}"
    );

    let r = c
        .post(s.url("/v1/search"))
        .header("content-type", "application/json")
        .body("{\"query\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("malformed JSON"),
        "{body}"
    );

    let r = c
        .post(s.url("/v1/search"))
        .header("content-type", "text/plain")
        .body("query")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    let r = c
        .post(s.url("/v1/search"))
        .json(&json!({"query": "x".repeat(5000)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("4096-byte limit"),
        "{body}"
    );

    for (path, body) in [
        (
            "/v1/search",
            json!({"query": "queue", "collection": "nope"}),
        ),
        (
            "/v1/ask",
            json!({"question": "queue?", "collection": "nope"}),
        ),
    ] {
        let r = c.post(s.url(path)).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("collection `nope` does not exist"),
            "{body}"
        );
    }

    let r = c.get(s.url("/v1/nothing-here")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["detail"], "Not Found");
    let r = c.get(s.url("/v1/search")).send().await.unwrap();
    assert_eq!(r.status(), 405);

    let r = c
        .post(s.url("/v1/feedback"))
        .json(&json!({"request_id": "x", "rating": "meh"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_need_a_key_and_401_says_nothing_more() {
    let mut s = start(Options::default()).await;
    let c = client();
    let url = s.url("/v1/collections/notes/documents");
    let body = json!({"documents": [{"id": "a.md", "text": "hello there"}]});
    let none = c.post(&url).json(&body).send().await.unwrap();
    let wrong = c
        .post(&url)
        .bearer_auth("test-key-0123456789abcdeX")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(wrong.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    let (a, b) = (none.text().await.unwrap(), wrong.text().await.unwrap());
    assert_eq!(a, b, "a wrong key must look exactly like a missing one");
    assert!(!b.contains("0123456789"), "{b}");
    let r = c
        .delete(s.url("/v1/collections/notes/documents/a.md"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Reads stay open by default.
    let r = c.get(s.url("/v1/collections")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    s.stop().await;

    // ... unless the config closes them.
    let mut opts = Options::default();
    opts.config.auth.read_requires_key = true;
    let mut s = start(opts).await;
    let r = c.get(s.url("/v1/collections")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .get(s.url("/v1/collections"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200, "health stays open");
    s.stop().await;
}

/// A multipart body built by hand (the test's own client has no multipart support).
fn multipart(files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----roadmap-test-boundary-7d3f";
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn multipart_files_are_judged_one_by_one() {
    let mut s = start(Options::default()).await;
    let (ct, body) = multipart(&[
        (
            "guide.md",
            b"# Guide\n\nThe service answers questions with citations.",
        ),
        ("notes.txt", b"Plain text notes about retrieval and BM25."),
        (
            "page.html",
            b"<html><body><h1>Page</h1><p>HTML is rendered to text.</p></body></html>",
        ),
        ("report.docx", b"PK\x03\x04 not supported"),
        ("latin1.txt", b"caf\xe9 au lait"),
        ("blank.md", b""),
    ]);
    let r = client()
        .post(s.url("/v1/collections/files/documents"))
        .bearer_auth(KEY)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let got: Vec<(String, String)> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap().into(),
                d["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("guide.md", "ingested"),
        ("notes.txt", "ingested"),
        ("page.html", "ingested"),
        ("report.docx", "rejected"),
        ("latin1.txt", "rejected"),
        ("blank.md", "rejected"),
    ];
    assert_eq!(
        got,
        want.map(|(a, b)| (a.to_string(), b.to_string())),
        "{body}"
    );
    assert!(
        body["results"][3]["reason"]
            .as_str()
            .unwrap()
            .contains("unsupported type `.docx`"),
        "{body}"
    );
    assert!(
        body["results"][4]["reason"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("utf-8"),
        "{body}"
    );
    let r: Value = client()
        .post(s.url("/v1/search"))
        .json(&json!({"query": "rendered HTML", "collection": "files", "k": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["hits"][0]["source"], "page.html", "{r}");
    s.stop().await;
}

/// Parses an SSE body into (event, data) pairs.
fn events(text: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut name = String::new();
        let mut data = String::new();
        for line in block.lines() {
            if let Some(v) = line
                .strip_prefix("event: ")
                .or_else(|| line.strip_prefix("event:"))
            {
                name = v.trim().to_string();
            } else if let Some(v) = line
                .strip_prefix("data: ")
                .or_else(|| line.strip_prefix("data:"))
            {
                data.push_str(v);
            }
        }
        if !name.is_empty() {
            out.push((name, serde_json::from_str(&data).unwrap_or(Value::Null)));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn streamed_answers_send_tokens_then_one_final_event() {
    let emitted = Arc::new(AtomicUsize::new(0));
    let mut opts = Options::default();
    opts.generators = vec![(
        "local",
        vec![Box::new(SlowGenerator {
            tokens: 5,
            delay: Duration::from_millis(20),
            emitted: emitted.clone(),
        })],
    )];
    let mut s = start(opts).await;
    seed(&s).await;
    for generator in ["extractive", "local"] {
        let r = client()
            .post(s.url("/v1/ask"))
            .json(&json!({"question": "What does a full queue answer?", "stream": true, "generator": generator}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let ev = events(&r.text().await.unwrap());
        let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
        let tokens = names.iter().filter(|n| **n == "token").count();
        assert!(tokens >= 1, "{generator}: {names:?}");
        assert_eq!(names.last(), Some(&"done"), "{generator}: {names:?}");
        assert_eq!(names.iter().filter(|n| **n == "done").count(), 1);
        let done = &ev.last().unwrap().1;
        assert!(
            done["sources"].as_array().is_some_and(|s| !s.is_empty()),
            "{done}"
        );
        assert!(done["timings"]["total_ms"].as_f64().is_some(), "{done}");
        assert!(done["request_id"].as_str().is_some(), "{done}");
        if generator == "local" {
            assert_eq!(tokens, 5);
            assert!(done["timings"]["ttft_ms"].as_f64().is_some(), "{done}");
        }
    }
    s.stop().await;
}

/// Options with one `local` generator emitting `tokens` tokens, `delay` apart
/// (counted in `emitted`).
fn slow_local(tokens: usize, delay: Duration, emitted: Arc<AtomicUsize>) -> Options {
    let mut opts = Options::default();
    opts.generators = vec![(
        "local",
        vec![Box::new(SlowGenerator {
            tokens,
            delay,
            emitted,
        })],
    )];
    opts
}

/// A streamed ask answered by the `local` generator; its status is 200.
async fn streamed_local_ask(s: &common::TestService) -> reqwest::Response {
    let r = client()
        .post(s.url("/v1/ask"))
        .json(&json!({"question": "What does a full queue answer?", "stream": true, "generator": "local"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_that_disconnects_cancels_its_generation() {
    let emitted = Arc::new(AtomicUsize::new(0));
    let mut s = start(slow_local(200, Duration::from_millis(10), emitted.clone())).await;
    seed(&s).await;
    let mut r = streamed_local_ask(&s).await;
    let first = r.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("token"));
    drop(r);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let after = emitted.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        emitted.load(Ordering::SeqCst),
        after,
        "generation kept running"
    );
    assert!(
        after < 150,
        "generation was not cancelled: {after} of 200 tokens"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_generation_queue_answers_429_with_retry_after() {
    let emitted = Arc::new(AtomicUsize::new(0));
    let mut opts = Options::default();
    opts.config.generation.concurrency = 1;
    opts.config.generation.queue_depth = 1;
    opts.generators = vec![(
        "local",
        vec![Box::new(SlowGenerator {
            tokens: 4,
            delay: Duration::from_millis(100),
            emitted,
        })],
    )];
    let mut s = start(opts).await;
    seed(&s).await;
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let req = client()
                .post(s.url("/v1/ask"))
                .json(&json!({"question": "What does a full queue answer?", "generator": "local"}));
            tokio::spawn(async move {
                let r = req.send().await.unwrap();
                let retry = r
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string());
                (r.status().as_u16(), retry)
            })
        })
        .collect();
    let mut ok = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            (200, _) => ok += 1,
            (429, Some(retry)) => {
                assert!(retry.parse::<u64>().unwrap() >= 1);
                refused += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!((1..=2).contains(&ok), "{ok} answered (capacity is 2)");
    assert_eq!(ok + refused, 6);
    let m = metrics(&s).await;
    assert!(
        m.contains(&format!("roadmap_rag_queue_rejections_total {refused}")),
        "{m}"
    );
    assert!(
        m.contains("roadmap_rag_requests_total{route=\"/v1/ask\",status=\"429\"}"),
        "{m}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readiness_says_what_is_missing_and_recovers_with_the_store() {
    let mut opts = Options::default();
    opts.config.generation.default = "local".into();
    opts.unavailable = vec![("local", "model file /models/smollm2.gguf not found".into())];
    let mut s = start(opts).await;
    let r = client().get(s.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("generator local: model file /models/smollm2.gguf not found"),
        "{body}"
    );
    let r = client()
        .post(s.url("/v1/ask"))
        .json(&json!({"question": "anything?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    s.stop().await;

    let mut s = start(Options::default()).await;
    seed(&s).await;
    assert_eq!(
        client()
            .get(s.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The store goes away (every new connection fails) ...
    s.store_down.store(true, Ordering::SeqCst);
    // A write (on the writer's open connection) makes every reader reconnect.
    let r = client()
        .delete(s.url("/v1/collections/notes/documents/validation.html"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client().get(s.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("store"));
    let r = client()
        .post(s.url("/v1/search"))
        .json(&json!({"query": "queue"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    // ... and comes back.
    s.store_down.store(false, Ordering::SeqCst);
    assert_eq!(
        client()
            .get(s.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = client()
        .post(s.url("/v1/search"))
        .json(&json!({"query": "queue"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_drains_requests_in_flight() {
    let emitted = Arc::new(AtomicUsize::new(0));
    let mut opts = Options::default();
    opts.generators = vec![(
        "local",
        vec![Box::new(SlowGenerator {
            tokens: 5,
            delay: Duration::from_millis(100),
            emitted,
        })],
    )];
    let mut s = start(opts).await;
    seed(&s).await;
    let req = client()
        .post(s.url("/v1/ask"))
        .json(&json!({"question": "What does a full queue answer?", "generator": "local"}));
    let in_flight = tokio::spawn(async move { req.send().await.map(|r| r.status().as_u16()) });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let service = s.service.take().unwrap();
    let addr = service.addr();
    service.shutdown().await.unwrap();
    assert_eq!(
        in_flight.await.unwrap().unwrap(),
        200,
        "the request in flight finished"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_export_every_name_the_deployment_uses_and_docs_are_served() {
    let mut s = start(Options::default()).await;
    seed(&s).await;
    client()
        .post(s.url("/v1/ask"))
        .json(&json!({"question": "What does a full queue answer?"}))
        .send()
        .await
        .unwrap();
    let r = client().get(s.url("/metrics")).send().await.unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = r.text().await.unwrap();
    let listed = include_str!("../../../deploy/metrics.txt");
    for name in listed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let family = name.strip_suffix("_total").unwrap_or(name);
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{name} (deploy/metrics.txt) is not exported:\n{text}"
        );
    }
    assert!(
        text.contains("roadmap_rag_requests_total{route=\"/v1/ask\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("roadmap_rag_answers_total{grounding=\"cited\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("roadmap_rag_embed_batch_size_count"),
        "{text}"
    );
    // Unknown paths do not create series of their own.
    client().get(s.url("/random/8f2a")).send().await.unwrap();
    let text = metrics(&s).await;
    assert!(!text.contains("8f2a"));
    assert!(text.contains("route=\"unmatched\""));

    let doc: Value = client()
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/v1/ask",
        "/v1/search",
        "/v1/collections/{name}/documents",
        "/v1/feedback",
        "/readyz",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    let r = client().get(s.url("/docs/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("swagger"));
    s.stop().await;
}

/// A client that sends its headers and part of its body, then stalls: it gets
/// 408 once the body has been idle for `server.body_timeout_seconds`, and the
/// service keeps answering everyone else meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_request_body_gets_408_and_frees_its_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut opts = Options::default();
    opts.config.server.body_timeout_seconds = 0.5;
    let s = start(opts).await;
    seed(&s).await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let started = std::time::Instant::now();
    conn.write_all(
        b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"query\": \"que",
    )
    .await
    .unwrap();
    // The stalled client does not hold up others.
    let r = client()
        .post(s.url("/v1/search"))
        .json(&json!({"query": "queue"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut response))
        .await
        .expect("the service never answered the stalled request")
        .unwrap();
    let waited = started.elapsed();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("stopped arriving"), "{text}");
    assert!(
        waited >= Duration::from_millis(450),
        "answered before the body timeout: {waited:?}"
    );
}

/// SIGTERM while an answer is streaming: the drain lets the stream finish
/// (every token, then its `done` event) before the service stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_mid_stream_lets_the_stream_finish() {
    let emitted = Arc::new(AtomicUsize::new(0));
    let mut s = start(slow_local(8, Duration::from_millis(100), emitted)).await;
    seed(&s).await;
    let mut r = streamed_local_ask(&s).await;
    let mut body = String::new();
    while events(&body).iter().all(|(n, _)| n != "token") {
        let chunk = r
            .chunk()
            .await
            .unwrap()
            .expect("the stream ended before its first token");
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    // Mid-stream now: stop the service as SIGTERM does.
    let shutdown = tokio::spawn(s.service.take().unwrap().shutdown());
    while let Some(chunk) = r.chunk().await.unwrap() {
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    shutdown.await.unwrap().unwrap();
    let names: Vec<String> = events(&body).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names.iter().filter(|n| *n == "token").count(),
        8,
        "{names:?}"
    );
    assert_eq!(names.last().map(String::as_str), Some("done"), "{names:?}");
}
