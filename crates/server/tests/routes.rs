//! Every route of the real server on the tiny BERT fixture, over loopback HTTP.

mod common;

use base64::Engine;
use common::*;
use serde_json::json;

fn norm(v: &[f32]) -> f64 {
    v.iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_embeddings_shapes_match_the_library() {
    let s = TestServer::start(config(tiny_dir())).await;
    let texts = ["the cat sat on the mat", "a dog", ""];
    let expect = library_embed(&tiny_dir(), &texts);

    // An array of strings: OpenAI's shape, rows equal SentenceEncoder::embed bit for bit.
    let (st, v) = post(
        &s,
        "/v1/embeddings",
        json!({"input": texts, "model": "my-model"}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "my-model");
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    for (i, d) in data.iter().enumerate() {
        assert_eq!(d["object"], "embedding");
        assert_eq!(d["index"], i);
        assert_eq!(floats(&d["embedding"]), expect[i], "row {i}");
    }
    let tokens = v["usage"]["prompt_tokens"].as_u64().unwrap();
    assert!(tokens >= 3 * 2, "{v}");
    assert_eq!(v["usage"]["total_tokens"], tokens);

    // One string; no model named: the server's name is echoed.
    let (st, v) = post(&s, "/v1/embeddings", json!({"input": "a dog"})).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["model"], "tiny_bert");
    assert_eq!(floats(&v["data"][0]["embedding"]), expect[1]);

    // base64: little-endian f32 bytes of the same row.
    let (st, v) = post(
        &s,
        "/v1/embeddings",
        json!({"input": ["a dog"], "encoding_format": "base64"}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let row: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(row, expect[1]);

    // Token ids, one sequence and several: equal to the same text's ids.
    let (st, v) = post(&s, "/v1/embeddings", json!({"input": [2, 3]})).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        floats(&v["data"][0]["embedding"]),
        expect[2],
        "[CLS] [SEP] = the empty text"
    );
    let (st, v) = post(&s, "/v1/embeddings", json!({"input": [[2, 3], [2, 3]]})).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_eq!(v["usage"]["prompt_tokens"], 4);

    // dimensions: the first k values, renormalized.
    let (st, v) = post(
        &s,
        "/v1/embeddings",
        json!({"input": "a dog", "dimensions": 8}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let cut = floats(&v["data"][0]["embedding"]);
    assert_eq!(cut.len(), 8);
    assert!((norm(&cut) - 1.0).abs() < 1e-6);
    let n8 = norm(&expect[1][..8]);
    for (a, b) in cut.iter().zip(&expect[1][..8]) {
        assert!((f64::from(*a) - f64::from(*b) / n8).abs() < 1e-6);
    }
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tei_embed_and_rerank() {
    let s = TestServer::start(config(tiny_dir())).await;
    let expect = library_embed(&tiny_dir(), &["a dog", "the mat"]);
    let (st, v) = post(&s, "/embed", json!({"inputs": ["a dog", "the mat"]})).await;
    assert_eq!(st, 200, "{v}");
    let rows: Vec<Vec<f32>> = v.as_array().unwrap().iter().map(floats).collect();
    assert_eq!(rows, expect);

    // normalize: false gives the pooled row, which normalizes to the library's.
    let (st, v) = post(&s, "/embed", json!({"inputs": "a dog", "normalize": false})).await;
    assert_eq!(st, 200, "{v}");
    let raw = floats(&v[0]);
    assert!(
        (norm(&raw) - 1.0).abs() > 1e-3,
        "the tiny model's pooled rows are not unit"
    );
    for (a, b) in raw.iter().zip(&expect[0]) {
        assert!((f64::from(*a) / norm(&raw) - f64::from(*b)).abs() < 1e-6);
    }
    let (st, v) = post(&s, "/embed", json!({"inputs": "a dog", "dimensions": 4})).await;
    assert_eq!((st, v[0].as_array().unwrap().len()), (200, 4));

    // /rerank validates, then says the model cannot rank (424, as TEI answers).
    let (st, v) = post(&s, "/rerank", json!({"query": "q", "texts": ["a", "b"]})).await;
    assert_eq!(st, 424, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("cross-encoder"));
    let (st, _) = post(&s, "/rerank", json!({"query": "q", "texts": []})).await;
    assert_eq!(st, 422);
    let (st, _) = post(&s, "/rerank", json!({"query": 1, "texts": ["a"]})).await;
    assert_eq!(st, 422);
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_info_metrics_openapi_and_fallbacks() {
    let s = TestServer::start(config(tiny_dir())).await;
    let c = client();
    let r = c.get(s.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let info: serde_json::Value = c
        .get(s.url("/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["dim"], 32);
    assert_eq!(info["model_type"], "embedding");
    assert_eq!(info["model_dtype"], "f32");
    assert_eq!(info["max_input_length"], 24);
    assert_eq!(info["max_client_batch_size"], 32);
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));

    let (st, _) = post(&s, "/embed", json!({"inputs": ["a", "b c"]})).await;
    assert_eq!(st, 200);
    let r = c.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let m = r.text().await.unwrap();
    for needle in [
        "qkv_requests_total{route=\"/embed\",status=\"200\"} 1",
        "qkv_requests_total{route=\"/info\",status=\"200\"} 1",
        "qkv_request_duration_seconds_bucket{route=\"/embed\"",
        "qkv_queue_sequences 0",
        "qkv_batch_size_count",
        "qkv_batch_tokens_sum",
        "qkv_tokens_total",
        "qkv_tokens_per_second",
        "qkv_requests_in_flight 0",
    ] {
        assert!(m.contains(needle), "missing {needle} in\n{m}");
    }

    let doc: serde_json::Value = c
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/v1/embeddings",
        "/embed",
        "/rerank",
        "/health",
        "/info",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} undocumented");
    }
    assert_eq!(
        doc,
        serde_json::from_str::<serde_json::Value>(&qkv_server::openapi_json()).unwrap()
    );

    let r = c.get(s.url("/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "not_found");
    let r = c.get(s.url("/embed")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_guards_every_route_but_health() {
    let mut cfg = config(tiny_dir());
    cfg.api_key = Some("sesame".into());
    let s = TestServer::start(cfg).await;
    let c = client();
    assert_eq!(c.get(s.url("/health")).send().await.unwrap().status(), 200);
    for path in ["/info", "/metrics", "/openapi.json"] {
        assert_eq!(
            c.get(s.url(path)).send().await.unwrap().status(),
            401,
            "{path}"
        );
    }
    let body = json!({"input": "a"});
    let r = c
        .post(s.url("/v1/embeddings"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "authentication_error");
    let wrong = c
        .post(s.url("/v1/embeddings"))
        .bearer_auth("sesam")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let ok = c
        .post(s.url("/v1/embeddings"))
        .bearer_auth("sesame")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    s.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_errors_come_back_before_listening() {
    let mut cfg = config(tiny_dir());
    cfg.max_input_tokens = Some(25);
    let e = qkv_server::Server::bind(cfg).await.unwrap_err().to_string();
    assert!(e.contains("more than the model takes (24)"), "{e}");
    let e = qkv_server::Server::bind(config("/no/such/model".into()))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("/no/such/model"), "{e}");
    // The port of a running server is taken.
    let s = TestServer::start(config(tiny_dir())).await;
    let mut cfg = config(tiny_dir());
    cfg.port = s.addr.port();
    let e = qkv_server::Server::bind(cfg).await.unwrap_err().to_string();
    assert!(e.contains("cannot listen"), "{e}");
    s.stop().await.unwrap();
}

/// A model with prompts (`query` by default, `passage`): prompts and Matryoshka `dimensions`
/// are the library's, bit for bit, on both embedding routes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_and_dimensions_are_the_librarys() {
    use qkv_encoder::{EmbedOptions, SentenceEncoder};
    let dir = tiny_dir().join("../families/bert_cls_prompts");
    let s = TestServer::start(config(dir.clone())).await;
    let lib = SentenceEncoder::open(&dir).unwrap();
    let texts = ["the cat sat on the mat", "a dog"];
    // `/embed` normalizes unless told not to (this directory does not), `/v1/embeddings` after
    // a `dimensions` cut.
    let want = |mut opts: EmbedOptions| {
        opts.normalize = Some(true);
        let e = lib.embed_with(&texts, &opts).unwrap();
        (0..e.len()).map(|i| e.row(i).to_vec()).collect::<Vec<_>>()
    };
    let rows = |v: &serde_json::Value| v.as_array().unwrap().iter().map(floats).collect::<Vec<_>>();
    // No prompt named: the directory's default prompt (`query`).
    let (st, v) = post(&s, "/embed", json!({"inputs": texts})).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(rows(&v), want(EmbedOptions::default()));
    assert_ne!(
        rows(&v),
        want(EmbedOptions {
            prompt: Some(String::new()),
            ..Default::default()
        }),
        "the default prompt changes the rows"
    );
    let passage = EmbedOptions {
        prompt_name: Some("passage".into()),
        ..Default::default()
    };
    let (st, v) = post(
        &s,
        "/embed",
        json!({"inputs": texts, "prompt_name": "passage"}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(rows(&v), want(passage.clone()));
    // dimensions: the library's Matryoshka cut and normalization, on both routes.
    let cut = EmbedOptions {
        dimensions: Some(8),
        ..passage
    };
    let (st, v) = post(
        &s,
        "/embed",
        json!({"inputs": texts, "prompt_name": "passage", "dimensions": 8}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(rows(&v), want(cut.clone()));
    let (st, v) = post(
        &s,
        "/v1/embeddings",
        json!({"input": texts, "prompt_name": "passage", "dimensions": 8}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let openai: Vec<Vec<f32>> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| floats(&d["embedding"]))
        .collect();
    assert_eq!(openai, want(cut));
    let info: serde_json::Value = client()
        .get(s.url("/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["prompts"], json!(["passage", "query"]));
    s.stop().await.unwrap();
}
