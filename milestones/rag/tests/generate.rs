//! The LLM generators on the real SmolLM2 model (fetched and checksum-verified by the asset
//! manager; the tests fail if it cannot be had): the local one directly, the openai one through
//! the real `roadmap-llm` OpenAI-compatible server on 127.0.0.1.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use roadmap_llm::client::{BlockingClient, ClientConfig};
use roadmap_llm::server::{serve, ServerConfig};
use roadmap_llm::{GgufTokenizer, LoadOptions, LocalLlm, SMOLLM2_FILE, SMOLLM2_ID};
use roadmap_rag::generate::{Generator, LocalGenerator, OpenAiGenerator};
use roadmap_rag::store::Hit;

fn model_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let cache = std::env::var_os("ROADMAP_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("assets"));
        roadmap_common::assets::ensure(&cache, "smollm2-135m-instruct")
            .expect("fetching the SmolLM2 GGUF")
    })
    .clone()
}

fn hits() -> Vec<Hit> {
    let texts = [
        "Bananas are a yellow fruit grown in the tropics.",
        "Paris is the capital and largest city of France.",
    ];
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| Hit {
            chunk_id: i as i64,
            score: 1.0,
            source: format!("doc{i}.md"),
            start: 0,
            end: t.len(),
            line_start: 1,
            line_end: 1,
            heading: vec![],
            text: t.to_string(),
        })
        .collect()
}

const QUESTION: &str = "What is the capital of France?";

#[test]
fn local_generator_answers_from_the_context_and_streams() {
    let llm = LocalLlm::load(&model_dir(), &LoadOptions::default()).unwrap();
    let mut g = LocalGenerator::new(llm);
    g.params.max_tokens = 48;
    let mut streamed = String::new();
    let a = g
        .answer(QUESTION, &hits(), &mut |t| {
            streamed.push_str(t);
            true
        })
        .unwrap();
    assert!(a.text.contains("Paris"), "{a:?}");
    assert_eq!(streamed.trim(), a.text);
    assert_eq!(a.passages_used, 2);
    assert!(a.prompt_tokens > 0 && a.completion_tokens > 0);
}

#[test]
fn openai_generator_through_the_real_server() {
    let llm = LocalLlm::load(&model_dir(), &LoadOptions::default()).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            serve(listener, llm, ServerConfig::default(), async move {
                let _ = rx.await;
            })
            .await
        })
    });
    let mut cfg = ClientConfig::new(Some(format!("http://{addr}/v1")), None, SMOLLM2_ID);
    cfg.connect_timeout = Duration::from_secs(2);
    cfg.max_retries = 1;
    let client = BlockingClient::new(cfg).unwrap();
    let tok = GgufTokenizer::from_gguf_file(&model_dir().join(SMOLLM2_FILE)).unwrap();
    let mut g = OpenAiGenerator::new(client, tok);
    g.params.max_tokens = 48;
    let mut pieces = 0;
    let a = g
        .answer(QUESTION, &hits(), &mut |_| {
            pieces += 1;
            true
        })
        .unwrap();
    tx.send(()).unwrap();
    server.join().unwrap().unwrap();
    assert!(a.text.contains("Paris"), "{a:?}");
    assert!(pieces > 1, "the answer was not streamed");
    assert_eq!(a.passages_used, 2);
}
