//! `roadmap rag chat`: interactive questions and answers with follow-up memory.

use anyhow::{bail, Result};

use super::*;
use crate::knowledge;
use roadmap_rag::conversation::Conversation;
use roadmap_rag::generate::validate_question;
use roadmap_rag::retrieve::{search, Mode, SearchOptions};

#[derive(Debug, clap::Args)]
pub(super) struct ChatArgs {
    /// The collection to answer from (`roadmap` is the built-in knowledge base).
    #[arg(long, default_value = knowledge::COLLECTION)]
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

pub(super) fn chat_cmd(
    args: &Args,
    a: &ChatArgs,
    loc: &StoreLoc,
    g: &crate::cli::Globals,
) -> Result<()> {
    use std::io::{BufRead, Write};
    if a.k == 0 {
        bail!("-k must be at least 1");
    }
    let embedder = load_embedder(args, &g.cache_dir())?;
    let store = open_collection(g, loc, &a.collection, embedder.as_ref(), true, false)?;
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
