//! Library use of the latency benchmark (what `roadmap rag bench` runs):
//! `cargo run --release -p roadmap-rag --example bench -- MODEL_DIR|hash [CHUNKS]`. Prints JSON.

use roadmap_rag::bench::{run, BenchOptions};
use roadmap_rag::{HashEmbedder, TextEmbedder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let model = args.next().ok_or("usage: bench MODEL_DIR|hash [CHUNKS]")?;
    let chunks = args
        .next()
        .map(|c| c.parse())
        .transpose()?
        .unwrap_or(10_000);
    let embedder: Box<dyn TextEmbedder> = if model == "hash" {
        Box::new(HashEmbedder::default())
    } else {
        Box::new(roadmap_embed::Embedder::load(
            std::path::Path::new(&model),
            Default::default(),
        )?)
    };
    let path =
        std::env::temp_dir().join(format!("roadmap-rag-bench-{}.sqlite", std::process::id()));
    let report = run(
        embedder.as_ref(),
        &path,
        &BenchOptions {
            chunks,
            ..Default::default()
        },
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    println!("{}", serde_json::to_string_pretty(&report?)?);
    Ok(())
}
