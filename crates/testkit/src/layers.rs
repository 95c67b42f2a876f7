//! Seeded random encoder layers and stacks (feature `encoder`), the layer inputs the tests feed
//! them, and the tiny BERT model. The benches and `qkv bench` build their layers here too.

use crate::rng::{uniform, TestRng};
use crate::shapes::EncoderCase;
use qkv_encoder::{
    Activation, Encoder, EncoderLayer, LayerConfig, LayerNorm, LayerWeights, SentenceEncoder,
};
use rand::SeedableRng;

/// A layer configuration with LayerNorm ε = 1e-5 (PyTorch's default).
pub fn layer_config(
    d_model: usize,
    heads: usize,
    d_ff: usize,
    activation: Activation,
    norm_first: bool,
) -> LayerConfig {
    LayerConfig {
        d_model,
        heads,
        d_ff,
        activation,
        norm_first,
        eps: 1e-5,
    }
}

/// How a random layer's LayerNorms are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Norms {
    /// γ = 1, β = 0 (PyTorch's initialization).
    Unit,
    /// γ = 1 + U(±0.5), β = U(±0.2).
    Random,
}

/// Random layer weights, drawn in state_dict order ([`LayerWeights::from_fn`]): projections
/// U(±1/√fan_in), biases U(±0.1), LayerNorms as `norms` says.
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
                uniform(n, 0.5, rng).iter().map(|x| 1.0 + x).collect()
            }
            "norm1.bias" | "norm2.bias" => uniform(n, 0.2, rng),
            "linear2.weight" => uniform(n, sf, rng),
            _ if name.ends_with("bias") => uniform(n, 0.1, rng),
            _ => uniform(n, sd, rng),
        }
    })
}

/// A random layer of `cfg` from `seed`.
pub fn random_layer(
    cfg: LayerConfig,
    norms: Norms,
    seed: u64,
) -> qkv_encoder::Result<EncoderLayer> {
    let w = random_layer_weights(&cfg, norms, &mut TestRng::seed_from_u64(seed));
    EncoderLayer::new(cfg, &w)
}

/// A random encoder of `layers` layers of `cfg` from `seed`, with a unit final LayerNorm when
/// `final_norm`.
pub fn random_encoder(
    cfg: LayerConfig,
    layers: usize,
    norms: Norms,
    final_norm: bool,
    seed: u64,
) -> qkv_encoder::Result<Encoder> {
    let mut rng = TestRng::seed_from_u64(seed);
    let stack = (0..layers)
        .map(|_| EncoderLayer::new(cfg, &random_layer_weights(&cfg, norms, &mut rng)))
        .collect::<qkv_encoder::Result<Vec<_>>>()?;
    let norm = final_norm.then(|| LayerNorm {
        gamma: vec![1.0; cfg.d_model],
        beta: vec![0.0; cfg.d_model],
        eps: 1e-5,
    });
    Encoder::new(stack, norm)
}

/// The one-layer encoder a benchmark case measures: a PyTorch-default layer (post-norm, ReLU,
/// unit LayerNorms) with random weights from `seed`.
pub fn bench_encoder(case: &EncoderCase, seed: u64) -> qkv_encoder::Result<Encoder> {
    let cfg = layer_config(case.d_model, case.heads, case.d_ff, Activation::Relu, false);
    random_encoder(cfg, 1, Norms::Unit, false, seed)
}

/// `len` values uniform in `(-2, 2)` from `seed`: a layer input.
pub fn layer_input(len: usize, seed: u64) -> Vec<f32> {
    uniform(len, 2.0, &mut TestRng::seed_from_u64(seed))
}

/// The tiny BERT model ([`crate::dirs::tiny_bert_dir`]), loaded.
///
/// # Panics
/// When the fixture does not load.
pub fn tiny_bert() -> SentenceEncoder {
    let dir = crate::dirs::tiny_bert_dir();
    SentenceEncoder::open(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shapes::ENCODER;

    #[test]
    fn random_layers_are_seeded_and_scaled() {
        let cfg = layer_config(8, 2, 16, Activation::Gelu, false);
        let w = |s| random_layer_weights(&cfg, Norms::Random, &mut TestRng::seed_from_u64(s));
        let (a, b, c) = (w(1), w(1), w(2));
        assert_eq!(a.in_proj_weight, b.in_proj_weight);
        assert_ne!(a.in_proj_weight, c.in_proj_weight);
        let bound = 1.0 / 8f32.sqrt();
        assert!(a.in_proj_weight.iter().all(|x| x.abs() < bound));
        assert!(a.linear2_weight.iter().all(|x| x.abs() < 0.25));
        assert!(a.norm1_weight.iter().all(|x| (0.5..1.5).contains(x)));
        let unit = random_layer_weights(&cfg, Norms::Unit, &mut TestRng::seed_from_u64(1));
        assert!(unit.norm2_weight.iter().all(|&x| x == 1.0));
        assert!(unit.norm2_bias.iter().all(|&x| x == 0.0));
        assert!(random_encoder(cfg, 2, Norms::Unit, true, 3).is_ok());
        assert!(bench_encoder(&ENCODER[3], 0).is_ok());
    }
}
