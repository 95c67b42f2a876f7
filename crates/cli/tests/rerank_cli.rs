//! `qkv rerank` end to end on the committed tiny reranker fixtures.

use std::path::PathBuf;
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../encoder/tests/fixtures/families")
        .join(name)
}

fn qkv(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qkv"))
        .args(args)
        .output()
        .unwrap()
}

fn lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn ranks_documents_best_first_with_sigmoid_scores() {
    let m = fixture("bert_reranker");
    let docs = [
        "The cat sat on the mat.",
        "A quick brown fox",
        "",
        "the red dog",
    ];
    let mut args = vec!["rerank", "--model", m.to_str().unwrap(), "--query", "cat"];
    args.extend(docs);
    let out = qkv(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = lines(&out);
    assert_eq!(got.len(), docs.len());
    let scores: Vec<f64> = got.iter().map(|l| l["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)));
    let mut idx: Vec<u64> = got.iter().map(|l| l["index"].as_u64().unwrap()).collect();
    for l in &got {
        assert_eq!(l["text"], docs[l["index"].as_u64().unwrap() as usize]);
    }
    idx.sort();
    assert_eq!(idx, [0, 1, 2, 3]);

    // --raw gives the logits: sigmoid(raw) is the default score.
    args.push("--raw");
    let raw = lines(&qkv(&args));
    for (r, s) in raw.iter().zip(&got) {
        assert_eq!(r["index"], s["index"]);
        let sig = 1.0 / (1.0 + (-r["score"].as_f64().unwrap()).exp());
        assert!((sig - s["score"].as_f64().unwrap()).abs() < 1e-6);
    }
}

#[test]
fn several_labels_give_softmax_rows() {
    let m = fixture("xlm_roberta_classifier3");
    let out = qkv(&[
        "rerank",
        "--model",
        m.to_str().unwrap(),
        "--query",
        "q",
        "a",
        "b c",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for l in lines(&out) {
        let row: Vec<f64> = l["score"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(row.len(), 3);
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn clear_errors() {
    let emb = fixture("roberta_mean");
    let out = qkv(&[
        "rerank",
        "--model",
        emb.to_str().unwrap(),
        "--query",
        "q",
        "a",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("config.json") && err.contains("sequence-classification"),
        "{err}"
    );
    let m = fixture("bert_reranker");
    let out = qkv(&["rerank", "--model", m.to_str().unwrap(), "--query", "q"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no documents"));
    assert!(out.stdout.is_empty());
}
