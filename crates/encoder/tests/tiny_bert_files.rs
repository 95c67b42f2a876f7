//! The tiny random BERT fixture (`tests/fixtures/tiny_bert`, made by
//! `scripts/make_tiny_bert.py` with transformers): the model directory opens, every tensor
//! loads with the shape its config implies, and tokenization reproduces transformers' ids,
//! including the override of the truncation (16) and padding (32) embedded in tokenizer.json
//! by `max_seq_length` = 24.

use qkv_encoder::{BertConfig, HiddenAct, ModelDir, Pooling, Weights};
use qkv_testkit::dirs::{tiny_bert_dir as dir, TempDir};
use std::collections::BTreeMap;

/// Every tensor of a `BertModel` checkpoint (with pooler) and its shape.
fn bert_tensors(c: &BertConfig) -> BTreeMap<String, Vec<usize>> {
    let (h, i) = (c.hidden_size, c.intermediate_size);
    let mut t = BTreeMap::new();
    let mut add = |name: String, shape: Vec<usize>| t.insert(name, shape);
    add(
        "embeddings.word_embeddings.weight".into(),
        vec![c.vocab_size, h],
    );
    add(
        "embeddings.position_embeddings.weight".into(),
        vec![c.max_position_embeddings, h],
    );
    add(
        "embeddings.token_type_embeddings.weight".into(),
        vec![c.type_vocab_size, h],
    );
    add("embeddings.LayerNorm.weight".into(), vec![h]);
    add("embeddings.LayerNorm.bias".into(), vec![h]);
    for l in 0..c.num_hidden_layers {
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
            add(format!("encoder.layer.{l}.{name}"), shape);
        }
    }
    add("pooler.dense.weight".into(), vec![h, h]);
    add("pooler.dense.bias".into(), vec![h]);
    t
}

#[test]
fn model_dir_reads_the_sentence_transformers_layout() {
    let m = ModelDir::open(dir()).unwrap();
    let c = &m.config.bert().unwrap();
    assert_eq!(
        (
            c.hidden_size,
            c.num_hidden_layers,
            c.num_attention_heads,
            c.intermediate_size,
            c.vocab_size,
            c.max_position_embeddings,
            c.type_vocab_size,
        ),
        (32, 2, 4, 64, 102, 64, 2)
    );
    assert_eq!(c.hidden_act, HiddenAct::Gelu);
    assert_eq!(c.layer_norm_eps, 1e-12);
    assert_eq!(
        (m.pooling, m.normalize, m.max_seq_length),
        (Pooling::Mean, true, 24)
    );
}

#[test]
fn every_tensor_loads_with_its_shape() {
    let m = ModelDir::open(dir()).unwrap();
    let w = m.weights().unwrap();
    let expected = bert_tensors(&m.config.bert().unwrap());
    let names: Vec<&str> = w.names().collect();
    let want: Vec<&str> = expected.keys().map(String::as_str).collect();
    assert_eq!(names, want, "tensor names");
    for (name, shape) in &expected {
        let v = w.tensor(name, shape).unwrap();
        assert!(v.iter().any(|&x| x != 0.0), "{name} is all zeros");
    }
    // LayerNorm gains were drawn near 1, so a transposed or mixed-up tensor would show.
    let g = w.tensor("embeddings.LayerNorm.weight", &[32]).unwrap();
    assert!(g.iter().all(|&x| (0.5..1.5).contains(&x)));
}

#[test]
fn token_ids_match_transformers() {
    let m = ModelDir::open(dir()).unwrap();
    let tok = m.tokenizer().unwrap();
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).unwrap())
            .unwrap();
    let sentences: Vec<&str> = meta["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(sentences.len(), 6);
    let encs = tok.encode_batch(&sentences).unwrap();

    let expected = Weights::open(dir().join("expected.safetensors")).unwrap();
    let (ids, shape) = expected.tensor_i64("input_ids").unwrap();
    let (mask, _) = expected.tensor_i64("attention_mask").unwrap();
    let (types, _) = expected.tensor_i64("token_type_ids").unwrap();
    let (offsets, _) = expected.tensor_i64("offsets").unwrap();
    assert_eq!(shape, [6, 24]);
    let width = shape[1];
    for (s, enc) in encs.iter().enumerate() {
        let start = s * width;
        let n = mask[start..start + width]
            .iter()
            .filter(|&&v| v == 1)
            .count();
        assert_eq!(offsets[s + 1] - offsets[s], n as i64, "sentence {s}");
        let want: Vec<u32> = ids[start..start + n].iter().map(|&v| v as u32).collect();
        let want_types: Vec<u32> = types[start..start + n].iter().map(|&v| v as u32).collect();
        assert_eq!(enc.ids, want, "sentence {s}: {:?}", sentences[s]);
        assert_eq!(enc.type_ids, want_types, "sentence {s}");
    }
    // The empty sentence is [CLS] [SEP]; the last one is cut at max_seq_length, not at 16.
    assert_eq!(encs[3].ids, [2, 3]);
    assert_eq!(encs[5].ids.len(), 24);
    let truncated: Vec<bool> = encs.iter().map(|e| e.truncated).collect();
    assert_eq!(truncated, [false, false, false, false, false, true]);
    // One word is out of vocabulary (`unknown☃`).
    assert!(encs[4].tokens.iter().any(|t| t == "[UNK]"));
}

#[test]
fn expected_outputs_are_consistent() {
    let e = Weights::open(dir().join("expected.safetensors")).unwrap();
    let (offsets, _) = e.tensor_i64("offsets").unwrap();
    let t = *offsets.last().unwrap() as usize;
    for name in [
        "last_hidden_state_packed",
        "last_hidden_state_packed_f64ref",
    ] {
        e.tensor(name, &[t, 32]).unwrap();
    }
    e.tensor("last_hidden_state", &[6, 24, 32]).unwrap();
    let emb = e.tensor("sentence_embedding", &[6, 32]).unwrap();
    for row in emb.chunks_exact(32) {
        let norm: f32 = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
    }
}

#[test]
fn tokenizer_larger_than_the_embedding_table_is_rejected() {
    // A copy of the fixture whose config claims fewer rows than the tokenizer has ids.
    let tmp_dir = TempDir::new("tiny-vocab");
    let tmp = tmp_dir.dir();
    for f in ["model.safetensors", "tokenizer.json"] {
        std::fs::copy(dir().join(f), tmp.join(f)).unwrap();
    }
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("config.json")).unwrap()).unwrap();
    cfg["vocab_size"] = 50.into();
    std::fs::write(tmp.join("config.json"), cfg.to_string()).unwrap();
    let m = ModelDir::open(tmp).unwrap();
    match m.tokenizer() {
        Err(qkv_encoder::Error::Config(msg)) => assert!(msg.contains("vocab_size = 50"), "{msg}"),
        other => panic!("{other:?}"),
    }
}
