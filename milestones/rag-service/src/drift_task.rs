//! The service's periodic drift check: every `drift.interval_seconds` the
//! request log's features in the current window (the last
//! `drift.current_window`, ending now) are tested against the reference
//! window before it (`drift.reference_window`), and the result is exported
//! as the drift gauges of [`crate::metrics`].
//!
//! It is `roadmap monitor service` run by the service itself: the same
//! windows ([`Window::pair`]), the same features and the same tests
//! ([`crate::features::compare`], Evidently `DataDriftPreset`'s choice per
//! feature, dataset drift when at least half of the tested features drifted),
//! so the gauges equal what the command prints for the same end time.
//!
//! How a run goes, and what each outcome exports:
//!
//! * the request log is flushed first, so every request finished before the
//!   run's end time is in the windows (the log commits in batches);
//! * both windows hold requests → a verdict: `roadmap_rag_drift_score{feature,
//!   test}` (the deciding test's p-value or distance), `…_drift_detected
//!   {feature}`, `…_dataset_drift`, `…_drift_last_run_timestamp_seconds` (the
//!   end of the current window) and `…_drift_runs_total{result="ok"}`;
//! * a window holds no request (a new deployment, a quiet night) → no
//!   verdict: the per-feature series and `…_dataset_drift` are removed (so the
//!   drift alert resolves rather than fire on stale data), `…_drift_runs_total
//!   {result="empty_window"}` counts it and `…_drift_window_requests{window}`
//!   shows which window was empty. That is a normal state, not an error: it is
//!   logged once when it starts, not at every run;
//! * the log cannot be read or tested → `…_drift_runs_total{result="error"}`,
//!   the gauges are removed as for an empty window, and the error is logged
//!   when it first appears (again only when it changes).
//!
//! The computation is blocking (SQLite reads, sorting) and runs on tokio's
//! blocking pool; the task stops when the service shuts down, abandoning a
//! run in progress (its result would describe a service that is going away).
//! The check needs the SQLite request log (`Resources::request_log`); without
//! one the task is not started and the drift gauges stay absent.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use roadmap_quality::DriftOptions;

use crate::config::{parse_window, DriftSection};
use crate::features::{compare, open_read_only, read_window, ServiceDrift, Window};
use crate::metrics::{
    FeatureLabel, FeatureTestLabels, Metrics, ResultLabel, WindowLabel, DRIFT_FEATURES,
};
use crate::requestlog::RequestLog;
use crate::ServiceError;

/// The check's timing, from the `[drift]` section.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriftSchedule {
    pub every: Duration,
    pub reference_secs: f64,
    pub current_secs: f64,
}

impl DriftSchedule {
    /// `None` when the check is off (`interval_seconds = 0`).
    pub fn from_config(d: &DriftSection) -> Result<Option<DriftSchedule>, ServiceError> {
        let window = |key: &str, v: &str| {
            parse_window(v).map(|d| d.as_secs_f64()).ok_or_else(|| {
                ServiceError::Config(format!(
                    "drift.{key}: `{v}` must look like 7d, 12h, 30m or 45s"
                ))
            })
        };
        let reference_secs = window("reference_window", &d.reference_window)?;
        let current_secs = window("current_window", &d.current_window)?;
        if !(d.interval_seconds.is_finite() && d.interval_seconds >= 0.0) {
            return Err(ServiceError::Config(
                "drift.interval_seconds: must be zero or more".into(),
            ));
        }
        Ok((d.interval_seconds > 0.0).then(|| DriftSchedule {
            every: Duration::from_secs_f64(d.interval_seconds),
            reference_secs,
            current_secs,
        }))
    }
}

/// What one run found.
#[derive(Debug)]
pub enum DriftOutcome {
    /// Both windows held requests: the drift report.
    Verdict(Box<ServiceDrift>),
    /// A window held no successful question request: no verdict.
    EmptyWindow {
        reference: Window,
        current: Window,
        reference_requests: u64,
        current_requests: u64,
    },
    /// The log could not be flushed, read or tested.
    Error(String),
}

impl DriftOutcome {
    /// A one-line summary for the log.
    pub fn describe(&self) -> String {
        match self {
            DriftOutcome::Verdict(d) => {
                let drifted: Vec<&str> = d
                    .report
                    .columns
                    .iter()
                    .filter(|c| c.drifted)
                    .map(|c| c.column.as_str())
                    .collect();
                format!(
                    "dataset drift {}: {} of {} features drifted{} ({} reference vs {} current requests)",
                    if d.report.dataset_drift { "detected" } else { "not detected" },
                    d.report.number_drifted,
                    d.report.number_of_columns,
                    if drifted.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", drifted.join(", "))
                    },
                    d.reference_requests,
                    d.current_requests
                )
            }
            DriftOutcome::EmptyWindow {
                reference,
                current,
                reference_requests,
                current_requests,
            } => format!(
                "no drift verdict: the reference window {} holds {reference_requests} and the current \
                 window {} holds {current_requests} successful /v1/ask and /v1/search requests",
                reference.describe(),
                current.describe()
            ),
            DriftOutcome::Error(e) => format!("the drift check failed: {e}"),
        }
    }

    /// What changes the log line: the kind of outcome and the verdict or
    /// error, not the numbers (so a steady state is logged once).
    fn state(&self) -> String {
        match self {
            DriftOutcome::Verdict(d) => format!("verdict {}", d.report.dataset_drift),
            DriftOutcome::EmptyWindow { .. } => "empty".into(),
            DriftOutcome::Error(e) => format!("error {e}"),
        }
    }
}

/// Reads both windows ending at `end_unix` from the request log in `db` and
/// tests them (blocking).
pub fn evaluate(db: &Path, schedule: &DriftSchedule, end_unix: f64) -> DriftOutcome {
    let label = db.display().to_string();
    let run = || -> Result<DriftOutcome, crate::features::FeatureError> {
        let conn = open_read_only(db)?;
        let (reference, current) =
            Window::pair(end_unix, schedule.reference_secs, schedule.current_secs);
        let r = read_window(&conn, &label, reference)?;
        let c = read_window(&conn, &label, current)?;
        if r.requests == 0 || c.requests == 0 {
            return Ok(DriftOutcome::EmptyWindow {
                reference,
                current,
                reference_requests: r.requests,
                current_requests: c.requests,
            });
        }
        Ok(DriftOutcome::Verdict(Box::new(compare(
            &r,
            &c,
            &DriftOptions::default(),
        )?)))
    };
    run().unwrap_or_else(|e| DriftOutcome::Error(e.to_string()))
}

/// Writes an outcome into the drift gauges (see the module doc).
pub fn export(metrics: &Metrics, outcome: &DriftOutcome, end_unix: f64) {
    let _scrapes_wait = metrics
        .drift_update
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    metrics.drift_score.clear();
    metrics.drift_detected.clear();
    metrics.dataset_drift.clear();
    let (result, requests) = match outcome {
        DriftOutcome::Verdict(d) => {
            for c in &d.report.columns {
                // The label must come from the fixed list (bounded series).
                let Some(feature) = DRIFT_FEATURES.iter().find(|f| **f == c.column) else {
                    continue;
                };
                let (Some(test), Some(score)) = (c.test, c.score) else {
                    continue; // not tested (no values in a window): no series
                };
                metrics
                    .drift_score
                    .get_or_create(&FeatureTestLabels {
                        feature,
                        test: test.name(),
                    })
                    .set(score);
                metrics
                    .drift_detected
                    .get_or_create(&FeatureLabel { feature })
                    .set(i64::from(c.drifted));
            }
            metrics.dataset_drift.set(i64::from(d.report.dataset_drift));
            metrics.drift_last_run.set(end_unix);
            ("ok", Some((d.reference_requests, d.current_requests)))
        }
        DriftOutcome::EmptyWindow {
            reference_requests,
            current_requests,
            ..
        } => (
            "empty_window",
            Some((*reference_requests, *current_requests)),
        ),
        DriftOutcome::Error(_) => ("error", None),
    };
    match requests {
        Some((r, c)) => {
            for (window, n) in [("reference", r), ("current", c)] {
                metrics
                    .drift_window_requests
                    .get_or_create(&WindowLabel { window })
                    .set(n as i64);
            }
        }
        None => metrics.drift_window_requests.clear(),
    }
    metrics
        .drift_runs
        .get_or_create(&ResultLabel { result })
        .inc();
}

/// One run (blocking): flush the log, evaluate, export.
pub fn run_once(
    log: Option<&RequestLog>,
    db: &Path,
    schedule: &DriftSchedule,
    metrics: &Metrics,
    end_unix: f64,
) -> DriftOutcome {
    let outcome = match log.map(RequestLog::flush) {
        Some(Err(e)) => DriftOutcome::Error(format!("cannot flush the request log: {e}")),
        _ => evaluate(db, schedule, end_unix),
    };
    export(metrics, &outcome, end_unix);
    outcome
}

/// Starts the periodic check: a run at once, then every `schedule.every`,
/// until `stop` changes or its sender is dropped.
pub fn spawn(
    shared: crate::service::AppState,
    db: PathBuf,
    schedule: DriftSchedule,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(schedule.every);
        // A run longer than the interval delays the next one instead of
        // starting a burst of catch-up runs.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_state: Option<String> = None;
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = tick.tick() => {}
            }
            let (s, path) = (shared.clone(), db.clone());
            let started = Instant::now();
            let job = tokio::task::spawn_blocking(move || {
                let end = crate::requestlog::now_unix();
                run_once(s.log.as_ref(), &path, &schedule, &s.metrics, end)
            });
            let outcome = tokio::select! {
                _ = stop.changed() => break,
                r = job => match r {
                    Ok(o) => o,
                    Err(e) => {
                        let o = DriftOutcome::Error(format!("the drift run did not finish: {e}"));
                        export(&shared.metrics, &o, crate::requestlog::now_unix());
                        o
                    }
                },
            };
            let took_ms = started.elapsed().as_secs_f64() * 1e3;
            let state = outcome.state();
            if last_state.as_deref() != Some(state.as_str()) {
                match &outcome {
                    DriftOutcome::Error(_) => tracing::warn!(took_ms, "{}", outcome.describe()),
                    DriftOutcome::Verdict(d) if d.report.dataset_drift => {
                        tracing::warn!(took_ms, "{}", outcome.describe())
                    }
                    _ => tracing::info!(took_ms, "{}", outcome.describe()),
                }
                last_state = Some(state);
            } else {
                tracing::debug!(took_ms, "{}", outcome.describe());
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requestlog::{LogBackend, LogWrite, RequestRecord, SqliteLog};

    fn ask(i: usize, at: f64, tokens: u32, no_answer: bool) -> LogWrite {
        LogWrite::Request(Box::new(RequestRecord {
            request_id: format!("r{i}"),
            at_unix: at,
            route: "/v1/ask".into(),
            status: 200,
            question_tokens: Some(tokens),
            top_score: Some(if no_answer { 0.1 } else { 0.8 }),
            hits_above: Some(if no_answer { 0 } else { 3 }),
            answer_chars: Some(if no_answer { 30 } else { 200 + (i % 7) as u32 }),
            grounding: Some(if no_answer { "none" } else { "cited" }.into()),
            no_answer: Some(no_answer),
            latency_ms: 5.0 + (i % 5) as f64,
            ..Default::default()
        }))
    }

    fn schedule() -> DriftSchedule {
        DriftSchedule {
            every: Duration::from_secs(1),
            reference_secs: 100.0,
            current_secs: 100.0,
        }
    }

    fn sample<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.starts_with(prefix)).collect()
    }

    /// Normal traffic in [0, 100), drifted (long questions, no answers) in
    /// [100, 200): the gauges say which features drifted and the dataset
    /// drifted; normal traffic in both windows: no dataset drift.
    #[test]
    fn a_verdict_sets_the_gauges_and_an_empty_window_removes_them() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("rag.db");
        let mut log = SqliteLog::open(&db).unwrap();
        let mut rows: Vec<LogWrite> = (0..60)
            .map(|i| ask(i, i as f64, 5 + (i % 4) as u32, false))
            .collect();
        rows.extend((60..120).map(|i| ask(i, 100.0 + (i - 60) as f64, 40 + (i % 9) as u32, true)));
        log.write(&rows).unwrap();
        let m = Metrics::new("t");

        let o = run_once(None, &db, &schedule(), &m, 200.0);
        assert!(
            matches!(&o, DriftOutcome::Verdict(d) if d.report.dataset_drift),
            "{o:?}"
        );
        let text = m.encode();
        assert_eq!(
            sample(&text, "roadmap_rag_dataset_drift"),
            ["roadmap_rag_dataset_drift 1"]
        );
        assert!(
            text.contains("roadmap_rag_drift_detected{feature=\"question_tokens\"} 1"),
            "{text}"
        );
        // 60 rows per window: Evidently's choice for a numeric feature is KS, a p-value.
        assert!(
            sample(
                &text,
                "roadmap_rag_drift_score{feature=\"question_tokens\",test=\"ks\"}"
            )
            .len()
                == 1,
            "{text}"
        );
        assert!(
            text.contains("roadmap_rag_drift_last_run_timestamp_seconds 200.0"),
            "{text}"
        );
        assert!(
            text.contains("roadmap_rag_drift_runs_total{result=\"ok\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("roadmap_rag_drift_window_requests{window=\"current\"} 60"),
            "{text}"
        );

        // Both windows inside the normal traffic, [0, 50) vs [50, 100): the same
        // distributions, no dataset drift.
        let s = DriftSchedule {
            reference_secs: 50.0,
            current_secs: 50.0,
            ..schedule()
        };
        let o = run_once(None, &db, &s, &m, 100.0);
        assert!(
            matches!(&o, DriftOutcome::Verdict(d) if !d.report.dataset_drift),
            "{o:?}"
        );
        assert_eq!(
            sample(&m.encode(), "roadmap_rag_dataset_drift"),
            ["roadmap_rag_dataset_drift 0"]
        );

        // A current window after the last request: no verdict, gauges removed.
        let o = run_once(None, &db, &schedule(), &m, 1_000.0);
        assert!(
            matches!(
                o,
                DriftOutcome::EmptyWindow {
                    current_requests: 0,
                    ..
                }
            ),
            "{o:?}"
        );
        let text = m.encode();
        assert!(
            sample(&text, "roadmap_rag_dataset_drift").is_empty(),
            "{text}"
        );
        assert!(
            sample(&text, "roadmap_rag_drift_score{").is_empty(),
            "{text}"
        );
        assert!(
            sample(&text, "roadmap_rag_drift_detected{").is_empty(),
            "{text}"
        );
        assert!(
            text.contains("roadmap_rag_drift_runs_total{result=\"empty_window\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("roadmap_rag_drift_window_requests{window=\"current\"} 0"),
            "{text}"
        );
        // The last verdict's time stays: it says how old the last verdict is.
        assert!(
            text.contains("roadmap_rag_drift_last_run_timestamp_seconds 100.0"),
            "{text}"
        );
    }

    #[test]
    fn an_unreadable_log_is_counted_as_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let m = Metrics::new("t");
        let o = run_once(None, &dir.path().join("gone.db"), &schedule(), &m, 10.0);
        assert!(
            matches!(&o, DriftOutcome::Error(e) if e.contains("no such file")),
            "{o:?}"
        );
        assert!(m
            .encode()
            .contains("roadmap_rag_drift_runs_total{result=\"error\"} 1"));
    }

    #[test]
    fn the_schedule_comes_from_the_config() {
        let mut d = DriftSection::default();
        let s = DriftSchedule::from_config(&d).unwrap().unwrap();
        assert_eq!(s.reference_secs, 7.0 * 86_400.0);
        assert_eq!(s.current_secs, 86_400.0);
        assert_eq!(s.every, Duration::from_secs(300));
        d.current_window = "45s".into();
        d.interval_seconds = 0.5;
        let s = DriftSchedule::from_config(&d).unwrap().unwrap();
        assert_eq!(
            (s.current_secs, s.every),
            (45.0, Duration::from_millis(500))
        );
        d.interval_seconds = 0.0;
        assert_eq!(DriftSchedule::from_config(&d).unwrap(), None);
        d.reference_window = "a week".into();
        assert!(DriftSchedule::from_config(&d)
            .unwrap_err()
            .to_string()
            .contains("drift.reference_window"));
    }
}
