//! An OpenAI-compatible chat client: the transport of the `openai` generator.
//!
//! Works with any server that speaks OpenAI's chat-completions API: `roadmap llm serve`, the
//! llama.cpp server, Ollama, vLLM, OpenAI itself. Configuration follows OpenAI's own tools:
//! `OPENAI_BASE_URL` (e.g. `http://127.0.0.1:8080/v1`) and `OPENAI_API_KEY`, overridable by flags.
//!
//! - Streaming uses server-sent events (`data: {chunk}` lines ending with `data: [DONE]`), parsed
//!   by the `eventsource-stream` crate.
//! - Timeouts: connecting (default 5 s); a whole non-streaming answer (default 120 s); the silence
//!   between two streamed events (default 60 s).
//! - Retries (default 2, exponential back-off from 250 ms): only when nothing was received yet and
//!   the failure is transient (connection refused or reset, timeout, 429, 5xx). 400/401/404 are
//!   the caller's to fix and are reported at once.
//! - Errors say what to do: a refused connection names the URL and how to start a server, a 401
//!   points at the key, an unknown model says which one.
//! - The API key is only ever put in the `Authorization` header: `Debug` redacts it and no error
//!   message contains it.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;

use crate::chat::ChatMessage;
use crate::engine::GenParams;

/// Where and how to reach the server.
#[derive(Clone)]
pub struct ClientConfig {
    /// Base URL including the API version prefix, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    pub api_key: Option<String>,
    pub model: String,
    pub connect_timeout: Duration,
    /// Whole-request limit of a non-streaming call.
    pub request_timeout: Duration,
    /// Longest silence allowed between two streamed events.
    pub idle_timeout: Duration,
    /// Extra attempts after a transient failure.
    pub max_retries: u32,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

/// Default base URL: the local `roadmap llm serve`.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080/v1";

impl ClientConfig {
    /// `base_url` (else `OPENAI_BASE_URL`, else the local server), `api_key` (else
    /// `OPENAI_API_KEY`), and the model name.
    pub fn new(
        base_url: Option<String>,
        api_key: Option<String>,
        model: impl Into<String>,
    ) -> Self {
        let base_url = base_url
            .or_else(|| std::env::var("OPENAI_BASE_URL").ok())
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        let api_key = api_key
            .or_else(|| std::env::var("OPENAI_API_KEY").ok())
            .filter(|s| !s.trim().is_empty());
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
            model: model.into(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(120),
            idle_timeout: Duration::from_secs(60),
            max_retries: 2,
        }
    }
}

/// Client failures, each with the fix in its message.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to the LLM server at {url} ({detail}); is it running? Start one with `roadmap llm serve`, or point --base-url / OPENAI_BASE_URL at a running OpenAI-compatible server")]
    Unreachable { url: String, detail: String },
    #[error("the LLM server at {url} rejected the API key (401: {message}); set OPENAI_API_KEY to a valid key")]
    Unauthorized { url: String, message: String },
    #[error("the LLM server at {url} does not know the model `{model}` ({message}); list its models at {url}/models and pass one with --llm-model")]
    UnknownModel {
        url: String,
        model: String,
        message: String,
    },
    #[error("the LLM server at {url} did not answer within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("the LLM server at {url} answered {status}: {message}")]
    Http {
        url: String,
        status: u16,
        message: String,
    },
    #[error(
        "the LLM server at {url} sent something that is not an OpenAI chat response: {detail}"
    )]
    BadResponse { url: String, detail: String },
    #[error("invalid client setting: {0}")]
    Config(String),
}

impl ClientError {
    fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Timeout { .. } => true,
            Self::Http { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// Why the answer ended, as the server reported it (`stop`, `length`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatResult {
    pub text: String,
    pub finish_reason: Option<String>,
    pub prompt_tokens: Option<usize>,
    pub completion_tokens: Option<usize>,
}

/// The async client.
#[derive(Clone, Debug)]
pub struct OpenAiClient {
    http: reqwest::Client,
    cfg: ClientConfig,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: String,
}

impl OpenAiClient {
    pub fn new(cfg: ClientConfig) -> Result<Self, ClientError> {
        if !(cfg.base_url.starts_with("http://") || cfg.base_url.starts_with("https://")) {
            return Err(ClientError::Config(format!(
                "base URL `{}` must start with http:// or https:// (e.g. {DEFAULT_BASE_URL})",
                cfg.base_url
            )));
        }
        // No client-wide read timeout: a non-streaming answer is silent until it is complete, so
        // it gets a whole-request limit instead; streams get an idle limit per event (below).
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .build()
            .map_err(|e| ClientError::Config(format!("building the HTTP client: {e}")))?;
        Ok(Self { http, cfg })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.cfg.base_url)
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let rb = self.http.request(method, self.url(path));
        match &self.cfg.api_key {
            Some(k) => rb.bearer_auth(k),
            None => rb,
        }
    }

    fn transport_error(&self, e: reqwest::Error, timeout: Duration) -> ClientError {
        let url = self.cfg.base_url.clone();
        if e.is_timeout() {
            ClientError::Timeout {
                url,
                secs: timeout.as_secs(),
            }
        } else if e.is_connect() || e.is_request() {
            // Innermost cause, e.g. "Connection refused (os error 111)"; never the headers.
            let mut detail = e.to_string();
            let mut src: Option<&dyn std::error::Error> = std::error::Error::source(&e);
            while let Some(s) = src {
                detail = s.to_string();
                src = s.source();
            }
            ClientError::Unreachable { url, detail }
        } else {
            ClientError::BadResponse {
                url,
                detail: e.to_string(),
            }
        }
    }

    /// Turns a non-2xx answer into the matching error.
    async fn status_error(&self, resp: reqwest::Response) -> ClientError {
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let message = serde_json::from_str::<ErrorBody>(&text)
            .map(|b| b.error.message)
            .unwrap_or_else(|_| text.chars().take(300).collect());
        let url = self.cfg.base_url.clone();
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                ClientError::Unauthorized { url, message }
            }
            StatusCode::NOT_FOUND => ClientError::UnknownModel {
                url,
                model: self.cfg.model.clone(),
                message,
            },
            s => ClientError::Http {
                url,
                status: s.as_u16(),
                message,
            },
        }
    }

    /// Sends with bounded retries on transient failures; returns the first 2xx response.
    async fn send_retrying(
        &self,
        make: impl Fn() -> reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<reqwest::Response, ClientError> {
        let mut attempt = 0;
        loop {
            let err = match make().send().await {
                Ok(r) if r.status().is_success() => return Ok(r),
                Ok(r) => self.status_error(r).await,
                Err(e) => self.transport_error(e, timeout),
            };
            if attempt >= self.cfg.max_retries || !err.is_transient() {
                return Err(err);
            }
            tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
            attempt += 1;
        }
    }

    /// Ids of the models the server offers (`GET /models`).
    pub async fn list_models(&self) -> Result<Vec<String>, ClientError> {
        let t = self.cfg.request_timeout;
        let resp = self
            .send_retrying(
                || self.request(reqwest::Method::GET, "models").timeout(t),
                t,
            )
            .await?;
        let v: serde_json::Value = resp.json().await.map_err(|e| self.bad(e.to_string()))?;
        let data = v["data"]
            .as_array()
            .ok_or_else(|| self.bad("no `data` list in /models".into()))?;
        Ok(data
            .iter()
            .filter_map(|m| m["id"].as_str().map(String::from))
            .collect())
    }

    fn bad(&self, detail: String) -> ClientError {
        ClientError::BadResponse {
            url: self.cfg.base_url.clone(),
            detail,
        }
    }

    fn body(
        &self,
        messages: &[ChatMessage],
        params: &GenParams,
        stream: bool,
    ) -> serde_json::Value {
        let mut body = json!({
            "model": self.cfg.model,
            "messages": messages,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "seed": params.seed,
            "stream": stream,
        });
        if let Some(p) = params.top_p {
            body["top_p"] = json!(p);
        }
        if stream {
            body["stream_options"] = json!({"include_usage": true});
        }
        body
    }

    /// One complete answer (no streaming).
    pub async fn chat(
        &self,
        messages: &[ChatMessage],
        params: &GenParams,
    ) -> Result<ChatResult, ClientError> {
        let body = self.body(messages, params, false);
        let t = self.cfg.request_timeout;
        let resp = self
            .send_retrying(
                || {
                    self.request(reqwest::Method::POST, "chat/completions")
                        .timeout(t)
                        .json(&body)
                },
                t,
            )
            .await?;
        let v: serde_json::Value = resp.json().await.map_err(|e| self.transport_error(e, t))?;
        let choice = &v["choices"][0];
        let text = choice["message"]["content"]
            .as_str()
            .ok_or_else(|| self.bad("no choices[0].message.content".into()))?
            .to_string();
        Ok(ChatResult {
            text,
            finish_reason: choice["finish_reason"].as_str().map(String::from),
            prompt_tokens: v["usage"]["prompt_tokens"].as_u64().map(|n| n as usize),
            completion_tokens: v["usage"]["completion_tokens"].as_u64().map(|n| n as usize),
        })
    }

    /// A streamed answer: `on_text` gets each piece as it arrives and returns `false` to stop
    /// early (the connection is then dropped, which stops generation on servers that notice).
    pub async fn chat_stream(
        &self,
        messages: &[ChatMessage],
        params: &GenParams,
        mut on_text: impl FnMut(&str) -> bool,
    ) -> Result<ChatResult, ClientError> {
        let body = self.body(messages, params, true);
        let t = self.cfg.idle_timeout;
        let resp = self
            .send_retrying(
                || {
                    self.request(reqwest::Method::POST, "chat/completions")
                        .json(&body)
                },
                t,
            )
            .await?;
        let mut events = resp.bytes_stream().eventsource();
        let mut out = ChatResult {
            text: String::new(),
            finish_reason: None,
            prompt_tokens: None,
            completion_tokens: None,
        };
        loop {
            let next =
                tokio::time::timeout(t, events.next())
                    .await
                    .map_err(|_| ClientError::Timeout {
                        url: self.cfg.base_url.clone(),
                        secs: t.as_secs(),
                    })?;
            let Some(ev) = next else { break };
            let ev = ev.map_err(|e| match e {
                eventsource_stream::EventStreamError::Transport(e) => self.transport_error(e, t),
                other => self.bad(format!("malformed event stream: {other}")),
            })?;
            if ev.data.trim() == "[DONE]" {
                return Ok(out);
            }
            let v: serde_json::Value = serde_json::from_str(&ev.data)
                .map_err(|e| self.bad(format!("event is not JSON ({e})")))?;
            if let Some(err) = v.get("error") {
                let message = err["message"]
                    .as_str()
                    .unwrap_or("unknown error")
                    .to_string();
                return Err(ClientError::Http {
                    url: self.cfg.base_url.clone(),
                    status: 200,
                    message,
                });
            }
            if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
                out.prompt_tokens = u["prompt_tokens"].as_u64().map(|n| n as usize);
                out.completion_tokens = u["completion_tokens"].as_u64().map(|n| n as usize);
            }
            let choice = &v["choices"][0];
            if let Some(piece) = choice["delta"]["content"].as_str() {
                if !piece.is_empty() {
                    out.text.push_str(piece);
                    if !on_text(piece) {
                        out.finish_reason = Some("stop".into());
                        return Ok(out);
                    }
                }
            }
            if let Some(f) = choice["finish_reason"].as_str() {
                out.finish_reason = Some(f.to_string());
            }
        }
        // Some servers close without `[DONE]`; an answer with a finish reason is still complete.
        match out.finish_reason {
            Some(_) => Ok(out),
            None => Err(self.bad("the stream ended before the answer was finished".into())),
        }
    }
}

/// A synchronous facade over [`OpenAiClient`] (it owns a small single-threaded runtime), for
/// callers that are not async themselves, such as the RAG generators and the CLI.
#[derive(Debug)]
pub struct BlockingClient {
    inner: OpenAiClient,
    rt: tokio::runtime::Runtime,
}

impl BlockingClient {
    pub fn new(cfg: ClientConfig) -> Result<Self, ClientError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ClientError::Config(format!("starting the client runtime: {e}")))?;
        // reqwest's client must be built where a runtime is available for its timers.
        let inner = rt.block_on(async { OpenAiClient::new(cfg) })?;
        Ok(Self { inner, rt })
    }

    pub fn config(&self) -> &ClientConfig {
        self.inner.config()
    }

    pub fn list_models(&self) -> Result<Vec<String>, ClientError> {
        self.rt.block_on(self.inner.list_models())
    }

    pub fn chat(
        &self,
        messages: &[ChatMessage],
        params: &GenParams,
    ) -> Result<ChatResult, ClientError> {
        self.rt.block_on(self.inner.chat(messages, params))
    }

    pub fn chat_stream(
        &self,
        messages: &[ChatMessage],
        params: &GenParams,
        on_text: impl FnMut(&str) -> bool,
    ) -> Result<ChatResult, ClientError> {
        self.rt
            .block_on(self.inner.chat_stream(messages, params, on_text))
    }
}
