//! `roadmap embed`: sentence embeddings for other tools.
//!
//! Embeds every line of a file (one input per line, kept byte for byte) with
//! all-MiniLM-L6-v2 and writes the vectors as little-endian float32, row-major,
//! one row per input line (the format of `data/embeddings_reference`), or as
//! JSON. The library is `roadmap-embed`; this file resolves the model and does I/O.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use roadmap_embed::EmbeddingCache;

use super::Globals;
use crate::resolve::EmbedderFlags;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The input: UTF-8 text, one input per line (empty lines are embedded too, to keep rows aligned).
    #[arg(long, value_name = "FILE")]
    file: PathBuf,
    /// Write the vectors here as little-endian float32, row-major (lines × dims).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print one JSON object: {model, dim, count, seconds, embeddings: [[...], ...]}
    /// (without the vectors when --out is given).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    embedder: EmbedderFlags,
    /// Read and fill this embedding cache (SQLite) [default: no cache].
    #[arg(long, value_name = "FILE")]
    cache: Option<PathBuf>,
}

pub fn run(args: Args, g: &Globals) -> Result<()> {
    if args.out.is_none() && !args.json {
        bail!("nothing to write: give --out FILE (float32 rows) and/or --json");
    }
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    if let Some(pos) = bytes.iter().position(|&b| b == 0) {
        bail!(
            "{}: a NUL byte at byte {pos}: this looks like a binary file, not UTF-8 text",
            args.file.display()
        );
    }
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.valid_up_to();
            let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            bail!(
                "{}: not valid UTF-8 at byte {at} (line {line}): convert the file to UTF-8 (for example with iconv)",
                args.file.display()
            );
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        bail!("{} is empty: give one input per line", args.file.display());
    }
    let embedder = args.embedder.load(&g.cache_dir())?;
    let bar = ProgressBar::new(lines.len() as u64).with_style(
        ProgressStyle::with_template("embedding [{bar:30}] {pos}/{len} ({per_sec}, {eta} left)")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let t = Instant::now();
    let mut tick = |n: usize| bar.inc(n as u64);
    let vecs = match &args.cache {
        Some(p) => EmbeddingCache::open(p)?.get_or_embed(&embedder, &lines, &mut tick)?,
        None => embedder.embed_with_progress(&lines, &mut tick)?,
    };
    let seconds = t.elapsed().as_secs_f64();
    bar.finish_and_clear();
    if let Some(out) = &args.out {
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(out)
                .with_context(|| format!("cannot create {}", out.display()))?,
        );
        for v in &vecs {
            for x in v {
                w.write_all(&x.to_le_bytes())?;
            }
        }
        w.flush()
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    eprintln!(
        "{} lines embedded with {} in {seconds:.2}s ({:.0}/s){}",
        vecs.len(),
        embedder.model_id(),
        vecs.len() as f64 / seconds.max(1e-9),
        args.out
            .as_ref()
            .map(|o| format!(" -> {}", o.display()))
            .unwrap_or_default()
    );
    if args.json {
        let mut obj = serde_json::json!({
            "model": embedder.model_id(),
            "dim": embedder.dim(),
            "count": vecs.len(),
            "seconds": seconds,
        });
        match &args.out {
            Some(o) => obj["out"] = serde_json::json!(o.display().to_string()),
            None => obj["embeddings"] = serde_json::json!(vecs),
        }
        println!("{obj}");
    }
    Ok(())
}
