//! Cost of one run of the service's periodic drift check
//! (`drift_task::evaluate`: read both windows of the request log, run the
//! seven drift tests) over a request log of 100,000 question requests spread
//! evenly over 8 days, with the default windows (reference 7 d, current 1 d:
//! about 87,500 vs 12,500 rows, so Evidently's large-sample tests —
//! normed Wasserstein, Jensen–Shannon — decide). The current day is shifted
//! (longer questions, lower scores) so every test has work to do.
//!
//! `cargo bench -p roadmap-rag-service --bench drift_check`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use roadmap_rag_service::drift_task::{evaluate, DriftOutcome, DriftSchedule};
use roadmap_rag_service::features::{open_read_only, read_window, Window};
use roadmap_rag_service::requestlog::{LogBackend, LogWrite, RequestRecord, SqliteLog};

const ROWS: usize = 100_000;
const DAY: f64 = 86_400.0;
const END: f64 = 1_800_000_000.0;

/// A deterministic pseudo-random stream (SplitMix64), so the log is the same every run.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn build_log(path: &std::path::Path) {
    let mut log = SqliteLog::open(path).unwrap();
    let mut r = Mix(7);
    let start = END - 8.0 * DAY;
    let rows: Vec<LogWrite> = (0..ROWS)
        .map(|i| {
            let at = start + 8.0 * DAY * i as f64 / ROWS as f64;
            let shifted = at >= END - DAY;
            let ask = i % 2 == 0;
            let tokens = if shifted {
                12.0 + 30.0 * r.next()
            } else {
                4.0 + 8.0 * r.next()
            };
            let top = if shifted {
                0.3 + 0.5 * r.next()
            } else {
                0.5 + 0.5 * r.next()
            };
            let no_answer = r.next() < if shifted { 0.3 } else { 0.05 };
            LogWrite::Request(Box::new(RequestRecord {
                request_id: format!("r{i}"),
                at_unix: at,
                route: if ask { "/v1/ask" } else { "/v1/search" }.into(),
                status: 200,
                question_tokens: Some(tokens as u32),
                top_score: Some(top),
                hits_above: Some((5.0 * top * r.next()) as u32),
                answer_chars: ask.then(|| (80.0 + 400.0 * r.next()) as u32),
                grounding: ask.then(|| if no_answer { "none" } else { "cited" }.to_owned()),
                no_answer: ask.then_some(no_answer),
                latency_ms: 2.0 + 20.0 * r.next(),
                ..Default::default()
            }))
        })
        .collect();
    for chunk in rows.chunks(10_000) {
        log.write(chunk).unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("rag.db");
    build_log(&db);
    let schedule = DriftSchedule {
        every: Duration::from_secs(300),
        reference_secs: 7.0 * DAY,
        current_secs: DAY,
    };
    match evaluate(&db, &schedule, END) {
        DriftOutcome::Verdict(d) => eprintln!(
            "{} reference vs {} current requests; {} of {} features drifted",
            d.reference_requests,
            d.current_requests,
            d.report.number_drifted,
            d.report.number_of_columns
        ),
        o => panic!("expected a verdict: {o:?}"),
    }
    let mut g = c.benchmark_group("drift_check_100k_rows");
    g.sample_size(10);
    g.bench_function("evaluate (read both windows + 7 tests)", |b| {
        b.iter(|| evaluate(&db, &schedule, END))
    });
    g.bench_function("read both windows only", |b| {
        let conn = open_read_only(&db).unwrap();
        let (reference, current) =
            Window::pair(END, schedule.reference_secs, schedule.current_secs);
        b.iter(|| {
            (
                read_window(&conn, "bench", reference).unwrap().requests,
                read_window(&conn, "bench", current).unwrap().requests,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
