//! Side-by-side throughput, the same measurement as the sentence-transformers
//! anchor script: embed every non-empty line of a file at each batch size and
//! print sentences per second (best of `--reps`), plus the cosine of each row
//! to the first batch size's rows.
//!
//! ```text
//! cargo run --release -p roadmap-embed --example throughput -- MODEL_DIR sentences.txt 1,32 --threads 2 --reps 3
//! ```

use std::time::Instant;

use roadmap_embed::{cosine, Embedder, EmbedderOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .map(|i| args[i + 1].clone())
    };
    let usage =
        "usage: throughput MODEL_DIR SENTENCES.txt 1,32 [--threads N] [--reps N] [--out PREFIX]";
    let model_dir = args.first().ok_or(usage)?;
    let path = args.get(1).ok_or(usage)?;
    let batches: Vec<usize> = args
        .get(2)
        .ok_or(usage)?
        .split(',')
        .map(|b| b.parse())
        .collect::<Result<_, _>>()?;
    let threads: usize = flag("--threads")
        .map(|t| t.parse())
        .transpose()?
        .unwrap_or(2);
    let reps: usize = flag("--reps").map(|t| t.parse()).transpose()?.unwrap_or(1);
    let text = std::fs::read_to_string(path)?;
    let sents: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut first: Option<Vec<Vec<f32>>> = None;
    for &bs in &batches {
        let t0 = Instant::now();
        let e = Embedder::load(
            model_dir.as_ref(),
            EmbedderOptions {
                threads,
                batch_size: bs,
                max_seq_len: 256,
            },
        )?;
        let load = t0.elapsed().as_secs_f64();
        e.embed(&sents[..4.min(sents.len())])?; // warm-up
        let mut best = f64::INFINITY;
        let mut out = Vec::new();
        for _ in 0..reps {
            let t = Instant::now();
            out = e.embed(&sents)?;
            best = best.min(t.elapsed().as_secs_f64());
        }
        let min_cos = match &first {
            Some(f) => f
                .iter()
                .zip(&out)
                .map(|(a, b)| cosine(a, b))
                .fold(1.0f32, f32::min),
            None => 1.0,
        };
        println!(
            "rust-roadmap-embed batch={bs:>3} sentences={} time={best:.3}s throughput={:.1} sent/s (threads={threads}, best of {reps}, load {load:.2}s, min cosine to batch {}: {min_cos:.7})",
            sents.len(),
            sents.len() as f64 / best,
            batches[0]
        );
        if let Some(prefix) = flag("--out") {
            let bytes: Vec<u8> = out.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
            std::fs::write(format!("{prefix}.bs{bs}.f32"), bytes)?;
        }
        first.get_or_insert(out);
    }
    Ok(())
}
