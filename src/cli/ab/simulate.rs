//! `roadmap ab simulate`: an experiment without live users.
//!
//! The questions of a SQuAD-format file are asked by N simulated users
//! (`sim-{seed}-{i}`), each assigned by the experiment's real assignment
//! (`roadmap_abtest::simulate`). Every question is answered inside this
//! process under the user's variant — the variant's overrides (`k`, `mode`,
//! `fusion`, `alpha`, `rrf_k`, `generator`) applied to the service's default
//! retrieval and generation settings — over the SQuAD paragraphs indexed in
//! a private in-memory collection, and scored against the gold answers:
//! hit@k (a retrieved chunk overlaps the question's paragraph, as in
//! `roadmap rag eval`), SQuAD token F1 of the answer, grounding (the answer
//! cites its passages) and no-answer (the generator declined). Latencies are
//! measured, not invented; no thumbs-up is simulated (nobody voted).
//!
//! Exposures and requests are written to the request log through the
//! service's own writer, with the F1 and hit@k in `replay_scores`, in one
//! transaction (`experiment_log::commit_replay`); then the report is read
//! back from the log exactly as `roadmap ab report` reads it.
//!
//! The embedder follows `roadmap rag`: all-MiniLM-L6-v2 by default,
//! `--embedder hash` for a model-free lexical embedder.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use roadmap_abtest::config::{Status, Variant};
use roadmap_abtest::simulate::{simulate, Outcome, Simulation, VariantRunner};
use roadmap_llm::{LoadOptions, LocalLlm};
use roadmap_rag::answers::{f1, max_over_gold, strip_citations};
use roadmap_rag::generate::{ExtractiveGenerator, Generator, LocalGenerator, NO_ANSWER};
use roadmap_rag::ingest::{index_document, IngestOptions};
use roadmap_rag::retrieve::{search, SearchOptions};
use roadmap_rag::squad::EvalQuestion;
use roadmap_rag::{RagError, SqliteStore, TextEmbedder, VectorStore};
use roadmap_rag_service::config::{GenerationSection, RetrievalSection};
use roadmap_rag_service::experiment_log::{commit_replay, ReplayScore, REPLAY_SALT};
use roadmap_rag_service::experiments;
use roadmap_rag_service::requestlog::{hash_user, LogWrite, RequestRecord};

use super::{experiments_file, report, shown, store_path, Globals};

/// The default file of replays, next to the service's `rag.sqlite`.
const REPLAY_STORE: &str = "rag-replay.sqlite";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EmbedderChoice {
    Minilm,
    Hash,
}

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The experiment's key in the experiments file
    #[arg(long)]
    experiment: String,
    /// The experiments file [default: the shipped example]
    #[arg(long, env = "ROADMAP_RAG_EXPERIMENTS", value_name = "FILE")]
    experiments: Option<PathBuf>,
    /// A SQuAD-format JSON file whose questions are replayed [default: the shipped SQuAD subset]
    #[arg(long, value_name = "FILE")]
    squad: Option<PathBuf>,
    /// Use only the first N articles of the SQuAD file (paragraphs and questions)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    articles: Option<u32>,
    /// Simulated users (1 to 1,000,000)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    users: u32,
    /// Questions each simulated user asks (1 to 100)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    questions_per_user: u32,
    /// Seed of the users' keys and questions: same seed, same replay
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Drop this share of one variant's users from the log, imitating a logging bug (the SRM check
    /// must catch it), e.g. `rrf=0.2`
    #[arg(long, value_name = "VARIANT=SHARE")]
    lose_exposures: Option<String>,
    /// The SQLite file to write the replay's request log into [default: rag-replay.sqlite in the
    /// data directory, apart from the live service's rag.sqlite so a replay never mixes with (or,
    /// with --replace, deletes) live traffic of the same experiment]
    #[arg(
        long,
        env = "ROADMAP_RAG_STORE",
        hide_env_values = true,
        value_name = "PATH"
    )]
    store: Option<String>,
    /// Replace this experiment's earlier rows in the store (otherwise they are an error)
    #[arg(long)]
    replace: bool,
    /// Embedding model: `minilm` (all-MiniLM-L6-v2) or `hash` (feature hashing, no model files)
    #[arg(long, value_enum, default_value_t = EmbedderChoice::Minilm)]
    embedder: EmbedderChoice,
    /// Directory of all-MiniLM-L6-v2 [default: the asset cache, fetched on first use]
    #[arg(long, value_name = "DIR")]
    model_dir: Option<PathBuf>,
    /// Threads for the embedder [default: all cores]
    #[arg(long)]
    threads: Option<usize>,
    /// Directory of SmolLM2 for variants with generator = "local" [default: the asset cache]
    #[arg(long, value_name = "DIR")]
    llm_model_dir: Option<PathBuf>,
    /// Significance level of the report's tests
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Print the report as one JSON object
    #[arg(long)]
    json: bool,
    /// Also write the report as a self-contained HTML page
    #[arg(long, value_name = "OUT.html")]
    html: Option<PathBuf>,
}

/// What the runner measured for one request beyond the [`Outcome`] (for the log).
struct Detail {
    question_tokens: u32,
    k: u32,
    mode: &'static str,
    generator: &'static str,
    scores: Vec<f64>,
    retrieval_ms: f64,
    generation_ms: f64,
    generated_tokens: u32,
    grounding: &'static str,
}

/// Answers SQuAD questions under a variant's overrides, over the SQuAD
/// paragraphs in a private in-memory collection.
struct Replayer {
    store: SqliteStore,
    embedder: Box<dyn TextEmbedder>,
    gold: HashMap<String, Vec<String>>,
    extractive: ExtractiveGenerator,
    local: Option<LocalGenerator>,
    retrieval: RetrievalSection,
    generation: GenerationSection,
    details: Vec<Detail>,
}

const COLLECTION: &str = "squad-replay";

impl Replayer {
    /// The variant's retrieval settings, exactly as the live service applies them.
    fn search_options(&self, v: &Variant) -> SearchOptions {
        experiments::search_options(&self.retrieval, Some(&v.overrides), None, None)
    }

    fn generator_of(&self, v: &Variant) -> &'static str {
        experiments::generator_for(&self.generation, Some(&v.overrides), None)
    }
}

impl VariantRunner<EvalQuestion> for Replayer {
    type Error = RagError;

    fn run(&mut self, q: &EvalQuestion, variant: &Variant) -> Result<Outcome, RagError> {
        let opts = self.search_options(variant);
        let choice = self.generator_of(variant);
        let t0 = Instant::now();
        let hits = search(
            &self.store,
            self.embedder.as_ref(),
            COLLECTION,
            &q.question,
            &opts,
        )?;
        let retrieval_ms = t0.elapsed().as_secs_f64() * 1e3;
        let t1 = Instant::now();
        let (generator, answer): (&'static str, _) = match choice {
            "extractive" => (
                "extractive",
                self.extractive.answer(&q.question, &hits, &mut |_| true)?,
            ),
            "local" => {
                let g = self.local.as_mut().ok_or_else(|| {
                    RagError::Invalid("the local generator was not loaded".into())
                })?;
                ("local", g.answer(&q.question, &hits, &mut |_| true)?)
            }
            _ => return Err(RagError::Invalid(
                "the openai generator is not replayed (it needs a server); use extractive or local"
                    .into(),
            )),
        };
        let generation_ms = t1.elapsed().as_secs_f64() * 1e3;
        let latency_ms = t0.elapsed().as_secs_f64() * 1e3;
        let overlaps = |s: usize, e: usize| s < q.gold_end && q.gold_start < e;
        let hit = hits.iter().any(|h| overlaps(h.start, h.end));
        let plain = strip_citations(&answer.text);
        let golds = self.gold.get(&q.id).map(Vec::as_slice).unwrap_or(&[]);
        let answer_f1 = (!golds.is_empty()).then(|| max_over_gold(f1, &plain, golds));
        let no_answer = hits.is_empty() || answer.text.trim() == NO_ANSWER;
        let grounding = if !answer.cited.is_empty() {
            "cited"
        } else if !answer.attributed.is_empty() {
            "attributed"
        } else {
            "none"
        };
        self.details.push(Detail {
            question_tokens: q.question.split_whitespace().count() as u32,
            k: opts.k as u32,
            mode: opts.mode.as_str(),
            generator,
            scores: hits.iter().map(|h| h.score).collect(),
            retrieval_ms,
            generation_ms,
            generated_tokens: answer.completion_tokens as u32,
            grounding,
        });
        Ok(Outcome {
            latency_ms,
            grounded: grounding == "cited",
            no_answer,
            answer_length: answer.text.chars().count() as f64,
            answer_f1,
            hit_at_k: Some(hit),
            thumbs_up: None,
        })
    }
}

fn parse_loss(arg: &str, variants: &[Variant]) -> Result<(usize, f64)> {
    let (name, share) = arg
        .split_once('=')
        .with_context(|| format!("--lose-exposures `{arg}` is not VARIANT=SHARE (e.g. rrf=0.2)"))?;
    let names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
    let index = variants
        .iter()
        .position(|v| v.name == name.trim())
        .with_context(|| {
            format!(
                "--lose-exposures: no variant `{}`; the variants are {}",
                name.trim(),
                names.join(", ")
            )
        })?;
    let share: f64 = share
        .trim()
        .parse()
        .ok()
        .filter(|s: &f64| (0.0..=1.0).contains(s))
        .with_context(|| {
            format!(
                "--lose-exposures: share `{}` must be a number from 0 to 1",
                share.trim()
            )
        })?;
    Ok((index, share))
}

pub fn run(a: SimulateArgs, g: &Globals) -> Result<ExitCode> {
    if !(a.alpha > 0.0 && a.alpha < 1.0) {
        bail!(
            "--alpha must be between 0 and 1 (exclusive), got {}",
            a.alpha
        );
    }
    let file = experiments_file(a.experiments.as_deref())?;
    let exp = file.get(&a.experiment)?;
    if exp.status == Status::Stopped {
        bail!(
            "experiment `{}` is stopped: it assigns nobody new, so there is nothing to replay \
             (its logged data can still be analysed with `roadmap ab report`)",
            exp.key
        );
    }
    let lose = a
        .lose_exposures
        .as_deref()
        .map(|s| parse_loss(s, &exp.variants))
        .transpose()?;
    let store_file = match a.store.as_deref() {
        Some(s) => store_path(Some(s), g)?,
        None => g.data_dir()?.join(REPLAY_STORE),
    };

    let squad = crate::resolve::rag::load_squad(a.squad.as_deref())?;
    let corpus = roadmap_rag::squad::corpus(&squad, a.articles.map(|n| n as usize));
    if corpus.questions.is_empty() {
        bail!("the SQuAD file has no questions to replay (its paragraphs have empty `qas`)");
    }
    let gold = squad
        .data
        .iter()
        .flat_map(|art| &art.paragraphs)
        .flat_map(|p| &p.qas)
        .map(|q| {
            (
                q.id.clone(),
                q.answers.iter().map(|x| x.text.clone()).collect(),
            )
        })
        .collect();

    let embedder = crate::resolve::rag::load_text_embedder(
        a.embedder == EmbedderChoice::Hash,
        a.model_dir.as_deref(),
        a.threads,
        &g.cache_dir(),
    )?;
    let mut store = SqliteStore::in_memory()?;
    store.ensure_collection(COLLECTION, &embedder.model_id(), embedder.dim())?;
    let ingest = IngestOptions {
        collection: COLLECTION.into(),
        progress: false,
        ..Default::default()
    };
    let t = Instant::now();
    let chunks = index_document(
        &mut store,
        embedder.as_ref(),
        &ingest,
        "squad",
        "squad-json",
        "-",
        corpus.doc.clone(),
    )
    .context("cannot index the SQuAD paragraphs")?;
    if !a.json {
        eprintln!(
            "indexed {} paragraphs ({chunks} chunks, model {}) in {:.1} s",
            corpus.paragraphs.len(),
            embedder.model_id(),
            t.elapsed().as_secs_f64()
        );
    }
    let mut replayer = Replayer {
        store,
        embedder,
        gold,
        extractive: ExtractiveGenerator::default(),
        local: None,
        retrieval: RetrievalSection::default(),
        generation: GenerationSection::default(),
        details: Vec::new(),
    };
    if exp
        .variants
        .iter()
        .any(|v| replayer.generator_of(v) == "local")
    {
        let dir = match &a.llm_model_dir {
            Some(d) => d.clone(),
            None => roadmap_common::assets::ensure(&g.cache_dir(), "smollm2-135m-instruct")
                .context(
                "cannot get the SmolLM2 model for the `local` variant (pass --llm-model-dir DIR)",
            )?,
        };
        let llm = LocalLlm::load(&dir, &LoadOptions::default())
            .with_context(|| format!("cannot load SmolLM2 from {}", dir.display()))?;
        replayer.local = Some(LocalGenerator::new(llm));
    }
    for v in &exp.variants {
        if v.overrides.memory.is_some() || v.overrides.prompt_template.is_some() {
            eprintln!(
                "note: variant `{}` sets memory or prompt_template; replayed questions are single turns \
                 answered with the default prompt, so those overrides do not change the replay",
                v.name
            );
        }
    }

    let sim = Simulation {
        questions_per_user: a.questions_per_user as usize,
        lose_exposures: lose,
        ..Simulation::new(a.users as usize, a.seed)
    };
    let t = Instant::now();
    let result = simulate(exp, &corpus.questions, &mut replayer, &sim)?;
    let replay_secs = t.elapsed().as_secs_f64();

    // The rows the live service would write: one exposure at a user's first
    // request in the variant, one request row per question.
    let mut writes = Vec::with_capacity(result.requests.len() + result.rows.len());
    let mut scores = Vec::with_capacity(result.requests.len());
    let mut exposed = std::collections::HashSet::new();
    for (n, (r, d)) in result.requests.iter().zip(&replayer.details).enumerate() {
        let user_hash = hash_user(REPLAY_SALT, &r.user);
        let at_unix = r.at.timestamp_micros() as f64 / 1e6;
        if exposed.insert(r.user.clone()) {
            writes.push(LogWrite::Exposure {
                experiment: exp.key.clone(),
                user_hash: user_hash.clone(),
                variant: r.variant.clone(),
                at_unix,
            });
        }
        let q = &corpus.questions[r.question];
        let request_id = format!("replay-{}-{}-{n}", exp.key, a.seed);
        scores.push(ReplayScore {
            request_id: request_id.clone(),
            answer_f1: r.outcome.answer_f1,
            hit_at_k: r.outcome.hit_at_k,
        });
        writes.push(LogWrite::Request(Box::new(RequestRecord {
            request_id,
            at_unix,
            route: "/v1/ask".into(),
            status: 200,
            collection: Some(COLLECTION.into()),
            question: Some(roadmap_common::redact::redact_text(&q.question)),
            question_tokens: Some(d.question_tokens),
            k: Some(d.k),
            mode: Some(d.mode.into()),
            generator: Some(d.generator.into()),
            top_score: d.scores.first().copied(),
            scores: Some(d.scores.clone()),
            answer_chars: Some(r.outcome.answer_length as u32),
            grounding: Some(d.grounding.into()),
            no_answer: Some(r.outcome.no_answer),
            latency_ms: r.outcome.latency_ms,
            retrieval_ms: Some(d.retrieval_ms),
            generation_ms: Some(d.generation_ms),
            generated_tokens: (d.generated_tokens > 0).then_some(d.generated_tokens),
            user_hash: Some(user_hash),
            experiment: Some(exp.key.clone()),
            variant: Some(r.variant.clone()),
            ..Default::default()
        })));
    }
    if let Some(parent) = store_file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let commit = commit_replay(&store_file, &exp.key, &writes, &scores, a.replace)?;
    if !a.json {
        eprintln!(
            "replayed {} users ({} requests) in {:.1} s; {} outside the experiment's coverage, {} dropped by \
             --lose-exposures; wrote {} exposures and {} requests to {}{}",
            result.rows.len(),
            result.requests.len(),
            replay_secs,
            result.not_in_experiment,
            result.lost,
            commit.exposures,
            commit.requests,
            shown(&store_file),
            if commit.replaced_requests > 0 {
                format!(" (replacing {} earlier requests)", commit.replaced_requests)
            } else {
                String::new()
            }
        );
    }
    let report = report::from_store(exp, &store_file, a.alpha)?;
    report::emit(&report, a.json, a.html.as_deref())?;
    Ok(ExitCode::SUCCESS)
}
