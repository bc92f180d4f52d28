//! Library use of the evaluation: `cargo run --release -p roadmap-rag --example squad_eval -- MODEL_DIR [SQUAD.json]`
//! (MODEL_DIR holds all-MiniLM-L6-v2; `hash` instead uses the hashing embedder).
//! Prints the evaluation report as JSON.

use roadmap_rag::eval::{evaluate, EvalOptions};
use roadmap_rag::{squad, HashEmbedder, TextEmbedder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let model = args
        .next()
        .ok_or("usage: squad_eval MODEL_DIR|hash [SQUAD.json]")?;
    let bytes = match args.next() {
        Some(p) => std::fs::read(p)?,
        None => squad::SHIPPED.as_bytes().to_vec(),
    };
    let file = squad::parse(&bytes, "input")?;
    let embedder: Box<dyn TextEmbedder> = if model == "hash" {
        Box::new(HashEmbedder::default())
    } else {
        Box::new(roadmap_embed::Embedder::load(
            std::path::Path::new(&model),
            Default::default(),
        )?)
    };
    let report = evaluate(&file, embedder.as_ref(), &EvalOptions::default())?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
