//! `roadmap rag`: the phase 5 knowledge base: ingest documents, search them
//! (dense, BM25 or hybrid), answer questions with citations (extractive, local
//! SmolLM2 or an OpenAI-compatible server), evaluate retrieval and answers on
//! SQuAD, benchmark latency.
//!
//! The library is `roadmap-rag`; this file resolves paths (store file, model
//! directory), loads the embedder and prints results.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use roadmap_llm::client::{BlockingClient, ClientConfig};
use roadmap_llm::{GenParams, LoadOptions, LocalLlm};
use roadmap_rag::answers::{evaluate_answers, AnswerEvalOptions};
use roadmap_rag::conversation::Conversation;
use roadmap_rag::eval::{evaluate, evaluate_in, EvalOptions, EvalReport};
use roadmap_rag::generate::{
    validate_question, ExtractiveGenerator, Generator, LocalGenerator, OpenAiGenerator,
};
use roadmap_rag::ingest::{ingest_paths, IngestOptions, IngestSummary, BUILTIN_SCHEME};
use roadmap_rag::pg::{is_postgres_url, redact_url};
use roadmap_rag::retrieve::{search, Fusion, Mode, SearchOptions};
use roadmap_rag::{builtin, HashEmbedder, PgStore, SqliteStore, TextEmbedder, VectorStore};

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
}

#[derive(Debug, clap::Args)]
struct ChatArgs {
    /// The collection to answer from (`roadmap` is the built-in knowledge base).
    #[arg(long, default_value = builtin::COLLECTION)]
    collection: String,
    /// Chunks retrieved per question.
    #[arg(short, long, default_value_t = 5)]
    k: usize,
    /// Retrieval mode at the start (change it with /mode).
    #[arg(long, value_enum, default_value_t = ModeArg::Hybrid)]
    mode: ModeArg,
    /// Earlier exchanges (question and answer) an LLM generator sees before the question, within
    /// half its context. Follow-ups ("and when was it built?") are also rewritten with the
    /// previous topic for retrieval. /reset forgets the conversation.
    #[arg(long, default_value_t = 3)]
    memory: usize,
    #[command(flatten)]
    gen: GenArgs,
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

#[derive(Debug, clap::Args)]
struct AskArgs {
    /// The question (at most 2,000 characters).
    #[arg(required = true, num_args = 1..)]
    question: Vec<String>,
    /// The collection to answer from (`roadmap` is the built-in knowledge base).
    #[arg(long, default_value = builtin::COLLECTION)]
    collection: String,
    /// Chunks retrieved and given to the generator.
    #[arg(short, long, default_value_t = 5)]
    k: usize,
    /// Retrieval: dense vectors, BM25 full text, or both fused.
    #[arg(long, value_enum, default_value_t = ModeArg::Hybrid)]
    mode: ModeArg,
    #[command(flatten)]
    gen: GenArgs,
    /// Print one JSON object: answer, citations, generator, retrieval_mode, timings.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct IngestArgs {
    /// Files and folders to ingest (folders are walked recursively, hidden entries skipped).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The collection to ingest into.
    #[arg(long, default_value = "default")]
    collection: String,
    /// Remove documents whose files no longer exist.
    #[arg(long)]
    prune: bool,
    /// Drop the collection first and embed everything again (to switch embedding model).
    #[arg(long)]
    reembed: bool,
    /// Skip files larger than this many MiB.
    #[arg(long, default_value_t = 64)]
    max_file_mb: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct SearchArgs {
    /// What to search for.
    #[arg(required = true, num_args = 1..)]
    query: Vec<String>,
    /// How many results.
    #[arg(short, long, default_value_t = 5)]
    k: usize,
    /// Retrieval: dense vectors, BM25 full text, or both fused (see --fusion).
    #[arg(long, value_enum, default_value_t = ModeArg::Hybrid)]
    mode: ModeArg,
    /// Re-rank for diversity with maximal marginal relevance.
    #[arg(long)]
    mmr: bool,
    /// MMR trade-off: 1 = relevance only, 0 = diversity only.
    #[arg(long, default_value_t = 0.5)]
    mmr_lambda: f32,
    /// Only results whose source path starts with this (a folder, or `milestones/` in the built-in base).
    #[arg(long, value_name = "PREFIX")]
    source: Option<String>,
    /// The collection to search (`roadmap` is the built-in knowledge base, indexed on first use).
    #[arg(long, default_value = builtin::COLLECTION)]
    collection: String,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct EvalArgs {
    /// A SQuAD-format JSON file (default: the shipped 10-article subset of the SQuAD v1.1 dev set).
    #[arg(long, value_name = "FILE")]
    squad: Option<PathBuf>,
    /// Use only the first N articles.
    #[arg(long)]
    articles: Option<usize>,
    /// Modes to evaluate (repeatable; default: all three).
    #[arg(long, value_enum)]
    mode: Vec<ModeArg>,
    /// Evaluate answers instead of retrieval: exact match, token F1 (SQuAD normalisation) and
    /// citation support of the chosen --generator, retrieving with the first --mode (default hybrid).
    #[arg(long)]
    answers: bool,
    /// With --answers: answer only the first N questions (the LLM generators are slow).
    #[arg(long)]
    questions: Option<usize>,
    /// With --answers: chunks given to the generator.
    #[arg(short, long, default_value_t = 3)]
    k: usize,
    #[command(flatten)]
    gen: GenArgs,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct BenchArgs {
    /// Chunks in the generated collection.
    #[arg(long, default_value_t = 10_000)]
    chunks: usize,
    /// Queries timed per mode (questions of the shipped SQuAD subset).
    #[arg(long, default_value_t = 500)]
    queries: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, g: &crate::cli::Globals) -> Result<()> {
    let loc = match &args.store {
        Some(s) if is_postgres_url(s) => StoreLoc::Postgres(s.clone()),
        Some(p) => StoreLoc::File(PathBuf::from(p)),
        None => StoreLoc::File(g.data_dir()?.join("rag.sqlite")),
    };
    match &args.cmd {
        Cmd::Ingest(a) => ingest_cmd(&args, a, &loc, g),
        Cmd::Search(a) => search_cmd(&args, a, &loc, g),
        Cmd::Eval(a) => eval_cmd(&args, a, &loc, g),
        Cmd::Bench(a) => bench_cmd(&args, a, g),
        Cmd::List(a) => list_cmd(a, &loc),
        Cmd::Ask(a) => ask_cmd(&args, a, &loc, g),
        Cmd::Chat(a) => chat_cmd(&args, a, &loc, g),
    }
}

/// Loads the chosen embedder.
fn load_embedder(args: &Args, cache_dir: &Path) -> Result<Box<dyn TextEmbedder>> {
    load_embedder_with(
        args.embedder == EmbedderChoice::Hash,
        args.model_dir.as_deref(),
        args.threads,
        cache_dir,
    )
}

/// Loads all-MiniLM-L6-v2 (from `model_dir` or the asset cache), or the hashing embedder.
pub fn load_embedder_with(
    hash: bool,
    model_dir: Option<&Path>,
    threads: Option<usize>,
    cache_dir: &Path,
) -> Result<Box<dyn TextEmbedder>> {
    if hash {
        return Ok(Box::new(HashEmbedder::default()));
    }
    let emb = crate::resolve::load_embedder(
        model_dir,
        cache_dir,
        threads,
        roadmap_embed::EmbedderOptions::default().batch_size,
    )
    .context("pass --model-dir DIR, or --embedder hash to work without a model")?;
    Ok(Box::new(emb))
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
    loc: &StoreLoc,
    collection: &str,
    embedder: &dyn TextEmbedder,
    progress: bool,
    announce: bool,
) -> Result<Box<dyn VectorStore>> {
    let mut store = open_store(loc)?;
    if collection == builtin::COLLECTION {
        let s = builtin::ensure(store.as_mut(), embedder, progress)
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

fn ingest_cmd(args: &Args, a: &IngestArgs, loc: &StoreLoc, g: &crate::cli::Globals) -> Result<()> {
    for p in &a.paths {
        if !p.exists() {
            bail!(
                "{} does not exist: pass files or folders to ingest",
                p.display()
            );
        }
    }
    let embedder = load_embedder(args, &g.cache_dir())?;
    let mut store = open_store(loc)?;
    if a.reembed {
        store
            .drop_collection(&a.collection)
            .context("cannot drop the collection for re-embedding")?;
    }
    let opts = IngestOptions {
        collection: a.collection.clone(),
        prune: a.prune,
        max_file_bytes: a.max_file_mb.saturating_mul(1024 * 1024),
        progress: !a.json,
        ..Default::default()
    };
    let summary =
        ingest_paths(store.as_mut(), embedder.as_ref(), &a.paths, &opts).with_context(|| {
            format!(
                "ingest into collection `{}` of {} failed",
                a.collection, loc
            )
        })?;
    if a.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_summary(&summary, loc);
    }
    Ok(())
}

fn print_summary(s: &IngestSummary, loc: &StoreLoc) {
    println!(
        "collection `{}` in {} (model {})",
        s.collection, loc, s.model_id
    );
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "added",
        "changed",
        "unchanged",
        "removed",
        "skipped",
        "chunks embedded",
        "seconds",
        "chunks/s",
    ]);
    t.add_row([
        s.added.to_string(),
        s.changed.to_string(),
        s.unchanged.to_string(),
        s.removed.to_string(),
        s.skipped.len().to_string(),
        s.chunks_embedded.to_string(),
        format!("{:.2}", s.seconds),
        format!("{:.1}", s.chunks_embedded as f64 / s.seconds.max(1e-9)),
    ]);
    println!("{t}");
    if !s.skipped.is_empty() {
        println!("skipped:");
        for (path, reason) in s.skipped.iter().take(50) {
            println!("  {}: {reason}", display_source(path));
        }
        if s.skipped.len() > 50 {
            println!(
                "  ... and {} more (use --json for the full list)",
                s.skipped.len() - 50
            );
        }
    }
}

fn search_cmd(args: &Args, a: &SearchArgs, loc: &StoreLoc, g: &crate::cli::Globals) -> Result<()> {
    let query = a.query.join(" ");
    if a.k == 0 {
        bail!("-k must be at least 1");
    }
    if !(0.0..=1.0).contains(&a.mmr_lambda) {
        bail!("--mmr-lambda must be between 0 and 1, got {}", a.mmr_lambda);
    }
    let embedder = load_embedder(args, &g.cache_dir())?;
    let store = open_collection(loc, &a.collection, embedder.as_ref(), !a.json, !a.json)?;
    let source_prefix = a.source.as_ref().map(|p| resolve_prefix(p, &a.collection));
    let opts = SearchOptions {
        k: a.k,
        mode: a.mode.into(),
        mmr_lambda: a.mmr.then_some(a.mmr_lambda),
        source_prefix,
        fusion: args.fusion,
        ..Default::default()
    };
    let hits = search(
        store.as_ref(),
        embedder.as_ref(),
        &a.collection,
        &query,
        &opts,
    )?;
    if a.json {
        let hits: Vec<_> = hits
            .iter()
            .enumerate()
            .map(|(i, h)| {
                serde_json::json!({
                    "rank": i + 1, "score": h.score, "source": h.source, "start": h.start, "end": h.end,
                    "line_start": h.line_start, "line_end": h.line_end, "heading": h.heading, "text": h.text,
                })
            })
            .collect();
        let out = serde_json::json!({
            "query": query, "collection": a.collection, "mode": Mode::from(a.mode).as_str(),
            "mmr": a.mmr, "model_id": embedder.model_id(), "hits": hits,
        });
        println!("{out}");
        return Ok(());
    }
    if hits.is_empty() {
        println!("no results for {query:?} in collection `{}`", a.collection);
    }
    for (i, h) in hits.iter().enumerate() {
        let heading = if h.heading.is_empty() {
            String::new()
        } else {
            format!("  ({})", h.heading.join(" > "))
        };
        println!(
            "[{}] {:.4}  {}:{}-{}{heading}",
            i + 1,
            h.score,
            display_source(&h.source),
            h.line_start,
            h.line_end
        );
        let text: String = h.text.chars().take(400).collect();
        let more = if h.text.chars().count() > 400 {
            " …"
        } else {
            ""
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            println!("    {line}");
        }
        if !more.is_empty() {
            println!("    …");
        }
        println!();
    }
    Ok(())
}

/// The stored form of a `--source` prefix: built-in sources carry `roadmap:`,
/// file sources are absolute paths.
fn resolve_prefix(prefix: &str, collection: &str) -> String {
    if prefix.starts_with(BUILTIN_SCHEME) || Path::new(prefix).is_absolute() {
        return prefix.to_string();
    }
    if collection == builtin::COLLECTION {
        return format!("{BUILTIN_SCHEME}{prefix}");
    }
    let joined = std::env::current_dir()
        .map(|d| d.join(prefix))
        .unwrap_or_else(|_| PathBuf::from(prefix));
    let abs = std::fs::canonicalize(&joined).unwrap_or(joined);
    let mut s = abs.display().to_string();
    // `docs/` must not also match `docs-old/`.
    if prefix.ends_with('/') && !s.ends_with('/') {
        s.push('/');
    }
    s
}

/// Reads the SQuAD file (or the shipped subset) for evaluation.
pub fn load_squad(path: Option<&Path>) -> Result<roadmap_rag::squad::SquadFile> {
    match path {
        Some(p) => {
            let bytes = std::fs::read(p)
                .with_context(|| format!("cannot read the SQuAD file {}", p.display()))?;
            Ok(roadmap_rag::squad::parse(&bytes, &p.display().to_string())?)
        }
        None => Ok(roadmap_rag::squad::parse(
            roadmap_rag::squad::SHIPPED.as_bytes(),
            "the shipped SQuAD subset",
        )?),
    }
}

fn eval_cmd(args: &Args, a: &EvalArgs, loc: &StoreLoc, g: &crate::cli::Globals) -> Result<()> {
    if a.articles == Some(0) {
        bail!("--articles must be at least 1");
    }
    let file = load_squad(a.squad.as_deref())?;
    if a.answers {
        return eval_answers_cmd(args, a, &file, g);
    }
    let embedder = load_embedder(args, &g.cache_dir())?;
    let mut opts = EvalOptions {
        articles: a.articles,
        progress: !a.json,
        ..Default::default()
    };
    if !a.mode.is_empty() {
        opts.modes = a.mode.iter().map(|&m| m.into()).collect();
        opts.modes.dedup();
    }
    // The default fusion is compared with plain RRF; a chosen one is evaluated alone.
    if args.fusion != Fusion::default() {
        opts.fusions = vec![args.fusion];
    }
    // A SQLite knowledge base is never touched: the evaluation runs in a private
    // in-memory store. On PostgreSQL it runs in the server (collection `squad-eval`,
    // replaced on every run), which is what measures that store.
    let report = match loc {
        StoreLoc::File(_) => evaluate(&file, embedder.as_ref(), &opts)?,
        StoreLoc::Postgres(url) => {
            let mut store = PgStore::connect(url)?;
            evaluate_in(&mut store, &file, embedder.as_ref(), &opts)?
        }
    };
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_eval(&report);
    }
    Ok(())
}

/// The evaluation as a table (shared with the `rag-eval` runner).
pub fn print_eval(r: &EvalReport) {
    println!(
        "SQuAD retrieval evaluation: {} articles, {} paragraphs → {} chunks, {} questions; model {}",
        r.articles, r.paragraphs, r.chunks, r.questions, r.model_id
    );
    println!(
        "ingest {:.1} s ({:.1} chunks/s); embedding one question: {:.2} ms (batched); latencies below exclude it",
        r.ingest_seconds, r.ingest_chunks_per_second, r.query_embed_ms_mean
    );
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "mode", "hit@1", "hit@5", "MRR@10", "nDCG@10", "p50 ms", "p95 ms", "p99 ms",
    ]);
    for m in &r.modes {
        t.add_row([
            match m.fusion {
                Some(f) => format!("{} ({f})", m.mode.as_str()),
                None => m.name.clone(),
            },
            format!("{:.4}", m.hit_at_1),
            format!("{:.4}", m.hit_at_5),
            format!("{:.4}", m.mrr_at_10),
            format!("{:.4}", m.ndcg_at_10),
            format!("{:.2}", m.latency_ms_p50),
            format!("{:.2}", m.latency_ms_p95),
            format!("{:.2}", m.latency_ms_p99),
        ]);
    }
    println!("{t}");
}

fn bench_cmd(args: &Args, a: &BenchArgs, g: &crate::cli::Globals) -> Result<()> {
    if a.chunks == 0 || a.queries == 0 {
        bail!("--chunks and --queries must be at least 1");
    }
    let embedder = load_embedder(args, &g.cache_dir())?;
    let path =
        std::env::temp_dir().join(format!("roadmap-rag-bench-{}.sqlite", std::process::id()));
    let opts = roadmap_rag::bench::BenchOptions {
        chunks: a.chunks,
        queries: a.queries,
        progress: !a.json,
        ..Default::default()
    };
    let result = roadmap_rag::bench::run(embedder.as_ref(), &path, &opts);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let r = result?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    println!(
        "{} chunks ({}), ingest {:.1} s = {:.0} chunks/s; vectors loaded in {:.1} ms; one query embedding {:.2} ms",
        r.chunks, r.model_id, r.ingest_seconds, r.ingest_chunks_per_second, r.vector_load_ms, r.query_embed_ms_mean
    );
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["mode", "queries", "p50 ms", "p95 ms", "p99 ms", "mean ms"]);
    for m in &r.modes {
        t.add_row([
            m.mode.as_str().to_string(),
            r.queries.to_string(),
            format!("{:.2}", m.p50_ms),
            format!("{:.2}", m.p95_ms),
            format!("{:.2}", m.p99_ms),
            format!("{:.2}", m.mean_ms),
        ]);
    }
    println!("{t}");
    Ok(())
}

fn list_cmd(a: &ListArgs, loc: &StoreLoc) -> Result<()> {
    let store = open_store(loc)?;
    let cols = store.collections()?;
    if a.json {
        println!(
            "{}",
            serde_json::json!({ "store": loc.to_string(), "collections": cols })
        );
        return Ok(());
    }
    if cols.is_empty() {
        println!(
            "no collections in {} yet (`roadmap rag ingest PATH...`)",
            loc
        );
        return Ok(());
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["collection", "model", "dim", "documents", "chunks"]);
    for c in cols {
        t.add_row([
            c.name,
            c.model_id,
            c.dim.to_string(),
            c.documents.to_string(),
            c.chunks.to_string(),
        ]);
    }
    println!("{t}");
    Ok(())
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

fn ask_cmd(args: &Args, a: &AskArgs, loc: &StoreLoc, g: &crate::cli::Globals) -> Result<()> {
    let question = a.question.join(" ");
    let question = validate_question(&question)?.to_string();
    if a.k == 0 {
        bail!("-k must be at least 1");
    }
    let t0 = std::time::Instant::now();
    let embedder = load_embedder(args, &g.cache_dir())?;
    let store = open_collection(loc, &a.collection, embedder.as_ref(), !a.json, false)?;
    let mut generator = make_generator(&a.gen, g)?;
    let setup_ms = t0.elapsed().as_secs_f64() * 1e3;
    let opts = SearchOptions {
        k: a.k,
        mode: a.mode.into(),
        fusion: args.fusion,
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let hits = search(
        store.as_ref(),
        embedder.as_ref(),
        &a.collection,
        &question,
        &opts,
    )?;
    let retrieval_ms = t.elapsed().as_secs_f64() * 1e3;
    let stream = !a.json && generator.name() != "extractive";
    let answer = {
        use std::io::Write;
        let mut out = std::io::stdout();
        let mut on_text = |piece: &str| {
            if stream {
                let _ = out.write_all(piece.as_bytes());
                let _ = out.flush();
            }
            true
        };
        generator.answer(&question, &hits, &mut on_text)?
    };
    let pick = |ns: &[usize]| -> Vec<(usize, &roadmap_rag::store::Hit)> {
        ns.iter()
            .filter_map(|&n| hits.get(n - 1).map(|h| (n, h)))
            .collect()
    };
    let citations = pick(&answer.cited);
    let attributed = pick(&answer.attributed);
    if a.json {
        let to_json = |list: &[(usize, &roadmap_rag::store::Hit)]| -> Vec<serde_json::Value> {
            list.iter()
                .map(|(n, h)| {
                    serde_json::json!({
                        "n": n, "source": display_source(&h.source), "start": h.start, "end": h.end,
                        "line_start": h.line_start, "line_end": h.line_end, "heading": h.heading,
                        "score": h.score, "text": h.text,
                    })
                })
                .collect()
        };
        let out = serde_json::json!({
            "question": question, "answer": answer.text, "citations": to_json(&citations),
            "attributed": to_json(&attributed),
            "generator": generator.name(), "retrieval_mode": Mode::from(a.mode).as_str(),
            "collection": a.collection, "retrieved": hits.len(), "passages_used": answer.passages_used,
            "timings": {
                "setup_ms": setup_ms, "retrieval_ms": retrieval_ms,
                "first_text_ms": answer.first_text_ms, "generation_ms": answer.total_ms,
                "prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens,
            },
        });
        println!("{out}");
        return Ok(());
    }
    if stream {
        println!();
    } else {
        println!("{}", answer.text);
    }
    println!();
    let shown = if !citations.is_empty() {
        println!("sources:");
        &citations
    } else if !attributed.is_empty() {
        println!(
            "sources: none cited by the model; the retrieved chunks that contain most of the answer's words:"
        );
        &attributed
    } else {
        println!("sources: none cited (retrieved {} chunks)", hits.len());
        &citations
    };
    for (n, h) in shown {
        let heading = if h.heading.is_empty() {
            String::new()
        } else {
            format!(" ({})", h.heading.join(" > "))
        };
        println!(
            "[{n}] {}:{}-{}{heading} {:.4}",
            display_source(&h.source),
            h.line_start,
            h.line_end,
            h.score
        );
    }
    Ok(())
}

fn eval_answers_cmd(
    args: &Args,
    a: &EvalArgs,
    file: &roadmap_rag::squad::SquadFile,
    g: &crate::cli::Globals,
) -> Result<()> {
    if a.k == 0 || a.questions == Some(0) {
        bail!("-k and --questions must be at least 1");
    }
    let embedder = load_embedder(args, &g.cache_dir())?;
    let mut generator = make_generator(&a.gen, g)?;
    let opts = AnswerEvalOptions {
        articles: a.articles,
        questions: a.questions,
        mode: a
            .mode
            .first()
            .copied()
            .map(Mode::from)
            .unwrap_or(Mode::Hybrid),
        k: a.k,
        progress: !a.json,
    };
    let r = evaluate_answers(file, embedder.as_ref(), generator.as_mut(), &opts)?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    println!(
        "SQuAD answer evaluation: {} questions, generator {}, retrieval {} (k = {}), model {}",
        r.questions,
        r.generator,
        r.retrieval_mode.as_str(),
        r.k,
        embedder.model_id()
    );
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "exact match",
        "token F1",
        "citation support",
        "with citations",
        "attributed",
        "answer contains gold",
        "ms/answer",
    ]);
    t.add_row([
        format!("{:.4}", r.exact_match),
        format!("{:.4}", r.f1),
        format!("{:.4}", r.citation_support),
        format!("{:.4}", r.with_citations),
        format!("{:.4}", r.attributed),
        format!("{:.4}", r.answer_contains_gold),
        format!("{:.1}", r.ms_per_answer),
    ]);
    println!("{t}");
    Ok(())
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

fn chat_cmd(args: &Args, a: &ChatArgs, loc: &StoreLoc, g: &crate::cli::Globals) -> Result<()> {
    use std::io::{BufRead, Write};
    if a.k == 0 {
        bail!("-k must be at least 1");
    }
    let embedder = load_embedder(args, &g.cache_dir())?;
    let store = open_collection(loc, &a.collection, embedder.as_ref(), true, false)?;
    let mut generator = make_generator(&a.gen, g)?;
    let mut mode: Mode = a.mode.into();
    let mut conversation = Conversation::new();
    let mut last: Option<(roadmap_rag::generate::Answer, Vec<roadmap_rag::store::Hit>)> = None;
    eprintln!(
        "asking `{}` with the {} generator; /sources, /reset, /mode dense|bm25|hybrid, /quit",
        a.collection,
        generator.name()
    );
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    loop {
        print!("> ");
        out.flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            println!();
            return Ok(());
        }
        let line = line.trim();
        match line.split_whitespace().next().unwrap_or("") {
            "" => continue,
            "/quit" | "/exit" => return Ok(()),
            "/reset" => {
                conversation.reset();
                last = None;
                println!("conversation forgotten");
                continue;
            }
            "/sources" => {
                match &last {
                    Some((answer, hits)) => print_sources(answer, hits),
                    None => println!("no answer yet"),
                }
                continue;
            }
            "/mode" => {
                mode = match line.split_whitespace().nth(1) {
                    Some("dense") => Mode::Dense,
                    Some("bm25") => Mode::Bm25,
                    Some("hybrid") => Mode::Hybrid,
                    other => {
                        println!(
                            "retrieval mode is {}; /mode takes dense, bm25 or hybrid{}",
                            mode.as_str(),
                            other.map(|o| format!(" (not `{o}`)")).unwrap_or_default()
                        );
                        continue;
                    }
                };
                println!("retrieval mode: {}", mode.as_str());
                continue;
            }
            w if w.starts_with('/') => {
                println!("unknown command `{w}`: /sources, /reset, /mode, /quit");
                continue;
            }
            _ => {}
        }
        let question = match validate_question(line) {
            Ok(q) => q.to_string(),
            Err(e) => {
                println!("{e}");
                continue;
            }
        };
        let standalone = conversation.standalone(&question);
        if standalone != question {
            eprintln!("(searching for: {standalone})");
        }
        let opts = SearchOptions {
            k: a.k,
            mode,
            fusion: args.fusion,
            ..Default::default()
        };
        let hits = search(
            store.as_ref(),
            embedder.as_ref(),
            &a.collection,
            &standalone,
            &opts,
        )?;
        let stream = generator.name() != "extractive";
        let mut on_text = |piece: &str| {
            if stream {
                print!("{piece}");
                let _ = std::io::stdout().flush();
            }
            true
        };
        let history = conversation.history(a.memory);
        match generator.answer_followup(&history, &question, &standalone, &hits, &mut on_text) {
            Ok(answer) => {
                if stream {
                    println!();
                } else {
                    println!("{}", answer.text);
                }
                print_sources(&answer, &hits);
                conversation.push(&question, &standalone, &answer.text);
                last = Some((answer, hits));
            }
            Err(e) => println!("error: {e}"),
        }
    }
}
