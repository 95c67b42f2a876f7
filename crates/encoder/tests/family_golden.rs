//! Every model family against Hugging Face transformers / sentence-transformers.
//!
//! Reads every subfolder of `QKV_FAMILY_GOLDEN_DIR` when it is set, else the committed
//! fixtures (`tests/fixtures/families`, made by `scripts/make_family_fixtures.py`). A folder is
//! a model directory plus `inputs.json` (`{"texts": [...]}` or `{"pairs": [[q, d], ...]}`) and
//! `golden.safetensors`: `input_ids` (i64, the inputs' tokens concatenated), `last_hidden_state`
//! (`[total_tokens, hidden]`), and `sentence_embedding` (`[n, dim]`) or `logits`
//! (`[n, labels]`). Token ids must match exactly; every tensor to max abs ≤ 1e-5 (see
//! docs/numerics.md: float32 reorderings over a few layers stay near 1e-6).

use qkv_encoder::{
    CrossEncoder, EmbedOptions, Encoding, Model, ScoreOptions, SentenceEncoder, TokenSeq,
};
use safetensors::SafeTensors;
use std::path::{Path, PathBuf};

const TOL: f32 = 1e-5;

fn golden_root() -> PathBuf {
    match std::env::var_os("QKV_FAMILY_GOLDEN_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/families"),
    }
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn f32s(st: &SafeTensors, name: &str, dir: &Path) -> (Vec<f32>, Vec<usize>) {
    let t = st
        .tensor(name)
        .unwrap_or_else(|_| panic!("{}: golden.safetensors has no `{name}`", dir.display()));
    let v = t
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    (v, t.shape().to_vec())
}

fn ids(st: &SafeTensors, dir: &Path) -> Vec<i64> {
    let t = st
        .tensor("input_ids")
        .unwrap_or_else(|_| panic!("{}: golden.safetensors has no `input_ids`", dir.display()));
    t.data()
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

fn max_abs(a: &[f32], b: &[f32], what: &str, dir: &Path) -> f32 {
    assert_eq!(a.len(), b.len(), "{}: {what} sizes differ", dir.display());
    let m = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(
        m <= TOL,
        "{}: {what} max abs diff {m:e} > {TOL:e}",
        dir.display()
    );
    m
}

/// Hidden states of the model on the encodings, packed.
fn hidden(model: &Model, enc: &[Encoding]) -> Vec<f32> {
    let seqs: Vec<TokenSeq> = enc
        .iter()
        .map(|e| TokenSeq {
            ids: &e.ids,
            type_ids: Some(&e.type_ids),
        })
        .collect();
    model.forward(&seqs).unwrap()
}

fn check_ids(enc: &[Encoding], want: &[i64], dir: &Path) {
    let got: Vec<i64> = enc
        .iter()
        .flat_map(|e| e.ids.iter().map(|&i| i as i64))
        .collect();
    assert_eq!(got, want, "{}: token ids differ", dir.display());
}

fn check_case(dir: &Path) -> String {
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "inputs.json",
        "golden.safetensors",
    ] {
        assert!(dir.join(f).is_file(), "{}: missing {f}", dir.display());
    }
    let inputs: serde_json::Value =
        serde_json::from_slice(&read(&dir.join("inputs.json"))).unwrap();
    let bytes = read(&dir.join("golden.safetensors"));
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let want_ids = ids(&st, dir);
    let (want_h, _) = f32s(&st, "last_hidden_state", dir);
    if let Some(pairs) = inputs.get("pairs") {
        let pairs: Vec<(String, String)> = serde_json::from_value(pairs.clone()).unwrap();
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let m = CrossEncoder::open(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let enc = m.tokenize(&pairs).unwrap();
        check_ids(&enc, &want_ids, dir);
        let dh = max_abs(&hidden(m.model(), &enc), &want_h, "last_hidden_state", dir);
        let (want_l, _) = f32s(&st, "logits", dir);
        let raw = ScoreOptions {
            raw: true,
            batch_size: 2,
        };
        let got = m.score_with(&pairs, &raw).unwrap();
        let dl = max_abs(&got.data, &want_l, "logits", dir);
        format!("hidden {dh:.1e}, logits {dl:.1e}")
    } else {
        let texts: Vec<String> =
            serde_json::from_value(inputs["texts"].clone()).unwrap_or_else(|_| {
                panic!("{}: inputs.json has neither texts nor pairs", dir.display())
            });
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let m = SentenceEncoder::open(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let opts = EmbedOptions {
            batch_size: 3,
            ..Default::default()
        };
        let enc = m.tokenize(&texts, &opts).unwrap();
        check_ids(&enc, &want_ids, dir);
        let dh = max_abs(&hidden(m.model(), &enc), &want_h, "last_hidden_state", dir);
        let (want_e, _) = f32s(&st, "sentence_embedding", dir);
        let got = m.embed_with(&texts, &opts).unwrap();
        let de = max_abs(&got.data, &want_e, "sentence_embedding", dir);
        format!("hidden {dh:.1e}, embedding {de:.1e}")
    }
}

#[test]
fn every_family_matches_transformers() {
    let root = golden_root();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "{}: no model folders", root.display());
    let mut failed = Vec::new();
    for dir in &dirs {
        match std::panic::catch_unwind(|| check_case(dir)) {
            Ok(r) => eprintln!("ok   {}: {r}", dir.display()),
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                eprintln!("FAIL {}: {msg}", dir.display());
                failed.push(dir.clone());
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} cases failed: {failed:?}",
        failed.len(),
        dirs.len()
    );
}
