//! `roadmap rag serve`: the phase-6 RAG service (crate `roadmap-rag-service`).
//!
//! This file resolves what the service needs — configuration (file, then
//! `ROADMAP_RAG_*` environment, then flags), the store, the embedder, the
//! generators, the API keys, the request log's file — prints the effective
//! configuration with secrets redacted, and runs the service until SIGTERM or
//! Ctrl-C. The service itself never touches the progress database.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use roadmap_llm::client::{BlockingClient, ClientConfig};
use roadmap_llm::{GenParams, LoadOptions, LocalLlm};
use roadmap_rag::generate::{LocalGenerator, OpenAiGenerator};
use roadmap_rag::pg::{is_postgres_url, redact_url};
use roadmap_rag::{HashEmbedder, PgStore, SqliteStore, TextEmbedder};

use crate::knowledge;
use roadmap_rag_service::config::ServiceConfig;
use roadmap_rag_service::state::{BoxedGenerator, Store};
use roadmap_rag_service::Resources;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on [default: server.addr of the config, 127.0.0.1:8080]. Keep
    /// 127.0.0.1 unless the service is meant to be reachable from other machines.
    #[arg(long, value_name = "HOST:PORT")]
    addr: Option<SocketAddr>,
    /// The service's TOML configuration (every key has a default; unknown keys are errors).
    #[arg(long, value_name = "FILE", env = "ROADMAP_RAG_CONFIG")]
    config: Option<PathBuf>,
    /// A file with one API key per line for the write endpoints (also: ROADMAP_API_KEYS,
    /// comma-separated).
    #[arg(long, value_name = "FILE")]
    api_keys_file: Option<PathBuf>,
    /// Load these LLM generators besides the extractive one (repeatable): `local`
    /// (SmolLM2, one copy per generation slot) or `openai` (generation.openai_base_url).
    /// The default generator of the config is always loaded.
    #[arg(long = "with", value_name = "GENERATOR", value_parser = ["local", "openai"])]
    with: Vec<String>,
    /// Print the effective configuration (secrets redacted) and exit.
    #[arg(long)]
    print_config: bool,
    /// A/B experiments file (experiments.toml) [default: experiments.file of the config, or
    /// ROADMAP_RAG_EXPERIMENTS; none: no experiments]
    #[arg(long, value_name = "FILE")]
    experiments: Option<PathBuf>,
    /// Start even though a running experiment's seed or weights changed since it last ran. This
    /// moves users who were already exposed to another variant; the same as
    /// `experiments.force_reassign = true` in the config.
    #[arg(long)]
    force_experiment_change: bool,
}

/// Global `rag` flags the service uses.
pub struct RagGlobals<'a> {
    pub store: Option<&'a str>,
    pub hash_embedder: bool,
    pub model_dir: Option<&'a Path>,
    pub threads: Option<usize>,
}

pub fn run(a: &ServeArgs, rg: RagGlobals<'_>, g: &crate::cli::Globals) -> Result<()> {
    let mut config = ServiceConfig::load(a.config.as_deref(), std::env::vars())?;
    if let Some(addr) = a.addr {
        config.server.addr = addr;
    }
    if let Some(s) = rg.store {
        config.store.url = s.to_string();
    }
    if config.store.url.is_empty() {
        config.store.url = g.data_dir()?.join("rag.sqlite").display().to_string();
    }
    if let Some(f) = &a.api_keys_file {
        config.auth.api_keys_file = Some(f.clone());
    }
    if rg.hash_embedder {
        config.retrieval.embedder = "hash".into();
    }
    if let Some(f) = &a.experiments {
        config.experiments.file = Some(f.clone());
    }
    if a.force_experiment_change {
        config.experiments.force_reassign = true;
    }
    config.validate()?;
    eprintln!("effective configuration:\n{}", config.to_redacted_toml());
    if a.print_config {
        return Ok(());
    }

    let mut keys = roadmap_http::ApiKeys::none();
    if let Some(f) = &config.auth.api_keys_file {
        keys.add_file(f)?;
    }
    if let Ok(v) = std::env::var("ROADMAP_API_KEYS") {
        keys.add_list(&v, "ROADMAP_API_KEYS")?;
    }

    let embedder: Arc<dyn TextEmbedder + Send + Sync> = if config.retrieval.embedder == "hash" {
        Arc::new(HashEmbedder::default())
    } else {
        Arc::new(
            crate::resolve::load_embedder(
                rg.model_dir,
                &g.cache_dir(),
                rg.threads,
                roadmap_embed::EmbedderOptions::default().batch_size,
            )
            .context("pass --model-dir DIR, or `roadmap rag --embedder hash serve` to work without a model")?,
        )
    };

    let url = store_url(&config)?;
    let store_label = if is_postgres_url(&url) {
        redact_url(&url)
    } else {
        url.clone()
    };
    let open_url = url.clone();
    let open_store: roadmap_rag_service::state::OpenStore = Arc::new(move || {
        Ok(if is_postgres_url(&open_url) {
            Box::new(PgStore::connect(&open_url)?) as Store
        } else {
            Box::new(SqliteStore::open(Path::new(&open_url))?) as Store
        })
    });
    if config.retrieval.default_collection == knowledge::COLLECTION {
        let mut store =
            open_store().with_context(|| format!("cannot open the store {store_label}"))?;
        let s = knowledge::ensure(store.as_mut(), embedder.as_ref(), &g.roadmap()?, false)
            .context("cannot index the built-in knowledge base")?;
        if s.added + s.changed + s.removed > 0 {
            eprintln!(
                "indexed the built-in knowledge base: {} added, {} changed, {} removed",
                s.added, s.changed, s.removed
            );
        }
    }
    // The request log: in the SQLite store's own file; next to the data otherwise.
    let request_log = if is_postgres_url(&url) {
        let p = g.data_dir()?.join("rag-requests.sqlite");
        eprintln!(
            "request log: {} (the PostgreSQL request log is not implemented yet)",
            p.display()
        );
        p
    } else {
        PathBuf::from(&url)
    };

    let (generators, unavailable) = load_generators(&config, &a.with, g);
    for (name, why) in &unavailable {
        eprintln!("generator {name} not available: {why}");
    }
    let resources = Resources {
        open_store,
        store_label,
        embedder,
        generators,
        unavailable,
        api_keys: keys,
        request_log: Some(request_log),
        user_salt: user_salt(&g.data_dir()?)?,
        revision: option_env!("ROADMAP_REVISION")
            .unwrap_or("unknown")
            .to_string(),
    };
    if let Err(e) = roadmap_http::init_json_logging() {
        eprintln!("logging not initialised: {e}");
    }
    roadmap_rag_service::run_until_signal(config, resources, |addr| {
        eprintln!("listening on http://{addr} (docs: http://{addr}/docs/)");
    })?;
    Ok(())
}

/// The store URL with the password from `store.password_file` filled in.
fn store_url(config: &ServiceConfig) -> Result<String> {
    let url = config.store.url.clone();
    let Some(pw_file) = &config.store.password_file else {
        return Ok(url);
    };
    if !is_postgres_url(&url) {
        bail!("store.password_file is set but the store is not a PostgreSQL URL");
    }
    let pw = std::fs::read_to_string(pw_file)
        .with_context(|| format!("cannot read store.password_file {}", pw_file.display()))?;
    let pw: String = pw
        .trim_end_matches(['\n', '\r'])
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let (scheme, rest) = url.split_once("://").context("a URL has a scheme")?;
    let Some((user, host)) = rest.split_once('@') else {
        bail!("store.url must name the user (postgres://USER@HOST/DB) when store.password_file is set");
    };
    if user.contains(':') {
        bail!("store.url already holds a password: remove it, or remove store.password_file");
    }
    Ok(format!("{scheme}://{user}:{pw}@{host}"))
}

/// Loaded generators by name, and the ones that failed with their reason.
type Loaded = (
    Vec<(&'static str, Vec<BoxedGenerator>)>,
    Vec<(&'static str, String)>,
);

/// Loads the LLM generators the config and flags ask for; failures become
/// "unavailable" with their reason (the service starts, `/readyz` says why).
fn load_generators(config: &ServiceConfig, with: &[String], g: &crate::cli::Globals) -> Loaded {
    let gen = &config.generation;
    let wanted = |name: &str| gen.default == name || with.iter().any(|w| w == name);
    let params = GenParams {
        max_tokens: gen.max_tokens,
        ..Default::default()
    };
    let model_dir = || -> Result<PathBuf> {
        match &gen.local_model_dir {
            Some(d) => Ok(d.clone()),
            None => roadmap_common::assets::ensure(&g.cache_dir(), "smollm2-135m-instruct")
                .context("cannot get the SmolLM2 model (set generation.local_model_dir)"),
        }
    };
    let mut ok: Vec<(&'static str, Vec<BoxedGenerator>)> = Vec::new();
    let mut missing = Vec::new();
    if wanted("local") {
        let r = (|| -> Result<Vec<BoxedGenerator>> {
            let dir = model_dir()?;
            let opts = LoadOptions::default();
            (0..gen.concurrency)
                .map(|_| {
                    let llm = LocalLlm::load(&dir, &opts)
                        .with_context(|| format!("cannot load SmolLM2 from {}", dir.display()))?;
                    let mut l = LocalGenerator::new(llm);
                    l.params = params.clone();
                    Ok(Box::new(l) as BoxedGenerator)
                })
                .collect()
        })();
        match r {
            Ok(v) => ok.push(("local", v)),
            Err(e) => missing.push(("local", format!("{e:#}"))),
        }
    }
    if wanted("openai") {
        let r = (|| -> Result<Vec<BoxedGenerator>> {
            let key = match &gen.openai_api_key_file {
                Some(f) => Some(
                    std::fs::read_to_string(f)
                        .with_context(|| {
                            format!("cannot read generation.openai_api_key_file {}", f.display())
                        })?
                        .trim()
                        .to_string(),
                ),
                None => None,
            };
            let dir = model_dir()?;
            (0..gen.concurrency)
                .map(|_| {
                    let cfg = ClientConfig::new(
                        gen.openai_base_url.clone(),
                        key.clone(),
                        gen.openai_model
                            .clone()
                            .unwrap_or_else(|| roadmap_llm::SMOLLM2_ID.to_string()),
                    );
                    let client = BlockingClient::new(cfg)?;
                    let tok = roadmap_llm::GgufTokenizer::from_gguf_file(
                        &dir.join(roadmap_llm::SMOLLM2_FILE),
                    )?;
                    let mut o = OpenAiGenerator::new(client, tok);
                    o.params = params.clone();
                    Ok(Box::new(o) as BoxedGenerator)
                })
                .collect()
        })();
        match r {
            Ok(v) => ok.push(("openai", v)),
            Err(e) => missing.push((
                "openai",
                roadmap_common::redact::redact_text(&format!("{e:#}")),
            )),
        }
    }
    (ok, missing)
}

/// The per-deployment salt of user hashes: random, created once in the data directory.
fn user_salt(data_dir: &Path) -> Result<String> {
    let path = data_dir.join("rag-service.salt");
    if let Ok(s) = std::fs::read_to_string(&path) {
        if !s.trim().is_empty() {
            return Ok(s.trim().to_string());
        }
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let mut bytes = [0u8; 16];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom for the user-hash salt")?;
    let salt: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&path, &salt).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(salt)
}
