//! `roadmap rag eval`: retrieval quality on SQuAD (hit@k, MRR, nDCG), or answer quality with `--answers`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use super::*;
use crate::resolve::rag::load_squad;
use crate::runners::rag_eval::print_eval;
use roadmap_rag::answers::{evaluate_answers, AnswerEvalOptions};
use roadmap_rag::eval::{evaluate, evaluate_in, EvalOptions};
use roadmap_rag::retrieve::{Fusion, Mode};
use roadmap_rag::PgStore;

#[derive(Debug, clap::Args)]
pub(super) struct EvalArgs {
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

pub(super) fn eval_cmd(
    args: &Args,
    a: &EvalArgs,
    loc: &StoreLoc,
    g: &crate::cli::Globals,
) -> Result<()> {
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

pub(super) fn eval_answers_cmd(
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
