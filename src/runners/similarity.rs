//! `roadmap run phase4`: semantic similarity search in a document.
//!
//! Splits the document into sentences (streamed), embeds them with
//! all-MiniLM-L6-v2 through the SQLite embedding cache, and answers queries
//! with the top-k most similar sentences (or, with `--pairs`, the most similar
//! sentence pairs). Every run also embeds the 40 built-in reference sentences
//! and reports the worst cosine to sentence-transformers' vectors, which is
//! what the milestone's criterion checks.
//!
//! With `--query` and no `--pairs`, the document is scored batch by batch and
//! only the best k sentences are kept, so memory stays bounded whatever the
//! document's size. Otherwise the vectors are kept in memory (up to
//! `--max-sentences`) so that queries need no re-embedding.

use std::collections::BinaryHeap;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{ArgMatches, CommandFactory, Parser};
use indicatif::{ProgressBar, ProgressStyle};
use roadmap_embed::{Embedder, EmbeddingCache, Index, Sentence, SentenceReader};
use serde_json::json;

use super::{flags, RunContext, RunOutcome, Runner};
use crate::resolve::EmbedderFlags;

pub struct Similarity;

/// The sample document used when no `--doc` is given (original prose about machine learning).
pub const SAMPLE_DOCUMENT: &str = include_str!("../../data/sample_document.txt");

#[derive(Debug, Parser)]
#[command(
    name = "roadmap run phase4",
    about = "Find the sentences of a document most similar to a query"
)]
struct Args {
    /// The document to search (UTF-8 text) [default: the shipped sample document].
    #[arg(long, value_name = "FILE")]
    doc: Option<PathBuf>,
    /// The query. Without it, on a terminal, an interactive prompt answers query after query.
    #[arg(long, short)]
    query: Option<String>,
    /// How many results to show (1..=10000).
    #[arg(short, long, default_value_t = 5,
          value_parser = crate::flags::count_in(1..=10_000))]
    k: usize,
    /// Show the k most similar sentence pairs within the document.
    #[arg(long)]
    pairs: bool,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    embedder: EmbedderFlags,
    /// The embedding cache [default: <cache dir>/embeddings.sqlite].
    #[arg(long, value_name = "FILE")]
    cache: Option<PathBuf>,
    /// Do not read or write the embedding cache.
    #[arg(long)]
    no_cache: bool,
    /// Most sentences kept in memory (interactive mode and --pairs); a longer
    /// document needs --query, which streams.
    #[arg(long, default_value_t = 200_000,
          value_parser = crate::flags::count_in(1..=20_000_000))]
    max_sentences: usize,
}

impl Runner for Similarity {
    fn name(&self) -> &'static str {
        "similarity"
    }

    fn metrics(&self) -> &'static [&'static str] {
        &[
            "sentences",
            "embed_seconds",
            "sentences_per_second",
            "embedded",
            "cache_hits",
            "reference_min_cosine",
            "query_ms",
        ]
    }

    fn command(&self) -> clap::Command {
        Args::command()
    }

    fn run(&self, ctx: &RunContext, args: &ArgMatches) -> Result<RunOutcome> {
        let args: Args = flags(args)?;
        run(ctx, args)
    }
}

struct Scored {
    score: f32,
    sentence: Sentence,
}
impl PartialEq for Scored {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == std::cmp::Ordering::Equal
    }
}
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Scored {
    /// Reversed, so a max-heap's top is the worst kept hit (earlier sentence wins ties).
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        o.score
            .total_cmp(&self.score)
            .then(self.sentence.start.cmp(&o.sentence.start))
    }
}

fn run(ctx: &RunContext, args: Args) -> Result<RunOutcome> {
    let t_load = Instant::now();
    let embedder = args.embedder.load(&ctx.cache_dir)?;
    let load_seconds = t_load.elapsed().as_secs_f64();
    let reference_min_cosine = roadmap_embed::reference::min_cosine(&embedder)? as f64;
    eprintln!(
        "model {} ({} dims, {} threads) loaded in {:.2}s; fidelity to sentence-transformers on 40 reference sentences: min cosine {:.6}",
        embedder.model_id(),
        embedder.dim(),
        embedder.options().threads,
        load_seconds,
        reference_min_cosine
    );

    let cache = if args.no_cache {
        None
    } else {
        let path = args
            .cache
            .clone()
            .unwrap_or_else(|| ctx.cache_dir.join("embeddings.sqlite"));
        Some(EmbeddingCache::open(&path)?)
    };

    // The document, streamed.
    let (reader, doc_name, total_bytes): (Box<dyn Read>, PathBuf, u64) = match &args.doc {
        Some(p) => {
            let f = std::fs::File::open(p)
                .with_context(|| format!("cannot open the document {}", p.display()))?;
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            (Box::new(std::io::BufReader::new(f)), p.clone(), len)
        }
        None => (
            Box::new(SAMPLE_DOCUMENT.as_bytes()),
            PathBuf::from("<sample document>"),
            SAMPLE_DOCUMENT.len() as u64,
        ),
    };
    let mut sentences = SentenceReader::new(reader, &doc_name);
    let bar = ProgressBar::new(total_bytes).with_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta} left)")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message("embedding sentences");

    let query_vec = match &args.query {
        Some(q) if !q.trim().is_empty() => Some(embedder.embed(&[q.as_str()])?.remove(0)),
        Some(_) => bail!("--query is empty: give a sentence to search for"),
        None => None,
    };
    let streaming = query_vec.is_some() && !args.pairs;

    let mut kept: Vec<Sentence> = Vec::new();
    let mut index = Index::new(embedder.dim());
    let mut top: BinaryHeap<Scored> = BinaryHeap::new();
    let (mut count, mut embedded, mut hits) = (0usize, 0usize, 0usize);
    let t_embed = Instant::now();
    const CHUNK: usize = 512;
    loop {
        let mut batch: Vec<Sentence> = Vec::with_capacity(CHUNK);
        for s in sentences.by_ref() {
            batch.push(s?);
            if batch.len() == CHUNK {
                break;
            }
        }
        if batch.is_empty() {
            break;
        }
        count += batch.len();
        if !streaming && count > args.max_sentences {
            bar.finish_and_clear();
            bail!(
                "{} has more than {} sentences, too many to keep in memory: search it with --query (streamed), \
                 or raise --max-sentences",
                doc_name.display(),
                args.max_sentences
            );
        }
        let texts: Vec<&str> = batch.iter().map(|s| s.text.as_str()).collect();
        let vecs = match &cache {
            Some(c) => {
                let (v, st) = c.get_or_embed_with_stats(&embedder, &texts, &mut |_| {})?;
                embedded += st.embedded;
                hits += st.hits;
                v
            }
            None => {
                embedded += texts.len();
                embedder.embed(&texts)?
            }
        };
        bar.set_position(sentences.bytes_read() as u64);
        if let Some(q) = &query_vec.as_ref().filter(|_| streaming) {
            for (s, v) in batch.into_iter().zip(&vecs) {
                let score = roadmap_embed::kernels::dot(q, v);
                if top.len() < args.k || score > top.peek().map_or(f32::NEG_INFINITY, |w| w.score) {
                    top.push(Scored { score, sentence: s });
                    if top.len() > args.k {
                        top.pop();
                    }
                }
            }
        } else {
            for v in &vecs {
                index.push(v);
            }
            kept.extend(batch);
        }
    }
    let embed_seconds = t_embed.elapsed().as_secs_f64();
    bar.finish_and_clear();
    if count == 0 {
        bail!(
            "{} has no sentences (it is empty or holds only whitespace and punctuation): give a document with text",
            doc_name.display()
        );
    }
    eprintln!(
        "{count} sentences in {embed_seconds:.2}s ({:.0}/s): {embedded} embedded, {hits} from the cache",
        count as f64 / embed_seconds
    );

    let mut out = json!({
        "document": doc_name.display().to_string(),
        "model": embedder.model_id(),
        "sentences": count,
    });
    let mut query_ms = None;
    if let Some(q) = &query_vec {
        let t = Instant::now();
        let hits: Vec<(f32, Sentence)> = if streaming {
            let mut v: Vec<Scored> = top.into_vec();
            v.sort();
            v.into_iter().map(|s| (s.score, s.sentence)).collect()
        } else {
            index
                .top_k(q, args.k)
                .into_iter()
                .map(|h| (h.score, kept[h.index].clone()))
                .collect()
        };
        query_ms = Some(t.elapsed().as_secs_f64() * 1e3);
        let query = args.query.as_deref().unwrap_or_default();
        if args.json {
            out["query"] = json!(query);
            out["results"] = results_json(&hits);
        } else {
            print_results(query, &hits);
        }
    }
    if args.pairs {
        let pairs = index.top_pairs(args.k, |i, j| kept[i].text == kept[j].text);
        if args.json {
            out["pairs"] = pairs
                .iter()
                .enumerate()
                .map(|(r, p)| json!({"rank": r + 1, "score": p.score, "a": sentence_json(&kept[p.i]), "b": sentence_json(&kept[p.j])}))
                .collect();
        } else {
            println!("The {} most similar sentence pairs:", pairs.len());
            for (r, p) in pairs.iter().enumerate() {
                println!("{:>3}. {:.4}", r + 1, p.score);
                for s in [&kept[p.i], &kept[p.j]] {
                    println!("     line {:>5}: {}", s.line, s.text);
                }
            }
        }
    }
    if query_vec.is_none() && !args.json {
        if std::io::stdin().is_terminal() {
            interactive(&embedder, &index, &kept, args.k)?;
        } else if !args.pairs {
            eprintln!("indexed {count} sentences; pass --query TEXT (or run on a terminal for a prompt) to search");
        }
    }
    if args.json {
        if query_vec.is_none() {
            out["results"] = json!([]);
        }
        println!("{out}");
    }

    let mut outcome = RunOutcome {
        params: json!({
            "doc": doc_name.display().to_string(),
            "query": args.query,
            "k": args.k,
            "pairs": args.pairs,
            "model": embedder.model_id(),
            "threads": embedder.options().threads,
            "batch_size": args.embedder.batch_size,
            "cache": !args.no_cache,
        }),
        ..Default::default()
    };
    let m = &mut outcome.metrics;
    m.insert("sentences".into(), count as f64);
    m.insert("embed_seconds".into(), embed_seconds);
    m.insert(
        "sentences_per_second".into(),
        count as f64 / embed_seconds.max(1e-9),
    );
    m.insert("embedded".into(), embedded as f64);
    m.insert("cache_hits".into(), hits as f64);
    m.insert("reference_min_cosine".into(), reference_min_cosine);
    if let Some(ms) = query_ms {
        m.insert("query_ms".into(), ms);
    }
    Ok(outcome)
}

fn sentence_json(s: &Sentence) -> serde_json::Value {
    json!({"sentence": s.text, "start": s.start, "end": s.end, "line": s.line})
}

fn results_json(hits: &[(f32, Sentence)]) -> serde_json::Value {
    hits.iter()
        .enumerate()
        .map(|(r, (score, s))| {
            json!({"rank": r + 1, "score": score, "sentence": s.text, "start": s.start, "end": s.end, "line": s.line})
        })
        .collect()
}

fn print_results(query: &str, hits: &[(f32, Sentence)]) {
    println!("Top {} for \"{query}\":", hits.len());
    for (r, (score, s)) in hits.iter().enumerate() {
        println!(
            "{:>3}. {score:.4}  line {}, bytes {}..{}: {}",
            r + 1,
            s.line,
            s.start,
            s.end,
            s.text
        );
    }
}

/// Answers queries typed at a prompt until an empty line or end of input.
fn interactive(embedder: &Embedder, index: &Index, kept: &[Sentence], k: usize) -> Result<()> {
    println!(
        "{} sentences indexed. Type a query (empty line or Ctrl-D to quit).",
        kept.len()
    );
    let stdin = std::io::stdin();
    let mut line = String::new();
    loop {
        print!("query> ");
        std::io::stdout().flush()?;
        line.clear();
        if stdin.lock().read_line(&mut line)? == 0 || line.trim().is_empty() {
            return Ok(());
        }
        let q = embedder.embed(&[line.trim()])?.remove(0);
        let t = Instant::now();
        let hits: Vec<(f32, Sentence)> = index
            .top_k(&q, k)
            .into_iter()
            .map(|h| (h.score, kept[h.index].clone()))
            .collect();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        print_results(line.trim(), &hits);
        println!("     (search {ms:.2} ms)");
    }
}
