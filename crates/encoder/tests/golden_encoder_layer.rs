//! Golden tests against PyTorch's `nn.TransformerEncoderLayer`: every case listed in the
//! `index.json` of `tests/fixtures/encoder_layer/`, or of the directory named by
//! `QKV_GOLDEN_DIR` (same format), so new cases need no code change.
//! Pass: max |qkv − PyTorch| ≤ 1e-5 on valid rows (PyTorch's own f32 result is ~1e-6 from
//! its f64 one), padded rows exactly 0.

mod common;

use common::f32s;
use qkv_encoder::{
    Activation, Encoder, EncoderLayer, LayerConfig, LayerWeights, Mask, Weights, Workspace,
};
use safetensors::SafeTensors;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
struct Entry {
    name: String,
    file: String,
    json: String,
}

#[derive(Deserialize)]
struct Case {
    d_model: usize,
    nhead: usize,
    d_ff: usize,
    batch: usize,
    seq: usize,
    activation: String,
    gelu_variant: Option<String>,
    norm_first: bool,
    layer_norm_eps: f32,
    mask: String,
}

fn golden_dir() -> PathBuf {
    match std::env::var_os("QKV_GOLDEN_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/encoder_layer"),
    }
}

#[test]
fn encoder_layer_matches_pytorch() {
    let dir = golden_dir();
    let index: Vec<Entry> =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).expect("index.json"))
            .expect("index");
    assert!(!index.is_empty(), "no golden cases in {}", dir.display());
    for e in &index {
        let case: Case =
            serde_json::from_slice(&std::fs::read(dir.join(&e.json)).unwrap()).unwrap();
        let activation = match (case.activation.as_str(), case.gelu_variant.as_deref()) {
            ("relu", _) => Activation::Relu,
            ("gelu", Some("tanh")) => Activation::GeluTanh,
            ("gelu", _) => Activation::Gelu,
            (a, _) => panic!("{}: unknown activation {a}", e.name),
        };
        let cfg = LayerConfig {
            d_model: case.d_model,
            heads: case.nhead,
            d_ff: case.d_ff,
            activation,
            norm_first: case.norm_first,
            eps: case.layer_norm_eps,
        };
        let path = dir.join(&e.file);
        let weights = Weights::open(&path).unwrap();
        let layer =
            EncoderLayer::new(cfg, &LayerWeights::load(&weights.root(), &cfg).unwrap()).unwrap();
        let enc = Encoder::new(vec![layer], None).unwrap();

        let bytes = std::fs::read(&path).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let (x, y) = (f32s(&st, "x"), f32s(&st, "y"));
        let (b, s, d) = (case.batch, case.seq, case.d_model);
        let padding: Option<Vec<bool>> = st
            .tensor("key_padding_mask")
            .ok()
            .map(|t| t.data().iter().map(|&v| v != 0).collect());
        let mask = match case.mask.as_str() {
            "causal" => Mask::Causal,
            "none" | "key_padding" => Mask::None,
            m => panic!("{}: unknown mask {m}", e.name),
        };
        let out = enc
            .forward_padded(
                &x,
                b,
                s,
                padding.as_deref(),
                mask,
                &mut Workspace::default(),
            )
            .unwrap();
        let mut max_diff = 0.0f32;
        for r in 0..b * s {
            let pad = padding.as_ref().is_some_and(|p| p[r]);
            for c in 0..d {
                let (got, want) = (out[r * d + c], y[r * d + c]);
                if pad {
                    assert_eq!(got, 0.0, "{}: padded row {r} must be exactly 0", e.name);
                } else {
                    max_diff = max_diff.max((got - want).abs());
                }
            }
        }
        eprintln!("{}: max |qkv - pytorch| = {max_diff:e}", e.name);
        assert!(
            max_diff <= 1e-5,
            "{}: max abs diff {max_diff:e} > 1e-5",
            e.name
        );
    }
}
