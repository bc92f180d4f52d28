//! Service drift: the request log's features in a time window, and their
//! drift between a reference window and a current one.
//!
//! A deployed RAG service degrades quietly: users start asking other kinds
//! of questions, a re-ingest changes what retrieval finds, a new model
//! writes shorter answers. None of that raises an error; all of it shows in
//! the distribution of a few per-request numbers. This module reads those
//! numbers from the durable request log ([`crate::requestlog`]) and hands
//! them to `roadmap-quality`'s drift engine, which picks and runs the test
//! Evidently's `DataDriftPreset` would pick for each feature (so the result
//! equals Evidently's on the same values).
//!
//! The features ([`crate::metrics::DRIFT_FEATURES`], one value per request):
//!
//! | feature | request-log column | kind |
//! |---|---|---|
//! | `question_tokens` | `question_tokens` | numeric |
//! | `top_score` | `top_score` (best retrieval score) | numeric |
//! | `hits_above` | `hits_above` (hits over the relevance threshold) | numeric |
//! | `answer_chars` | `answer_chars` | numeric |
//! | `grounded` | `grounding = 'cited'` | categorical (`true`/`false`) |
//! | `latency_ms` | `latency_ms` | numeric |
//! | `no_answer` | `no_answer` | categorical (`true`/`false`) |
//!
//! Only successful question requests count (`route` `/v1/ask` or
//! `/v1/search`, status 2xx): a burst of rejected requests is an incident for
//! the error-rate alert, not a change in what users ask. A feature a request
//! does not have (a search has no answer) is missing for that request, and the
//! drift report counts it as a null.
//!
//! `roadmap monitor service` calls [`service_drift`]; the service's periodic
//! check ([`crate::drift_task`]) reads the same windows with [`read_window`]
//! and tests them with [`compare`], so both report the same numbers.

use rusqlite::{params, Connection, OpenFlags};
use serde::Serialize;

use roadmap_quality::{drift_from_features, DriftOptions, DriftReport, FeatureValues};

/// Routes whose requests carry a question.
pub const QUESTION_ROUTES: [&str; 2] = ["/v1/ask", "/v1/search"];

/// A half-open time window `[start, end)` in seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Window {
    pub start_unix: f64,
    pub end_unix: f64,
}

impl Window {
    /// `[start, end)` as RFC 3339 times, for messages and reports.
    pub fn describe(&self) -> String {
        format!("{} .. {}", rfc3339(self.start_unix), rfc3339(self.end_unix))
    }

    /// The current window `[end − current, end)` and the reference window
    /// that ends where it starts, `[end − current − reference, end − current)`.
    pub fn pair(end_unix: f64, reference_secs: f64, current_secs: f64) -> (Window, Window) {
        let current = Window {
            start_unix: end_unix - current_secs,
            end_unix,
        };
        let reference = Window {
            start_unix: current.start_unix - reference_secs,
            end_unix: current.start_unix,
        };
        (reference, current)
    }
}

fn rfc3339(unix: f64) -> String {
    chrono::DateTime::from_timestamp(unix.floor() as i64, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| format!("{unix} s"))
}

/// The features of the requests in one window, in [`crate::metrics::DRIFT_FEATURES`] order.
#[derive(Debug, Clone)]
pub struct WindowFeatures {
    pub window: Window,
    /// Question requests in the window.
    pub requests: u64,
    pub features: Vec<(String, FeatureValues)>,
}

/// Why the drift of the request log could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    #[error("cannot read the request log in {store}: {message}")]
    Store { store: String, message: String },
    #[error(
        "the {which} window ({window}) holds no successful /v1/ask or /v1/search requests in {store} \
         ({total} question requests in the whole log{span}); widen --{which}-window or move --end"
    )]
    EmptyWindow {
        which: &'static str,
        window: String,
        store: String,
        total: u64,
        span: String,
    },
    #[error(transparent)]
    Drift(#[from] roadmap_quality::QualityError),
}

/// Opens a request log read-only (a missing file is an error, not a new empty log).
pub fn open_read_only(path: &std::path::Path) -> Result<Connection, FeatureError> {
    let store = path.display().to_string();
    if !path.is_file() {
        return Err(FeatureError::Store {
            store,
            message: "no such file; pass --store with the service's SQLite store (the file its \
                      [store] url names)"
                .into(),
        });
    }
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| {
            FeatureError::Store {
                store: store.clone(),
                message: e.to_string(),
            }
        })?;
    let has_log: bool = conn
        .query_row(
            "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'request_log'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| FeatureError::Store {
            store: store.clone(),
            message: e.to_string(),
        })?;
    if !has_log {
        return Err(FeatureError::Store {
            store,
            message: "it has no request_log table: it is not a RAG service store, or the service \
                      never logged a request into it"
                .into(),
        });
    }
    Ok(conn)
}

const WHERE_QUESTIONS: &str =
    "route IN ('/v1/ask', '/v1/search') AND status >= 200 AND status < 300";

fn bool_cat(b: Option<bool>) -> Option<String> {
    b.map(|b| b.to_string())
}

/// Reads the features of the question requests in `window`.
pub fn read_window(
    conn: &Connection,
    store: &str,
    window: Window,
) -> Result<WindowFeatures, FeatureError> {
    let err = |e: rusqlite::Error| FeatureError::Store {
        store: store.to_owned(),
        message: e.to_string(),
    };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT question_tokens, top_score, hits_above, answer_chars, grounding, latency_ms, no_answer
             FROM request_log WHERE {WHERE_QUESTIONS} AND at_unix >= ?1 AND at_unix < ?2
             ORDER BY at_unix"
        ))
        .map_err(err)?;
    let num = |v: Option<f64>| v.unwrap_or(f64::NAN);
    let (mut tokens, mut top, mut hits, mut chars, mut lat) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut grounded, mut no_answer) = (Vec::new(), Vec::new());
    let mut rows = stmt
        .query(params![window.start_unix, window.end_unix])
        .map_err(err)?;
    while let Some(r) = rows.next().map_err(err)? {
        tokens.push(num(r.get::<_, Option<f64>>(0).map_err(err)?));
        top.push(num(r.get(1).map_err(err)?));
        hits.push(num(r.get::<_, Option<f64>>(2).map_err(err)?));
        chars.push(num(r.get::<_, Option<f64>>(3).map_err(err)?));
        let g: Option<String> = r.get(4).map_err(err)?;
        grounded.push(bool_cat(g.map(|g| g == "cited")));
        lat.push(num(r.get(5).map_err(err)?));
        no_answer.push(bool_cat(r.get::<_, Option<bool>>(6).map_err(err)?));
    }
    let requests = lat.len() as u64;
    let features = vec![
        ("question_tokens".to_owned(), FeatureValues::Numeric(tokens)),
        ("top_score".to_owned(), FeatureValues::Numeric(top)),
        ("hits_above".to_owned(), FeatureValues::Numeric(hits)),
        ("answer_chars".to_owned(), FeatureValues::Numeric(chars)),
        ("grounded".to_owned(), FeatureValues::Category(grounded)),
        ("latency_ms".to_owned(), FeatureValues::Numeric(lat)),
        ("no_answer".to_owned(), FeatureValues::Category(no_answer)),
    ];
    Ok(WindowFeatures {
        window,
        requests,
        features,
    })
}

/// The drift of the request log's features, reference window vs current window.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceDrift {
    pub reference: Window,
    pub current: Window,
    pub reference_requests: u64,
    pub current_requests: u64,
    #[serde(skip)]
    pub report: DriftReport,
}

/// Reads both windows and runs the drift tests. An empty window is an
/// error naming the window and what the log does hold.
pub fn service_drift(
    conn: &Connection,
    store: &str,
    reference: Window,
    current: Window,
    opts: &DriftOptions,
) -> Result<ServiceDrift, FeatureError> {
    let r = read_window(conn, store, reference)?;
    let c = read_window(conn, store, current)?;
    for (which, w) in [("reference", &r), ("current", &c)] {
        if w.requests == 0 {
            let (total, first, last): (u64, Option<f64>, Option<f64>) = conn
                .query_row(
                    &format!(
                        "SELECT COUNT(*), MIN(at_unix), MAX(at_unix) FROM request_log WHERE {WHERE_QUESTIONS}"
                    ),
                    [],
                    |row| Ok((row.get::<_, i64>(0)? as u64, row.get(1)?, row.get(2)?)),
                )
                .map_err(|e| FeatureError::Store {
                    store: store.to_owned(),
                    message: e.to_string(),
                })?;
            let span = match (first, last) {
                (Some(a), Some(b)) => format!(", from {} to {}", rfc3339(a), rfc3339(b)),
                _ => String::new(),
            };
            return Err(FeatureError::EmptyWindow {
                which,
                window: w.window.describe(),
                store: store.to_owned(),
                total,
                span,
            });
        }
    }
    compare(&r, &c, opts)
}

/// Runs the drift tests on two windows already read (both non-empty: the
/// caller decides what an empty window means — an error for the CLI, "no
/// verdict" for the service's periodic check).
pub fn compare(
    r: &WindowFeatures,
    c: &WindowFeatures,
    opts: &DriftOptions,
) -> Result<ServiceDrift, FeatureError> {
    let mut report = drift_from_features(&r.features, &c.features, opts)?;
    report.reference = format!("request log {}", r.window.describe());
    report.current = format!("request log {}", c.window.describe());
    Ok(ServiceDrift {
        reference: r.window,
        current: c.window,
        reference_requests: r.requests,
        current_requests: c.requests,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requestlog::{LogBackend, LogWrite, RequestRecord, SqliteLog};

    fn request(i: usize, at: f64, tokens: u32, route: &str, status: u16) -> LogWrite {
        LogWrite::Request(Box::new(RequestRecord {
            request_id: format!("r{i}"),
            at_unix: at,
            route: route.into(),
            status,
            question_tokens: Some(tokens),
            top_score: Some(0.5),
            hits_above: Some(2),
            answer_chars: (route == "/v1/ask").then_some(120),
            grounding: (route == "/v1/ask").then(|| "cited".to_owned()),
            no_answer: (route == "/v1/ask").then_some(false),
            latency_ms: 10.0,
            ..Default::default()
        }))
    }

    #[test]
    fn windows_select_successful_question_requests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rag.db");
        let mut log = SqliteLog::open(&path).unwrap();
        log.write(&[
            request(0, 100.0, 5, "/v1/ask", 200),
            request(1, 150.0, 7, "/v1/search", 200),
            request(2, 160.0, 9, "/v1/ask", 422),
            request(3, 170.0, 9, "/v1/collections", 200),
            request(4, 200.0, 11, "/v1/ask", 200),
        ])
        .unwrap();
        let conn = open_read_only(&path).unwrap();
        let (reference, current) = Window::pair(250.0, 100.0, 50.0);
        assert_eq!(current.start_unix, 200.0);
        let w = read_window(&conn, "t", reference).unwrap();
        assert_eq!(
            w.requests, 2,
            "the 422 and the collections call are left out"
        );
        match &w.features[0].1 {
            FeatureValues::Numeric(v) => assert_eq!(v, &[5.0, 7.0]),
            _ => panic!("question_tokens is numeric"),
        }
        match &w.features[4].1 {
            FeatureValues::Category(v) => assert_eq!(v, &[Some("true".to_owned()), None]),
            _ => panic!("grounded is categorical"),
        }
        let e = service_drift(
            &conn,
            "t",
            Window {
                start_unix: 0.0,
                end_unix: 50.0,
            },
            current,
            &DriftOptions::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("the reference window")
                && e.to_string().contains("3 question requests"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_store_is_refused_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.db");
        assert!(open_read_only(&path)
            .unwrap_err()
            .to_string()
            .contains("no such file"));
        assert!(!path.exists());
    }
}
