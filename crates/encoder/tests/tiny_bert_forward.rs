//! The whole pipeline (tokenizer → BERT → pooling → normalize) on the tiny random BERT that
//! `scripts/make_tiny_bert.py` built with transformers: runs on every machine, no download.
//! Pass: hidden states within 1e-5 of transformers' float32 result (float32 vs float64 there
//! differ by 1.5e-6), embeddings within 1e-5, one truncated input counted.

mod common;

use common::{f32s, fixtures, i64s};
use qkv_encoder::{SentenceEncoder, TokenSeq};
use safetensors::SafeTensors;

#[derive(serde::Deserialize)]
struct Expected {
    sentences: Vec<String>,
}

#[test]
fn tiny_bert_matches_transformers() {
    let dir = fixtures().join("tiny_bert");
    let model = SentenceEncoder::open(&dir).unwrap();
    let exp: Expected =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let texts: Vec<&str> = exp.sentences.iter().map(String::as_str).collect();
    let bytes = std::fs::read(dir.join("expected.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let d = model.dim();

    let enc = model.tokenizer().encode_batch(&texts).unwrap();
    let offsets = i64s(&st, "offsets");
    for (i, e) in enc.iter().enumerate() {
        assert_eq!(
            e.ids.len() as i64,
            offsets[i + 1] - offsets[i],
            "sentence {i} token count"
        );
    }
    let seqs: Vec<TokenSeq> = enc
        .iter()
        .map(|e| TokenSeq {
            ids: &e.ids,
            type_ids: Some(&e.type_ids),
        })
        .collect();
    let hidden = model.model().forward(&seqs).unwrap();
    let want = f32s(&st, "last_hidden_state_packed");
    let max_h = hidden
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert_eq!(hidden.len(), want.len());
    assert!(max_h <= 1e-5, "hidden max abs {max_h:e}");

    let e = model.embed(&texts).unwrap();
    let want = f32s(&st, "sentence_embedding");
    let max_e = e
        .data
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(max_e <= 1e-5, "embedding max abs {max_e:e}");
    assert_eq!(e.len(), texts.len());
    assert_eq!(e.dim, d);
    assert_eq!(e.truncated, 1);
    eprintln!("tiny BERT: hidden max abs {max_h:e}, embeddings max abs {max_e:e}");
}
