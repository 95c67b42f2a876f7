//! Client mistakes and hostile clients: each gets its 4xx (never a 5xx) quickly, and the
//! server keeps serving.

mod common;

use common::*;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

fn http_post(path: &str, body: &[u8], extra: &str) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_invalid_requests_get_400_or_422() {
    let s = TestServer::start(config(tiny_dir())).await;
    // Unreadable bodies: 400 on both routes.
    for body in [
        &b"{\"input\": "[..],
        b"not json",
        b"",
        b"{\"input\": \"\xff\xfe\"}",
    ] {
        for path in ["/v1/embeddings", "/embed"] {
            let (st, _, text) = raw(s.addr, &http_post(path, body, "")).await;
            assert_eq!(st, 400, "{path} {body:?}: {text}");
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert!(v["error"]["message"].is_string(), "{text}");
        }
    }
    let cases = [
        ("/v1/embeddings", json!({})),
        ("/v1/embeddings", json!({"input": 5})),
        ("/v1/embeddings", json!({"input": []})),
        ("/v1/embeddings", json!({"input": [[]]})),
        ("/v1/embeddings", json!({"input": [-1]})),
        ("/v1/embeddings", json!({"input": [999999]})),
        ("/v1/embeddings", json!({"input": ["a", 1]})),
        (
            "/v1/embeddings",
            json!({"input": "a", "encoding_format": "hex"}),
        ),
        ("/v1/embeddings", json!({"input": "a", "dimensions": 0})),
        ("/v1/embeddings", json!({"input": "a", "dimensions": 33})),
        ("/v1/embeddings", json!({"input": "a", "dimensions": -4})),
        (
            "/v1/embeddings",
            json!({"input": "a", "prompt_name": "query"}),
        ),
        (
            "/v1/embeddings",
            json!({"input": [2, 3], "prompt_name": "query"}),
        ),
        ("/embed", json!({"inputs": "a", "normalize": "yes"})),
        ("/embed", json!({"inputs": null})),
        ("/embed", json!([1, 2])),
    ];
    for (path, body) in cases {
        let (st, v) = post(&s, path, body.clone()).await;
        assert_eq!(st, 422, "{path} {body}: {v}");
        assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
    }
    let (_, v) = post(
        &s,
        "/v1/embeddings",
        json!({"input": "a", "prompt_name": "query"}),
    )
    .await;
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("unknown prompt name \"query\""), "{msg}");
    assert_eq!(v["error"]["param"], "prompt_name");
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_inputs_are_refused_or_truncated_as_asked() {
    let mut cfg = config(tiny_dir());
    cfg.max_input_tokens = Some(6);
    let s = TestServer::start(cfg).await;
    let long = "the cat sat on the mat and the dog sat on the rug";
    let (st, v) = post(&s, "/v1/embeddings", json!({"input": long})).await;
    assert_eq!(st, 422, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("longer than 6 tokens"));
    let (st, v) = post(
        &s,
        "/v1/embeddings",
        json!({"input": long, "truncate": true}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["usage"]["prompt_tokens"], 6);
    let ids: Vec<u32> = (0..10).map(|i| 4 + i).collect();
    let (st, _) = post(&s, "/embed", json!({"inputs": ids})).await;
    assert_eq!(st, 422);
    let (st, v) = post(&s, "/embed", json!({"inputs": ids, "truncate": true})).await;
    assert_eq!((st, v[0].as_array().map(Vec::len)), (200, Some(32)));
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_requests_are_refused_quickly() {
    let s = TestServer::start(config(tiny_dir())).await;
    // 100k inputs (≈ 0.6 MB, within the body limit): 422 for the batch-size limit.
    let many: Vec<String> = (0..100_000).map(|i| format!("w{i}")).collect();
    let t = Instant::now();
    let (st, v) = post(&s, "/v1/embeddings", json!({"input": many})).await;
    assert_eq!(st, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("100000 inputs"),
        "{v}"
    );
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());

    // A declared 100 MB body: 413 before the server reads it.
    let t = Instant::now();
    let head = "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n{\"input\": \"";
    let (st, _, body) = raw(s.addr, head.as_bytes()).await;
    assert_eq!(st, 413, "{body}");
    assert!(t.elapsed() < Duration::from_secs(5));

    // A body over the limit without a declared length (chunked): 413 once the limit passes.
    let mut req = b"POST /embed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..40 {
        let chunk = vec![b' '; 60_000];
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(&chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let (st, _, body) = raw(s.addr, &req).await;
    assert_eq!(st, 413, "{body}");

    // And the server still serves.
    let (st, _) = post(&s, "/embed", json!({"inputs": "still here"})).await;
    assert_eq!(st, 200);
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_time_out_and_hold_no_one_up() {
    let mut cfg = config(tiny_dir());
    cfg.read_timeout = Duration::from_millis(600);
    let s = TestServer::start(cfg).await;

    // A stalled body: 408 after the read timeout.
    let t = Instant::now();
    let mut slow = TcpStream::connect(s.addr).await.unwrap();
    slow.write_all(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"inp")
        .await
        .unwrap();
    // Meanwhile others are served.
    let (st, _) = post(&s, "/embed", json!({"inputs": "fast"})).await;
    assert_eq!(st, 200);
    let (st, _, body) = read_response(&mut slow).await;
    assert_eq!(st, 408, "{body}");
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(500) && waited < Duration::from_secs(10),
        "{waited:?}"
    );

    // Headers that never finish: the connection is closed after the header timeout.
    let t = Instant::now();
    let mut trickle = TcpStream::connect(s.addr).await.unwrap();
    trickle
        .write_all(b"POST /embed HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (st, _, _) = read_response(&mut trickle).await;
    assert!(st == 0 || st == 408, "{st}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_concurrency_limit_get_429_at_once() {
    let mut cfg = config(tiny_dir());
    cfg.max_concurrent_requests = 1;
    cfg.read_timeout = Duration::from_secs(20);
    let s = TestServer::start(cfg).await;
    // One request in flight: its body is still coming.
    let mut held = TcpStream::connect(s.addr).await.unwrap();
    let body = br#"{"inputs": "held"}"#;
    held.write_all(
        format!(
            "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    // Wait until the server has admitted it (the in-flight gauge says so).
    let c = client();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let m = c
            .get(s.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if m.contains("qkv_requests_in_flight 1") {
            break;
        }
        assert!(Instant::now() < deadline, "never admitted:\n{m}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let t = Instant::now();
    let r = c
        .post(s.url("/v1/embeddings"))
        .json(&json!({"input": "b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    assert!(t.elapsed() < Duration::from_secs(2));
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "too_many_requests");
    // The held request completes normally, and then there is room again.
    held.write_all(body).await.unwrap();
    let (st, _, text) = read_response(&mut held).await;
    assert_eq!(st, 200, "{text}");
    let (st, _) = post(&s, "/v1/embeddings", json!({"input": "b"})).await;
    assert_eq!(st, 200);
    s.stop().await.unwrap();
}
