//! Timings for the side-by-side comparison with `capstone_anchor.py` (see README.md, "Speed").
//!
//! ```sh
//! cargo run --release -p roadmap-quality --example time_quality -- validate SCHEMA.toml DATA.csv [REPS]
//! cargo run --release -p roadmap-quality --example time_quality -- drift REFERENCE.csv CURRENT.csv [REPS]
//! ```
//! Prints one JSON line: best and median wall time over REPS runs (default 5), the best CPU time (user +
//! system, both threads, at the kernel's 10 ms resolution), rows, the verdict, and
//! the process's peak resident memory (`VmHWM` from /proc/self/status), which shows whether memory
//! stays flat as the file grows.

use std::path::Path;
use std::time::Instant;

use roadmap_quality::drift::{drift_csv, DriftOptions};
use roadmap_quality::validate::{validate_csv, ValidateOptions};
use roadmap_quality::Schema;

/// CPU seconds (user + system, all threads) this process has used, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok());
    match (field(11), field(12)) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => f64::NAN,
    }
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: time_quality validate SCHEMA.toml DATA.csv [REPS] | drift REF.csv CUR.csv [REPS]";
    if args.len() < 3 {
        return Err(usage.into());
    }
    let reps: usize = args.get(3).map(|r| r.parse()).transpose()?.unwrap_or(5);
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let info = match args[0].as_str() {
        "validate" => {
            let schema = Schema::from_path(Path::new(&args[1]))?;
            let mut last = None;
            for _ in 0..reps {
                let (t, c) = (Instant::now(), cpu_seconds());
                // SINGLE_THREAD=1 reads and checks on one thread (for CPU-time comparisons).
                let opts = ValidateOptions {
                    single_thread: std::env::var_os("SINGLE_THREAD").is_some(),
                    ..Default::default()
                };
                last = Some(validate_csv(&schema, Path::new(&args[2]), &opts)?);
                times.push(t.elapsed().as_secs_f64());
                cpu.push(cpu_seconds() - c);
            }
            let r = last.ok_or("REPS must be at least 1")?;
            serde_json::json!({"task": "validation", "rows": r.rows, "columns": r.columns.len(), "failures": r.failure_count})
        }
        "drift" => {
            let mut last = None;
            for _ in 0..reps {
                let (t, c) = (Instant::now(), cpu_seconds());
                last = Some(drift_csv(
                    Path::new(&args[1]),
                    Path::new(&args[2]),
                    &DriftOptions::default(),
                )?);
                times.push(t.elapsed().as_secs_f64());
                cpu.push(cpu_seconds() - c);
            }
            let r = last.ok_or("REPS must be at least 1")?;
            let verdicts: serde_json::Map<String, serde_json::Value> = r
                .columns
                .iter()
                .map(|c| {
                    (
                        c.column.clone(),
                        serde_json::json!([c.test.map(|t| t.name()), c.score, c.drifted]),
                    )
                })
                .collect();
            serde_json::json!({"task": "drift", "rows_reference": r.reference_rows, "rows_current": r.current_rows,
                "dataset_drift": r.dataset_drift, "share_drifted": r.share_drifted, "columns": verdicts})
        }
        _ => return Err(usage.into()),
    };
    times.sort_by(f64::total_cmp);
    let mut out = info;
    out["seconds_best"] = serde_json::json!(times[0]);
    out["seconds_median"] = serde_json::json!(times[times.len() / 2]);
    cpu.sort_by(f64::total_cmp);
    out["cpu_seconds_best"] = serde_json::json!(cpu[0]);
    out["peak_rss_mb"] = serde_json::json!(peak_rss_mb());
    println!("{out}");
    Ok(())
}
