//! End-to-end behaviour of the knowledge base with the deterministic hashing
//! embedder: incremental ingest, pruning, model refusal, odd files, spans,
//! retrieval filters, and the SQuAD evaluation on a tiny hand-made file.

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};

use roadmap_rag::chunk::{chunk_document, ChunkConfig};
use roadmap_rag::eval::{evaluate, EvalOptions};
use roadmap_rag::extract::{extract, Kind};
use roadmap_rag::ingest::{ingest_paths, IngestOptions};
use roadmap_rag::retrieve::{search, Mode, SearchOptions};
use roadmap_rag::{HashEmbedder, RagError, SqliteStore, TextEmbedder, VectorStore};

mod common;
use common::{corpus, opts, GUIDE};

fn ingest(
    store: &mut SqliteStore,
    emb: &dyn TextEmbedder,
    dir: &Path,
    o: &IngestOptions,
) -> roadmap_rag::ingest::IngestSummary {
    ingest_paths(store, emb, &[dir.to_path_buf()], o).unwrap()
}

#[test]
fn ingest_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let emb = HashEmbedder::default();
    let mut store = SqliteStore::open(&dir.path().join("s/rag.sqlite")).unwrap();
    let first = ingest(&mut store, &emb, dir.path(), &opts());
    assert_eq!((first.added, first.changed, first.unchanged), (4, 0, 0));
    assert!(first.chunks_embedded >= 4);
    let snap = store.snapshot("t").unwrap();
    assert_eq!(snap.len(), first.chunks_embedded);
    let second = ingest(&mut store, &emb, dir.path(), &opts());
    assert_eq!(
        (
            second.added,
            second.changed,
            second.unchanged,
            second.chunks_embedded
        ),
        (0, 0, 4, 0)
    );
    assert_eq!(store.snapshot("t").unwrap(), snap);
    store.check_integrity().unwrap();
}

#[test]
fn changed_document_is_replaced_and_prune_removes_gone_files() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let emb = HashEmbedder::default();
    let mut store = SqliteStore::in_memory().unwrap();
    ingest(&mut store, &emb, dir.path(), &opts());
    fs::write(
        dir.path().join("notes.txt"),
        "Kettles whistle loudly. Penguins waddle.\n",
    )
    .unwrap();
    let s = ingest(&mut store, &emb, dir.path(), &opts());
    assert_eq!((s.added, s.changed, s.unchanged), (0, 1, 3));
    let bm25 = SearchOptions {
        mode: Mode::Bm25,
        ..Default::default()
    };
    let hits = search(&store, &emb, "t", "penguins", &bm25).unwrap();
    assert!(hits[0].text.contains("Penguins"));
    assert!(
        search(&store, &emb, "t", "teapots steep", &bm25)
            .unwrap()
            .is_empty(),
        "old chunks are gone"
    );
    // The store equals a fresh ingest of the new files: nothing duplicated or left over.
    let mut fresh = SqliteStore::in_memory().unwrap();
    ingest(&mut fresh, &emb, dir.path(), &opts());
    assert_eq!(store.snapshot("t").unwrap(), fresh.snapshot("t").unwrap());

    fs::remove_file(dir.path().join("sub/more.md")).unwrap();
    let kept = ingest(&mut store, &emb, dir.path(), &opts());
    assert_eq!(kept.removed, 0, "without --prune nothing is removed");
    assert!(store
        .snapshot("t")
        .unwrap()
        .iter()
        .any(|c| c.0.ends_with("more.md")));
    let pruned = ingest(
        &mut store,
        &emb,
        dir.path(),
        &IngestOptions {
            prune: true,
            ..opts()
        },
    );
    assert_eq!(pruned.removed, 1);
    assert!(!store
        .snapshot("t")
        .unwrap()
        .iter()
        .any(|c| c.0.ends_with("more.md")));
    assert!(search(&store, &emb, "t", "volcanoes", &bm25)
        .unwrap()
        .is_empty());
    store.check_integrity().unwrap();
}

/// An embedder that fails on its n-th call: an ingest that dies half-way.
struct Flaky {
    inner: HashEmbedder,
    calls_left: Cell<usize>,
}

impl TextEmbedder for Flaky {
    fn embed(&self, texts: &[&str]) -> roadmap_rag::Result<Vec<Vec<f32>>> {
        if self.calls_left.get() == 0 {
            return Err(RagError::Embed("simulated crash".into()));
        }
        self.calls_left.set(self.calls_left.get() - 1);
        self.inner.embed(texts)
    }
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn model_id(&self) -> String {
        self.inner.model_id()
    }
    fn count_tokens(&self, text: &str) -> usize {
        self.inner.count_tokens(text)
    }
}

#[test]
fn interrupted_ingest_then_rerun_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..12 {
        fs::write(
            dir.path().join(format!("d{i:02}.txt")),
            format!("Document {i} talks about topic {i}. It is short.\n"),
        )
        .unwrap();
    }
    let flaky = Flaky {
        inner: HashEmbedder::default(),
        calls_left: Cell::new(5),
    };
    let mut store = SqliteStore::in_memory().unwrap();
    let err = ingest_paths(&mut store, &flaky, &[dir.path().to_path_buf()], &opts()).unwrap_err();
    assert!(err.to_string().contains("simulated crash"));
    assert_eq!(
        store.snapshot("t").unwrap().len(),
        5,
        "the documents before the failure are committed whole"
    );
    let emb = HashEmbedder::default();
    let rerun = ingest(&mut store, &emb, dir.path(), &opts());
    assert_eq!((rerun.added, rerun.unchanged), (7, 5));
    let mut fresh = SqliteStore::in_memory().unwrap();
    ingest(&mut fresh, &emb, dir.path(), &opts());
    assert_eq!(store.snapshot("t").unwrap(), fresh.snapshot("t").unwrap());
    store.check_integrity().unwrap();
}

#[test]
fn a_collection_refuses_another_model() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let mut store = SqliteStore::in_memory().unwrap();
    ingest(&mut store, &HashEmbedder::new(384), dir.path(), &opts());
    let err = ingest_paths(
        &mut store,
        &HashEmbedder::new(128),
        &[dir.path().to_path_buf()],
        &opts(),
    )
    .unwrap_err();
    assert!(matches!(err, RagError::ModelMismatch { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("hash-bow-384") && msg.contains("hash-bow-128"),
        "{msg}"
    );
    assert!(msg.contains("--reembed"), "the error names the fix: {msg}");
    let err = search(
        &store,
        &HashEmbedder::new(128),
        "t",
        "giraffes",
        &SearchOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, RagError::ModelMismatch { .. }));
    // After dropping the collection the new model is accepted.
    store.drop_collection("t").unwrap();
    ingest(&mut store, &HashEmbedder::new(128), dir.path(), &opts());
    store.check_integrity().unwrap();
}

#[test]
fn odd_files_are_skipped_and_listed_never_fatal() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    fs::write(dir.path().join("image.png"), [0x89, b'P', b'N', b'G']).unwrap();
    fs::write(dir.path().join("data.csv"), "a,b\n1,2\n").unwrap();
    fs::write(dir.path().join("empty.txt"), "").unwrap();
    fs::write(dir.path().join("latin1.txt"), b"caf\xe9\n").unwrap();
    fs::write(dir.path().join("broken.pdf"), b"%PDF-1.4 not really").unwrap();
    fs::write(dir.path().join("other.json"), "{\"rows\": [1, 2]}").unwrap();
    fs::create_dir_all(dir.path().join(".git")).unwrap();
    fs::write(dir.path().join(".git/HEAD.txt"), "hidden").unwrap();
    let mut store = SqliteStore::in_memory().unwrap();
    let s = ingest(&mut store, &HashEmbedder::default(), dir.path(), &opts());
    assert_eq!(s.added, 4);
    let reason = |name: &str| {
        s.skipped
            .iter()
            .find(|(p, _)| p.ends_with(name))
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("{name} not listed in {:?}", s.skipped))
    };
    assert!(reason("image.png").contains("unsupported"));
    assert!(reason("data.csv").contains("unsupported"));
    assert!(reason("empty.txt").contains("empty"));
    assert!(reason("latin1.txt").contains("UTF-8"));
    assert!(reason("broken.pdf").contains("PDF"));
    assert!(reason("other.json").contains("SQuAD"));
    assert_eq!(
        s.skipped.len(),
        6,
        "hidden folders are not walked: {:?}",
        s.skipped
    );
}

#[test]
fn huge_files_are_chunked_or_skipped_by_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let sentence = "The quick brown fox jumps over the lazy dog near the river bank. ";
    let big: String = (0..40_000)
        .map(|i| {
            if i % 50 == 49 {
                format!("{sentence}\n\n")
            } else {
                sentence.to_string()
            }
        })
        .collect();
    fs::write(dir.path().join("big.txt"), &big).unwrap();
    assert!(big.len() > 2_500_000);
    let emb = HashEmbedder::default();
    let mut store = SqliteStore::in_memory().unwrap();
    let s = ingest(&mut store, &emb, dir.path(), &opts());
    assert_eq!(s.added, 1);
    assert!(s.chunks_embedded > 2000, "{}", s.chunks_embedded);
    for (_, start, end, _, text) in store.snapshot("t").unwrap() {
        assert_eq!(&big[start..end], text);
        assert!(emb.count_tokens(&text) <= ChunkConfig::default().max_tokens);
    }
    let mut store = SqliteStore::in_memory().unwrap();
    let small = IngestOptions {
        max_file_bytes: 1_000_000,
        ..opts()
    };
    let s = ingest(&mut store, &emb, dir.path(), &small);
    assert_eq!(s.added, 0);
    assert!(s.skipped[0].1.contains("too large"), "{:?}", s.skipped);
}

#[test]
fn chunk_spans_slice_back_to_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let mut md = String::from("Preamble line.\n\n# Alpha\n\n");
    for i in 0..80 {
        md.push_str(&format!(
            "Alpha sentence {i} mentions ünïcödé and emoji 🚀 and more words here. "
        ));
        if i % 7 == 6 {
            md.push_str("\n\n");
        }
    }
    md.push_str("\n\n## Beta\n\n```\n# not a heading\n```\nBeta text.\n\n# Gamma\n\nGamma text.\n");
    let path = dir.path().join("doc.md");
    fs::write(&path, &md).unwrap();
    let emb = HashEmbedder::default();
    let cfg = ChunkConfig {
        max_tokens: 60,
        overlap_tokens: 15,
    };
    let chunks = chunk_document(
        &extract(Kind::Markdown, md.as_bytes(), "doc.md").unwrap(),
        &cfg,
        &emb,
    );
    assert!(chunks.len() > 10);
    let lines: Vec<&str> = md.split('\n').collect();
    for c in &chunks {
        assert_eq!(&md[c.start..c.end], c.text);
        // The line range covers exactly the chunk's first and last lines.
        assert!(lines[c.line_start - 1].contains(c.text.lines().next().unwrap()));
        assert!(lines[c.line_end - 1].contains(c.text.lines().last().unwrap()));
        assert!(
            emb.count_tokens(&c.embed_text()) <= 60,
            "{}",
            c.embed_text()
        );
    }
    let headings: Vec<String> = chunks.iter().map(|c| c.heading.join(">")).collect();
    assert_eq!(headings.first().unwrap(), "");
    assert!(headings.contains(&"Alpha".to_string()));
    assert!(headings.contains(&"Alpha>Beta".to_string()));
    assert_eq!(headings.last().unwrap(), "Gamma");
    // Stored chunks keep spans too, and the stored text resolves them.
    let mut store = SqliteStore::in_memory().unwrap();
    ingest_paths(
        &mut store,
        &emb,
        std::slice::from_ref(&path),
        &IngestOptions {
            chunking: cfg,
            ..opts()
        },
    )
    .unwrap();
    let source = fs::canonicalize(&path).unwrap().display().to_string();
    assert_eq!(store.document_text("t", &source).unwrap().unwrap(), md);
    for (_, s, e, _, text) in store.snapshot("t").unwrap() {
        assert_eq!(&md[s..e], text);
    }
}

fn tiny_pdf(text: &str) -> Vec<u8> {
    let stream = format!("BT /F1 12 Tf 72 712 Td ({text}) Tj ET");
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).bytes());
    for off in offsets {
        out.extend(format!("{off:010} 00000 n \n").bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .bytes(),
    );
    out
}

#[test]
fn pdf_text_layer_is_ingested() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("paper.pdf"),
        tiny_pdf("Narwhals have a long tusk."),
    )
    .unwrap();
    let emb = HashEmbedder::default();
    let mut store = SqliteStore::in_memory().unwrap();
    let s = ingest(&mut store, &emb, dir.path(), &opts());
    assert_eq!(s.added, 1, "{:?}", s.skipped);
    let hits = search(
        &store,
        &emb,
        "t",
        "narwhals tusk",
        &SearchOptions {
            mode: Mode::Bm25,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        hits[0].text.contains("Narwhals have a long tusk"),
        "{:?}",
        hits[0].text
    );
}

#[test]
fn search_modes_filters_and_citations() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let emb = HashEmbedder::default();
    let mut store = SqliteStore::in_memory().unwrap();
    ingest(&mut store, &emb, dir.path(), &opts());
    for mode in Mode::ALL {
        let hits = search(
            &store,
            &emb,
            "t",
            "what do I build in phase 4",
            &SearchOptions {
                mode,
                k: 3,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(!hits.is_empty(), "{mode:?}");
        assert_eq!(hits[0].heading, ["Guide", "Phase 4"], "{mode:?}: {hits:?}");
        assert!(hits[0].source.ends_with("guide.md"));
        assert_eq!(&GUIDE[hits[0].start..hits[0].end], hits[0].text);
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    }
    // HTML: text is there, the script is not.
    let bm25 = SearchOptions {
        mode: Mode::Bm25,
        ..Default::default()
    };
    assert!(search(&store, &emb, "t", "giraffes", &bm25).unwrap()[0]
        .source
        .ends_with("page.html"));
    assert!(search(&store, &emb, "t", "zebra", &bm25)
        .unwrap()
        .is_empty());
    // Source prefix filter, in every mode.
    let sub = fs::canonicalize(dir.path().join("sub"))
        .unwrap()
        .display()
        .to_string();
    for mode in Mode::ALL {
        let o = SearchOptions {
            mode,
            k: 10,
            source_prefix: Some(sub.clone()),
            ..Default::default()
        };
        let hits = search(&store, &emb, "t", "phase volcanoes", &o).unwrap();
        assert!(
            !hits.is_empty() && hits.iter().all(|h| h.source.starts_with(&sub)),
            "{mode:?} {hits:?}"
        );
    }
    // MMR returns k distinct chunks.
    let o = SearchOptions {
        k: 3,
        mmr_lambda: Some(0.5),
        ..Default::default()
    };
    let hits = search(&store, &emb, "t", "phase", &o).unwrap();
    assert_eq!(hits.len(), 3);
    let mut ids: Vec<i64> = hits.iter().map(|h| h.chunk_id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    // Bad input.
    assert!(search(&store, &emb, "t", "  ", &bm25)
        .unwrap_err()
        .to_string()
        .contains("empty"));
    assert!(matches!(
        search(&store, &emb, "nope", "x", &bm25).unwrap_err(),
        RagError::NoCollection(_)
    ));
    // Query syntax characters are plain words, never an FTS5 syntax error.
    search(&store, &emb, "t", "\"phase\" AND (OR) NOT * -:^", &bm25).unwrap();
}

pub fn tiny_squad() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny_squad.json")
}

#[test]
fn eval_on_a_tiny_squad_file() {
    let bytes = fs::read(tiny_squad()).unwrap();
    let file = roadmap_rag::squad::parse(&bytes, "tiny").unwrap();
    let report = evaluate(
        &file,
        &HashEmbedder::default(),
        &EvalOptions {
            progress: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        (report.articles, report.paragraphs, report.questions),
        (2, 4, 6)
    );
    assert_eq!(report.chunks, 4, "one chunk per short paragraph");
    for m in &report.modes {
        for v in [m.hit_at_1, m.hit_at_5, m.mrr_at_10, m.ndcg_at_10] {
            assert!((0.0..=1.0).contains(&v));
        }
        // Every question shares rare words with its paragraph only.
        assert_eq!(m.hit_at_1, 1.0, "{m:?}");
        assert_eq!(m.mrr_at_10, 1.0);
        assert!(m.latency_ms_p50 <= m.latency_ms_p95);
    }
    let only_first = evaluate(
        &file,
        &HashEmbedder::default(),
        &EvalOptions {
            articles: Some(1),
            progress: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        (
            only_first.articles,
            only_first.paragraphs,
            only_first.questions
        ),
        (1, 2, 3)
    );
}
