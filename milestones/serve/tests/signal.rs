//! SIGTERM handling, in its own test binary: it signals the whole test process.

#![cfg(unix)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use roadmap_serve::Server;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_requests_and_returns_ok() {
    let server = Server::new(Arc::new(common::WordCounter), Default::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn(server.serve(listener, roadmap_serve::shutdown_signal()));
    // Make sure the signal handler is installed before signalling.
    let c = common::client();
    c.get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    let slow = {
        let c = c.clone();
        tokio::spawn(async move {
            c.post(format!("http://{addr}/v1/predict/batch"))
                .json(&json!({"texts": ["slow"]}))
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let served = tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .expect("stops within 10 s");
    served.unwrap().expect("serve returns Ok after SIGTERM");
    let resp = slow.await.unwrap().expect("in-flight request answered");
    assert_eq!(resp.status(), 200);
}
