//! `roadmap rag`: the phase 5 knowledge base: ingest documents, search them
//! (dense, BM25 or hybrid), answer questions with citations (extractive, local
//! SmolLM2 or an OpenAI-compatible server), evaluate retrieval and answers on
//! SQuAD, benchmark latency.
//!
//! The library is `roadmap-rag`; the CLI resolves paths (store file, model
//! directory), loads the embedder and prints results. This module holds the
//! shared flags and helpers (where the store is, opening a collection, which
//! generator); each subcommand is a file of its own (`ingest.rs`, `search.rs`,
//! `ask.rs`, `chat.rs`, `eval.rs`, `bench.rs`, `list.rs`). The built-in
//! `roadmap` collection is built by [`crate::knowledge`].

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::knowledge;
use roadmap_llm::client::{BlockingClient, ClientConfig};
use roadmap_llm::{GenParams, LoadOptions, LocalLlm};
use roadmap_rag::generate::{ExtractiveGenerator, Generator, LocalGenerator, OpenAiGenerator};
use roadmap_rag::ingest::BUILTIN_SCHEME;
use roadmap_rag::pg::{is_postgres_url, redact_url};
use roadmap_rag::retrieve::{Fusion, Mode};
use roadmap_rag::{PgStore, SqliteStore, TextEmbedder, VectorStore};

mod ask;
mod bench;
mod chat;
mod eval;
mod ingest;
mod list;
mod search;
mod serve;

use ask::AskArgs;
use bench::BenchArgs;
use chat::ChatArgs;
use eval::EvalArgs;
use ingest::IngestArgs;
use list::ListArgs;
use search::SearchArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
    /// The knowledge base: a SQLite file (default: rag.sqlite in the data directory), or a
    /// PostgreSQL + pgvector URL postgres://USER:PASSWORD@HOST:PORT/DATABASE.
    #[arg(
        long,
        global = true,
        value_name = "PATH|URL",
        env = "ROADMAP_RAG_STORE",
        hide_env_values = true
    )]
    store: Option<String>,
    /// Embedding model: `minilm` (all-MiniLM-L6-v2, phase 4's embedder) or `hash`
    /// (feature-hashed bag of words: lexical only, needs no model files).
    #[arg(long, global = true, value_enum, default_value_t = EmbedderChoice::Minilm)]
    embedder: EmbedderChoice,
    /// Directory holding model.safetensors, tokenizer.json and config.json of
    /// all-MiniLM-L6-v2. Default: the asset cache (fetched on first use).
    #[arg(long, global = true, value_name = "DIR")]
    model_dir: Option<PathBuf>,
    /// Threads for the embedder (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// How hybrid retrieval merges dense and BM25: `convex[:ALPHA]` (α·dense + (1−α)·BM25 over
    /// min-max-normalised scores, α = 0.5) or `rrf[:K]` (reciprocal rank fusion, K = 60).
    #[arg(long, global = true, default_value = "convex", value_name = "METHOD")]
    fusion: Fusion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EmbedderChoice {
    Minilm,
    Hash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ModeArg {
    Dense,
    Bm25,
    Hybrid,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Dense => Mode::Dense,
            ModeArg::Bm25 => Mode::Bm25,
            ModeArg::Hybrid => Mode::Hybrid,
        }
    }
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// Ingest files and folders (.md .txt .html .pdf, SQuAD .json) into a collection
    Ingest(IngestArgs),
    /// Search a collection (default: the roadmap's own documents)
    Search(SearchArgs),
    /// Evaluate retrieval on a SQuAD-format file: hit@1, hit@5, MRR@10, nDCG@10 per mode
    Eval(EvalArgs),
    /// Measure retrieval latency over a generated collection (default 10,000 chunks)
    Bench(BenchArgs),
    /// List the collections in the store
    List(ListArgs),
    /// Answer a question from a collection, with numbered citations
    Ask(AskArgs),
    /// Interactive questions and answers (/sources, /reset, /mode dense|bm25|hybrid, /quit)
    Chat(ChatArgs),
    /// Run the RAG HTTP service (phase 6): ask, search, ingest, feedback, metrics
    Serve(serve::ServeArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum GeneratorArg {
    /// No LLM: the best-matching sentences of the retrieved chunks (instant).
    Extractive,
    /// SmolLM2-135M-Instruct on this machine (streamed).
    Local,
    /// Any OpenAI-compatible chat-completions server (streamed).
    Openai,
}

/// Settings of the answer generators (shared by `ask` and `eval --answers`).
#[derive(Debug, clap::Args)]
struct GenArgs {
    /// Which generator writes the answer.
    #[arg(long, value_enum, default_value_t = GeneratorArg::Extractive)]
    generator: GeneratorArg,
    /// OpenAI-compatible server URL, e.g. http://127.0.0.1:8080/v1 (default: OPENAI_BASE_URL, else the local `roadmap llm serve`). The key comes from OPENAI_API_KEY.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Model name sent to the OpenAI-compatible server.
    #[arg(long, default_value = roadmap_llm::SMOLLM2_ID)]
    llm_model: String,
    /// Directory holding the SmolLM2 GGUF (default: the asset cache; fetched on first use).
    /// The openai generator also uses its tokenizer to fit the prompt to the context.
    #[arg(long, value_name = "DIR")]
    llm_model_dir: Option<PathBuf>,
    /// Most tokens in a generated answer.
    #[arg(long, default_value_t = roadmap_rag::generate::ANSWER_TOKENS)]
    max_tokens: usize,
    /// Sampling temperature (0 = greedy, reproducible).
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
}

pub fn run(args: Args, g: &crate::cli::Globals) -> Result<()> {
    let loc = match &args.store {
        Some(s) if is_postgres_url(s) => StoreLoc::Postgres(s.clone()),
        Some(p) => StoreLoc::File(PathBuf::from(p)),
        None => StoreLoc::File(g.data_dir()?.join("rag.sqlite")),
    };
    match &args.cmd {
        Cmd::Ingest(a) => ingest::ingest_cmd(&args, a, &loc, g),
        Cmd::Search(a) => search::search_cmd(&args, a, &loc, g),
        Cmd::Eval(a) => eval::eval_cmd(&args, a, &loc, g),
        Cmd::Bench(a) => bench::bench_cmd(&args, a, g),
        Cmd::List(a) => list::list_cmd(a, &loc),
        Cmd::Ask(a) => ask::ask_cmd(&args, a, &loc, g),
        Cmd::Chat(a) => chat::chat_cmd(&args, a, &loc, g),
        Cmd::Serve(a) => serve::run(
            a,
            serve::RagGlobals {
                store: args.store.as_deref(),
                hash_embedder: args.embedder == EmbedderChoice::Hash,
                model_dir: args.model_dir.as_deref(),
                threads: args.threads,
            },
            g,
        ),
    }
}

/// Loads the chosen embedder.
fn load_embedder(args: &Args, cache_dir: &Path) -> Result<Box<dyn TextEmbedder>> {
    crate::resolve::rag::load_text_embedder(
        args.embedder == EmbedderChoice::Hash,
        args.model_dir.as_deref(),
        args.threads,
        cache_dir,
    )
}

/// Where the knowledge base lives: a SQLite file or a PostgreSQL server.
#[derive(Debug, Clone)]
enum StoreLoc {
    File(PathBuf),
    /// The full URL (with its password): never print it, print `StoreLoc` itself.
    Postgres(String),
}

impl std::fmt::Display for StoreLoc {
    /// The path, or the URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLoc::File(p) => write!(f, "{}", p.display()),
            StoreLoc::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

/// Opens the store for a command that reads `collection`. The built-in knowledge base is
/// brought up to date first (`progress`: a bar while it indexes; `announce`: a line saying
/// what changed); any other collection must already exist.
fn open_collection(
    g: &crate::cli::Globals,
    loc: &StoreLoc,
    collection: &str,
    embedder: &dyn TextEmbedder,
    progress: bool,
    announce: bool,
) -> Result<Box<dyn VectorStore>> {
    let mut store = open_store(loc)?;
    if collection == knowledge::COLLECTION {
        let s = knowledge::ensure(store.as_mut(), embedder, &g.roadmap()?, progress)
            .context("cannot index the built-in knowledge base")?;
        if announce && s.added + s.changed + s.removed > 0 {
            eprintln!(
                "indexed the built-in knowledge base: {} documents added, {} changed, {} removed ({} chunks)",
                s.added, s.changed, s.removed, s.chunks_embedded
            );
        }
    } else if !store.collections()?.iter().any(|c| c.name == collection) {
        bail!(
            "collection `{collection}` does not exist yet in {loc}: ingest something first \
             (`roadmap rag ingest PATH... --collection {collection}`), or leave out --collection \
             to use the built-in `roadmap` knowledge base"
        );
    }
    Ok(store)
}

fn open_store(loc: &StoreLoc) -> Result<Box<dyn VectorStore>> {
    Ok(match loc {
        StoreLoc::File(path) => Box::new(
            SqliteStore::open(path)
                .with_context(|| format!("cannot open the knowledge base {}", path.display()))?,
        ),
        // Its errors already say which server (without the password), what failed and what to do.
        StoreLoc::Postgres(url) => Box::new(PgStore::connect(url)?),
    })
}

/// A source as the user knows it: relative to the current directory when below it.
fn display_source(source: &str) -> String {
    if let Some(rest) = source.strip_prefix(BUILTIN_SCHEME) {
        return rest.to_string();
    }
    std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            Path::new(source)
                .strip_prefix(cwd)
                .ok()
                .map(|p| p.display().to_string())
        })
        .unwrap_or_else(|| source.to_string())
}

/// The SmolLM2 asset directory: --llm-model-dir, else the asset cache.
fn llm_dir(gen: &GenArgs, g: &crate::cli::Globals) -> Result<PathBuf> {
    match &gen.llm_model_dir {
        Some(d) => Ok(d.clone()),
        None => roadmap_common::assets::ensure(&g.cache_dir(), "smollm2-135m-instruct")
            .context("cannot get the SmolLM2 model (pass --llm-model-dir DIR, or use --generator extractive)"),
    }
}

/// Builds the chosen generator (loading the model or connecting to the server).
fn make_generator(gen: &GenArgs, g: &crate::cli::Globals) -> Result<Box<dyn Generator>> {
    let params = GenParams {
        max_tokens: gen.max_tokens,
        temperature: gen.temperature,
        ..Default::default()
    };
    params.validate().context("invalid generation setting")?;
    Ok(match gen.generator {
        GeneratorArg::Extractive => Box::new(ExtractiveGenerator::default()),
        GeneratorArg::Local => {
            let dir = llm_dir(gen, g)?;
            let llm = LocalLlm::load(&dir, &LoadOptions::default())
                .with_context(|| format!("cannot load SmolLM2 from {}", dir.display()))?;
            let mut l = LocalGenerator::new(llm);
            l.params = params;
            Box::new(l)
        }
        GeneratorArg::Openai => {
            let cfg = ClientConfig::new(gen.base_url.clone(), None, gen.llm_model.clone());
            let client =
                BlockingClient::new(cfg).context("cannot set up the OpenAI-compatible client")?;
            // Fail on an unreachable server or a bad key now, before anything is retrieved.
            client.list_models()?;
            let dir = llm_dir(gen, g)?;
            let tok =
                roadmap_llm::GgufTokenizer::from_gguf_file(&dir.join(roadmap_llm::SMOLLM2_FILE))
                    .with_context(|| format!("cannot read the tokenizer from {}", dir.display()))?;
            let mut o = OpenAiGenerator::new(client, tok);
            o.params = params;
            Box::new(o)
        }
    })
}

/// Prints the cited chunks, or else (an LLM that wrote no `[n]`) the attributed ones, labelled as such.
fn print_sources(answer: &roadmap_rag::generate::Answer, hits: &[roadmap_rag::store::Hit]) {
    let cited = if answer.cited.is_empty() && !answer.attributed.is_empty() {
        println!("(none cited by the model; closest by word overlap:)");
        &answer.attributed
    } else {
        &answer.cited
    };
    let mut any = false;
    for &n in cited {
        let Some(h) = hits.get(n - 1) else { continue };
        any = true;
        let heading = h
            .heading
            .last()
            .map(|x| format!(" ({x})"))
            .unwrap_or_default();
        println!(
            "[{n}] {}:{}-{}{heading} {:.4}",
            display_source(&h.source),
            h.line_start,
            h.line_end,
            h.score
        );
    }
    if !any {
        println!("(no sources cited; {} chunks retrieved)", hits.len());
    }
}
