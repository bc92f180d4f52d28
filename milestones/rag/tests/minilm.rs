//! The knowledge base with the real embedder (all-MiniLM-L6-v2, fetched by the
//! asset manager into the test cache, or `ROADMAP_ALL_MINILM_L6_V2_DIR`).

use std::path::PathBuf;

use roadmap_embed::{Embedder, EmbedderOptions};
use roadmap_rag::chunk::{chunk_document, ChunkConfig};
use roadmap_rag::extract::{extract, Kind};
use roadmap_rag::ingest::{ingest_paths, IngestOptions};
use roadmap_rag::retrieve::{search, Mode, SearchOptions};
use roadmap_rag::{SqliteStore, TextEmbedder};

fn embedder() -> Embedder {
    let cache = std::env::var_os("ROADMAP_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("asset-cache"));
    let dir = roadmap_common::assets::ensure(&cache, "all-minilm-l6-v2")
        .expect("the all-MiniLM-L6-v2 asset");
    Embedder::load(&dir, EmbedderOptions::default()).expect("the model loads")
}

#[test]
fn real_model_chunks_fit_and_dense_retrieval_is_semantic() {
    let emb = embedder();
    assert_eq!(TextEmbedder::dim(&emb), 384);
    assert_eq!(TextEmbedder::max_tokens(&emb), 254);
    // Token counts without [CLS]/[SEP] add up over pieces of text.
    let (a, b) = ("The cat sat on the mat.", "It purred quietly.");
    assert_eq!(
        TextEmbedder::count_tokens(&emb, &format!("{a} {b}")),
        TextEmbedder::count_tokens(&emb, a) + TextEmbedder::count_tokens(&emb, b)
    );
    // Every chunk of a long text fits the model window once its heading is added.
    let mut md = String::from("# Steam engines\n\n");
    for i in 0..120 {
        md.push_str(&format!("A steam engine (number {i}) converts the heat of burning coal into mechanical work using pistons and condensers. "));
    }
    let doc = extract(Kind::Markdown, md.as_bytes(), "s.md").unwrap();
    let chunks = chunk_document(&doc, &ChunkConfig::default(), &emb);
    assert!(chunks.len() >= 8);
    for c in &chunks {
        assert!(
            Embedder::count_tokens(&emb, &c.embed_text()) <= 256,
            "{} tokens",
            Embedder::count_tokens(&emb, &c.embed_text())
        );
        assert_eq!(&md[c.start..c.end], c.text);
    }

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cats.md"),
        "# Cats\n\nKittens grow into cats. They purr and chase mice.\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("finance.md"),
        "# Markets\n\nBond yields rose as the central bank raised interest rates.\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("volcano.md"),
        "# Volcanoes\n\nMagma erupts through vents and cools into basalt.\n",
    )
    .unwrap();
    let mut store = SqliteStore::in_memory().unwrap();
    let opts = IngestOptions {
        collection: "m".into(),
        progress: false,
        ..Default::default()
    };
    let s = ingest_paths(&mut store, &emb, &[dir.path().to_path_buf()], &opts).unwrap();
    assert_eq!(s.added, 3);
    // No word in common with the cat document: only the dense model can find it.
    let q = "feline pets";
    let dense = search(
        &store,
        &emb,
        "m",
        q,
        &SearchOptions {
            mode: Mode::Dense,
            k: 1,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(dense[0].source.ends_with("cats.md"), "{dense:?}");
    let bm25 = search(
        &store,
        &emb,
        "m",
        q,
        &SearchOptions {
            mode: Mode::Bm25,
            k: 1,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(bm25.is_empty());
    let hybrid = search(
        &store,
        &emb,
        "m",
        q,
        &SearchOptions {
            mode: Mode::Hybrid,
            k: 1,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(hybrid[0].source.ends_with("cats.md"));
}
