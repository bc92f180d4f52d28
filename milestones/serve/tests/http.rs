//! The HTTP contract, exercised against a real server on 127.0.0.1:0.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{client, start, start_with, WordCounter};
use reqwest::StatusCode;
use roadmap_serve::api::{BODY_LIMIT_BYTES, MAX_BATCH_TEXTS, MAX_TEXT_CHARS};
use serde_json::{json, Value};

async fn post(url: &str, body: Value) -> (StatusCode, Value) {
    let resp = client().post(url).json(&body).send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

/// Asserts a 422 whose single issue has this `loc` and `type`.
async fn assert_422(url: &str, body: Value, loc: Value, kind: &str) {
    let (status, json) = post(url, body.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {json}");
    let detail = json["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("detail list in {json}"));
    assert_eq!(detail.len(), 1, "{json}");
    assert_eq!(detail[0]["loc"], loc, "{json}");
    assert_eq!(detail[0]["type"], kind, "{json}");
    assert!(
        detail[0]["msg"].as_str().is_some_and(|m| !m.is_empty()),
        "{json}"
    );
}

#[tokio::test]
async fn predict_returns_label_score_and_model() {
    let server = start().await;
    let (status, json) = post(&server.url("/v1/predict"), json!({"text": "good good bad"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json,
        json!({"label": "positive", "score": 0.6, "model": {"name": "word-counter", "version": "7"}})
    );
    let (_, json) = post(
        &server.url("/v1/predict"),
        json!({"text": "bad", "extra": "ignored"}),
    )
    .await;
    assert_eq!(json["label"], "negative");
    assert!((json["score"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-6);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn batch_keeps_order_and_matches_single_predictions() {
    let server = start().await;
    let texts: Vec<String> = (0..MAX_BATCH_TEXTS)
        .map(|i| "good ".repeat(i % 3) + &"bad ".repeat(i % 5))
        .collect();
    let texts: Vec<String> = texts
        .into_iter()
        .map(|t| if t.is_empty() { "plain".into() } else { t })
        .collect();
    let (status, json) = post(&server.url("/v1/predict/batch"), json!({ "texts": texts })).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let preds = json["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), MAX_BATCH_TEXTS);
    assert_eq!(
        json["model"],
        json!({"name": "word-counter", "version": "7"})
    );
    for (text, pred) in texts.iter().zip(preds).take(10) {
        let (_, single) = post(&server.url("/v1/predict"), json!({ "text": text })).await;
        assert_eq!(single["score"], pred["score"], "{text}");
        assert_eq!(single["label"], pred["label"], "{text}");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn health_and_readiness() {
    let server = start().await;
    let c = client();
    let r = c.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    let r = c.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"status": "ready"}));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn validation_failures_are_422_with_fastapi_detail() {
    let server = start().await;
    let one = server.url("/v1/predict");
    let batch = server.url("/v1/predict/batch");
    assert_422(&one, json!({}), json!(["body", "text"]), "missing").await;
    assert_422(
        &one,
        json!({"txt": "typo"}),
        json!(["body", "text"]),
        "missing",
    )
    .await;
    assert_422(
        &one,
        json!({"text": 42}),
        json!(["body", "text"]),
        "string_type",
    )
    .await;
    assert_422(
        &one,
        json!({"text": null}),
        json!(["body", "text"]),
        "string_type",
    )
    .await;
    assert_422(
        &one,
        json!({"text": ""}),
        json!(["body", "text"]),
        "string_too_short",
    )
    .await;
    assert_422(
        &one,
        json!({"text": " \n\t "}),
        json!(["body", "text"]),
        "string_too_short",
    )
    .await;
    assert_422(
        &one,
        json!({"text": "x".repeat(MAX_TEXT_CHARS + 1)}),
        json!(["body", "text"]),
        "string_too_long",
    )
    .await;
    assert_422(
        &one,
        json!(["a", "list"]),
        json!(["body"]),
        "model_attributes_type",
    )
    .await;
    assert_422(
        &one,
        json!("just a string"),
        json!(["body"]),
        "model_attributes_type",
    )
    .await;
    assert_422(&batch, json!({}), json!(["body", "texts"]), "missing").await;
    assert_422(
        &batch,
        json!({"texts": "not a list"}),
        json!(["body", "texts"]),
        "list_type",
    )
    .await;
    assert_422(
        &batch,
        json!({"texts": []}),
        json!(["body", "texts"]),
        "too_short",
    )
    .await;
    let too_many = vec!["good"; MAX_BATCH_TEXTS + 1];
    assert_422(
        &batch,
        json!({ "texts": too_many }),
        json!(["body", "texts"]),
        "too_long",
    )
    .await;
    assert_422(
        &batch,
        json!({"texts": ["good", 1]}),
        json!(["body", "texts", 1]),
        "string_type",
    )
    .await;
    // The longest valid text is accepted.
    let (status, _) = post(&one, json!({"text": "x".repeat(MAX_TEXT_CHARS)})).await;
    assert_eq!(status, StatusCode::OK);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn model_input_errors_are_422_and_model_failures_500() {
    let server = start().await;
    assert_422(
        &server.url("/v1/predict"),
        json!({"text": "reject me"}),
        json!(["body", "text"]),
        "value_error",
    )
    .await;
    assert_422(
        &server.url("/v1/predict/batch"),
        json!({"texts": ["good", "reject"]}),
        json!(["body", "texts", 1]),
        "value_error",
    )
    .await;
    let (status, json) = post(&server.url("/v1/predict"), json!({"text": "explode"})).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(json["detail"].is_string(), "{json}");
    server.shutdown().await.unwrap();
}

async fn raw(
    server: &common::Running,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = client().post(server.url("/v1/predict")).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let json = resp
        .json()
        .await
        .unwrap_or_else(|e| panic!("{status}: body is not JSON: {e}"));
    (status, json)
}

#[tokio::test]
async fn transport_errors_400_413_415() {
    let server = start().await;
    let (status, json) = raw(&server, Some("application/json"), b"{\"text\": ".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        json["detail"]
            .as_str()
            .unwrap()
            .contains("malformed JSON at line 1"),
        "{json}"
    );
    let (status, _) = raw(
        &server,
        Some("application/json"),
        b"{\"text\": \"ok\"} trailing".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, json) = raw(
        &server,
        Some("text/plain"),
        b"{\"text\": \"good\"}".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        json["detail"].as_str().unwrap().contains("text/plain"),
        "{json}"
    );
    let (status, _) = raw(&server, None, b"{\"text\": \"good\"}".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Parameters and case in the media type are fine.
    let (status, _) = raw(
        &server,
        Some("Application/JSON; charset=utf-8"),
        b"{\"text\": \"good\"}".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let huge = format!("{{\"text\": \"{}\"}}", "a".repeat(BODY_LIMIT_BYTES + 1));
    let (status, json) = raw(&server, Some("application/json"), huge.into_bytes()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(json["detail"].as_str().unwrap().contains("limit"), "{json}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json() {
    let server = start().await;
    let r = client().get(server.url("/nope")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "Not Found"})
    );
    let r = client()
        .get(server.url("/v1/predict"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let allow = r
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(allow.as_deref(), Some("POST"));
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "Method Not Allowed"})
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn no_input_causes_a_server_error() {
    let server = start().await;
    let deep = "[".repeat(100_000);
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"null".to_vec(),
        b"0".to_vec(),
        b"{\"text\": \"\\ud800\"}".to_vec(),
        b"{\"text\": \"nul \\u0000 byte\"}".to_vec(),
        b"{\"text\": 1e999999}".to_vec(),
        vec![0xff, 0xfe, 0x00],
        b"{\"text\": \"\xff\"}".to_vec(),
        deep.into_bytes(),
        b"{\"texts\": [[], {}, null]}".to_vec(),
    ];
    for path in ["/v1/predict", "/v1/predict/batch"] {
        for body in &bodies {
            let r = client()
                .post(server.url(path))
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let status = r.status();
            assert!(
                status.is_success() || status.is_client_error(),
                "{path} {:?}: {status}",
                String::from_utf8_lossy(body)
            );
            assert!(
                r.json::<Value>().await.is_ok(),
                "{path}: non-JSON error body"
            );
        }
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let server = start().await;
    let r = client()
        .get(server.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    let r = client()
        .post(server.url("/v1/predict"))
        .json(&json!({"text": ""}))
        .send()
        .await
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let r2 = client().get(server.url("/nope")).send().await.unwrap();
    assert_ne!(
        r2.headers()["x-request-id"].to_str().unwrap(),
        id,
        "every request gets its own id"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let server = start().await;
    let c = client();
    for _ in 0..3 {
        post(&server.url("/v1/predict"), json!({"text": "good"})).await;
    }
    post(&server.url("/v1/predict"), json!({})).await;
    c.get(server.url("/definitely/not/here"))
        .send()
        .await
        .unwrap();
    let r = c.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = r.text().await.unwrap();
    for expected in [
        "# TYPE roadmap_http_requests counter",
        r#"roadmap_http_requests_total{method="POST",route="/v1/predict",status="200"} 3"#,
        r#"roadmap_http_requests_total{method="POST",route="/v1/predict",status="422"} 1"#,
        r#"roadmap_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        "# TYPE roadmap_http_request_duration_seconds histogram",
        r#"roadmap_http_request_duration_seconds_count{method="POST",route="/v1/predict"} 4"#,
        r#"roadmap_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/v1/predict"} 4"#,
        // The scrape itself is in flight while the text is rendered.
        "roadmap_http_requests_in_flight 1",
        r#"roadmap_model_info{name="word-counter",version="7"} 1"#,
        r#"roadmap_predictions_total{label="positive"} 3"#,
        "roadmap_inference_duration_seconds_count 3",
        "# EOF",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in\n{text}");
    }
    assert!(
        !text.contains("definitely"),
        "raw paths must not become labels"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn openapi_and_local_swagger_ui() {
    let server = start().await;
    let c = client();
    let doc: Value = c
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/v1/predict",
        "/v1/predict/batch",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    for code in ["200", "400", "413", "415", "422"] {
        assert!(
            doc["paths"]["/v1/predict"]["post"]["responses"][code].is_object(),
            "{code} undocumented"
        );
    }
    let schemas = &doc["components"]["schemas"];
    for name in [
        "PredictRequest",
        "PredictResponse",
        "BatchPredictRequest",
        "BatchPredictResponse",
        "ModelInfo",
        "ValidationErrorBody",
        "ValidationIssue",
        "HttpErrorBody",
        "StatusResponse",
    ] {
        assert!(schemas[name].is_object(), "schema {name} missing");
    }
    // The documented limits are the enforced ones.
    assert_eq!(
        schemas["PredictRequest"]["properties"]["text"]["maxLength"],
        MAX_TEXT_CHARS
    );
    assert_eq!(
        schemas["BatchPredictRequest"]["properties"]["texts"]["maxItems"],
        MAX_BATCH_TEXTS
    );

    let html = c.get(server.url("/docs/")).send().await.unwrap();
    assert_eq!(html.status(), StatusCode::OK);
    let html = html.text().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
    assert!(
        !html.contains("https://"),
        "Swagger UI must be served locally, not from a CDN:\n{html}"
    );
    let js = c
        .get(server.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert!(
        js.bytes().await.unwrap().len() > 100_000,
        "the bundled Swagger UI script is served"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let server = start_with(Arc::new(WordCounter)).await;
    let url = server.url("/v1/predict/batch");
    let in_flight =
        tokio::spawn(async move { post(&url, json!({"texts": ["slow but good"]})).await });
    // Let the request reach the model (it sleeps 400 ms there).
    tokio::time::sleep(Duration::from_millis(150)).await;
    let addr = server.addr;
    server.shutdown().await.expect("clean shutdown");
    let (status, json) = in_flight.await.unwrap();
    assert_eq!(
        status,
        StatusCode::OK,
        "the in-flight request completes: {json}"
    );
    assert_eq!(json["predictions"][0]["label"], "positive");
    // And the listener is gone.
    assert!(client()
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .is_err());
}

#[tokio::test]
async fn verifier_passes_our_own_server() {
    let server = start().await;
    let opts = roadmap_serve::VerifyOptions {
        requests: 200,
        concurrency: 8,
        ..Default::default()
    };
    let report = roadmap_serve::verify(&server.url(""), &opts).await.unwrap();
    let failed: Vec<_> = report.checks.iter().filter(|c| !c.passed).collect();
    // The word counter scores both probe reviews 0.5 (no "good"/"bad"), so only
    // the sentiment-order check can fail; every contract check must pass.
    assert!(
        failed.iter().all(|c| c.name == "predict_scores_sentiment"),
        "{failed:#?}"
    );
    assert_eq!(report.load.requests, 200);
    assert_eq!(report.load.errors, 0);
    assert!(report.load.p50_ms > 0.0 && report.load.p50_ms <= report.load.p99_ms);
    let metrics = report.metrics();
    assert_eq!(
        metrics["checks_passed"] + metrics["checks_failed"],
        report.checks.len() as f64
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn verifier_reports_an_unreachable_server() {
    // Bind then drop: a port nobody listens on.
    let addr = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let err = roadmap_serve::verify(&format!("http://{addr}"), &Default::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is your server running"), "{err}");
}
