//! An in-process service on 127.0.0.1:0 over a temporary SQLite store, with
//! the `hash` embedder (no model files) and, when a test asks for it, a
//! deterministic slow generator registered as `local` to exercise the queue.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use roadmap_llm::ChatMessage;
use roadmap_rag::generate::{Answer, GenerateError, Generator};
use roadmap_rag::store::Hit;
use roadmap_rag::{HashEmbedder, SqliteStore};
use roadmap_rag_service::config::ServiceConfig;
use roadmap_rag_service::state::{BoxedGenerator, Store};
use roadmap_rag_service::{Resources, RunningService};

pub const KEY: &str = "test-key-0123456789abcdef";

/// A generator that emits `tokens` words, `delay` apart, and counts what it
/// emitted (to see cancellation stop it).
pub struct SlowGenerator {
    pub tokens: usize,
    pub delay: Duration,
    pub emitted: Arc<AtomicUsize>,
}

impl Generator for SlowGenerator {
    fn name(&self) -> &'static str {
        "local"
    }

    fn answer_followup(
        &mut self,
        _history: &[ChatMessage],
        _question: &str,
        _standalone: &str,
        hits: &[Hit],
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Answer, GenerateError> {
        let mut text = String::new();
        for i in 0..self.tokens {
            std::thread::sleep(self.delay);
            let piece = format!("w{i} ");
            self.emitted.fetch_add(1, Ordering::SeqCst);
            text.push_str(&piece);
            if !on_text(&piece) {
                break;
            }
        }
        text.push_str("[1]");
        Ok(Answer {
            cited: if hits.is_empty() { vec![] } else { vec![1] },
            attributed: vec![],
            text,
            passages_used: hits.len(),
            history_turns: 0,
            prompt_tokens: 10,
            completion_tokens: self.tokens,
            first_text_ms: 0.0,
            total_ms: 0.0,
        })
    }
}

pub struct TestService {
    pub service: Option<RunningService>,
    pub dir: tempfile::TempDir,
    pub base: String,
    pub db: PathBuf,
    /// Set to make the store unreachable (opening fails).
    pub store_down: Arc<AtomicBool>,
}

impl TestService {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Drains and stops (the temporary directory lives on until `self` is dropped).
    pub async fn stop(&mut self) {
        if let Some(s) = self.service.take() {
            s.shutdown().await.unwrap();
        }
    }
}

pub struct Options {
    pub config: ServiceConfig,
    pub generators: Vec<(&'static str, Vec<BoxedGenerator>)>,
    pub unavailable: Vec<(&'static str, String)>,
}

impl Default for Options {
    fn default() -> Self {
        let mut config = ServiceConfig::default();
        config.server.addr = "127.0.0.1:0".parse().unwrap();
        config.retrieval.embedder = "hash".into();
        config.retrieval.default_collection = "notes".into();
        config.server.request_timeout_seconds = 10.0;
        config.server.drain_seconds = 5.0;
        Options {
            config,
            generators: Vec::new(),
            unavailable: Vec::new(),
        }
    }
}

pub async fn start(opts: Options) -> TestService {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rag.sqlite");
    let store_down = Arc::new(AtomicBool::new(false));
    let (path, down) = (db.clone(), store_down.clone());
    let mut keys = roadmap_http::ApiKeys::none();
    keys.add(KEY, "test").unwrap();
    let resources = Resources {
        open_store: Arc::new(move || {
            if down.load(Ordering::SeqCst) {
                return Err(roadmap_rag::RagError::Io {
                    path: path.clone(),
                    source: std::io::Error::other("the test took the store down"),
                });
            }
            Ok(Box::new(SqliteStore::open(&path)?) as Store)
        }),
        store_label: db.display().to_string(),
        embedder: Arc::new(HashEmbedder::default()),
        generators: opts.generators,
        unavailable: opts.unavailable,
        api_keys: keys,
        request_log: Some(db.clone()),
        user_salt: "salt".into(),
        revision: "test".into(),
    };
    let service = roadmap_rag_service::start(opts.config, resources)
        .await
        .unwrap();
    let base = format!("http://{}", service.addr());
    TestService {
        service: Some(service),
        dir,
        base,
        db,
        store_down,
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// The service's `/metrics` text.
pub async fn metrics(s: &TestService) -> String {
    client()
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Three documents about the service, ingested into `notes`.
pub async fn seed(s: &TestService) -> serde_json::Value {
    let body = serde_json::json!({"documents": [
        {"id": "monitoring.md", "text": "# Monitoring\n\nPrometheus scrapes the metrics endpoint every few seconds. Grafana draws dashboards from Prometheus."},
        {"id": "queue.txt", "text": "Local generation runs through a bounded queue. A full queue answers 429 with a Retry-After header."},
        {"id": "validation.html", "text": "<html><body><p>Every request body is validated before work starts; a bad body gets a 422 listing every problem.</p></body></html>"}
    ]});
    let r = client()
        .post(s.url("/v1/collections/notes/documents"))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, 200, "seeding the notes collection: {v}");
    v
}

pub fn count(db: &std::path::Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}
