//! `roadmap rag ask`: one question answered from a collection, with numbered citations.

use anyhow::{bail, Result};

use super::*;
use crate::knowledge;
use roadmap_rag::explain::{explain_answer, MAX_EXPLAINED_PASSAGES as EXPLAIN_MAX_PASSAGES};
use roadmap_rag::generate::validate_question;
use roadmap_rag::retrieve::{search, Mode, SearchOptions};

#[derive(Debug, clap::Args)]
pub(super) struct AskArgs {
    /// The question (at most 2,000 characters).
    #[arg(required = true, num_args = 1..)]
    question: Vec<String>,
    /// The collection to answer from (`roadmap` is the built-in knowledge base).
    #[arg(long, default_value = knowledge::COLLECTION)]
    collection: String,
    /// Chunks retrieved and given to the generator.
    #[arg(short, long, default_value_t = 5)]
    k: usize,
    /// Retrieval: dense vectors, BM25 full text, or both fused.
    #[arg(long, value_enum, default_value_t = ModeArg::Hybrid)]
    mode: ModeArg,
    #[command(flatten)]
    gen: GenArgs,
    /// Explain the answer: exact Shapley values of the retrieved passages (at most 6, so -k ≤ 6)
    /// for the share of the answer's content words each supports, shown next to the sources.
    #[arg(long)]
    explain: bool,
    /// Print one JSON object: answer, citations, generator, retrieval_mode, timings (and explanation).
    #[arg(long)]
    json: bool,
}

pub(super) fn ask_cmd(
    args: &Args,
    a: &AskArgs,
    loc: &StoreLoc,
    g: &crate::cli::Globals,
) -> Result<()> {
    let question = a.question.join(" ");
    let question = validate_question(&question)?.to_string();
    if a.k == 0 {
        bail!("-k must be at least 1");
    }
    if a.explain && a.k > EXPLAIN_MAX_PASSAGES {
        bail!(
            "--explain enumerates every subset of the retrieved passages, so it takes -k {EXPLAIN_MAX_PASSAGES} or less (got -k {}): pass a smaller -k",
            a.k
        );
    }
    let t0 = std::time::Instant::now();
    let embedder = load_embedder(args, &g.cache_dir())?;
    let store = open_collection(g, loc, &a.collection, embedder.as_ref(), !a.json, false)?;
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
    let explanation = if a.explain {
        Some(explain_answer(&answer.text, &hits)?)
    } else {
        None
    };
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
        let mut out = serde_json::json!({
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
        if let Some(e) = &explanation {
            out["explanation"] = serde_json::json!({
                "method": "exact Shapley values over subsets of the retrieved passages",
                "value": "share of the answer's content words found in the passages",
                "base_value": e.empty, "full_value": e.full, "coalitions": e.coalitions,
                "additivity_error": e.additivity_error(),
                "passages": e.values.iter().enumerate().map(|(i, v)| serde_json::json!({
                    "n": i + 1, "source": display_source(&hits[i].source), "shapley": v,
                })).collect::<Vec<_>>(),
            });
        }
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
    if let Some(e) = &explanation {
        println!(
            "why (exact Shapley over {} passage subsets; value = share of the answer's content words supported, {:.3} in all):",
            e.coalitions, e.full
        );
        for (i, v) in e.values.iter().enumerate() {
            println!("[{}] {:+.3} {}", i + 1, v, display_source(&hits[i].source));
        }
    }
    Ok(())
}
