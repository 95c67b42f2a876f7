//! Helpers shared by the encoder's integration tests: fixture and model directories, the tiny
//! model, temp directories, seeded random layers and inputs, bit-level comparisons.
#![allow(dead_code)]

use qkv_encoder::{
    Activation, Encoder, EncoderLayer, LayerConfig, LayerNorm, LayerWeights, SentenceEncoder,
};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The project's test fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The tiny BERT model directory (generated with transformers; see `scripts/make_tiny_bert.py`).
pub fn tiny_dir() -> PathBuf {
    fixtures().join("tiny_bert")
}

/// The tiny BERT model, loaded.
pub fn tiny() -> SentenceEncoder {
    SentenceEncoder::open(tiny_dir()).unwrap()
}

/// The all-MiniLM-L6-v2 directory (`QKV_MODEL_DIR`, else `${QKV_CACHE:-~/.cache/qkv}/…`), or
/// `None` after saying why when it is absent; with `QKV_REQUIRE_MODEL=1` absence fails.
pub fn model_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("QKV_MODEL_DIR") {
        Some(d) => PathBuf::from(d),
        None => std::env::var_os("QKV_CACHE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/qkv")))?
            .join("all-MiniLM-L6-v2"),
    };
    if dir.join("model.safetensors").is_file() {
        return Some(dir);
    }
    let msg = format!(
        "MiniLM model not found at {} (run scripts/fetch_model.sh or set QKV_MODEL_DIR)",
        dir.display()
    );
    if std::env::var("QKV_REQUIRE_MODEL").as_deref() == Ok("1") {
        panic!("{msg}; QKV_REQUIRE_MODEL=1");
    }
    eprintln!("skipped: {msg}");
    None
}

/// A fresh, empty directory in the temp dir, unique per process and call, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates `qkv-<tag>-<pid>-<n>`.
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("qkv-{tag}-{}-{n}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// `dir/name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// A little-endian f32 tensor from a safetensors buffer.
pub fn f32s(st: &safetensors::SafeTensors, name: &str) -> Vec<f32> {
    let t = st.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    t.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// A little-endian i64 tensor from a safetensors buffer.
pub fn i64s(st: &safetensors::SafeTensors, name: &str) -> Vec<i64> {
    let t = st.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    t.data()
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// The seeded generator of every random test input.
pub type TestRng = rand_chacha::ChaCha8Rng;

/// `n` values uniform in `(-a, a)`.
pub fn rand_vec(n: usize, a: f32, rng: &mut TestRng) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-a..a)).collect()
}

/// `n` values uniform in `(-2, 2)` from `seed`: a layer input.
pub fn input(n: usize, seed: u64) -> Vec<f32> {
    rand_vec(n, 2.0, &mut TestRng::seed_from_u64(seed))
}

/// A layer configuration with LayerNorm ε = 1e-5.
pub fn layer_config(
    d: usize,
    heads: usize,
    d_ff: usize,
    activation: Activation,
    norm_first: bool,
) -> LayerConfig {
    LayerConfig {
        d_model: d,
        heads,
        d_ff,
        activation,
        norm_first,
        eps: 1e-5,
    }
}

/// How a random layer's LayerNorms are drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Norms {
    /// γ = 1, β = 0.
    Unit,
    /// γ = 1 + U(±0.5), β = U(±0.2).
    Random,
}

/// Random layer weights, drawn in state_dict order: projections U(±1/√fan_in), biases U(±0.1),
/// LayerNorms as `norms` says.
pub fn random_layer_weights(cfg: &LayerConfig, norms: Norms, rng: &mut TestRng) -> LayerWeights {
    let (sd, sf) = (
        1.0 / (cfg.d_model as f32).sqrt(),
        1.0 / (cfg.d_ff as f32).sqrt(),
    );
    LayerWeights::from_fn(cfg, |name, shape| {
        let n: usize = shape.iter().product();
        match name {
            "norm1.weight" | "norm2.weight" if norms == Norms::Unit => vec![1.0; n],
            "norm1.bias" | "norm2.bias" if norms == Norms::Unit => vec![0.0; n],
            "norm1.weight" | "norm2.weight" => {
                rand_vec(n, 0.5, rng).iter().map(|x| 1.0 + x).collect()
            }
            "norm1.bias" | "norm2.bias" => rand_vec(n, 0.2, rng),
            "linear2.weight" => rand_vec(n, sf, rng),
            _ if name.ends_with("bias") => rand_vec(n, 0.1, rng),
            _ => rand_vec(n, sd, rng),
        }
    })
}

/// A random encoder of `layers` layers of `cfg` from `seed`, with a unit final LayerNorm when
/// `final_norm`.
pub fn random_encoder(
    cfg: LayerConfig,
    layers: usize,
    norms: Norms,
    final_norm: bool,
    seed: u64,
) -> Encoder {
    let mut rng = TestRng::seed_from_u64(seed);
    let stack = (0..layers)
        .map(|_| EncoderLayer::new(cfg, &random_layer_weights(&cfg, norms, &mut rng)).unwrap())
        .collect();
    let norm = final_norm.then(|| LayerNorm {
        gamma: vec![1.0; cfg.d_model],
        beta: vec![0.0; cfg.d_model],
        eps: 1e-5,
    });
    Encoder::new(stack, norm).unwrap()
}

/// Index of the first differing bit pattern, if any.
pub fn first_diff(a: &[f32], b: &[f32]) -> Option<usize> {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .position(|(x, y)| x.to_bits() != y.to_bits())
}

/// Whether `a` and `b` are the same bits.
pub fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}
