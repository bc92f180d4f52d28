//! The OpenAI-compatible server driven by the crate's own client (and raw HTTP for the wire format).

mod common;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use roadmap_llm::client::{BlockingClient, ClientConfig, ClientError};
use roadmap_llm::server::{serve, ServerConfig};
use roadmap_llm::{ChatMessage, GenParams, LoadOptions, LocalLlm, SMOLLM2_ID};

const KEY: &str = "sk-test-7f3a91";

/// Starts a server on a free 127.0.0.1 port in a background thread; returns its address and a
/// sender that shuts it down, plus the thread (which ends once the server has drained).
fn start(
    config: ServerConfig,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<std::io::Result<()>>,
) {
    let llm = LocalLlm::load(&common::model_dir(), &LoadOptions::default()).unwrap();
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener)?;
            serve(listener, llm, config, async move {
                let _ = rx.await;
            })
            .await
        })
    });
    (addr, tx, handle)
}

/// The server shared by most tests (it requires the key `KEY`).
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let (addr, tx, _handle) = start(ServerConfig {
            api_key: Some(KEY.into()),
            ..Default::default()
        });
        std::mem::forget(tx); // keep it running for the whole test binary
        addr
    })
}

fn client_for(addr: SocketAddr, key: Option<&str>, model: &str) -> BlockingClient {
    let mut cfg = ClientConfig::new(
        Some(format!("http://{addr}/v1")),
        key.map(String::from),
        model,
    );
    cfg.max_retries = 1;
    cfg.connect_timeout = Duration::from_secs(2);
    BlockingClient::new(cfg).unwrap()
}

fn client() -> BlockingClient {
    client_for(server(), Some(KEY), SMOLLM2_ID)
}

fn capital() -> Vec<ChatMessage> {
    vec![ChatMessage::user("What is the capital of France?")]
}

fn greedy(n: usize) -> GenParams {
    GenParams {
        max_tokens: n,
        temperature: 0.0,
        ..Default::default()
    }
}

#[test]
fn lists_the_model() {
    assert_eq!(
        client().list_models().unwrap(),
        vec![SMOLLM2_ID.to_string()]
    );
}

#[test]
fn answers_without_streaming() {
    let r = client().chat(&capital(), &greedy(32)).unwrap();
    assert!(r.text.contains("Paris"), "{:?}", r.text);
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    assert!(r.prompt_tokens.unwrap() > 5 && r.completion_tokens.unwrap() > 3);
}

#[test]
fn streams_the_same_answer() {
    let c = client();
    let mut pieces = Vec::new();
    let r = c
        .chat_stream(&capital(), &greedy(32), |p| {
            pieces.push(p.to_string());
            true
        })
        .unwrap();
    assert!(pieces.len() > 3, "{pieces:?}");
    assert_eq!(pieces.concat(), r.text);
    assert_eq!(
        r.text,
        c.chat(&capital(), &greedy(32)).unwrap().text,
        "streamed and whole greedy answers differ"
    );
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    assert!(r.completion_tokens.is_some(), "usage chunk missing");
}

#[test]
fn length_limit_is_reported() {
    let r = client()
        .chat(
            &[ChatMessage::user("Write a poem about the sea.")],
            &greedy(4),
        )
        .unwrap();
    assert_eq!(r.finish_reason.as_deref(), Some("length"));
    assert_eq!(r.completion_tokens, Some(4));
}

#[test]
fn wrong_key_is_a_clear_401_without_the_key() {
    let c = client_for(server(), Some("sk-wrong-key-123"), SMOLLM2_ID);
    let err = c.chat(&capital(), &greedy(4)).unwrap_err();
    assert!(matches!(err, ClientError::Unauthorized { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("OPENAI_API_KEY") && !msg.contains("sk-wrong-key-123"),
        "{msg}"
    );
    let missing = client_for(server(), None, SMOLLM2_ID)
        .list_models()
        .unwrap_err();
    assert!(
        matches!(missing, ClientError::Unauthorized { .. }),
        "{missing:?}"
    );
    assert!(
        !format!("{:?}", c.config()).contains("sk-wrong-key-123"),
        "Debug must redact the key"
    );
}

#[test]
fn unknown_model_is_named() {
    let err = client_for(server(), Some(KEY), "gpt-9000")
        .chat(&capital(), &greedy(4))
        .unwrap_err();
    match &err {
        ClientError::UnknownModel { model, .. } => assert_eq!(model, "gpt-9000"),
        other => panic!("expected UnknownModel, got {other:?}"),
    }
    assert!(err.to_string().contains("gpt-9000"));
    let err = client_for(server(), Some(KEY), "gpt-9000")
        .chat_stream(&capital(), &greedy(4), |_| true)
        .unwrap_err();
    assert!(matches!(err, ClientError::UnknownModel { .. }), "{err:?}");
}

#[test]
fn refused_connection_is_a_clear_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // closed again: nothing listens there now
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let t = std::time::Instant::now();
    let err = client_for(addr, None, SMOLLM2_ID)
        .chat(&capital(), &greedy(4))
        .unwrap_err();
    assert!(matches!(err, ClientError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("roadmap llm serve"), "{err}");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "one retry should not take {:?}",
        t.elapsed()
    );
}

#[test]
fn bad_base_url_is_rejected() {
    let err = BlockingClient::new(ClientConfig::new(Some("localhost:8080".into()), None, "m"))
        .unwrap_err();
    assert!(matches!(err, ClientError::Config(_)), "{err:?}");
}

#[test]
fn wire_format_errors_are_openai_shaped() {
    let http = reqwest::blocking::Client::new();
    let url = format!("http://{}/v1/chat/completions", server());
    let post = |body: &str| {
        let r = http
            .post(&url)
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json::<serde_json::Value>().unwrap())
    };
    let (s, v) = post("{not json");
    assert_eq!(s, 400);
    assert_eq!(v["error"]["type"], "invalid_request_error");
    let (s, v) = post(r#"{"model":"smollm2-135m-instruct","messages":[]}"#);
    assert_eq!((s, v["error"]["param"].as_str()), (400, Some("messages")));
    let (s, v) = post(r#"{"messages":[{"role":"tool","content":"x"}]}"#);
    assert_eq!(s, 400, "{v}");
    let (s, v) = post(r#"{"messages":[{"role":"user","content":"hi"}],"temperature":5}"#);
    assert_eq!(s, 400, "{v}");
    let (s, v) = post(&format!(
        r#"{{"messages":[{{"role":"user","content":"{}"}}],"max_tokens":4}}"#,
        "word ".repeat(3000)
    ));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("context_length_exceeded")),
        "{v}"
    );
    let r = http
        .get(format!("http://{}/v1/nothing", server()))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

#[test]
fn stream_wire_format_is_sse_ending_with_done() {
    let http = reqwest::blocking::Client::new();
    let body = serde_json::json!({
        "model": SMOLLM2_ID, "stream": true, "temperature": 0, "max_tokens": 16,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "What is the capital of France?"}]}],
    });
    let r = http
        .post(format!("http://{}/v1/chat/completions", server()))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let text = r.text().unwrap();
    let data: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(*data.last().unwrap(), "[DONE]");
    let chunks: Vec<serde_json::Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk" && c["model"] == SMOLLM2_ID));
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert!(content.contains("Paris"), "{content}");
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
}

#[test]
fn concurrent_requests_are_served_one_after_another() {
    let handles: Vec<_> = (0..3)
        .map(|_| std::thread::spawn(|| client().chat(&capital(), &greedy(24)).map(|r| r.text)))
        .collect();
    let answers: Vec<String> = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    assert!(
        answers
            .iter()
            .all(|a| a == &answers[0] && a.contains("Paris")),
        "{answers:?}"
    );
}

#[test]
fn full_queue_answers_503_and_shutdown_is_graceful() {
    let (addr, tx, handle) = start(ServerConfig {
        queue_limit: 0,
        ..Default::default()
    });
    let long = GenParams {
        max_tokens: 400,
        temperature: 0.0,
        ..Default::default()
    };
    let story = vec![ChatMessage::user(
        "Tell me a long story about a lighthouse keeper.",
    )];
    let busy = std::thread::spawn(move || {
        // Generous limits and no retry: on a busy machine 400 tokens can take a while.
        let mut cfg = ClientConfig::new(Some(format!("http://{addr}/v1")), None, SMOLLM2_ID);
        cfg.request_timeout = Duration::from_secs(900);
        cfg.max_retries = 0;
        BlockingClient::new(cfg).unwrap().chat(&story, &long)
    });
    std::thread::sleep(Duration::from_millis(1000));
    let mut cfg = ClientConfig::new(Some(format!("http://{addr}/v1")), None, SMOLLM2_ID);
    cfg.max_retries = 0;
    let err = BlockingClient::new(cfg)
        .unwrap()
        .chat(&capital(), &greedy(4))
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Http { status: 503, .. }),
        "{err:?}"
    );
    // Shutting down lets the running request finish.
    tx.send(()).unwrap();
    let first = busy.join().unwrap().unwrap();
    assert!(!first.text.is_empty());
    handle.join().unwrap().unwrap();
}
