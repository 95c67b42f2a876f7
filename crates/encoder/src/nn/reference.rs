//! A naive reference encoder layer in f64, written straight from the formulas with the core's
//! reference activations: the definition the fast layer is tested against.
//!
//! Not an inference API (it is slow and allocates freely): it is public so that tests, fuzz
//! targets and benches outside the crate can check the fast path against it.

use crate::nn::batch::Batch;
use crate::nn::layer::{LayerConfig, LayerWeights};
use qkv_core::reference::ops::activation_f64;

/// `y = x·Wᵀ + b` for `x: [t, k]`, `W: [n, k]`.
fn linear(x: &[f64], t: usize, k: usize, w: &[f32], b: &[f32]) -> Vec<f64> {
    let n = b.len();
    let mut y = vec![0.0; t * n];
    for i in 0..t {
        for j in 0..n {
            let dot: f64 = (0..k).map(|p| x[i * k + p] * w[j * k + p] as f64).sum();
            y[i * n + j] = dot + b[j] as f64;
        }
    }
    y
}

/// Row-wise LayerNorm, two-pass, biased variance.
fn layer_norm(x: &[f64], d: usize, g: &[f32], b: &[f32], eps: f32) -> Vec<f64> {
    let mut y = x.to_vec();
    for row in y.chunks_mut(d) {
        let mean = row.iter().sum::<f64>() / d as f64;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / d as f64;
        let r = 1.0 / (var + eps as f64).sqrt();
        for (j, v) in row.iter_mut().enumerate() {
            *v = (*v - mean) * r * g[j] as f64 + b[j] as f64;
        }
    }
    y
}

/// Self-attention of the packed sequences of `batch` under its mask, heads concatenated,
/// before `out_proj`.
fn attention(qkv: &[f64], batch: &Batch, d: usize, heads: usize) -> Vec<f64> {
    let dh = d / heads;
    let mut out = vec![0.0; batch.tokens() * d];
    for (b, seq) in batch.seqs().iter().enumerate() {
        let (start, len) = (seq.start, seq.len);
        for h in 0..heads {
            let at = |tok: usize, part: usize, e: usize| {
                qkv[(start + tok) * 3 * d + part * d + h * dh + e]
            };
            for i in 0..len {
                let mut s: Vec<f64> = (0..len)
                    .map(|j| {
                        let dot: f64 = (0..dh).map(|e| at(i, 0, e) * at(j, 1, e)).sum();
                        let add = batch.mask().value(b, h, i, j) as f64;
                        dot / (dh as f64).sqrt() + add
                    })
                    .collect();
                let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                if m == f64::NEG_INFINITY {
                    continue; // fully masked: zero output
                }
                s.iter_mut().for_each(|v| *v = (*v - m).exp());
                let z: f64 = s.iter().sum();
                for e in 0..dh {
                    out[(start + i) * d + h * dh + e] =
                        (0..len).map(|j| s[j] / z * at(j, 2, e)).sum();
                }
            }
        }
    }
    out
}

/// One encoder layer on the packed tokens of `batch` (`x: [batch.tokens(), d]`), in f64.
pub fn encoder_layer_f64(
    cfg: &LayerConfig,
    w: &LayerWeights,
    x: &[f32],
    batch: &Batch,
) -> Vec<f64> {
    let d = cfg.d_model;
    let t = batch.tokens();
    let x: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let sa = |h: &[f64]| {
        let qkv = linear(h, t, d, &w.in_proj_weight, &w.in_proj_bias);
        let ctx = attention(&qkv, batch, d, cfg.heads);
        linear(&ctx, t, d, &w.out_proj_weight, &w.out_proj_bias)
    };
    let ff = |h: &[f64]| {
        let mut a = linear(h, t, d, &w.linear1_weight, &w.linear1_bias);
        a.iter_mut()
            .for_each(|v| *v = activation_f64(*v, cfg.activation));
        linear(&a, t, cfg.d_ff, &w.linear2_weight, &w.linear2_bias)
    };
    let add = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x + y).collect::<Vec<f64>>();
    let ln1 = |h: &[f64]| layer_norm(h, d, &w.norm1_weight, &w.norm1_bias, cfg.eps);
    let ln2 = |h: &[f64]| layer_norm(h, d, &w.norm2_weight, &w.norm2_bias, cfg.eps);
    if cfg.norm_first {
        let x = add(&x, &sa(&ln1(&x)));
        add(&x, &ff(&ln2(&x)))
    } else {
        let x = ln1(&add(&x, &sa(&x)));
        ln2(&add(&x, &ff(&x)))
    }
}
