//! An OpenAI-compatible HTTP server around one local model.
//!
//! Endpoints (the subset of OpenAI's API that chat clients and UIs need):
//! - `GET  /v1/models`: the one model id served;
//! - `GET  /v1/models/{id}`;
//! - `POST /v1/chat/completions`: `messages`, `max_tokens` (or `max_completion_tokens`),
//!   `temperature`, `top_p`, `seed`, `stream` (server-sent events: `data: {chunk}` lines, then
//!   `data: [DONE]`), `stream_options.include_usage`;
//! - `GET  /health`.
//!
//! Errors use OpenAI's shape `{"error": {"message", "type", "param", "code"}}` with the matching
//! status (400 bad request, 401 bad key, 404 unknown model, 503 queue full).
//!
//! Concurrency: generation is CPU-bound and the model (with its KV cache) serves one sequence at
//! a time, so requests run one after another on a blocking thread (never on the async runtime,
//! which keeps answering other connections). At most `queue_limit` requests wait; more get 503
//! right away rather than a timeout later. A streaming client that disconnects stops its
//! generation at the next token. Shutdown is graceful: the listener stops accepting and open
//! requests finish.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::{mpsc, Semaphore};

use crate::chat::{ChatMessage, Role};
use crate::engine::{FinishReason, GenParams, Generation};
use crate::{LlmError, LocalLlm};

/// Server settings.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// When set, requests must carry `Authorization: Bearer <key>`.
    pub api_key: Option<String>,
    /// Requests allowed to wait while another one generates.
    pub queue_limit: usize,
    /// `max_tokens` when the request does not say.
    pub default_max_tokens: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            api_key: None,
            queue_limit: 16,
            default_max_tokens: 512,
        }
    }
}

#[derive(Clone)]
struct AppState {
    llm: Arc<Mutex<LocalLlm>>,
    model_id: String,
    slots: Arc<Semaphore>,
    config: Arc<ServerConfig>,
    created: u64,
}

/// The axum router serving `llm`.
pub fn router(llm: LocalLlm, config: ServerConfig) -> Router {
    let model_id = llm.id().to_string();
    let state = AppState {
        llm: Arc::new(Mutex::new(llm)),
        model_id,
        slots: Arc::new(Semaphore::new(config.queue_limit + 1)),
        config: Arc::new(config),
        created: unix_now(),
    };
    Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/v1/models", get(list_models))
        .route("/v1/models/{id}", get(get_model))
        .route("/v1/chat/completions", post(chat_completions))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                None,
                "unknown endpoint; see /v1/models and /v1/chat/completions",
            )
        })
        .with_state(state)
}

/// Serves `llm` on an already-bound listener until `shutdown` resolves, then drains open requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    llm: LocalLlm,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(llm, config))
        .with_graceful_shutdown(shutdown)
        .await
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// An error in OpenAI's JSON shape.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    code: Option<&'static str>,
    param: Option<&'static str>,
    message: String,
}

impl ApiError {
    fn new(
        status: StatusCode,
        kind: &'static str,
        code: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            code,
            param: None,
            message: message.into(),
        }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            message,
        )
    }
    fn param(mut self, p: &'static str) -> Self {
        self.param = Some(p);
        self
    }
    fn body(&self) -> serde_json::Value {
        json!({"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

impl From<LlmError> for ApiError {
    fn from(e: LlmError) -> Self {
        match e {
            LlmError::ContextOverflow { .. } => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("context_length_exceeded"),
                e.to_string(),
            )
            .param("messages"),
            LlmError::BadRequest(_) => Self::bad_request(e.to_string()),
            other => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                None,
                other.to_string(),
            ),
        }
    }
}

fn check_auth(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &state.config.api_key else {
        return Ok(());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(k) if k == expected => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("invalid_api_key"),
            "Incorrect API key provided.",
        )),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("invalid_api_key"),
            "Missing API key: send `Authorization: Bearer <key>`.",
        )),
    }
}

fn model_object(state: &AppState) -> serde_json::Value {
    json!({"id": state.model_id, "object": "model", "created": state.created, "owned_by": "roadmap"})
}

async fn list_models(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    check_auth(&state, &headers)?;
    Ok(Json(
        json!({"object": "list", "data": [model_object(&state)]}),
    ))
}

async fn get_model(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    check_auth(&state, &headers)?;
    if id != state.model_id {
        return Err(unknown_model(&id, &state.model_id));
    }
    Ok(Json(model_object(&state)))
}

fn unknown_model(id: &str, served: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("model_not_found"),
        format!("The model `{id}` does not exist; this server serves `{served}`."),
    )
    .param("model")
}

/// `content` as a plain string or as OpenAI's list of typed parts (only text parts are allowed).
#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Deserialize)]
struct ContentPart {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct InMessage {
    role: String,
    content: Option<Content>,
}

#[derive(Deserialize, Default)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

/// The fields of an OpenAI chat-completions request this server reads.
#[derive(Deserialize)]
struct ChatRequest {
    #[serde(default)]
    model: Option<String>,
    messages: Vec<InMessage>,
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    max_tokens: Option<usize>,
    #[serde(default)]
    max_completion_tokens: Option<usize>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    n: Option<u32>,
}

fn to_messages(msgs: Vec<InMessage>) -> Result<Vec<ChatMessage>, ApiError> {
    if msgs.is_empty() {
        return Err(
            ApiError::bad_request("`messages` is empty: send at least one user message")
                .param("messages"),
        );
    }
    msgs.into_iter()
        .enumerate()
        .map(|(i, m)| {
            let role = match m.role.as_str() {
                "system" | "developer" => Role::System,
                "user" => Role::User,
                "assistant" => Role::Assistant,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "messages[{i}].role `{other}` is not supported (use system, user or assistant)"
                    ))
                    .param("messages"))
                }
            };
            let content = match m.content {
                None => String::new(),
                Some(Content::Text(t)) => t,
                Some(Content::Parts(parts)) => {
                    let mut s = String::new();
                    for p in parts {
                        match (p.kind.as_str(), p.text) {
                            ("text", Some(t)) => s.push_str(&t),
                            (kind, _) => {
                                return Err(ApiError::bad_request(format!(
                                    "messages[{i}] has a `{kind}` content part; this text model takes text parts only"
                                ))
                                .param("messages"))
                            }
                        }
                    }
                    s
                }
            };
            Ok(ChatMessage { role, content })
        })
        .collect()
}

#[derive(Serialize)]
struct Usage {
    prompt_tokens: usize,
    completion_tokens: usize,
    total_tokens: usize,
}

fn usage(g: &Generation) -> Usage {
    Usage {
        prompt_tokens: g.prompt_tokens,
        completion_tokens: g.tokens.len(),
        total_tokens: g.prompt_tokens + g.tokens.len(),
    }
}

fn completion_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "chatcmpl-{:x}{:04x}",
        nanos,
        N.fetch_add(1, Ordering::Relaxed) & 0xffff
    )
}

async fn chat_completions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<ChatRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    check_auth(&state, &headers)?;
    let Json(req) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "the request body is not a valid chat-completions request: {}",
            e.body_text()
        ))
    })?;
    if let Some(m) = &req.model {
        if !m.is_empty() && *m != state.model_id {
            return Err(unknown_model(m, &state.model_id));
        }
    }
    if req.n.unwrap_or(1) != 1 {
        return Err(ApiError::bad_request("only n = 1 is supported").param("n"));
    }
    let params = GenParams {
        max_tokens: req
            .max_completion_tokens
            .or(req.max_tokens)
            .unwrap_or(state.config.default_max_tokens),
        temperature: req.temperature.unwrap_or(1.0),
        top_p: req.top_p,
        seed: req.seed.unwrap_or_else(unix_now),
    };
    params.validate().map_err(ApiError::from)?;
    let messages = to_messages(req.messages)?;
    let permit = state.slots.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            Some("server_busy"),
            format!(
                "{} requests are already queued; retry shortly",
                state.config.queue_limit
            ),
        )
    })?;
    let id = completion_id();
    let created = unix_now();
    let model = state.model_id.clone();

    if !req.stream {
        let llm = state.llm.clone();
        let g = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut llm = llm.lock().unwrap_or_else(|p| p.into_inner());
            llm.chat(&messages, &params, |_| true)
        })
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                None,
                format!("generation task failed: {e}"),
            )
        })??;
        let body = json!({
            "id": id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": g.text},
                         "logprobs": null, "finish_reason": g.finish_reason}],
            "usage": usage(&g),
        });
        return Ok(Json(body).into_response());
    }

    let include_usage = req.stream_options.unwrap_or_default().include_usage;
    let (tx, rx) = mpsc::channel::<serde_json::Value>(64);
    let llm = state.llm.clone();
    let chunk = move |delta: serde_json::Value, finish: Option<FinishReason>| {
        json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
               "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
    };
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut llm = llm.lock().unwrap_or_else(|p| p.into_inner());
        if tx
            .blocking_send(chunk(json!({"role": "assistant", "content": ""}), None))
            .is_err()
        {
            return;
        }
        // `false` (client gone) stops generation at the next token.
        let result = llm.chat(&messages, &params, |piece| {
            tx.blocking_send(chunk(json!({"content": piece}), None))
                .is_ok()
        });
        match result {
            Ok(g) => {
                let mut last = chunk(json!({}), Some(g.finish_reason));
                if include_usage {
                    last["usage"] = serde_json::to_value(usage(&g)).unwrap_or_default();
                }
                let _ = tx.blocking_send(last);
            }
            Err(e) => {
                let _ = tx.blocking_send(ApiError::from(e).body());
            }
        }
    });
    let events = futures_util::stream::unfold((rx, false), |(mut rx, done)| async move {
        if done {
            return None;
        }
        match rx.recv().await {
            Some(v) => Some((
                Ok::<_, std::convert::Infallible>(Event::default().data(v.to_string())),
                (rx, false),
            )),
            None => Some((Ok(Event::default().data("[DONE]")), (rx, true))),
        }
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// Runs the server on `addr` until Ctrl-C (or SIGTERM on Unix), then shuts down gracefully. Owns
/// its Tokio runtime, so synchronous callers (the CLI) need none; `on_ready` gets the bound
/// address (useful with port 0).
pub fn serve_until_signal(
    addr: &str,
    llm: LocalLlm,
    config: ServerConfig,
    on_ready: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    // The async side only parses requests and relays tokens: two workers are plenty; generation
    // runs on Tokio's blocking threads.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e} (is another server using it? pick another --addr)"))
        })?;
        on_ready(listener.local_addr()?);
        serve(listener, llm, config, shutdown_signal()).await
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
