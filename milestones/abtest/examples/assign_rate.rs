//! Assignments per second on one core, by wall clock and by this thread's
//! CPU time (`/proc/thread-self/schedstat`, Linux), so the rate can be read
//! even while other processes share the machine.
//!
//! `cargo run --release -p roadmap-abtest --example assign_rate -- [USERS] [ROUNDS]`

use std::time::Instant;

use roadmap_abtest::assign::{Assigner, HashVersion};

/// Nanoseconds this thread has run on a CPU (first field of schedstat).
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let users: Vec<String> = (0..n).map(|i| format!("user-{i}")).collect();
    for (name, version) in [("v2", HashVersion::V2), ("v1", HashVersion::V1)] {
        let assigner = Assigner::new("fusion-convex-vs-rrf-1", version, &[0.5, 0.5], 1.0);
        let (t0, c0) = (Instant::now(), cpu_ns());
        let mut in_b = 0usize;
        for _ in 0..rounds {
            for u in &users {
                in_b += usize::from(assigner.assign(std::hint::black_box(u)).variant() == Some(1));
            }
        }
        let wall = t0.elapsed().as_secs_f64();
        let total = (n * rounds) as f64;
        let cpu = cpu_ns().zip(c0).map(|(c1, c0)| (c1 - c0) as f64 / 1e9);
        println!(
            "hash {name}: {total} assignments, wall {wall:.3} s = {:.2} M/s, cpu {} (share in variant 1: {:.4})",
            total / wall / 1e6,
            cpu.map_or("n/a".to_owned(), |c| format!("{c:.3} s = {:.2} M/s", total / c / 1e6)),
            in_b as f64 / total
        );
    }
}
