//! Criterion benchmarks on the Adult census data (the `adult-census` asset): drift on the halves that
//! `capstone_anchor.py drift` compares, and validation of the full file with the anchor's pandera schema
//! (`benches/adult_schema.toml`). The 1,000,000-row side-by-side numbers are in README.md ("Speed").

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use roadmap_quality::drift::{drift_csv, DriftOptions};
use roadmap_quality::validate::{validate_csv, ValidateOptions};
use roadmap_quality::Schema;

fn halves(adult: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    let text = std::fs::read_to_string(adult).expect("adult.csv");
    let mut lines = text.lines();
    let header = lines.next().expect("a header");
    let rows: Vec<&str> = lines.collect();
    let half = rows.len() / 2;
    let write = |name: &str, part: &[&str]| {
        let path = dir.join(name);
        std::fs::write(&path, format!("{header}\n{}\n", part.join("\n"))).expect("write a half");
        path
    };
    (
        write("reference.csv", &rows[..half]),
        write("current.csv", &rows[half..]),
    )
}

fn bench(c: &mut Criterion) {
    let cache = roadmap_common::assets::test_cache_dir(env!("CARGO_TARGET_TMPDIR"));
    let dir =
        roadmap_common::assets::ensure(&cache, "adult-census").expect("the Adult census data");
    let adult = dir.join("adult.csv");
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let (reference, current) = halves(&adult, tmp.path());
    let schema =
        Schema::from_path(&Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/adult_schema.toml"))
            .expect("schema");

    let mut g = c.benchmark_group("adult");
    g.sample_size(20);
    g.bench_function("drift_halves_16280_vs_16281", |b| {
        b.iter(|| drift_csv(&reference, &current, &DriftOptions::default()).expect("drift"))
    });
    g.bench_function("validate_32561_rows_15_columns", |b| {
        b.iter(|| validate_csv(&schema, &adult, &ValidateOptions::default()).expect("validation"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
