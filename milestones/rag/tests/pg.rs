//! The PostgreSQL + pgvector store against a real server: the same behaviour
//! the SQLite store is tested for (incremental ingest, change, prune, atomic
//! replace, model refusal, spans, search modes, source filter), the same
//! rankings as the SQLite store on SQuAD, and the connection errors.
//!
//! The server comes from `ROADMAP_TEST_PG_URL` (CI starts one with
//! `.ci/setup-postgres`; locally: `milestones/rag/scripts/pgvector-server.sh start DIR`
//! then `export ROADMAP_TEST_PG_URL=$(cat DIR/url)`). Without it these tests
//! print why and return. Every test works in its own PostgreSQL schema, so
//! they run in parallel and leave nothing behind.

use std::fs;
use std::path::Path;

use roadmap_rag::eval::{evaluate_in, EvalOptions, EvalReport};
use roadmap_rag::ingest::{ingest_paths, IngestOptions, IngestSummary};
use roadmap_rag::retrieve::{search, Mode, SearchOptions};
use roadmap_rag::store::{ChunkRecord, DocumentRecord, Hit};
use roadmap_rag::{HashEmbedder, PgStore, RagError, SqliteStore, TextEmbedder, VectorStore};

/// A store in a fresh schema, dropped (with everything in it) at the end.
struct TestStore {
    store: PgStore,
    schema: String,
}

impl Drop for TestStore {
    fn drop(&mut self) {
        let _ = self.store.drop_schema(&self.schema);
    }
}

/// The test server's URL; without one the test skips and says why, except in
/// CI (`CI` set), where a missing server is a failure, never a silent skip.
fn url() -> Option<String> {
    let url = std::env::var("ROADMAP_TEST_PG_URL").ok();
    if url.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but ROADMAP_TEST_PG_URL is not: .ci/setup-postgres must start the server"
        );
        eprintln!(
            "skipped: ROADMAP_TEST_PG_URL is not set (no PostgreSQL + pgvector to test against)"
        );
    }
    url
}

/// `url` with `param` added to its query.
fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

fn pg(test: &str) -> Option<TestStore> {
    let url = url()?;
    let schema = format!("rag_test_{test}_{}", std::process::id());
    let store =
        PgStore::connect_in_schema(&url, &schema).expect("connecting to ROADMAP_TEST_PG_URL");
    // A schema left over by a killed run of the same test starts clean.
    store.drop_schema(&schema).unwrap();
    let store = PgStore::connect_in_schema(&url, &schema).unwrap();
    Some(TestStore { store, schema })
}

mod common;
use common::{corpus, opts, GUIDE};

fn ingest(store: &mut dyn VectorStore, dir: &Path, o: &IngestOptions) -> IngestSummary {
    ingest_paths(store, &HashEmbedder::default(), &[dir.to_path_buf()], o).unwrap()
}

fn bm25() -> SearchOptions {
    SearchOptions {
        mode: Mode::Bm25,
        ..Default::default()
    }
}

#[test]
fn ingest_is_idempotent_and_matches_sqlite() {
    let Some(mut t) = pg("idem") else { return };
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let first = ingest(&mut t.store, dir.path(), &opts());
    assert_eq!((first.added, first.changed, first.unchanged), (4, 0, 0));
    let snap = t.store.snapshot("t").unwrap();
    assert_eq!(snap.len(), first.chunks_embedded);
    let second = ingest(&mut t.store, dir.path(), &opts());
    assert_eq!(
        (
            second.added,
            second.changed,
            second.unchanged,
            second.chunks_embedded
        ),
        (0, 0, 4, 0)
    );
    assert_eq!(t.store.snapshot("t").unwrap(), snap);
    // The same chunks as the SQLite store holds for the same files.
    let mut lite = SqliteStore::in_memory().unwrap();
    ingest(&mut lite, dir.path(), &opts());
    assert_eq!(lite.snapshot("t").unwrap(), snap);
    let info = t.store.collection("t").unwrap().unwrap();
    assert_eq!((info.documents, info.chunks), (4, snap.len()));
    assert_eq!(t.store.collections().unwrap().len(), 1);
    t.store.check_integrity().unwrap();
}

#[test]
fn changed_document_is_replaced_and_prune_removes_gone_files() {
    let Some(mut t) = pg("change") else { return };
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let emb = HashEmbedder::default();
    ingest(&mut t.store, dir.path(), &opts());
    fs::write(
        dir.path().join("notes.txt"),
        "Kettles whistle loudly. Penguins waddle.\n",
    )
    .unwrap();
    let s = ingest(&mut t.store, dir.path(), &opts());
    assert_eq!((s.added, s.changed, s.unchanged), (0, 1, 3));
    let hits = search(&t.store, &emb, "t", "penguins", &bm25()).unwrap();
    assert!(hits[0].text.contains("Penguins"));
    assert!(
        search(&t.store, &emb, "t", "teapots steep", &bm25())
            .unwrap()
            .is_empty(),
        "old chunks and their index terms are gone"
    );
    let mut fresh = SqliteStore::in_memory().unwrap();
    ingest(&mut fresh, dir.path(), &opts());
    assert_eq!(t.store.snapshot("t").unwrap(), fresh.snapshot("t").unwrap());

    fs::remove_file(dir.path().join("sub/more.md")).unwrap();
    assert_eq!(ingest(&mut t.store, dir.path(), &opts()).removed, 0);
    let pruned = ingest(
        &mut t.store,
        dir.path(),
        &IngestOptions {
            prune: true,
            ..opts()
        },
    );
    assert_eq!(pruned.removed, 1);
    assert!(!t
        .store
        .snapshot("t")
        .unwrap()
        .iter()
        .any(|c| c.0.ends_with("more.md")));
    assert!(search(&t.store, &emb, "t", "volcanoes", &bm25())
        .unwrap()
        .is_empty());
    assert_eq!(
        t.store.collection("t").unwrap().unwrap().documents,
        3,
        "documents counted after prune"
    );
    t.store.check_integrity().unwrap();
}

#[test]
fn a_failed_replace_leaves_the_old_document_whole() {
    let Some(mut t) = pg("atomic") else { return };
    let emb = HashEmbedder::new(8);
    t.store.ensure_collection("t", &emb.model_id(), 8).unwrap();
    let chunk = |text: &str, v: f32| ChunkRecord {
        start: 0,
        end: text.len(),
        line_start: 1,
        line_end: 1,
        heading: vec!["H".into()],
        text: text.into(),
        embedding: vec![v; 8],
    };
    let doc = |hash: &str| DocumentRecord {
        source: "/d.txt".into(),
        kind: "text".into(),
        hash: hash.into(),
        text: "old text".into(),
    };
    t.store
        .replace_document(
            "t",
            &doc("h1"),
            &[chunk("old one", 0.5), chunk("old two", 0.5)],
        )
        .unwrap();
    let before = t.store.snapshot("t").unwrap();
    // The third chunk's vector is rejected by the server (pgvector refuses NaN)
    // after two new chunks were written: the transaction must roll back.
    let err = t
        .store
        .replace_document(
            "t",
            &doc("h2"),
            &[
                chunk("new one", 0.1),
                chunk("new two", 0.2),
                chunk("bad", f32::NAN),
            ],
        )
        .unwrap_err();
    assert!(matches!(err, RagError::Pg { .. }), "{err}");
    assert_eq!(t.store.snapshot("t").unwrap(), before);
    assert_eq!(t.store.document_hashes("t").unwrap()["/d.txt"], "h1");
    let hits = search(&t.store, &emb, "t", "new", &bm25()).unwrap();
    assert!(
        hits.is_empty(),
        "no postings of the rolled-back chunks: {hits:?}"
    );
    assert_eq!(
        search(&t.store, &emb, "t", "old", &bm25()).unwrap().len(),
        2
    );
    t.store.check_integrity().unwrap();
}

#[test]
fn a_collection_refuses_another_model_and_dims_are_per_collection() {
    let Some(mut t) = pg("model") else { return };
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    ingest_paths(
        &mut t.store,
        &HashEmbedder::new(384),
        &[dir.path().to_path_buf()],
        &opts(),
    )
    .unwrap();
    let err = ingest_paths(
        &mut t.store,
        &HashEmbedder::new(128),
        &[dir.path().to_path_buf()],
        &opts(),
    )
    .unwrap_err();
    assert!(matches!(err, RagError::ModelMismatch { .. }));
    assert!(err.to_string().contains("--reembed"), "{err}");
    // Another collection in the same tables with another dimension: its own index.
    let other = IngestOptions {
        collection: "small".into(),
        ..opts()
    };
    ingest_paths(
        &mut t.store,
        &HashEmbedder::new(128),
        &[dir.path().to_path_buf()],
        &other,
    )
    .unwrap();
    for (coll, emb) in [
        ("t", HashEmbedder::new(384)),
        ("small", HashEmbedder::new(128)),
    ] {
        let hits = search(
            &t.store,
            &emb,
            coll,
            "giraffes",
            &SearchOptions {
                mode: Mode::Dense,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(hits[0].source.ends_with("page.html"), "{coll}: {hits:?}");
    }
    // Dropping one collection leaves the other intact; then the new model is accepted.
    t.store.drop_collection("t").unwrap();
    assert!(t.store.collection("t").unwrap().is_none());
    assert_eq!(t.store.collection("small").unwrap().unwrap().documents, 4);
    ingest_paths(
        &mut t.store,
        &HashEmbedder::new(128),
        &[dir.path().to_path_buf()],
        &opts(),
    )
    .unwrap();
}

#[test]
fn chunk_spans_slice_back_to_the_source() {
    let Some(mut t) = pg("spans") else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut md = String::from("Preamble.\n\n# Alpha\n\n");
    for i in 0..60 {
        md.push_str(&format!(
            "Alpha sentence {i} mentions ünïcödé and 🚀 emoji. "
        ));
        if i % 7 == 6 {
            md.push_str("\n\n");
        }
    }
    md.push_str("\n\n## Beta\n\nBeta text.\n");
    let path = dir.path().join("doc.md");
    fs::write(&path, &md).unwrap();
    let o = IngestOptions {
        chunking: roadmap_rag::chunk::ChunkConfig {
            max_tokens: 60,
            overlap_tokens: 15,
        },
        ..opts()
    };
    ingest_paths(
        &mut t.store,
        &HashEmbedder::default(),
        std::slice::from_ref(&path),
        &o,
    )
    .unwrap();
    let source = fs::canonicalize(&path).unwrap().display().to_string();
    assert_eq!(t.store.document_text("t", &source).unwrap().unwrap(), md);
    let snap = t.store.snapshot("t").unwrap();
    assert!(snap.len() > 5);
    for (_, s, e, _, text) in &snap {
        assert_eq!(&md[*s..*e], text);
    }
    assert_eq!(snap.last().unwrap().3, ["Alpha", "Beta"]);
    let spans = t.store.chunk_spans("t", &source).unwrap();
    assert_eq!(spans.len(), snap.len());
    assert!(spans
        .iter()
        .zip(&snap)
        .all(|(a, b)| (a.start, a.end) == (b.1, b.2)));
}

#[test]
fn search_modes_filters_and_bad_input() {
    let Some(mut t) = pg("search") else { return };
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let emb = HashEmbedder::default();
    ingest(&mut t.store, dir.path(), &opts());
    for mode in Mode::ALL {
        let o = SearchOptions {
            mode,
            k: 3,
            ..Default::default()
        };
        let hits = search(&t.store, &emb, "t", "what do I build in phase 4", &o).unwrap();
        assert_eq!(hits[0].heading, ["Guide", "Phase 4"], "{mode:?}: {hits:?}");
        assert_eq!(&GUIDE[hits[0].start..hits[0].end], hits[0].text);
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    }
    assert!(search(&t.store, &emb, "t", "giraffes", &bm25()).unwrap()[0]
        .source
        .ends_with("page.html"));
    assert!(search(&t.store, &emb, "t", "zebra", &bm25())
        .unwrap()
        .is_empty());
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
        let hits = search(&t.store, &emb, "t", "phase volcanoes", &o).unwrap();
        assert!(
            !hits.is_empty() && hits.iter().all(|h| h.source.starts_with(&sub)),
            "{mode:?} {hits:?}"
        );
    }
    let o = SearchOptions {
        k: 3,
        mmr_lambda: Some(0.5),
        ..Default::default()
    };
    let mut ids: Vec<i64> = search(&t.store, &emb, "t", "phase", &o)
        .unwrap()
        .iter()
        .map(|h| h.chunk_id)
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "MMR reads the stored vectors back");
    assert!(matches!(
        search(&t.store, &emb, "nope", "x", &bm25()).unwrap_err(),
        RagError::NoCollection(_)
    ));
    // Query syntax characters are plain words.
    search(
        &t.store,
        &emb,
        "t",
        "\"phase\" AND (OR) NOT * -:^ ' % _",
        &bm25(),
    )
    .unwrap();
}

/// (start, end) and score of each hit.
fn spans(hits: &[Hit]) -> Vec<(usize, usize, f64)> {
    hits.iter().map(|h| (h.start, h.end, h.score)).collect()
}

fn metrics(r: &EvalReport, m: Mode) -> [f64; 4] {
    let x = r.mode(m).unwrap();
    [x.hit_at_1, x.hit_at_5, x.mrr_at_10, x.ndcg_at_10]
}

#[test]
fn same_rankings_and_metrics_as_sqlite_on_squad() {
    let Some(mut t) = pg("squad") else { return };
    let file =
        roadmap_rag::squad::parse(roadmap_rag::squad::SHIPPED.as_bytes(), "shipped").unwrap();
    let emb = HashEmbedder::default();
    let opts = EvalOptions {
        articles: Some(1),
        progress: false,
        ..Default::default()
    };
    let mut lite = SqliteStore::in_memory().unwrap();
    let a = evaluate_in(&mut lite, &file, &emb, &opts).unwrap();
    let b = evaluate_in(&mut t.store, &file, &emb, &opts).unwrap();
    assert_eq!((a.chunks, a.questions), (b.chunks, b.questions));
    assert!(a.questions > 100, "{}", a.questions);
    let coll = opts.ingest.collection.as_str();
    assert_eq!(
        lite.snapshot(coll).unwrap(),
        t.store.snapshot(coll).unwrap()
    );

    // Every question, every mode: the same chunks in the same order, with the
    // same BM25 scores; dense scores agree to float precision.
    let corpus = roadmap_rag::squad::corpus(&file, Some(1));
    let mut reordered_ties = 0;
    for mode in Mode::ALL {
        let o = SearchOptions {
            mode,
            k: 10,
            ..Default::default()
        };
        for q in &corpus.questions {
            let x = spans(&search(&lite, &emb, coll, &q.question, &o).unwrap());
            let y = spans(&search(&t.store, &emb, coll, &q.question, &o).unwrap());
            assert_eq!(x.len(), y.len(), "{mode:?} {:?}", q.question);
            for (i, (p, r)) in x.iter().zip(&y).enumerate() {
                assert!(
                    (p.2 - r.2).abs() <= 1e-5 * p.2.abs().max(1.0),
                    "{mode:?} {:?} rank {i}: score {} vs {}",
                    q.question,
                    p.2,
                    r.2
                );
                if (p.0, p.1) != (r.0, r.1) {
                    // Only equal scores may be ordered differently.
                    let tie = x.iter().filter(|s| (s.2 - p.2).abs() <= 1e-6).count() > 1;
                    assert!(tie, "{mode:?} {:?} rank {i}: {x:?} vs {y:?}", q.question);
                    reordered_ties += 1;
                }
            }
        }
    }
    eprintln!("{reordered_ties} tied hits ordered differently");
    for m in Mode::ALL {
        let (x, y) = (metrics(&a, m), metrics(&b, m));
        for (p, q) in x.iter().zip(&y) {
            assert!(
                (p - q).abs() < 1e-12,
                "{m:?}: sqlite {x:?} vs postgres {y:?}"
            );
        }
    }
}

#[test]
fn connection_errors_are_specific_and_never_show_the_password() {
    // Nothing listens on port 9 of 127.0.0.1: a stopped server.
    let err = PgStore::connect("postgres://alice:s3cret@127.0.0.1:9/rag")
        .err()
        .unwrap();
    let msg = err.to_string();
    assert!(matches!(err, RagError::PgConnect { .. }), "{msg}");
    assert!(msg.contains("postgres://alice@127.0.0.1:9/rag"), "{msg}");
    assert!(
        msg.contains("refused") && msg.contains("pgvector-server.sh"),
        "{msg}"
    );
    assert!(!msg.contains("s3cret"), "{msg}");
    let err = PgStore::connect("postgres://bob:pw@127.0.0.1:notaport/x")
        .err()
        .unwrap();
    assert!(!err.to_string().contains(":pw@"), "{err}");

    let Some(url) = url() else { return };
    // The right server, the wrong password.
    let authority = url.find("://").map(|i| i + 3).unwrap();
    if let Some(at) = url.rfind('@') {
        let user = url[authority..at].split(':').next().unwrap();
        let bad = format!("{}{user}:wrong-password{}", &url[..authority], &url[at..]);
        let msg = PgStore::connect(&bad).err().unwrap().to_string();
        assert!(msg.contains("password"), "{msg}");
        assert!(!msg.contains("wrong-password"), "{msg}");
    }
    // A database that does not exist.
    let no_db = format!("{}/no_such_db_roadmap", &url[..url.rfind('/').unwrap()]);
    let msg = PgStore::connect(&no_db).err().unwrap().to_string();
    assert!(
        msg.contains("no_such_db_roadmap") && msg.contains("createdb"),
        "{msg}"
    );
}

/// A database without the vector extension, reached by a user who may not
/// create it: the error says so and what to do (needs a superuser test URL).
#[test]
fn a_database_without_pgvector_says_how_to_get_it() {
    let Some(url) = url() else { return };
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let superuser: bool = admin
        .query_one(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .unwrap()
        .get(0);
    if !superuser {
        eprintln!("skipped: ROADMAP_TEST_PG_URL's user cannot create roles and databases");
        return;
    }
    let name = format!("rag_novector_{}", std::process::id());
    // One statement per call: CREATE/DROP DATABASE refuse to run in a multi-statement batch.
    let cleanup = |admin: &mut postgres::Client| {
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        let _ = admin.batch_execute(&format!("DROP ROLE IF EXISTS {name}"));
    };
    cleanup(&mut admin);
    // template0 has no extensions; the owner is an ordinary role (pgvector is not a trusted extension).
    admin
        .batch_execute(&format!("CREATE ROLE {name} LOGIN PASSWORD 'pw-{name}'"))
        .unwrap();
    admin
        .batch_execute(&format!(
            "CREATE DATABASE {name} OWNER {name} TEMPLATE template0"
        ))
        .unwrap();
    let authority = url.find("://").unwrap() + 3;
    let host = &url[url.rfind('@').map_or(authority, |a| a + 1)..url.rfind('/').unwrap()];
    let user_url = format!("postgres://{name}:pw-{name}@{host}/{name}");
    let result = PgStore::connect(&user_url);
    cleanup(&mut admin);
    let err = result.err().expect("connecting without pgvector must fail");
    let msg = err.to_string();
    assert!(matches!(err, RagError::PgVector { .. }), "{msg}");
    assert!(msg.contains("CREATE EXTENSION vector"), "{msg}");
    assert!(msg.contains("superuser"), "{msg}");
    assert!(!msg.contains(&format!("pw-{name}")), "{msg}");
}

/// sslmode against the real server (the test server has no TLS, like
/// `.ci/setup-postgres`'s): `disable` and `prefer` connect (prefer falls back
/// to plain when the server declines TLS), while `require`, `verify-ca` and
/// `verify-full` refuse to go on in the clear, with an error that says the
/// server has no TLS and how to proceed, and never shows the password.
#[test]
fn sslmode_is_obeyed_and_never_downgraded_when_required() {
    let Some(url) = url() else { return };
    for mode in ["disable", "prefer"] {
        let store = PgStore::connect(&with_param(&url, &format!("sslmode={mode}")))
            .unwrap_or_else(|e| panic!("sslmode={mode}: {e}"));
        assert!(store.shown_url().contains(&format!("sslmode={mode}")));
    }
    let password = url
        .rfind('@')
        .and_then(|at| url[..at].rsplit_once(':').map(|(_, p)| p.to_string()))
        .filter(|p| !p.is_empty() && !p.contains('/'));
    for mode in ["require", "verify-ca", "verify-full"] {
        let err = PgStore::connect(&with_param(&url, &format!("sslmode={mode}")))
            .err()
            .unwrap_or_else(|| panic!("sslmode={mode} connected without TLS"));
        let msg = err.to_string();
        assert!(matches!(err, RagError::PgConnect { .. }), "{msg}");
        assert!(msg.contains("does not accept TLS"), "{mode}: {msg}");
        if let Some(p) = &password {
            assert!(!msg.contains(p.as_str()), "{mode}: password in {msg}");
        }
    }
    // An unknown mode or a missing root file is refused before connecting.
    let msg = PgStore::connect(&with_param(&url, "sslmode=verify"))
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("expected one of disable, prefer"), "{msg}");
    let msg = PgStore::connect(&with_param(
        &url,
        "sslmode=verify-full&sslrootcert=/nonexistent/root.pem",
    ))
    .err()
    .unwrap()
    .to_string();
    assert!(msg.contains("/nonexistent/root.pem"), "{msg}");
}

/// Schema names are written into SQL, so only plain identifiers get there.
#[test]
fn schema_names_that_could_inject_sql_are_refused() {
    let Some(url) = url() else { return };
    for bad in ["x\"; DROP TABLE chunks; --", "Upper", "a-b", ""] {
        let msg = PgStore::connect_in_schema(&url, bad)
            .err()
            .unwrap_or_else(|| panic!("schema {bad:?} accepted"))
            .to_string();
        assert!(msg.contains("lower-case"), "{bad:?}: {msg}");
    }
    let t = pg("ident").unwrap();
    assert!(t.store.drop_schema("a;b").is_err());
}
