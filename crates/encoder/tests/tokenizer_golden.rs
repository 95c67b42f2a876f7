//! all-MiniLM-L6-v2 end to end on the loading side: `ModelDir` reads the real model directory,
//! every weight loads with the shape its config implies, and the tokenizer reproduces the token
//! ids sentence-transformers produced for the 24 golden sentences (unicode, CJK, emoji, empty,
//! truncated at 256).
//!
//! The model (90 MB) is not in the repository: `scripts/fetch_model.sh` puts it in
//! `${QKV_CACHE:-$HOME/.cache/qkv}/all-MiniLM-L6-v2`, or `QKV_MODEL_DIR` points at it. Without
//! it these tests print a note and pass, unless `QKV_REQUIRE_MODEL=1`, which makes them fail.

mod common;

use qkv_encoder::{ModelDir, Pooling, Weights};
use qkv_testkit::dirs::model_dir;
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    common::fixtures().join("minilm")
}

#[test]
fn model_dir_and_weights() {
    let Some(dir) = model_dir() else { return };
    let m = ModelDir::open(&dir).unwrap();
    let c = &m.config.bert().unwrap();
    assert_eq!(
        (
            c.hidden_size,
            c.num_hidden_layers,
            c.num_attention_heads,
            c.intermediate_size
        ),
        (384, 6, 12, 1536)
    );
    assert_eq!(
        (m.pooling, m.normalize, m.max_seq_length),
        (Pooling::Mean, true, 256)
    );

    let w = m.weights().unwrap();
    let (h, i) = (c.hidden_size, c.intermediate_size);
    let mut expected: Vec<(String, Vec<usize>)> = vec![
        (
            "embeddings.word_embeddings.weight".into(),
            vec![c.vocab_size, h],
        ),
        (
            "embeddings.position_embeddings.weight".into(),
            vec![c.max_position_embeddings, h],
        ),
        (
            "embeddings.token_type_embeddings.weight".into(),
            vec![c.type_vocab_size, h],
        ),
        ("embeddings.LayerNorm.weight".into(), vec![h]),
        ("embeddings.LayerNorm.bias".into(), vec![h]),
        ("pooler.dense.weight".into(), vec![h, h]),
        ("pooler.dense.bias".into(), vec![h]),
    ];
    for l in 0..c.num_hidden_layers {
        let p = format!("encoder.layer.{l}.");
        for (name, shape) in [
            ("attention.self.query.weight", vec![h, h]),
            ("attention.self.query.bias", vec![h]),
            ("attention.self.key.weight", vec![h, h]),
            ("attention.self.key.bias", vec![h]),
            ("attention.self.value.weight", vec![h, h]),
            ("attention.self.value.bias", vec![h]),
            ("attention.output.dense.weight", vec![h, h]),
            ("attention.output.dense.bias", vec![h]),
            ("attention.output.LayerNorm.weight", vec![h]),
            ("attention.output.LayerNorm.bias", vec![h]),
            ("intermediate.dense.weight", vec![i, h]),
            ("intermediate.dense.bias", vec![i]),
            ("output.dense.weight", vec![h, i]),
            ("output.dense.bias", vec![h]),
            ("output.LayerNorm.weight", vec![h]),
            ("output.LayerNorm.bias", vec![h]),
        ] {
            expected.push((format!("{p}{name}"), shape));
        }
    }
    for (name, shape) in &expected {
        let bert = format!("bert.{name}");
        let v = w.tensor_any(&[name, &bert], shape).unwrap();
        assert_eq!(v.len(), shape.iter().product::<usize>(), "{name}");
    }
    // The checkpoint also stores the `position_ids` buffer (0..512), which loaders ignore.
    let (ids, shape) = w.tensor_i64("embeddings.position_ids").unwrap();
    assert_eq!((shape, ids[511]), (vec![1, 512], 511));
    assert_eq!(w.names().count(), expected.len() + 1);
}

#[test]
fn token_ids_match_sentence_transformers() {
    let Some(dir) = model_dir() else { return };
    let m = ModelDir::open(&dir).unwrap();
    let tok = m.tokenizer().unwrap();
    let text = std::fs::read_to_string(fixtures().join("sentences.json")).unwrap();
    let sentences: Vec<String> = serde_json::from_str(&text).unwrap();
    assert_eq!(sentences.len(), 24);
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let encs = tok.encode_batch(&refs).unwrap();

    let golden = Weights::open(fixtures().join("minilm_public.safetensors")).unwrap();
    let (ids, shape) = golden.tensor_i64("input_ids").unwrap();
    let (mask, mask_shape) = golden.tensor_i64("attention_mask").unwrap();
    let (types, _) = golden.tensor_i64("token_type_ids").unwrap();
    assert_eq!(shape, [24, 256]);
    assert_eq!(mask_shape, shape);
    let width = shape[1];
    for (s, enc) in encs.iter().enumerate() {
        let row = s * width..(s + 1) * width;
        let n = mask[row.clone()].iter().filter(|&&v| v == 1).count();
        // Valid tokens come first (right padding).
        assert!(mask[row.start..row.start + n].iter().all(|&v| v == 1));
        let want: Vec<u32> = ids[row.start..row.start + n]
            .iter()
            .map(|&v| v as u32)
            .collect();
        let want_types: Vec<u32> = types[row.start..row.start + n]
            .iter()
            .map(|&v| v as u32)
            .collect();
        assert_eq!(enc.ids, want, "sentence {s}: {:?}", sentences[s]);
        assert_eq!(enc.type_ids, want_types, "sentence {s}");
        assert_eq!(enc.tokens.len(), n);
        // Only the one sentence longer than max_seq_length reaches 256 tokens.
        assert_eq!(enc.truncated, n == 256, "sentence {s}");
    }
    assert!(encs[23].truncated);
}
