//! The mentor's dashboard: a read-only web app over one or more progress
//! databases (`roadmap dashboard --db A.db --db B.db`).
//!
//! - `/`: the cohort, one row per learner (sortable by any column: `?sort=&dir=`);
//! - `/learner/{db}/{name}`: a learner's summary, weekly study-time chart,
//!   phases, every milestone run with metrics, criteria and artifacts (plots
//!   shown inline), notes and the timeline of events;
//! - `/capstone`: phase 6 per learner, requirements and runs with their figures;
//! - `/artifact/{db}/{run}/{file}`: a file from a run's artifact folder.
//!
//! Every request opens the databases read-only (as `roadmap cohort` does), so
//! browsing never changes a byte of them. Pages are rendered on the server
//! with minijinja ([`render`]); there is no JavaScript and nothing comes from
//! a CDN. When a token is set (required when bound beyond 127.0.0.1), every
//! request must present it: `Authorization: Bearer T`, or `?token=T` once
//! (which sets an HttpOnly cookie and redirects to drop it from the address).

pub mod render;
pub mod views;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Result};
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::db::Db;
use crate::progress;
use crate::roadmap::Roadmap;
use views::Links;

/// The cookie that carries the token after a `?token=` visit.
pub const COOKIE: &str = "roadmap_dashboard_token";

/// What the server serves.
pub struct Dashboard {
    pub dbs: Vec<PathBuf>,
    pub roadmap: Roadmap,
    pub token: Option<String>,
}

/// Checks a token before serving: long enough to resist guessing, and made of
/// characters that travel unescaped in a URL and a cookie.
pub fn check_token(token: &str) -> Result<()> {
    if token.len() < 16 {
        bail!("the dashboard token is too short ({} characters): use at least 16, for example the output of `openssl rand -hex 16`", token.len());
    }
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    {
        bail!("the dashboard token may only hold letters, digits and - . _ ~ (it travels in URLs and cookies)");
    }
    Ok(())
}

/// A page that could not be served: its status and why.
struct PageError {
    status: StatusCode,
    message: String,
}

impl PageError {
    fn not_found(message: String) -> PageError {
        PageError {
            status: StatusCode::NOT_FOUND,
            message,
        }
    }
}

impl From<anyhow::Error> for PageError {
    fn from(e: anyhow::Error) -> PageError {
        PageError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: roadmap_common::redact::redact_text(&format!("{e:#}")),
        }
    }
}

/// Every page: its HTML with a policy that forbids scripts and remote loads.
fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"),
    );
    r
}

#[derive(Serialize)]
struct Base<'a, T: Serialize> {
    title: String,
    roadmap_title: &'a str,
    generated: String,
    nav: bool,
    #[serde(flatten)]
    page: T,
}

impl Dashboard {
    fn base<T: Serialize>(&self, title: String, page: T) -> Base<'_, T> {
        Base {
            title,
            roadmap_title: &self.roadmap.title,
            generated: chrono::Local::now().format("%Y-%m-%d %H:%M").to_string(),
            nav: true,
            page,
        }
    }

    fn open(&self, index: usize) -> Result<Db, PageError> {
        let path = self
            .dbs
            .get(index)
            .ok_or_else(|| PageError::not_found(format!("there is no database number {index}")))?;
        Ok(Db::open_read_only(path)?)
    }

    fn page(&self, r: Result<String, PageError>) -> Response {
        match r {
            Ok(body) => html(StatusCode::OK, body),
            Err(e) => {
                let heading = e.status.canonical_reason().unwrap_or("error").to_string();
                let ctx = self.base(
                    heading.clone(),
                    serde_json::json!({ "heading": heading, "message": e.message }),
                );
                let body = render::render("error.html", &ctx).unwrap_or(e.message);
                html(e.status, body)
            }
        }
    }

    fn cohort(&self, sort: &str, desc: bool) -> Result<String, PageError> {
        let today = progress::today();
        let mut rows = Vec::new();
        for i in 0..self.dbs.len() {
            let db = self.open(i)?;
            rows.extend(views::cohort_rows(&db, i, &self.roadmap, today)?);
        }
        views::sort_rows(&mut rows, sort, desc);
        let columns: Vec<_> = [
            ("learner", "learner"),
            ("db", "database"),
            ("phase", "current phase"),
            ("done", "done"),
            ("week", "this week"),
            ("month", "this month"),
            ("last", "last activity"),
            ("pace", "pace"),
        ]
        .iter()
        .map(|(key, label)| {
            let next_desc = if *key == sort { !desc } else { false };
            serde_json::json!({ "key": key, "label": label, "next_dir": if next_desc { "desc" } else { "asc" } })
        })
        .collect();
        let ctx = self.base(
            "Cohort".into(),
            serde_json::json!({
                "rows": rows,
                "columns": columns,
                "sort": sort,
                "desc": desc,
                "dbs": self.dbs.iter().map(|p| views::db_name(p)).collect::<Vec<_>>(),
                "phase_ids": self.roadmap.phases.iter().map(|p| &p.id).collect::<Vec<_>>(),
            }),
        );
        Ok(render::render("cohort.html", &ctx)?)
    }

    fn learner(&self, index: usize, name: &str) -> Result<String, PageError> {
        let db = self.open(index)?;
        if !db.learners()?.iter().any(|l| l == name) {
            return Err(PageError::not_found(format!(
                "no learner called {name} in {}",
                views::db_name(db.path())
            )));
        }
        let l = views::learner(
            &db,
            index,
            &self.roadmap,
            name,
            progress::today(),
            Links::Dashboard { db: index },
        )?;
        let ctx = self.base(format!("{name}: progress"), serde_json::json!({ "l": l }));
        Ok(render::render("learner.html", &ctx)?)
    }

    fn capstone(&self) -> Result<String, PageError> {
        let today = progress::today();
        let Some(last) = self.roadmap.phases.len().checked_sub(1) else {
            return Err(PageError::not_found("the roadmap has no phases".into()));
        };
        let mut learners = Vec::new();
        for i in 0..self.dbs.len() {
            let db = self.open(i)?;
            for name in db.learners()? {
                let mut l = views::learner(
                    &db,
                    i,
                    &self.roadmap,
                    &name,
                    today,
                    Links::Dashboard { db: i },
                )?;
                let phase = l.phases.swap_remove(last);
                learners.push(serde_json::json!({
                    "learner": l.learner, "db": i, "db_name": l.db_name, "phase": phase,
                }));
            }
        }
        let ctx = self.base(
            "Phase 6 capstone".into(),
            serde_json::json!({ "learners": learners }),
        );
        Ok(render::render("capstone.html", &ctx)?)
    }

    /// A file directly inside run `run`'s recorded artifact folder.
    fn artifact(&self, index: usize, run: i64, file: &str) -> Result<Response, PageError> {
        if file.is_empty()
            || file.starts_with('.')
            || file.contains(['/', '\\'])
            || file.contains("..")
        {
            return Err(PageError::not_found(format!("`{file}` is not a file name")));
        }
        let db = self.open(index)?;
        let mut dir = None;
        for l in db.learners()? {
            if let Some(r) = db.runs(&l)?.into_iter().find(|r| r.id == run) {
                dir = r.artifact_dir;
            }
        }
        let dir =
            dir.ok_or_else(|| PageError::not_found(format!("run #{run} has no artifact folder")))?;
        let dir = PathBuf::from(dir);
        let path = dir.join(file);
        let inside = match (path.canonicalize(), dir.canonicalize()) {
            (Ok(p), Ok(d)) => p.parent() == Some(d.as_path()) && p.is_file(),
            _ => false,
        };
        if !inside {
            return Err(PageError::not_found(format!(
                "run #{run} has no artifact called {file}"
            )));
        }
        let bytes = std::fs::read(&path).map_err(anyhow::Error::from)?;
        let ext = file.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
        let ctype = match ext.as_str() {
            "svg" => "image/svg+xml",
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            "gif" => "image/gif",
            "json" => "application/json",
            "html" => "text/html; charset=utf-8",
            "csv" | "txt" | "md" | "log" | "toml" => "text/plain; charset=utf-8",
            _ => "application/octet-stream",
        };
        let mut r = (StatusCode::OK, bytes).into_response();
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        // Artifacts are data, never code: no scripts even in SVG or HTML reports.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
            ),
        );
        Ok(r)
    }
}

type Shared = Arc<Dashboard>;

/// Runs `f` on the blocking pool (SQLite and template work).
async fn blocking<F: FnOnce() -> Response + Send + 'static>(f: F) -> Response {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response())
}

#[derive(serde::Deserialize)]
struct SortQuery {
    sort: Option<String>,
    dir: Option<String>,
}

async fn cohort_page(State(d): State<Shared>, Query(q): Query<SortQuery>) -> Response {
    blocking(move || {
        let sort = q.sort.unwrap_or_else(|| "learner".into());
        let desc = q.dir.as_deref() == Some("desc");
        d.page(d.cohort(&sort, desc))
    })
    .await
}

async fn learner_page(
    State(d): State<Shared>,
    Path((db, name)): Path<(usize, String)>,
) -> Response {
    blocking(move || d.page(d.learner(db, &name))).await
}

async fn capstone_page(State(d): State<Shared>) -> Response {
    blocking(move || d.page(d.capstone())).await
}

async fn artifact_file(
    State(d): State<Shared>,
    Path((db, run, file)): Path<(usize, i64, String)>,
) -> Response {
    blocking(move || match d.artifact(db, run, &file) {
        Ok(r) => r,
        Err(e) => d.page(Err(e)),
    })
    .await
}

async fn not_found(State(d): State<Shared>) -> Response {
    d.page(Err(PageError::not_found(
        "no such page: the cohort is at /".into(),
    )))
}

fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(t) = v.strip_prefix("Bearer ") {
            return Some(t.trim().to_string());
        }
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The token check (a no-op without a token).
async fn auth(State(d): State<Shared>, req: Request, next: Next) -> Response {
    let Some(token) = d.token.as_deref() else {
        return next.run(req).await;
    };
    if presented_token(req.headers()).is_some_and(|t| same(&t, token)) {
        return next.run(req).await;
    }
    let query: HashMap<String, String> = Query::try_from_uri(req.uri())
        .map(|Query(q)| q)
        .unwrap_or_default();
    if query.get("token").is_some_and(|t| same(t, token)) {
        // Keep the token out of the address bar and the history: a cookie, then back.
        let cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
        return Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header(header::LOCATION, req.uri().path())
            .header(header::SET_COOKIE, cookie)
            .body(Body::empty())
            .expect("valid response");
    }
    let mut r = d.page(Err(PageError {
        status: StatusCode::UNAUTHORIZED,
        message: "this dashboard needs its token: open it once as /?token=TOKEN, or send Authorization: Bearer TOKEN".into(),
    }));
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"roadmap dashboard\""),
    );
    r
}

/// The dashboard's routes, behind the token check.
pub fn router(d: Shared) -> Router {
    Router::new()
        .route("/", get(cohort_page))
        .route("/learner/{db}/{name}", get(learner_page))
        .route("/capstone", get(capstone_page))
        .route("/artifact/{db}/{run}/{file}", get(artifact_file))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(d.clone(), auth))
        .with_state(d)
}

/// Serves until Ctrl-C.
pub async fn serve(listener: tokio::net::TcpListener, d: Shared) -> Result<()> {
    axum::serve(listener, router(d))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// `roadmap report --format html`: the learner sections of the dashboard as one static page.
pub fn report_html(roadmap: &Roadmap, db: &Db, learners: &[String]) -> Result<String> {
    let today = progress::today();
    let views = learners
        .iter()
        .map(|l| views::learner(db, 0, roadmap, l, today, Links::None))
        .collect::<Result<Vec<_>>>()?;
    let ctx = Base {
        title: format!("{}: progress report", roadmap.title),
        roadmap_title: &roadmap.title,
        generated: today.to_string(),
        nav: false,
        page: serde_json::json!({ "learners": views }),
    };
    render::render("report.html", &ctx)
}
