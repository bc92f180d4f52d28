//! The handlers of `/v1/ask`, `/v1/search`, `/v1/collections`, `/v1/feedback`
//! and the operational endpoints; ingestion is in [`crate::documents`].
//!
//! Every request: its body validated completely first (422 with all
//! problems), then done within `server.request_timeout_seconds` (504 after),
//! then one request-log row (ask and search) and one access-log line.
//! Ask and search take a user key (`user` in the body or `X-User-Id`); a
//! user in a running A/B experiment gets its variant's settings, an
//! `X-Experiment-Key` / `X-Experiment-Variant` answer header, an exposure row
//! and the experiment and variant on the request's log row
//! ([`crate::experiments`]).
//! Generation by an LLM goes through the admission queue *before* retrieval,
//! so a refused request (429 + `Retry-After`) costs nothing. A client that
//! disconnects — or a deadline that passes — cancels its generation: the
//! generator's text callback sees the flag and stops at the next token.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use roadmap_http::{
    AccessFields, ApiError, HttpErrorBody, ValidJson, ValidationErrorBody, ValidationIssue,
};
use roadmap_rag::explain::{explain_answer, MAX_EXPLAINED_PASSAGES};
use roadmap_rag::generate::{Answer, ExtractiveGenerator, Generator, NO_ANSWER};
use roadmap_rag::retrieve::{search_with_vector, Mode, SearchOptions};
use roadmap_rag::store::Hit;
use roadmap_rag::RagError;
use serde_json::json;

use crate::api::{
    AnswerExplanation, AskRequest, AskResponse, Citation, FeedbackRequest, Passage, PassageShare,
    SearchRequest, SearchResponse, Timings,
};
use crate::batcher::EmbedError;
use crate::experiments::{self, Arm};
use crate::metrics::{GeneratorLabel, GroundingLabel, RatingLabel};
use crate::queue::Admission;
use crate::requestlog::{hash_user, now_unix, Feedback, LogWrite, RequestRecord};
use crate::service::AppState;

/// A hit scoring at least this counts as relevant in the request log's
/// `hits_above` (fused convex scores and cosine similarities are in [0, 1]).
pub const RELEVANT_SCORE: f64 = 0.5;

/// Middleware of the read routes: a key only when `auth.read_requires_key`.
pub async fn require_read_key(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if s.config.auth.read_requires_key {
        if let Err(e) = s.keys.check(req.headers()) {
            return e.into_response();
        }
    }
    next.run(req).await
}

/// Middleware of the write routes: always a key.
pub async fn require_write_key(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if let Err(e) = s.keys.check(req.headers()) {
        return e.into_response();
    }
    next.run(req).await
}

/// Runs `work` within the request deadline; 504 after it.
pub async fn with_deadline<T>(
    s: &AppState,
    work: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let limit = s.config.request_timeout();
    tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
        Err(ApiError::http(
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "the request took longer than its {:.1}-second deadline: retry, ask for fewer passages (k) or use the extractive generator",
                limit.as_secs_f64()
            ),
        ))
    })
}

/// A store error as an HTTP error (the message never holds a password:
/// the stores print URLs redacted).
pub fn store_error(e: RagError) -> ApiError {
    match e {
        RagError::NoCollection(c) => ApiError::http(
            StatusCode::NOT_FOUND,
            format!("collection `{c}` does not exist: create it by ingesting documents with POST /v1/collections/{c}/documents, or list collections with GET /v1/collections"),
        ),
        e @ RagError::ModelMismatch { .. } => ApiError::http(StatusCode::CONFLICT, e.to_string()),
        RagError::Invalid(m) => ApiError::http(StatusCode::BAD_REQUEST, m),
        e @ (RagError::Store { .. }
        | RagError::Sql { .. }
        | RagError::Pg { .. }
        | RagError::PgConnect { .. }
        | RagError::Io { .. }) => {
            tracing::error!(error = %roadmap_common::redact::redact_text(&e.to_string()), "store unavailable");
            ApiError::http(
                StatusCode::SERVICE_UNAVAILABLE,
                "the knowledge base store is unavailable; retry shortly (see /readyz)",
            )
            .header(header::RETRY_AFTER, HeaderValue::from_static("5"))
        }
        e => {
            tracing::error!(error = %e, "request failed");
            ApiError::http(StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the server log")
        }
    }
}

fn blocking_failed(e: tokio::task::JoinError) -> ApiError {
    tracing::error!(error = %e, "worker task failed");
    ApiError::http(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; see the server log",
    )
}

/// Retrieval for one request: the query embedded by the batcher (dense and
/// hybrid), then the search on a reader connection.
pub struct Retrieved {
    pub hits: Vec<Hit>,
    pub ms: f64,
}

pub async fn retrieve(
    s: &AppState,
    query: &str,
    collection: &str,
    opts: SearchOptions,
) -> Result<Retrieved, ApiError> {
    let t0 = Instant::now();
    let qvec = if opts.mode == Mode::Bm25 {
        None
    } else {
        Some(s.batcher.embed(query).await.map_err(|e| {
            // Overload is the client's cue to back off (429), not a fault of
            // the service (5xx): the queue bound is the load-shedding point.
            let status = match e {
                EmbedError::Full(_) => StatusCode::TOO_MANY_REQUESTS,
                EmbedError::Stopped | EmbedError::Failed(_) => StatusCode::SERVICE_UNAVAILABLE,
            };
            ApiError::http(status, format!("cannot embed the query: {e}"))
                .header(header::RETRY_AFTER, HeaderValue::from_static("1"))
        })?)
    };
    let (state, query, collection) = (s.clone(), query.to_string(), collection.to_string());
    let hits = tokio::task::spawn_blocking(move || {
        state.stores.read(|store| {
            let info = store
                .collection(&collection)?
                .ok_or_else(|| RagError::NoCollection(collection.clone()))?;
            if qvec.is_some()
                && (info.model_id != state.embedder_id || info.dim != state.embedder_dim)
            {
                return Err(RagError::ModelMismatch {
                    collection: collection.clone(),
                    stored_model: info.model_id,
                    stored_dim: info.dim,
                    new_model: state.embedder_id.clone(),
                    new_dim: state.embedder_dim,
                });
            }
            search_with_vector(&*store, &collection, &query, qvec.as_deref(), &opts)
        })
    })
    .await
    .map_err(blocking_failed)?
    .map_err(store_error)?;
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    s.metrics.retrieval.observe(ms / 1e3);
    Ok(Retrieved { hits, ms })
}

/// A request's explicit mode (validated against `api::MODES` already).
fn requested_mode(mode: Option<&str>) -> Option<Mode> {
    mode.and_then(|m| m.parse().ok())
}

/// The user key of a request, or the 422 for a bad `X-User-Id` (or one that
/// contradicts the body's `user`).
fn user_of<'a>(body: Option<&'a str>, headers: &'a HeaderMap) -> Result<Option<&'a str>, ApiError> {
    experiments::user_key(body, headers).map_err(|msg| {
        let loc = if body.is_some() && headers.contains_key(experiments::USER_HEADER) {
            vec!["body".into(), "user".into()]
        } else {
            vec!["header".into(), experiments::USER_HEADER.into()]
        };
        ApiError::Validation(vec![ValidationIssue::new(loc, msg, "value_error")])
    })
}

/// Fills the user's hash and, for an assigned user, the experiment and
/// variant of the request's log row, and logs the exposure (the log keeps
/// the first per user and variant).
fn expose(s: &AppState, rec: &mut RequestRecord, user: Option<&str>, arm: Option<&Arm>) {
    rec.user_hash = user.map(|u| hash_user(&s.user_salt, u));
    if let (Some(arm), Some(user_hash)) = (arm, &rec.user_hash) {
        rec.experiment = Some(arm.experiment.clone());
        rec.variant = Some(arm.variant.clone());
        if let Some(log) = &s.log {
            log.write(LogWrite::Exposure {
                experiment: arm.experiment.clone(),
                user_hash: user_hash.clone(),
                variant: arm.variant.clone(),
                at_unix: rec.at_unix,
            });
        }
    }
}

/// Adds the experiment's answer headers for an assigned request.
fn with_arm(mut resp: Response, arm: Option<&Arm>) -> Response {
    if let Some(arm) = arm {
        // Keys and variant names are `[A-Za-z0-9._-]+` (checked by the parser).
        for (name, value) in [
            (experiments::KEY_HEADER, &arm.experiment),
            (experiments::VARIANT_HEADER, &arm.variant),
        ] {
            if let Ok(v) = HeaderValue::from_str(value) {
                resp.headers_mut().insert(name, v);
            }
        }
    }
    resp
}

fn retrieval_fields(rec: &mut RequestRecord, hits: &[Hit]) {
    let scores: Vec<f64> = hits.iter().map(|h| h.score).collect();
    rec.top_score = scores.first().copied();
    rec.hits_above = Some(scores.iter().filter(|s| **s >= RELEVANT_SCORE).count() as u32);
    rec.scores = Some(scores);
}

fn log_row(s: &AppState, rec: RequestRecord) {
    if let Some(log) = &s.log {
        log.write(LogWrite::Request(Box::new(rec)));
    }
}

/// The request-log row of a search or ask, before its outcome: the text is
/// stored redacted, with its whitespace-token count (a drift feature).
fn base_record(
    id: &str,
    route: &str,
    text: &str,
    collection: &str,
    opts: &SearchOptions,
) -> RequestRecord {
    RequestRecord {
        request_id: id.to_string(),
        at_unix: now_unix(),
        route: route.to_string(),
        collection: Some(collection.to_string()),
        k: Some(opts.k as u32),
        mode: Some(opts.mode.as_str().to_string()),
        question: Some(roadmap_common::redact::redact_text(text)),
        question_tokens: Some(text.split_whitespace().count() as u32),
        ..Default::default()
    }
}

fn with_fields(
    mut resp: Response,
    collection: &str,
    generator: Option<&'static str>,
    streamed: bool,
) -> Response {
    resp.extensions_mut().insert(AccessFields {
        collection: Some(collection.to_string()),
        generator,
        streamed,
    });
    resp
}

/// Ranked passages with spans and scores.
#[utoipa::path(post, path = "/v1/search", tag = "rag", request_body = SearchRequest,
    responses(
        (status = 200, description = "Passages, best first", body = SearchResponse),
        (status = 400, description = "Malformed JSON", body = HttpErrorBody),
        (status = 404, description = "Unknown collection", body = HttpErrorBody),
        (status = 415, description = "Not JSON", body = HttpErrorBody),
        (status = 422, description = "Every problem of the body", body = ValidationErrorBody),
        (status = 429, description = "Embedding queue full (retrieval.max_queued_queries): retry after Retry-After seconds", body = HttpErrorBody),
        (status = 503, description = "Store unavailable", body = HttpErrorBody),
    ))]
pub async fn search(
    State(s): State<AppState>,
    headers: HeaderMap,
    ValidJson(req): ValidJson<SearchRequest>,
) -> Response {
    let started = Instant::now();
    let id = roadmap_http::observe::request_id(&headers);
    let collection = req
        .collection
        .clone()
        .unwrap_or_else(|| s.config.retrieval.default_collection.clone());
    let user = match user_of(req.user.as_deref(), &headers) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let assigned = user.and_then(|u| s.experiments.assign(u, chrono::Utc::now()));
    let opts = experiments::search_options(
        &s.config.retrieval,
        assigned.map(|a| a.overrides),
        req.k,
        requested_mode(req.mode.as_deref()),
    );
    let arm = assigned.map(Arm::from);
    let mode = opts.mode;
    let mut rec = base_record(&id, "/v1/search", &req.query, &collection, &opts);
    expose(&s, &mut rec, user, arm.as_ref());
    let result = with_deadline(&s, retrieve(&s, &req.query, &collection, opts)).await;
    rec.latency_ms = started.elapsed().as_secs_f64() * 1e3;
    let resp = match result {
        Ok(r) => {
            retrieval_fields(&mut rec, &r.hits);
            rec.retrieval_ms = Some(r.ms);
            rec.status = 200;
            Json(SearchResponse {
                query: req.query,
                collection: collection.clone(),
                mode: mode.as_str().to_string(),
                hits: Passage::from_hits(&r.hits),
                timings: Timings {
                    retrieval_ms: r.ms,
                    total_ms: started.elapsed().as_secs_f64() * 1e3,
                    ..Default::default()
                },
                request_id: id,
            })
            .into_response()
        }
        Err(e) => {
            rec.status = e.status().as_u16();
            rec.error = Some(e.status().canonical_reason().unwrap_or("error").to_string());
            e.into_response()
        }
    };
    log_row(&s, rec);
    with_arm(with_fields(resp, &collection, None, false), arm.as_ref())
}

/// Sets the flag when dropped: the handler's future was dropped (client gone,
/// deadline passed) and its generation should stop.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// `cited` when the answer cites passages, `attributed` when it was matched
/// to passages, else `none`.
pub fn grounding(a: &Answer) -> &'static str {
    if !a.cited.is_empty() {
        "cited"
    } else if !a.attributed.is_empty() {
        "attributed"
    } else {
        "none"
    }
}

/// Whether an answer declines ("I don't know…").
pub fn is_no_answer(a: &Answer) -> bool {
    a.text == NO_ANSWER
        || a.text
            .trim_start()
            .to_lowercase()
            .starts_with("i don't know")
}

/// A generator for one request: the extractive one (built on the spot) or
/// an instance checked out of its pool (given back by [`Lease::drop`]).
struct Lease {
    gen: Option<Box<dyn Generator + Send>>,
    pool: Option<(AppState, &'static str)>,
    _admission: Option<Admission>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let (Some(g), Some((s, name))) = (self.gen.take(), self.pool.take()) {
            if let Some(p) = s.generators.get(name) {
                p.put(g);
            }
        }
    }
}

/// What one generation produced.
struct Generated {
    answer: Answer,
    generation_ms: f64,
    ttft_ms: Option<f64>,
}

/// Runs a generator on a blocking thread. `on_piece` gets each piece of text
/// and returns false to stop; `cancel` stops it too.
async fn generate(
    mut lease: Lease,
    question: String,
    hits: Vec<Hit>,
    started: Instant,
    cancel: Arc<AtomicBool>,
    mut on_piece: impl FnMut(&str) -> bool + Send + 'static,
) -> Result<Generated, ApiError> {
    if lease.gen.is_none() {
        return Err(ApiError::http(
            StatusCode::SERVICE_UNAVAILABLE,
            "no generator instance is free; retry shortly",
        )
        .header(header::RETRY_AFTER, HeaderValue::from_static("1")));
    }
    tokio::task::spawn_blocking(move || {
        let t0 = Instant::now();
        let mut ttft = None;
        let gen = lease.gen.as_mut().expect("a lease holds a generator");
        let r = gen.answer(&question, &hits, &mut |piece: &str| {
            if ttft.is_none() {
                ttft = Some(started.elapsed().as_secs_f64() * 1e3);
            }
            !cancel.load(Ordering::Acquire) && on_piece(piece)
        });
        drop(lease);
        r.map(|answer| Generated {
            answer,
            generation_ms: t0.elapsed().as_secs_f64() * 1e3,
            ttft_ms: ttft,
        })
    })
    .await
    .map_err(blocking_failed)?
    .map_err(|e| {
        tracing::error!(error = %roadmap_common::redact::redact_text(&e.to_string()), "generation failed");
        ApiError::http(StatusCode::BAD_GATEWAY, "the generator failed; see the server log")
    })
}

/// The answer body from a generation.
#[allow(clippy::too_many_arguments)]
fn ask_response(
    g: &Generated,
    generator: &str,
    collection: &str,
    mode: Mode,
    hits: &[Hit],
    retrieval_ms: f64,
    started: Instant,
    id: &str,
    explain: bool,
) -> AskResponse {
    let a = &g.answer;
    // k ≤ 6 is checked before retrieval, so the enumeration cannot refuse.
    let explanation = explain
        .then(|| explain_answer(&a.text, hits).ok())
        .flatten()
        .map(|e| AnswerExplanation {
            base_value: e.empty,
            full_value: e.full,
            coalitions: e.coalitions,
            additivity_error: e.additivity_error(),
            passages: e
                .values
                .iter()
                .enumerate()
                .map(|(i, &shapley)| PassageShare { n: i + 1, shapley })
                .collect(),
        });
    AskResponse {
        answer: a.text.clone(),
        citations: a
            .cited
            .iter()
            .filter_map(|&n| {
                let h = hits.get(n.checked_sub(1)?)?;
                Some(Citation {
                    n,
                    source: Passage::from_hits(std::slice::from_ref(h))[0]
                        .source
                        .clone(),
                    start: h.start,
                    end: h.end,
                })
            })
            .collect(),
        attributed: a.attributed.clone(),
        grounding: grounding(a).to_string(),
        no_answer: is_no_answer(a),
        generator: generator.to_string(),
        collection: collection.to_string(),
        mode: mode.as_str().to_string(),
        sources: Passage::from_hits(hits),
        timings: Timings {
            retrieval_ms,
            generation_ms: Some(g.generation_ms),
            ttft_ms: g.ttft_ms,
            total_ms: started.elapsed().as_secs_f64() * 1e3,
        },
        generated_tokens: a.completion_tokens,
        request_id: id.to_string(),
        explanation,
    }
}

/// Counts an answer in the metrics and fills its request-log fields.
fn account_answer(s: &AppState, rec: &mut RequestRecord, g: &Generated, generator: &'static str) {
    let a = &g.answer;
    let label = GeneratorLabel { generator };
    s.metrics
        .generation
        .get_or_create(&label)
        .observe(g.generation_ms / 1e3);
    if let Some(t) = g.ttft_ms {
        s.metrics.ttft.get_or_create(&label).observe(t / 1e3);
    }
    s.metrics
        .generated_tokens
        .get_or_create(&label)
        .inc_by(a.completion_tokens as u64);
    let grounding = grounding(a);
    s.metrics
        .answers
        .get_or_create(&GroundingLabel { grounding })
        .inc();
    let no_answer = is_no_answer(a);
    if no_answer {
        s.metrics.no_answer.inc();
    }
    rec.answer_chars = Some(a.text.chars().count() as u32);
    rec.grounding = Some(grounding.to_string());
    rec.no_answer = Some(no_answer);
    rec.generation_ms = Some(g.generation_ms);
    rec.ttft_ms = g.ttft_ms;
    rec.generated_tokens = Some(a.completion_tokens as u32);
}

/// An answer with citations (JSON, or Server-Sent Events with `stream: true`).
#[utoipa::path(post, path = "/v1/ask", tag = "rag", request_body = AskRequest,
    responses(
        (status = 200, description = "The answer (JSON), or with stream=true an event stream: `token` events {text}, then `done` with the full answer, sources and timings (or `error` {detail})", body = AskResponse),
        (status = 400, description = "Malformed JSON", body = HttpErrorBody),
        (status = 404, description = "Unknown collection", body = HttpErrorBody),
        (status = 415, description = "Not JSON", body = HttpErrorBody),
        (status = 422, description = "Every problem of the body", body = ValidationErrorBody),
        (status = 429, description = "Generation or embedding queue full: retry after Retry-After seconds", body = HttpErrorBody),
        (status = 503, description = "Generator or store unavailable", body = HttpErrorBody),
        (status = 504, description = "Deadline passed", body = HttpErrorBody),
    ))]
pub async fn ask(
    State(s): State<AppState>,
    headers: HeaderMap,
    ValidJson(req): ValidJson<AskRequest>,
) -> Response {
    let started = Instant::now();
    let id = roadmap_http::observe::request_id(&headers);
    let collection = req
        .collection
        .clone()
        .unwrap_or_else(|| s.config.retrieval.default_collection.clone());
    let user = match user_of(req.user.as_deref(), &headers) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let assigned = user.and_then(|u| s.experiments.assign(u, chrono::Utc::now()));
    let overrides = assigned.map(|a| a.overrides);
    let mut opts = experiments::search_options(
        &s.config.retrieval,
        overrides,
        req.k,
        requested_mode(req.mode.as_deref()),
    );
    // An explanation enumerates 2^k coalitions: the configured k, at most 6.
    if req.explain && req.k.is_none() {
        opts.k = opts.k.min(MAX_EXPLAINED_PASSAGES);
    }
    let explain = req.explain;
    let mode = opts.mode;
    let generator =
        experiments::generator_for(&s.config.generation, overrides, req.generator.as_deref());
    let arm = assigned.map(Arm::from);
    let mut rec = base_record(&id, "/v1/ask", &req.question, &collection, &opts);
    rec.generator = Some(generator.to_string());
    expose(&s, &mut rec, user, arm.as_ref());
    let stream = req.stream;
    let cancel = Arc::new(AtomicBool::new(false));
    let guard = CancelOnDrop(cancel.clone());

    // Admission first: a refused request costs no retrieval.
    let prepared = async {
        let lease = lease(&s, generator)?;
        let r = retrieve(&s, &req.question, &collection, opts).await?;
        Ok::<_, ApiError>((lease, r))
    };
    let prepared = with_deadline(&s, prepared).await;
    let (lease, retrieved) = match prepared {
        Ok(p) => p,
        Err(e) => {
            rec.status = e.status().as_u16();
            rec.latency_ms = started.elapsed().as_secs_f64() * 1e3;
            log_row(&s, rec);
            return with_arm(
                with_fields(e.into_response(), &collection, Some(generator), false),
                arm.as_ref(),
            );
        }
    };
    retrieval_fields(&mut rec, &retrieved.hits);
    rec.retrieval_ms = Some(retrieved.ms);

    if stream {
        std::mem::forget(guard); // the stream's own receiver signals cancellation
        let resp = with_fields(
            stream_answer(
                s,
                lease,
                req.question,
                collection.clone(),
                mode,
                retrieved,
                rec,
                started,
                id,
                cancel,
                generator,
                explain,
            ),
            &collection,
            Some(generator),
            true,
        );
        return with_arm(resp, arm.as_ref());
    }

    let work = async {
        let lease = wait_for_slot(lease).await;
        generate(
            lease,
            req.question.clone(),
            retrieved.hits.clone(),
            started,
            cancel.clone(),
            |_| true,
        )
        .await
    };
    let result = with_deadline(&s, work).await;
    drop(guard);
    let resp = match result {
        Ok(g) => {
            account_answer(&s, &mut rec, &g, generator);
            rec.status = 200;
            Json(ask_response(
                &g,
                generator,
                &collection,
                mode,
                &retrieved.hits,
                retrieved.ms,
                started,
                &id,
                explain,
            ))
            .into_response()
        }
        Err(e) => {
            rec.status = e.status().as_u16();
            e.into_response()
        }
    };
    rec.latency_ms = started.elapsed().as_secs_f64() * 1e3;
    log_row(&s, rec);
    with_arm(
        with_fields(resp, &collection, Some(generator), false),
        arm.as_ref(),
    )
}

/// A lease on a generator, with its place in the queue for LLM generators.
/// The place is taken now (429 when full); the slot is awaited later.
fn lease(s: &AppState, generator: &'static str) -> Result<PendingLease, ApiError> {
    if generator == "extractive" {
        return Ok(PendingLease {
            lease: Lease {
                gen: Some(Box::new(ExtractiveGenerator::default())),
                pool: None,
                _admission: None,
            },
            ticket: None,
        });
    }
    if !s.generators.contains_key(generator) {
        let why = s
            .unavailable
            .iter()
            .find(|(n, _)| *n == generator)
            .map_or_else(
                || "it is not configured on this server".to_string(),
                |(_, r)| r.clone(),
            );
        return Err(ApiError::http(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the `{generator}` generator is not available: {why}; use \"generator\": \"extractive\""),
        ));
    }
    match s.queue.try_admit() {
        Ok(ticket) => Ok(PendingLease {
            lease: Lease {
                gen: None,
                pool: Some((s.clone(), generator)),
                _admission: None,
            },
            ticket: Some(ticket),
        }),
        Err(full) => {
            s.metrics.queue_rejections.inc();
            Err(ApiError::http(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "the generation queue is full ({} running or waiting): retry after {} s, or use \"generator\": \"extractive\"",
                    s.queue.capacity(),
                    full.retry_after_seconds
                ),
            )
            .header(header::RETRY_AFTER, HeaderValue::from(full.retry_after_seconds)))
        }
    }
}

/// A lease whose queue place may still wait for a generation slot.
struct PendingLease {
    lease: Lease,
    ticket: Option<crate::queue::Ticket>,
}

/// Waits for the generation slot (LLM generators) and checks an instance out.
async fn wait_for_slot(p: PendingLease) -> Lease {
    let mut lease = p.lease;
    if let Some(ticket) = p.ticket {
        let admission = ticket.ready().await;
        lease._admission = Some(admission);
        if let Some((s, name)) = &lease.pool {
            lease.gen = s.generators.get(name).and_then(|pool| pool.take());
        }
    }
    lease
}

fn event(name: &str, data: &serde_json::Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

/// The streamed answer: `token` events as text arrives, then `done` (or `error`).
#[allow(clippy::too_many_arguments)]
fn stream_answer(
    s: AppState,
    pending: PendingLease,
    question: String,
    collection: String,
    mode: Mode,
    retrieved: Retrieved,
    mut rec: RequestRecord,
    started: Instant,
    id: String,
    cancel: Arc<AtomicBool>,
    generator: &'static str,
    explain: bool,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(256);
    let deadline = started + s.config.request_timeout();
    tokio::spawn(async move {
        let lease = tokio::select! {
            l = wait_for_slot(pending) => l,
            () = tx.closed() => {
                rec.status = 499;
                rec.error = Some("client disconnected while queued".into());
                rec.latency_ms = started.elapsed().as_secs_f64() * 1e3;
                log_row(&s, rec);
                return;
            }
        };
        if lease.gen.is_none() {
            let _ = tx
                .send(event(
                    "error",
                    &json!({"detail": "no generator instance free"}),
                ))
                .await;
            return;
        }
        let token_tx = tx.clone();
        let result = generate(
            lease,
            question,
            retrieved.hits.clone(),
            started,
            cancel,
            move |piece| {
                Instant::now() < deadline
                    && token_tx
                        .blocking_send(event("token", &json!({ "text": piece })))
                        .is_ok()
            },
        )
        .await;
        match result {
            Ok(g) if !tx.is_closed() => {
                account_answer(&s, &mut rec, &g, generator);
                rec.status = 200;
                let body = ask_response(
                    &g,
                    generator,
                    &collection,
                    mode,
                    &retrieved.hits,
                    retrieved.ms,
                    started,
                    &id,
                    explain,
                );
                let done = serde_json::to_value(&body).unwrap_or_default();
                let _ = tx.send(event("done", &done)).await;
            }
            Ok(_) => {
                rec.status = 499;
                rec.error = Some("client disconnected during generation".into());
            }
            Err(e) => {
                rec.status = e.status().as_u16();
                let _ = tx
                    .send(event(
                        "error",
                        &json!({"detail": "the generator failed; see the server log"}),
                    ))
                    .await;
            }
        }
        rec.latency_ms = started.elapsed().as_secs_f64() * 1e3;
        s.observe_stream("/v1/ask", started.elapsed());
        log_row(&s, rec);
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<Event, Infallible>(e), rx))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The collections in the store.
#[utoipa::path(get, path = "/v1/collections", tag = "collections",
    responses((status = 200, description = "Collections with document and chunk counts")))]
pub async fn collections(State(s): State<AppState>) -> Response {
    let state = s.clone();
    let r = with_deadline(&s, async move {
        tokio::task::spawn_blocking(move || state.stores.read(|st| st.collections()))
            .await
            .map_err(blocking_failed)?
            .map_err(store_error)
    })
    .await;
    match r {
        Ok(c) => Json(json!({ "collections": c })).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Feedback on an earlier answer, stored with its request-log row.
#[utoipa::path(post, path = "/v1/feedback", tag = "rag", request_body = FeedbackRequest,
    responses(
        (status = 200, description = "Stored"),
        (status = 404, description = "No such request in the log", body = HttpErrorBody),
        (status = 422, description = "Every problem of the body", body = ValidationErrorBody),
    ))]
pub async fn feedback(
    State(s): State<AppState>,
    ValidJson(req): ValidJson<FeedbackRequest>,
) -> Response {
    let Some(log) = s.log.clone() else {
        return ApiError::http(
            StatusCode::SERVICE_UNAVAILABLE,
            "the request log is disabled on this server (request_log.enabled = false), so feedback cannot be stored",
        )
        .into_response();
    };
    let rating: &'static str = if req.rating == "up" { "up" } else { "down" };
    let fb = Feedback {
        request_id: req.request_id.clone(),
        rating: rating.to_string(),
        comment: req.comment.map(|c| roadmap_common::redact::redact_text(&c)),
        at_unix: now_unix(),
    };
    let r = with_deadline(&s, async move {
        tokio::task::spawn_blocking(move || log.feedback(fb))
            .await
            .map_err(blocking_failed)?
            .map_err(|e| {
                tracing::error!(error = %e, "feedback not stored");
                ApiError::http(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the request log is unavailable; retry shortly",
                )
            })
    })
    .await;
    match r {
        Ok(true) => {
            s.metrics.feedback.get_or_create(&RatingLabel { rating }).inc();
            Json(json!({"request_id": req.request_id, "rating": rating, "stored": true})).into_response()
        }
        Ok(false) => ApiError::http(
            StatusCode::NOT_FOUND,
            format!("no request `{}` in the request log: send the request_id of an answer from /v1/ask or /v1/search", req.request_id),
        )
        .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Liveness: the process serves HTTP.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "Alive")))]
pub async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// Readiness: the store answers and the default generator is loaded; says what is missing.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses(
    (status = 200, description = "Ready"),
    (status = 503, description = "Not ready: `missing` lists why")))]
pub async fn readyz(State(s): State<AppState>) -> Response {
    let mut missing = Vec::new();
    if s.draining.load(Ordering::Acquire) {
        missing.push("the server is shutting down".to_string());
    }
    let state = s.clone();
    let store = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        tokio::task::spawn_blocking(move || {
            state.stores.read(|st| st.collections().map(|c| c.len()))
        }),
    )
    .await;
    match store {
        Ok(Ok(Ok(_))) => {}
        Ok(Ok(Err(e))) => missing.push(format!(
            "store {}: {}",
            s.store_label,
            roadmap_common::redact::redact_text(&e.to_string())
        )),
        _ => missing.push(format!("store {}: no answer within 3 s", s.store_label)),
    }
    let default = s.config.generation.default.as_str();
    if default != "extractive" && !s.generators.contains_key(default) {
        let why = s
            .unavailable
            .iter()
            .find(|(n, _)| *n == default)
            .map_or("not configured".to_string(), |(_, r)| r.clone());
        missing.push(format!("generator {default}: {why}"));
    }
    let mut generators = vec!["extractive"];
    generators.extend(s.generators.keys().copied());
    if missing.is_empty() {
        Json(json!({"status": "ready", "store": s.store_label, "embedder": s.embedder_id, "generators": generators}))
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"detail": format!("not ready: {}", missing.join("; ")), "missing": missing}),
            ),
        )
            .into_response()
    }
}

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "OpenMetrics text", body = String)))]
pub async fn metrics(State(s): State<AppState>) -> Response {
    s.refresh_gauges();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}
