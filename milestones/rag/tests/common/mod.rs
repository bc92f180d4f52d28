//! The small mixed corpus (Markdown, text, HTML, a sub-folder) shared by the
//! SQLite and PostgreSQL store tests, so both stores are held to the same files.

#![allow(dead_code)]

use std::fs;
use std::path::Path;

use roadmap_rag::ingest::IngestOptions;

pub fn opts() -> IngestOptions {
    IngestOptions {
        collection: "t".into(),
        progress: false,
        ..Default::default()
    }
}

pub const GUIDE: &str = "# Guide\n\nThis guide explains the roadmap. It has phases.\n\n\
## Phase 4\n\nIn phase 4 you build sentence embeddings with a small transformer. \
The embeddings are cached in SQLite.\n\n## Phase 5\n\nPhase five builds a retrieval system. \
Hybrid search fuses BM25 and dense vectors with reciprocal rank fusion.\n";

pub fn corpus(dir: &Path) {
    fs::write(dir.join("guide.md"), GUIDE).unwrap();
    fs::write(
        dir.join("notes.txt"),
        "Kettles boil water. Teapots steep leaves.\nCoffee is brewed.\n",
    )
    .unwrap();
    fs::write(
        dir.join("page.html"),
        "<html><head><script>var hidden = 'zebra';</script><style>p{}</style></head><body><p>Giraffes are tall animals.</p></body></html>",
    )
    .unwrap();
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(
        dir.join("sub/more.md"),
        "# Deep\n\nVolcanoes erupt lava and ash.\n",
    )
    .unwrap();
}
