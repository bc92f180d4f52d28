//! Shared test fixtures: a tiny deterministic classifier and a real server on
//! 127.0.0.1:0, stopped through a channel.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use roadmap_serve::{
    Classifier, ClassifierError, ModelInfo, Prediction, ServeError, Server, ServerConfig,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Scores by counting "good" and "bad": (good + 1) / (good + bad + 2).
/// Texts containing "slow" take 400 ms (for in-flight tests); "reject" is an
/// input error from the model; "explode" an internal model error.
pub struct WordCounter;

impl Classifier for WordCounter {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            name: "word-counter".into(),
            version: "7".into(),
        }
    }

    fn predict_batch(&self, texts: &[&str]) -> Result<Vec<Prediction>, ClassifierError> {
        texts
            .iter()
            .enumerate()
            .map(|(index, text)| {
                if text.contains("slow") {
                    std::thread::sleep(Duration::from_millis(400));
                }
                if text.contains("reject") {
                    return Err(ClassifierError::InvalidInput {
                        index,
                        message: "no known words".into(),
                    });
                }
                if text.contains("explode") {
                    return Err(ClassifierError::Internal("weights on fire".into()));
                }
                let good = text.matches("good").count() as f32;
                let bad = text.matches("bad").count() as f32;
                let score = (good + 1.0) / (good + bad + 2.0);
                let label = if score >= 0.5 { "positive" } else { "negative" };
                Ok(Prediction {
                    label: label.into(),
                    score,
                })
            })
            .collect()
    }
}

pub struct Running {
    pub addr: SocketAddr,
    pub stop: Option<oneshot::Sender<()>>,
    pub handle: JoinHandle<Result<(), ServeError>>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Signals shutdown and waits (at most 10 s) for the server to drain.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.handle)
            .await
            .expect("server stops within 10 s")
            .expect("server task does not panic")
    }
}

pub async fn start_with(classifier: Arc<dyn Classifier>) -> Running {
    let server = Server::new(classifier, ServerConfig::default()).expect("warm-up succeeds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(server.serve(listener, async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        handle,
    }
}

pub async fn start() -> Running {
    start_with(Arc::new(WordCounter)).await
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}
