//! `roadmap rag serve` as a real process: it prints its configuration with
//! secrets redacted, serves on 127.0.0.1, and on SIGTERM drains and exits 0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A plain HTTP/1.1 GET (the test needs no HTTP client crate): status and body.
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |b| b.1).to_string();
    (status, body)
}

#[test]
fn serves_on_localhost_with_a_redacted_config_and_drains_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::write(&keys, "serve-test-key-0123456789\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_roadmap"))
        .args(["--data-dir", dir.path().to_str().unwrap()])
        .args(["rag", "--embedder", "hash", "--store"])
        .arg(dir.path().join("rag.sqlite"))
        .args(["serve", "--addr", "127.0.0.1:0", "--api-keys-file"])
        .arg(&keys)
        .env("ROADMAP_RAG_GENERATION_QUEUE_DEPTH", "3")
        .env("RUST_LOG", "warn")
        .env("ROADMAP_DB", dir.path().join("progress.db"))
        .env_remove("ROADMAP_API_KEYS")
        .env_remove("ROADMAP_RAG_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut printed = String::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let addr = loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 || Instant::now() > deadline {
            let _ = child.kill();
            panic!("the service never said where it listens:\n{printed}");
        }
        printed.push_str(&line);
        if let Some(rest) = line.strip_prefix("listening on http://") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    assert!(
        printed.contains("queue_depth = 3"),
        "the environment override is not in effect:\n{printed}"
    );
    assert!(
        !printed.contains("serve-test-key"),
        "a key was printed:\n{printed}"
    );

    let (status, body) = get(&addr, "/readyz");
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(&addr, "/v1/collections");
    assert_eq!(status, 200);
    assert!(
        body.contains("\"roadmap\""),
        "the built-in knowledge base is indexed: {body}"
    );

    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "still running 30 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut rest = String::new();
    let _ = err.read_to_string(&mut rest);
    assert!(status.success(), "exit {status:?}:\n{rest}");
    assert!(
        TcpStream::connect(&addr).is_err(),
        "still accepting after exit"
    );
}
