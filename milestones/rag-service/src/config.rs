//! The service's configuration: one TOML file with a default for every key,
//! overridden by `ROADMAP_RAG_*` environment variables, then by command-line
//! flags (in that order of precedence, lowest first).
//!
//! Why so strict: a misspelt key in a production config silently falls back
//! to its default (`queue_depht = 100` → the queue stays at 8). Unknown keys
//! and wrong types are errors that name the file, line and column; bad values
//! (a queue of zero, a timeout of zero) are errors naming the key.
//!
//! Environment overrides: every key `section.key` can be set with
//! `ROADMAP_RAG_SECTION_KEY` (upper-cased), e.g.
//! `ROADMAP_RAG_GENERATION_QUEUE_DEPTH=16`. A few have the short names the
//! container images use: `ROADMAP_RAG_ADDR`, `ROADMAP_RAG_STORE`,
//! `ROADMAP_RAG_STORE_PASSWORD_FILE`, `ROADMAP_API_KEYS_FILE`,
//! `ROADMAP_RAG_EXPERIMENTS`.
//!
//! Secrets (the API keys, the database password, an OpenAI-compatible key)
//! are never in the file itself: the file names *files* that hold them, so the
//! config can be printed at start — through [`roadmap_common::redact`] — and
//! committed without leaking anything.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ServiceError;

/// `[server]`: the HTTP listener.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Address to bind; keep 127.0.0.1 unless you mean to expose the service.
    pub addr: SocketAddr,
    /// Every request's deadline (504 after it).
    pub request_timeout_seconds: f64,
    /// Largest accepted request body (413 above it).
    pub max_body_bytes: usize,
    /// Longest pause while a request body is arriving (408 after it): a slow
    /// or stalled client is cut off instead of holding its connection.
    pub body_timeout_seconds: f64,
    /// On SIGTERM: how long in-flight requests may take to finish.
    pub drain_seconds: f64,
    /// Requests to the `/v1` routes handled at once; more wait for a slot
    /// (`/healthz`, `/readyz` and `/metrics` are never held back by it).
    pub max_in_flight: usize,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            addr: "127.0.0.1:8080".parse().expect("static address"),
            request_timeout_seconds: 30.0,
            max_body_bytes: 16 * 1024 * 1024,
            body_timeout_seconds: 10.0,
            drain_seconds: 20.0,
            max_in_flight: 4096,
        }
    }
}

/// `[store]`: where collections and the request log live.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// A SQLite file, or `postgres://USER@HOST:PORT/DB?sslmode=…` (no password
    /// here: use `password_file`). Empty: `rag.db` in the data directory.
    pub url: String,
    /// A file holding the PostgreSQL password (a Docker or Kubernetes secret).
    pub password_file: Option<PathBuf>,
}

/// `[auth]`: API keys for the write endpoints (and reads, if closed).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    /// A file with one API key per line (`#` comments and blank lines
    /// ignored). Keys may also come from `ROADMAP_API_KEYS` (comma-separated).
    pub api_keys_file: Option<PathBuf>,
    /// Whether `/v1/ask`, `/v1/search` and `GET /v1/collections` need a key too.
    pub read_requires_key: bool,
}

/// `[retrieval]`: defaults of `/v1/search` and `/v1/ask`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetrievalSection {
    /// The collection used when a request names none.
    pub default_collection: String,
    /// Passages retrieved per request (1..=50).
    pub k: usize,
    /// `dense`, `bm25` or `hybrid`.
    pub mode: String,
    /// Hybrid fusion: `convex` (min-max normalised, weight `alpha` on dense) or `rrf`.
    pub fusion: String,
    /// Weight of the dense scores in convex fusion (0..=1).
    pub alpha: f64,
    /// The reciprocal-rank-fusion constant.
    pub rrf_k: f64,
    /// `minilm` (all-MiniLM-L6-v2) or `hash` (feature hashing: no model files).
    pub embedder: String,
    /// Most queries embedded in one forward pass by the adaptive batcher.
    pub max_batch: usize,
    /// Longest a query waits for others to fill a batch (milliseconds).
    pub max_batch_wait_ms: f64,
    /// Queries that may wait for the embedding thread; beyond it a search or
    /// ask is refused at once with 429 + Retry-After (load shedding: the wait
    /// stays near this many queries ÷ the embedder's queries per second).
    pub max_queued_queries: usize,
}

impl Default for RetrievalSection {
    fn default() -> Self {
        RetrievalSection {
            default_collection: "roadmap".into(),
            k: 5,
            mode: "hybrid".into(),
            fusion: "convex".into(),
            alpha: 0.5,
            rrf_k: 60.0,
            embedder: "minilm".into(),
            max_batch: 32,
            max_batch_wait_ms: 2.0,
            max_queued_queries: 128,
        }
    }
}

/// `[generation]`: answer generation and its back-pressure.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenerationSection {
    /// The generator used when a request names none: `extractive`, `local`, `openai`.
    pub default: String,
    /// Local-LLM generations running at once (each takes `threads` cores).
    pub concurrency: usize,
    /// Requests that may wait for a generation slot; beyond it: 429 + Retry-After.
    pub queue_depth: usize,
    /// CPU threads per local generation.
    pub threads: usize,
    /// Most new tokens per answer.
    pub max_tokens: usize,
    /// Conversation turns kept (0 = stateless).
    pub memory: usize,
    /// The local model's directory [default: the asset cache].
    pub local_model_dir: Option<PathBuf>,
    /// Base URL of an OpenAI-compatible server for the `openai` generator.
    pub openai_base_url: Option<String>,
    /// Model name to request from it.
    pub openai_model: Option<String>,
    /// A file holding its API key.
    pub openai_api_key_file: Option<PathBuf>,
}

impl Default for GenerationSection {
    fn default() -> Self {
        GenerationSection {
            default: "extractive".into(),
            concurrency: 1,
            queue_depth: 8,
            threads: 2,
            max_tokens: 256,
            memory: 0,
            local_model_dir: None,
            openai_base_url: None,
            openai_model: None,
            openai_api_key_file: None,
        }
    }
}

/// `[ingest]`: limits on uploaded documents.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSection {
    /// Largest document accepted (after decoding; before extraction).
    pub max_document_bytes: usize,
    /// Most documents in one request.
    pub max_documents: usize,
}

impl Default for IngestSection {
    fn default() -> Self {
        IngestSection {
            max_document_bytes: 4 * 1024 * 1024,
            max_documents: 256,
        }
    }
}

/// `[request_log]`: the durable log of every request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestLogSection {
    pub enabled: bool,
    /// Rows older than this are deleted (0 = keep forever).
    pub retention_days: f64,
    /// At most this many rows are kept, newest first (0 = no limit).
    pub max_rows: u64,
}

impl Default for RequestLogSection {
    fn default() -> Self {
        RequestLogSection {
            enabled: true,
            retention_days: 30.0,
            max_rows: 1_000_000,
        }
    }
}

/// `[drift]`: the periodic drift check of the request log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriftSection {
    /// Seconds between checks (0 = never).
    pub interval_seconds: f64,
    /// The reference window, ending where the current one starts (`7d`, `12h`).
    pub reference_window: String,
    /// The current window, ending now.
    pub current_window: String,
}

impl Default for DriftSection {
    fn default() -> Self {
        DriftSection {
            interval_seconds: 300.0,
            reference_window: "7d".into(),
            current_window: "1d".into(),
        }
    }
}

/// `[experiments]`: A/B experiments on the service.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExperimentsSection {
    /// An `experiments.toml` file.
    pub file: Option<PathBuf>,
    /// Start even when a running experiment's seed or weights changed since
    /// it last ran (moves exposed users between variants; see `experiments`).
    pub force_reassign: bool,
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    pub server: ServerSection,
    pub store: StoreSection,
    pub auth: AuthSection,
    pub retrieval: RetrievalSection,
    pub generation: GenerationSection,
    pub ingest: IngestSection,
    pub request_log: RequestLogSection,
    pub drift: DriftSection,
    pub experiments: ExperimentsSection,
}

/// Short environment names kept for the container images (see the module doc).
const ENV_ALIASES: &[(&str, &str, &str)] = &[
    ("ROADMAP_RAG_ADDR", "server", "addr"),
    ("ROADMAP_RAG_STORE", "store", "url"),
    ("ROADMAP_RAG_STORE_PASSWORD_FILE", "store", "password_file"),
    ("ROADMAP_API_KEYS_FILE", "auth", "api_keys_file"),
    ("ROADMAP_RAG_EXPERIMENTS", "experiments", "file"),
];

impl ServiceConfig {
    /// Parses a config file's text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<ServiceConfig, ServiceError> {
        let config: ServiceConfig = toml::from_str(text).map_err(|e| {
            ServiceError::Config(roadmap_common::toml_error::describe(source, text, &e))
        })?;
        Ok(config)
    }

    /// Reads `path` (or the defaults when `None`), then applies `env` overrides
    /// (`(name, value)` pairs, normally `std::env::vars()`), then validates.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<ServiceConfig, ServiceError> {
        let base = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    ServiceError::Config(format!(
                        "cannot read the config file {}: {e}",
                        p.display()
                    ))
                })?;
                Self::parse(&text, &p.display().to_string())?
            }
            None => ServiceConfig::default(),
        };
        let config = base.with_env(env)?;
        config.validate()?;
        Ok(config)
    }

    /// Applies `ROADMAP_RAG_SECTION_KEY` variables and the short aliases.
    pub fn with_env(
        self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<ServiceConfig, ServiceError> {
        let mut table = toml::Table::try_from(&self)
            .map_err(|e| ServiceError::Config(format!("internal: {e}")))?;
        let known: Vec<(String, String, String)> = table
            .iter()
            .flat_map(|(section, keys)| {
                keys.as_table()
                    .into_iter()
                    .flat_map(|t| t.keys())
                    .map(move |k| {
                        (
                            format!("ROADMAP_RAG_{}_{}", section, k).to_ascii_uppercase(),
                            section.clone(),
                            k.clone(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        // Optional keys absent from the serialized defaults (None) still need names.
        let mut names = known;
        for (section, key) in OPTIONAL_KEYS {
            let name = format!("ROADMAP_RAG_{section}_{key}").to_ascii_uppercase();
            if !names.iter().any(|(n, _, _)| *n == name) {
                names.push((name, section.to_string(), key.to_string()));
            }
        }
        for (name, section, key) in ENV_ALIASES {
            names.push((name.to_string(), section.to_string(), key.to_string()));
        }
        for (var, value) in env {
            let Some((_, section, key)) = names.iter().find(|(n, _, _)| *n == var) else {
                continue;
            };
            let slot = table
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(Default::default()));
            let Some(t) = slot.as_table_mut() else {
                continue;
            };
            let parsed = typed_like(t.get(key.as_str()), &value)
                .map_err(|want| ServiceError::Config(format!("{var}={value}: expected {want}")))?;
            t.insert(key.clone(), parsed);
        }
        let text = toml::to_string(&table).map_err(|e| ServiceError::Config(e.to_string()))?;
        toml::from_str(&text).map_err(|e| {
            ServiceError::Config(format!(
                "an environment override has the wrong type: {}",
                e.message()
            ))
        })
    }

    /// Checks values that types cannot: ranges and enumerations.
    pub fn validate(&self) -> Result<(), ServiceError> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, key: &str, why: &str| {
            if !ok {
                problems.push(format!("{key}: {why}"));
            }
        };
        let s = &self.server;
        check(
            s.request_timeout_seconds > 0.0 && s.request_timeout_seconds.is_finite(),
            "server.request_timeout_seconds",
            "must be a positive number of seconds",
        );
        check(
            s.drain_seconds >= 0.0 && s.drain_seconds.is_finite(),
            "server.drain_seconds",
            "must be zero or more seconds",
        );
        check(
            s.max_body_bytes >= 1024,
            "server.max_body_bytes",
            "must be at least 1024",
        );
        check(
            s.body_timeout_seconds > 0.0 && s.body_timeout_seconds <= 3600.0,
            "server.body_timeout_seconds",
            "must be in (0, 3600]",
        );
        check(
            s.max_in_flight >= 1,
            "server.max_in_flight",
            "must be at least 1",
        );
        let r = &self.retrieval;
        check((1..=50).contains(&r.k), "retrieval.k", "must be in 1..=50");
        check(
            ["dense", "bm25", "hybrid"].contains(&r.mode.as_str()),
            "retrieval.mode",
            "must be dense, bm25 or hybrid",
        );
        check(
            ["convex", "rrf"].contains(&r.fusion.as_str()),
            "retrieval.fusion",
            "must be convex or rrf",
        );
        check(
            (0.0..=1.0).contains(&r.alpha),
            "retrieval.alpha",
            "must be in 0..=1",
        );
        check(r.rrf_k > 0.0, "retrieval.rrf_k", "must be positive");
        check(
            ["minilm", "hash"].contains(&r.embedder.as_str()),
            "retrieval.embedder",
            "must be minilm or hash",
        );
        check(
            (1..=256).contains(&r.max_batch),
            "retrieval.max_batch",
            "must be in 1..=256",
        );
        check(
            (0.0..=1000.0).contains(&r.max_batch_wait_ms),
            "retrieval.max_batch_wait_ms",
            "must be in 0..=1000",
        );
        check(
            (1..=65_536).contains(&r.max_queued_queries),
            "retrieval.max_queued_queries",
            "must be in 1..=65536",
        );
        check(
            crate::validate::is_collection_name(&r.default_collection),
            "retrieval.default_collection",
            "must match [a-z0-9_-]{1,64}",
        );
        let g = &self.generation;
        check(
            ["extractive", "local", "openai"].contains(&g.default.as_str()),
            "generation.default",
            "must be extractive, local or openai",
        );
        check(
            (1..=64).contains(&g.concurrency),
            "generation.concurrency",
            "must be in 1..=64",
        );
        check(
            g.queue_depth <= 100_000,
            "generation.queue_depth",
            "must be at most 100000",
        );
        check(
            (1..=256).contains(&g.threads),
            "generation.threads",
            "must be in 1..=256",
        );
        check(
            (1..=4096).contains(&g.max_tokens),
            "generation.max_tokens",
            "must be in 1..=4096",
        );
        check(g.memory <= 20, "generation.memory", "must be at most 20");
        let i = &self.ingest;
        check(
            i.max_document_bytes >= 1,
            "ingest.max_document_bytes",
            "must be positive",
        );
        check(
            (1..=10_000).contains(&i.max_documents),
            "ingest.max_documents",
            "must be in 1..=10000",
        );
        check(
            self.request_log.retention_days >= 0.0,
            "request_log.retention_days",
            "must be zero or more",
        );
        let d = &self.drift;
        check(
            d.interval_seconds >= 0.0,
            "drift.interval_seconds",
            "must be zero or more",
        );
        check(
            parse_window(&d.reference_window).is_some(),
            "drift.reference_window",
            "must look like 7d, 12h or 30m",
        );
        check(
            parse_window(&d.current_window).is_some(),
            "drift.current_window",
            "must look like 7d, 12h or 30m",
        );
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Config(format!(
                "invalid configuration:\n  {}",
                problems.join("\n  ")
            )))
        }
    }

    /// The configuration as TOML for the start-up log, secrets redacted.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        shown.store.url = roadmap_common::redact::redact_url(&shown.store.url);
        let text = toml::to_string(&shown).unwrap_or_default();
        roadmap_common::redact::redact_text(&text)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.server.request_timeout_seconds)
    }
}

/// Keys whose default is `None` (absent from the serialized defaults).
const OPTIONAL_KEYS: &[(&str, &str)] = &[
    ("store", "password_file"),
    ("auth", "api_keys_file"),
    ("generation", "local_model_dir"),
    ("generation", "openai_base_url"),
    ("generation", "openai_model"),
    ("generation", "openai_api_key_file"),
    ("experiments", "file"),
];

/// An environment value as TOML of the same type as the key's default
/// (absent optional keys are strings: paths and URLs).
fn typed_like(default: Option<&toml::Value>, v: &str) -> Result<toml::Value, &'static str> {
    use toml::Value;
    Ok(match default {
        Some(Value::Integer(_)) => Value::Integer(v.trim().parse().map_err(|_| "a whole number")?),
        Some(Value::Float(_)) => {
            let f: f64 = v.trim().parse().map_err(|_| "a number")?;
            if !f.is_finite() {
                return Err("a finite number");
            }
            Value::Float(f)
        }
        Some(Value::Boolean(_)) => match v.trim() {
            "true" | "1" | "yes" => Value::Boolean(true),
            "false" | "0" | "no" => Value::Boolean(false),
            _ => return Err("true or false"),
        },
        _ => Value::String(v.to_string()),
    })
}

/// `7d`, `12h`, `30m`, `45s` → a duration.
pub fn parse_window(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit() && c != '.')?);
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "d" => 86_400.0,
        "h" => 3_600.0,
        "m" => 60.0,
        "s" => 1.0,
        _ => return None,
    };
    (n > 0.0 && n.is_finite()).then(|| Duration::from_secs_f64(n * secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let c = ServiceConfig::default();
        c.validate().unwrap();
        let text = toml::to_string(&c).unwrap();
        let back = ServiceConfig::parse(&text, "x.toml").unwrap();
        assert_eq!(back.generation.queue_depth, c.generation.queue_depth);
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_file_and_line() {
        let e =
            ServiceConfig::parse("[generation]\nqueue_depht = 100\n", "service.toml").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("service.toml:2:1: unknown field `queue_depht`"),
            "{e}"
        );
        let e = ServiceConfig::parse("[server]\ndrain_seconds = \"soon\"\n", "s.toml").unwrap_err();
        assert!(e.to_string().starts_with("s.toml:2:17"), "{e}");
        let e = ServiceConfig::parse("[sever]\n", "s.toml").unwrap_err();
        assert!(e.to_string().contains("unknown field `sever`"), "{e}");
    }

    #[test]
    fn environment_overrides_the_file_and_aliases_work() {
        let base = ServiceConfig::parse("[generation]\nqueue_depth = 3\n", "s.toml").unwrap();
        let c = base
            .with_env(env(&[
                ("ROADMAP_RAG_GENERATION_QUEUE_DEPTH", "16"),
                ("ROADMAP_RAG_ADDR", "0.0.0.0:9000"),
                ("ROADMAP_RAG_STORE", "postgres://u@db/rag"),
                ("ROADMAP_RAG_RETRIEVAL_ALPHA", "1"),
                ("ROADMAP_RAG_AUTH_READ_REQUIRES_KEY", "true"),
                ("ROADMAP_API_KEYS_FILE", "/run/secrets/keys"),
                ("UNRELATED", "x"),
            ]))
            .unwrap();
        assert_eq!(c.generation.queue_depth, 16);
        assert_eq!(c.server.addr.port(), 9000);
        assert_eq!(c.store.url, "postgres://u@db/rag");
        assert_eq!(c.retrieval.alpha, 1.0);
        assert!(c.auth.read_requires_key);
        assert_eq!(
            c.auth.api_keys_file.unwrap(),
            PathBuf::from("/run/secrets/keys")
        );
        let e = ServiceConfig::default()
            .with_env(env(&[("ROADMAP_RAG_GENERATION_QUEUE_DEPTH", "lots")]))
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("ROADMAP_RAG_GENERATION_QUEUE_DEPTH=lots: expected a whole number"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_are_listed_together() {
        let mut c = ServiceConfig::default();
        c.retrieval.k = 0;
        c.retrieval.mode = "fuzzy".into();
        c.drift.current_window = "yesterday".into();
        let e = c.validate().unwrap_err().to_string();
        for key in ["retrieval.k", "retrieval.mode", "drift.current_window"] {
            assert!(e.contains(key), "{e}");
        }
    }

    #[test]
    fn printed_config_has_no_password() {
        let mut c = ServiceConfig::default();
        c.store.url = "postgres://alice:hunter22@db/rag".into();
        let shown = c.to_redacted_toml();
        assert!(!shown.contains("hunter22"), "{shown}");
        assert!(shown.contains("postgres://alice@db/rag"), "{shown}");
    }

    #[test]
    fn windows() {
        assert_eq!(parse_window("7d"), Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_window("1.5h"), Some(Duration::from_secs(5_400)));
        assert_eq!(parse_window("0d"), None);
        assert_eq!(parse_window("7"), None);
        assert_eq!(parse_window("7w"), None);
    }
}
