//! Dynamic batching end to end: many concurrent clients, each gets exactly its own rows, bit
//! for bit what `SentenceEncoder::embed` gives for the same texts; clients that disconnect do
//! not disturb the others; shutdown finishes the requests in flight.

mod common;

use common::*;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Deterministic mixed-length texts: client `c`, request `r`, `n` sentences.
fn texts(c: usize, r: usize, n: usize) -> Vec<String> {
    const WORDS: [&str; 12] = [
        "the", "cat", "sat", "on", "mat", "a", "dog", "ran", "far", "away", "quickly", "home",
    ];
    (0..n)
        .map(|i| {
            let len = 1 + (c * 7 + r * 5 + i * 3) % 40;
            (0..len)
                .map(|k| WORDS[(c + r * 3 + i * 5 + k * 7) % WORDS.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

async fn concurrent_clients_get_their_own_rows(dir: &Path, max_batch_tokens: usize) {
    let mut cfg = config(dir.to_path_buf());
    cfg.max_batch_tokens = max_batch_tokens;
    cfg.max_input_tokens = None;
    cfg.max_queue_tokens = Some(1 << 20);
    cfg.threads = Some(2);
    let s = Arc::new(TestServer::start(cfg).await);
    let mut tasks = Vec::new();
    for c in 0..12 {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for r in 0..3 {
                let t = texts(c, r, 1 + (c + r) % 9);
                let (st, v) =
                    post(&s, "/v1/embeddings", json!({"input": t, "truncate": true})).await;
                assert_eq!(st, 200, "{v}");
                let rows: Vec<Vec<f32>> = v["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| floats(&d["embedding"]))
                    .collect();
                got.push((t, rows));
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(tokio::time::timeout(PATIENCE, t).await.unwrap().unwrap());
    }
    let texts: Vec<&str> = all
        .iter()
        .flat_map(|(t, _)| t.iter().map(String::as_str))
        .collect();
    let expect = library_embed(dir, &texts);
    let got: Vec<&Vec<f32>> = all.iter().flat_map(|(_, rows)| rows).collect();
    assert_eq!(got.len(), expect.len());
    for (i, (g, e)) in got.iter().zip(&expect).enumerate() {
        assert_eq!(*g, e, "row {i} ({:?})", texts[i]);
    }
    // Several requests shared forward passes (12 clients, at most 12 × 9 rows each round).
    let m = client()
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = |name: &str| -> f64 {
        m.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().parse().unwrap()))
            .unwrap()
    };
    assert!(count("qkv_batch_size_count ") >= 1.0, "{m}");
    // Every row went through the batcher exactly once (the warm-up does not).
    assert_eq!(count("qkv_batch_size_sum ") as usize, texts.len(), "{m}");
    match Arc::try_unwrap(s) {
        Ok(s) => s.stop().await.unwrap(),
        Err(_) => panic!("server still shared"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tiny_model_concurrent_rows_are_bit_identical() {
    // A small budget forces requests to be split across passes and passes to mix requests.
    concurrent_clients_get_their_own_rows(&tiny_dir(), 48).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn real_model_concurrent_rows_are_bit_identical() {
    let Some(dir) = real_dir() else { return };
    concurrent_clients_get_their_own_rows(&dir, 2048).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_clients_do_not_disturb_the_others() {
    let s = TestServer::start(config(tiny_dir())).await;
    let body = serde_json::to_vec(&json!({"inputs": texts(1, 1, 32), "truncate": true})).unwrap();
    for _ in 0..20 {
        let mut c = TcpStream::connect(s.addr).await.unwrap();
        let head = format!(
            "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        c.write_all(head.as_bytes()).await.unwrap();
        c.write_all(&body).await.unwrap();
        drop(c); // gone before the answer
    }
    let (st, v) = post(&s, "/embed", json!({"inputs": ["after"]})).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v[0].as_array().unwrap().len(), 32);
    // Nothing is left behind: no request in flight, nothing queued. A dropped request was
    // either never dispatched (hyper saw the close first), answered, or cancelled (499).
    let c = client();
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let m = c
            .get(s.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let n = |status: &str| -> u64 {
            m.lines()
                .find_map(|l| {
                    l.strip_prefix(&format!(
                        "qkv_requests_total{{route=\"/embed\",status=\"{status}\"}} "
                    ))
                    .map(|v| v.parse().unwrap())
                })
                .unwrap_or(0)
        };
        if m.contains("qkv_requests_in_flight 0") && m.contains("qkv_queue_sequences 0") {
            assert!(n("200") >= 1 && n("200") + n("499") <= 21, "{m}");
            eprintln!("{} answered, {} cancelled", n("200") - 1, n("499"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{m}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_requests_in_flight_and_stops_accepting() {
    let mut cfg = config(tiny_dir());
    cfg.read_timeout = Duration::from_secs(20);
    let mut s = TestServer::start(cfg).await;
    let addr = s.addr;
    // A request in flight (its body not yet sent) when the signal comes.
    let body = br#"{"input": ["in flight", "still"]}"#;
    let mut held = TcpStream::connect(addr).await.unwrap();
    held.write_all(
        format!(
            "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    s.signal();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // No new connections are accepted...
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still accepting after the signal"
    );
    // ...but the request in flight completes.
    held.write_all(body).await.unwrap();
    let (st, _, text) = read_response(&mut held).await;
    assert_eq!(st, 200, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    s.stop().await.unwrap();
}
