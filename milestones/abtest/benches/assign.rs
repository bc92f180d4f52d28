//! Assignment throughput: GrowthBook hash version 2 (and 1) over one million
//! distinct user keys on one core. The goal is ≥ 10 million users/s; the
//! README records the measured rate. `cargo bench -p roadmap-abtest --bench assign`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use roadmap_abtest::assign::{Assigner, HashVersion};

fn users() -> Vec<String> {
    // Keys like a service would see: a prefix and a number, 9-14 bytes.
    (0..1_000_000u32).map(|i| format!("user-{i}")).collect()
}

fn bench(c: &mut Criterion) {
    let users = users();
    let mut group = c.benchmark_group("assign");
    group.throughput(Throughput::Elements(users.len() as u64));
    group.sample_size(20);
    for (name, version, weights, coverage) in [
        ("v2_two_variants", HashVersion::V2, vec![0.5, 0.5], 1.0),
        (
            "v2_three_variants_coverage_0.8",
            HashVersion::V2,
            vec![0.2, 0.3, 0.5],
            0.8,
        ),
        ("v1_two_variants", HashVersion::V1, vec![0.5, 0.5], 1.0),
    ] {
        let assigner = Assigner::new("fusion-convex-vs-rrf-1", version, &weights, coverage);
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut counts = [0u32; 4];
                for u in &users {
                    let v = assigner.assign(black_box(u)).variant().unwrap_or(3);
                    counts[v] += 1;
                }
                counts
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
