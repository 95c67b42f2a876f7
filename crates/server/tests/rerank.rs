//! `POST /rerank` on the tiny cross-encoder fixtures (BERT and ModernBERT): scores equal
//! `CrossEncoder::score_with`'s bit for bit, ranked best first; bad input gets 422; the
//! embedding routes answer 424 on a reranker; a multi-label classifier is refused at startup.

mod common;

use common::*;
use qkv_encoder::{CrossEncoder, ScoreOptions};
use serde_json::json;
use std::path::PathBuf;

fn family(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../encoder/tests/fixtures/families")
        .join(name)
}

/// The library's scores of (query, text) pairs.
fn library_scores(dir: &std::path::Path, query: &str, texts: &[&str], raw: bool) -> Vec<f32> {
    let ce = CrossEncoder::open(dir).unwrap();
    let pairs: Vec<(&str, &str)> = texts.iter().map(|t| (query, *t)).collect();
    let opts = ScoreOptions { raw, batch_size: 0 };
    ce.score_with(&pairs, &opts).unwrap().data
}

const TEXTS: [&str; 4] = [
    "The cat sat on the mat.",
    "A quick brown fox jumps over the lazy dog!",
    "",
    "Le chat est assis sur le tapis.",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerank_scores_equal_the_cross_encoders() {
    for name in ["bert_reranker", "modernbert_reranker"] {
        let dir = family(name);
        let s = TestServer::start(config(dir.clone())).await;
        let query = "What does the cat do?";
        for raw in [false, true] {
            let want = library_scores(&dir, query, &TEXTS, raw);
            let (st, v) = post(
                &s,
                "/rerank",
                json!({"query": query, "texts": TEXTS, "raw_scores": raw, "return_text": true}),
            )
            .await;
            assert_eq!(st, 200, "{name}: {v}");
            let ranks = v.as_array().unwrap();
            assert_eq!(ranks.len(), TEXTS.len());
            let mut prev = f32::INFINITY;
            for r in ranks {
                let i = r["index"].as_u64().unwrap() as usize;
                let score = r["score"].as_f64().unwrap() as f32;
                assert_eq!(score, want[i], "{name} raw={raw} text {i}");
                assert_eq!(r["text"], TEXTS[i]);
                assert!(score <= prev, "{name}: not best first: {v}");
                prev = score;
            }
        }
        // Without return_text: no text field; a one-text request.
        let (st, v) = post(&s, "/rerank", json!({"query": "q", "texts": ["a b"]})).await;
        assert_eq!(st, 200, "{v}");
        assert!(v[0].get("text").is_none(), "{v}");
        assert_eq!(
            v[0]["score"].as_f64().unwrap() as f32,
            library_scores(&dir, "q", &["a b"], false)[0]
        );
        s.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_pairs_are_cut_or_refused_as_asked() {
    let dir = family("bert_reranker");
    let s = TestServer::start(config(dir.clone())).await;
    let info: serde_json::Value = client()
        .get(s.url("/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["model_type"], "reranker");
    assert_eq!(info["model_dtype"], "f32");
    assert_eq!(info["max_input_length"], 48);
    assert!(info["pooling"].is_null(), "{info}");
    let long = "the cat sat on the mat and the dog sat on the rug ".repeat(8);
    let (st, v) = post(&s, "/rerank", json!({"query": "q", "texts": ["a", long]})).await;
    assert_eq!(st, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("input 1 is longer than 48 tokens"),
        "{v}"
    );
    assert_eq!(v["error"]["param"], "texts");
    let (st, v) = post(
        &s,
        "/rerank",
        json!({"query": "q", "texts": ["a", long], "truncate": true, "raw_scores": true}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let want = library_scores(&dir, "q", &["a", &long], true);
    for r in v.as_array().unwrap() {
        let i = r["index"].as_u64().unwrap() as usize;
        assert_eq!(r["score"].as_f64().unwrap() as f32, want[i]);
    }
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rerank_requests_get_422_and_embedding_routes_424() {
    let mut cfg = config(family("bert_reranker"));
    cfg.max_client_batch_size = 4;
    let s = TestServer::start(cfg).await;
    let cases = [
        json!({"texts": ["a"]}),
        json!({"query": "q"}),
        json!({"query": "q", "texts": []}),
        json!({"query": "q", "texts": ["a", 1]}),
        json!({"query": "q", "texts": "a"}),
        json!({"query": 1, "texts": ["a"]}),
        json!({"query": "q", "texts": ["a", "b", "c", "d", "e"]}),
        json!({"query": "q", "texts": ["a"], "raw_scores": "yes"}),
    ];
    for body in cases {
        let (st, v) = post(&s, "/rerank", body.clone()).await;
        assert_eq!(st, 422, "{body}: {v}");
        assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
    }
    for (path, body) in [
        ("/embed", json!({"inputs": "a"})),
        ("/v1/embeddings", json!({"input": ["a"]})),
    ] {
        let (st, v) = post(&s, path, body).await;
        assert_eq!(st, 424, "{path}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("/rerank"),
            "{v}"
        );
    }
    // An invalid embedding request is a 422 on a reranker too (it is checked before the kind).
    for (path, body) in [
        ("/embed", json!({"inputs": "a", "dimensions": 0})),
        ("/v1/embeddings", json!({"input": [], "model": "m"})),
        ("/v1/embeddings", json!({"input": [[]]})),
        ("/embed", json!({"inputs": [[2, 3], []]})),
    ] {
        let (st, v) = post(&s, path, body).await;
        assert_eq!(st, 422, "{path}: {v}");
    }
    // Still serving.
    let (st, _) = post(&s, "/rerank", json!({"query": "q", "texts": ["a"]})).await;
    assert_eq!(st, 200);
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_label_classifiers_and_lower_pair_limits_are_refused_at_startup() {
    let e = qkv_server::Server::bind(config(family("xlm_roberta_classifier3")))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("3 labels"), "{e}");
    let mut cfg = config(family("bert_reranker"));
    cfg.max_input_tokens = Some(20);
    let e = qkv_server::Server::bind(cfg).await.unwrap_err().to_string();
    assert!(e.contains("pairs of up to 48 tokens"), "{e}");
    let mut cfg = config(family("bert_reranker"));
    cfg.max_batch_tokens = 40;
    let e = qkv_server::Server::bind(cfg).await.unwrap_err().to_string();
    assert!(e.contains("--max-batch-tokens"), "{e}");
}
