//! `qkv bench encoder`: one PyTorch-default encoder layer (post-norm, ReLU) on encoder shapes,
//! including a half-padded batch. Its comparison (PyTorch's `nn.TransformerEncoderLayer`) is
//! measured by `benches/peers`, interleaved with this command.

use crate::bench::Common;
use crate::report::{self, r3, Row};
use qkv_core::ops::activation::Activation;
use qkv_core::perf::interleaved;
use qkv_core::with_threads;
use qkv_encoder::{Encoder, EncoderLayer, LayerConfig, LayerWeights, Mask, Workspace};
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// (d_model, heads, d_ff, batch, seq, lengths): MiniLM-sized at batch 1 and 8, BERT-base at
/// 512, the seed, and a batch of 8 where half the sequences have 64 real tokens.
pub fn cases() -> Vec<(usize, usize, usize, usize, usize, Vec<usize>)> {
    vec![
        (384, 6, 1536, 1, 128, vec![128]),
        (384, 6, 1536, 8, 128, vec![128; 8]),
        (768, 12, 3072, 1, 512, vec![512]),
        (64, 4, 256, 1, 10, vec![10]),
        (384, 6, 1536, 8, 128, [128, 64].repeat(4)),
    ]
}

/// A layer with seeded random weights of PyTorch-like scale.
pub fn random_layer(
    d: usize,
    heads: usize,
    d_ff: usize,
    act: Activation,
    norm_first: bool,
    seed: u64,
) -> anyhow::Result<EncoderLayer> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut v = |n: usize, fan_in: usize| -> Vec<f32> {
        let a = 1.0 / (fan_in as f32).sqrt();
        (0..n).map(|_| rng.gen_range(-a..a)).collect()
    };
    let w = LayerWeights {
        in_proj_weight: v(3 * d * d, d),
        in_proj_bias: v(3 * d, d),
        out_proj_weight: v(d * d, d),
        out_proj_bias: v(d, d),
        linear1_weight: v(d_ff * d, d),
        linear1_bias: v(d_ff, d),
        linear2_weight: v(d * d_ff, d_ff),
        linear2_bias: v(d, d_ff),
        norm1_weight: vec![1.0; d],
        norm1_bias: vec![0.0; d],
        norm2_weight: vec![1.0; d],
        norm2_bias: vec![0.0; d],
    };
    let cfg = LayerConfig {
        d_model: d,
        heads,
        d_ff,
        activation: act,
        norm_first,
        eps: 1e-5,
    };
    Ok(EncoderLayer::new(cfg, &w)?)
}

/// Measures every case.
pub fn run(c: &Common) -> anyhow::Result<()> {
    report::print(&measure(c)?, c.json);
    Ok(())
}

/// The measurements behind `qkv bench encoder`.
pub fn measure(c: &Common) -> anyhow::Result<Vec<Row>> {
    let threads = c.threads();
    let mut rows = Vec::new();
    for (i, (d, heads, d_ff, batch, seq, lengths)) in cases().into_iter().enumerate() {
        let enc = Encoder::new(
            vec![random_layer(
                d,
                heads,
                d_ff,
                Activation::Relu,
                false,
                i as u64,
            )?],
            None,
        )?;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(100 + i as u64);
        let x: Vec<f32> = (0..batch * seq * d)
            .map(|_| rng.gen_range(-1.0f32..1.0))
            .collect();
        let padding: Vec<bool> = lengths
            .iter()
            .flat_map(|&l| (0..seq).map(move |j| j >= l))
            .collect();
        let mut ws = Workspace::default();
        let flops = 2.0 * (batch * seq * d * (4 * d + 2 * d_ff)) as f64;
        let reps = if flops > 1e10 {
            c.reps.max(5)
        } else {
            c.reps.max(5) * 5
        };
        let t = with_threads(threads, || {
            let mut run = || {
                enc.forward_padded(&x, batch, seq, Some(&padding), Mask::None, &mut ws)
                    .expect("shapes were built to fit");
            };
            interleaved(2, reps, &mut [&mut run])
        })?;
        rows.push(Row(vec![
            ("d_model", Value::from(d)),
            ("heads", Value::from(heads)),
            ("d_ff", Value::from(d_ff)),
            ("batch", Value::from(batch)),
            ("seq", Value::from(seq)),
            ("lengths", Value::from(lengths.clone())),
            ("threads", Value::from(threads)),
            ("qkv_ms", r3(t[0].median * 1e3)),
        ]));
    }
    Ok(rows)
}
