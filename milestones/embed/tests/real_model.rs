//! Tests on the real all-MiniLM-L6-v2, fetched through the project's asset
//! manager (into `$ROADMAP_CACHE_DIR`, else a folder under `target/`; or the
//! folder `$ROADMAP_ALL_MINILM_L6_V2_DIR` names). No silent skip: if the model
//! cannot be had, these tests fail and say why.

use std::path::PathBuf;
use std::sync::OnceLock;

use roadmap_embed::{cosine, reference, Embedder, EmbedderOptions, EmbeddingCache};

fn model_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let cache = std::env::var_os("ROADMAP_CACHE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("roadmap-assets"));
        roadmap_common::assets::ensure(&cache, roadmap_embed::ASSET_NAME).unwrap_or_else(|e| {
            panic!("cannot get the all-MiniLM-L6-v2 model files (needed by these tests): {e}")
        })
    })
    .clone()
}

fn embedder(threads: usize, batch_size: usize) -> Embedder {
    Embedder::load(
        &model_dir(),
        EmbedderOptions {
            threads,
            batch_size,
            max_seq_len: 256,
        },
    )
    .unwrap()
}

#[test]
fn every_reference_row_matches_sentence_transformers() {
    // Both parallel paths: column split (one sentence, 2 threads) and row split (batches).
    for (threads, batch) in [(1, 32), (2, 32), (2, 1), (1, 7)] {
        let e = embedder(threads, batch);
        assert_eq!(e.model_id(), "all-MiniLM-L6-v2");
        assert_eq!(e.dim(), 384);
        let c = reference::cosines(&e).unwrap();
        assert_eq!(c.len(), 40);
        for (i, c) in c.iter().enumerate() {
            assert!(
                *c >= 0.9999,
                "threads {threads} batch {batch}: row {i} cosine {c}"
            );
        }
    }
}

#[test]
fn the_long_reference_sentence_is_truncated_at_256_tokens() {
    let e = embedder(2, 32);
    let sents = reference::sentences();
    let long = sents
        .iter()
        .find(|s| e.count_tokens(s) > 256)
        .expect("one reference sentence exceeds 256 tokens");
    assert_eq!(
        e.tokenizer().encode(*long, true).unwrap().get_ids().len(),
        256
    );
    // Surrounding spaces do not change the vector (sentence-transformers strips them).
    let padded = sents
        .iter()
        .find(|s| s.starts_with(' ') || s.ends_with(' '))
        .expect("a sentence with spaces");
    let v = e.embed(&[padded, padded.trim()]).unwrap();
    assert!(cosine(&v[0], &v[1]) > 0.99999);
}

#[test]
fn similar_sentences_score_higher() {
    let e = embedder(2, 32);
    let v = e
        .embed(&[
            "The cat sat on the mat.",
            "A kitten was resting on the rug.",
            "Quarterly revenue rose by eight percent.",
        ])
        .unwrap();
    assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.2);
}

#[test]
fn cache_embeds_nothing_twice_and_refuses_other_models() {
    let e = embedder(2, 32);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("emb.sqlite");
    let texts = ["alpha beta", "gamma delta", "alpha beta"];
    let cache = EmbeddingCache::open(&path).unwrap();
    let mut ticks = 0;
    let (a, s1) = cache
        .get_or_embed_with_stats(&e, &texts, &mut |n| ticks += n)
        .unwrap();
    assert_eq!((s1.hits, s1.embedded, ticks), (0, 2, 3));
    drop(cache);
    let cache = EmbeddingCache::open(&path).unwrap();
    let (b, s2) = cache
        .get_or_embed_with_stats(&e, &texts, &mut |_| {})
        .unwrap();
    assert_eq!((s2.hits, s2.embedded), (3, 0));
    assert_eq!(a, b);
    assert_eq!(cache.len().unwrap(), 2);
    let err = cache.bind("some-other-model", 384).unwrap_err().to_string();
    assert!(
        err.contains("all-MiniLM-L6-v2") && err.contains("some-other-model"),
        "{err}"
    );
    let err = cache.bind("all-MiniLM-L6-v2", 768).unwrap_err().to_string();
    assert!(err.contains("768"), "{err}");
}
