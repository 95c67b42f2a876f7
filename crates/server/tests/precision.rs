//! `--precision`: the served embeddings equal `SentenceEncoder::open_with(.., precision)`'s bit
//! for bit, `/info` and `/metrics` say the precision, and a directory written by
//! `qkv quantize` loads at its saved precision (and only at it).

mod common;

use common::*;
use qkv_encoder::{LoadOptions, Precision, QuantizeOptions, SentenceEncoder};
use serde_json::json;
use std::path::Path;

const TEXTS: [&str; 3] = ["the cat sat on the mat", "a dog", "x y z"];

fn library(dir: &Path, p: Option<Precision>) -> Vec<Vec<f32>> {
    let m = SentenceEncoder::open_with(dir, &LoadOptions::with_precision(p)).unwrap();
    let e = m.embed(&TEXTS).unwrap();
    (0..e.len()).map(|i| e.row(i).to_vec()).collect()
}

/// `/info`'s `model_dtype`, and the `qkv_model_info` line of `/metrics`.
async fn reported(s: &TestServer) -> (String, String) {
    let c = client();
    let info: serde_json::Value = c
        .get(s.url("/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let metrics = c
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("qkv_model_info{"))
        .unwrap_or("")
        .to_string();
    (info["model_dtype"].as_str().unwrap().to_string(), line)
}

async fn served(s: &TestServer) -> Vec<Vec<f32>> {
    let (st, v) = post(s, "/embed", json!({"inputs": TEXTS})).await;
    assert_eq!(st, 200, "{v}");
    v.as_array().unwrap().iter().map(floats).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_embeddings_equal_the_library_at_each_precision() {
    for p in [Precision::Int8, Precision::Bf16, Precision::F32] {
        let mut cfg = config(tiny_dir());
        cfg.precision = Some(p);
        let s = TestServer::start(cfg).await;
        assert_eq!(served(&s).await, library(&tiny_dir(), Some(p)), "{p}");
        let (dtype, line) = reported(&s).await;
        assert_eq!(dtype, p.name());
        assert_eq!(
            line,
            format!("qkv_model_info{{kind=\"embedding\",precision=\"{p}\"}} 1")
        );
        s.stop().await.unwrap();
    }
    // int8 is not f32: the comparison above can fail.
    assert_ne!(
        library(&tiny_dir(), Some(Precision::Int8)),
        library(&tiny_dir(), None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quantized_directory_loads_at_its_saved_precision() {
    let dst = std::env::temp_dir().join(format!("qkv-server-int8-{}", std::process::id()));
    let opts = QuantizeOptions {
        precision: Precision::Int8,
        force: true,
    };
    qkv_encoder::quantize_dir(&tiny_dir(), &dst, &opts).unwrap();
    let s = TestServer::start(config(dst.clone())).await;
    assert_eq!(served(&s).await, library(&dst, None));
    assert_eq!(reported(&s).await.0, "int8");
    s.stop().await.unwrap();
    // Asked for another precision: refused at startup, naming both.
    let mut cfg = config(dst.clone());
    cfg.precision = Some(Precision::F32);
    let e = qkv_server::Server::bind(cfg).await.unwrap_err().to_string();
    assert!(e.contains("int8") && e.contains("f32"), "{e}");
    std::fs::remove_dir_all(&dst).ok();
}

/// The real model at int8, when `QKV_MODEL_DIR` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_model_int8_equals_the_library() {
    let Some(dir) = real_dir() else { return };
    let mut cfg = config(dir.clone());
    cfg.precision = Some(Precision::Int8);
    let s = TestServer::start(cfg).await;
    assert_eq!(served(&s).await, library(&dir, Some(Precision::Int8)));
    s.stop().await.unwrap();
}
