//! Speed goals of the audit, on the real Adult data (the `adult-census` asset):
//! KernelSHAP of 50 test rows (nsamples 512, k-means background of 10) — the
//! anchor's shap run takes about 2.2 s, the goal is ≥ 20× faster — and the
//! full fairness audit of all 30,162 rows (sex, race, their intersection,
//! 1,000 bootstrap replicates) — goal under 100 ms.
//!
//! `cargo bench -p roadmap-audit` (needs the asset; the README has the side-by-side numbers).

use criterion::{criterion_group, criterion_main, Criterion};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use roadmap_audit::fairness::{AuditOptions, FairnessReport};
use roadmap_audit::pipeline::{self, TabularSpec, ADULT_ASSET, ADULT_FILE};
use roadmap_audit::shap::background::Background;
use roadmap_audit::shap::kernel::{KernelExplainer, KernelOptions, NSamples};
use roadmap_audit::shap::Link;
use roadmap_audit::Table;

fn bench(c: &mut Criterion) {
    let cache = roadmap_common::assets::test_cache_dir(env!("CARGO_TARGET_TMPDIR"));
    let dir = roadmap_common::assets::ensure(&cache, ADULT_ASSET).expect("the Adult census data");
    let table = Table::read_csv(&dir.join(ADULT_FILE)).expect("adult.csv");
    let mut spec = TabularSpec::adult();
    spec.numeric.retain(|c| c != "fnlwgt");
    let tr = pipeline::train(&table, &spec, 1.0).expect("trained");
    let bg = Background::kmeans(tr.x_train.view(), 10).expect("background");
    let ex = KernelExplainer::new(&tr.model, bg, Link::Logit, tr.model.feature_names.clone())
        .expect("explainer");
    let rows = tr.x_test.slice(ndarray::s![..50, ..]);
    let opts = KernelOptions {
        nsamples: NSamples::Fixed(512),
        ..Default::default()
    };
    let mut g = c.benchmark_group("kernelshap_adult_50_rows");
    g.sample_size(10);
    g.bench_function("parallel", |b| {
        b.iter(|| ex.explain(rows, &opts).expect("explained"))
    });
    g.bench_function("one_thread", |b| {
        b.iter(|| {
            for i in 0..rows.nrows() {
                let mut rng = ChaCha8Rng::seed_from_u64(0);
                rng.set_stream(i as u64);
                ex.explain_row(rows.row(i), &opts, &mut rng)
                    .expect("explained");
            }
        })
    });
    g.finish();

    let input = tr
        .model
        .predict(&table, Some(&["sex".to_string(), "race".to_string()]))
        .expect("predicted")
        .to_audit_input();
    c.bench_function("fairness_audit_adult_30162_rows", |b| {
        b.iter(|| FairnessReport::compute(&input, &AuditOptions::default()).expect("audit"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
