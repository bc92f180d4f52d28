//! Times repeated fits on the anchor's training split, reporting both wall-clock
//! and process CPU time per fit, for side-by-side runs with the Python anchors
//! on a busy machine (CPU time is not inflated by waiting for a core).
//!
//! `cargo run --release -p roadmap-logreg --example time_fits -- gd|gd-loss|newton|linfa [REPEATS]`

use std::path::Path;
use std::time::Instant;

use roadmap_common::dataset::{read_csv, StandardScaler};
use roadmap_logreg::{GradientDescent, LogisticRegression, Newton, Solver};

/// User + system CPU seconds of this process, from /proc/self/stat (Linux).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "gd".into());
    let repeats: usize = args
        .next()
        .map_or(20, |s| s.parse().expect("REPEATS is a number"));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/breast_cancer_train.csv");
    let train = read_csv(&path, "target").expect("fixture");
    let scaler = StandardScaler::fit(train.x.view()).unwrap();
    let x = scaler.transform(train.x.view()).unwrap();
    let gd = |record_loss| LogisticRegression {
        c: 1.0,
        solver: Solver::GradientDescent(GradientDescent {
            learning_rate: 0.1,
            epochs: 5000,
            tol: 0.0,
            record_loss,
        }),
    };
    let fit = || -> Vec<f64> {
        match which.as_str() {
            "gd" => gd(false).fit(x.view(), &train.y).unwrap().weights.to_vec(),
            "gd-loss" => gd(true).fit(x.view(), &train.y).unwrap().weights.to_vec(),
            "newton" => LogisticRegression {
                c: 1.0,
                solver: Solver::Newton(Newton::default()),
            }
            .fit(x.view(), &train.y)
            .unwrap()
            .weights
            .to_vec(),
            "linfa" => roadmap_logreg::baseline::fit_linfa(x.view(), &train.y, 1.0)
                .unwrap()
                .weights
                .to_vec(),
            other => panic!("unknown solver {other}: use gd, gd-loss, newton or linfa"),
        }
    };
    let w = fit(); // warm-up
    let mut walls = Vec::with_capacity(repeats);
    let cpu0 = cpu_seconds();
    for _ in 0..repeats {
        let t = Instant::now();
        std::hint::black_box(fit());
        walls.push(t.elapsed().as_secs_f64());
    }
    let cpu = cpu_seconds()
        .zip(cpu0)
        .map(|(a, b)| (a - b) / repeats as f64);
    walls.sort_by(f64::total_cmp);
    println!(
        "{{\"solver\":\"{which}\",\"repeats\":{repeats},\"wall_median_ms\":{:.3},\"wall_min_ms\":{:.3},\"cpu_mean_ms\":{},\"w0\":{}}}",
        walls[repeats / 2] * 1e3,
        walls[0] * 1e3,
        cpu.map_or("null".into(), |c| format!("{:.3}", c * 1e3)),
        w[0]
    );
}
