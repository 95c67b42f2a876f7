//! The cells: [`run`] replays the notebook with qkv's kernels, drawing every matrix from one
//! [`NumpyRandom`] in the notebook's order.

use crate::config::{SeedConfig, SCALING_ROWS, SOFTMAX_SCALES};
use crate::positional::sinusoidal;
use crate::random::NumpyRandom;
use crate::results::{
    mean_std, DotVariance, EncoderRun, LayerNormDemo, RowMoments, ScalingDemo, ScoreStats, SeedDemo,
};
use crate::weights::{draw_attention_weights, draw_layer_weights};
use qkv_core::ops::attention::{attention, AttentionParams, Mask, QkvView, Seq};
use qkv_core::ops::layernorm::layer_norm;
use qkv_core::ops::softmax::softmax_rows;
use qkv_core::{gemm, GemmOptions, MatMut, MatRef};
use qkv_encoder::nn::{AttentionBuffers, LayerBuffers, MultiHeadAttention};
use qkv_encoder::{Batch, EncoderLayer, Result};

/// Single-head attention weights `[s, s]` of separate Q, K, V (`[s, d]` each) through the fused
/// kernel's probabilities path.
fn head_weights(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    s: usize,
    d: usize,
    mask: Mask,
    scale: Option<f32>,
) -> Result<Vec<f32>> {
    let view = QkvView {
        q,
        k,
        v,
        row_stride: d,
    };
    let params = AttentionParams {
        scale,
        ..AttentionParams::new(1, d)
    };
    let mut out = vec![0.0f32; s * d];
    let mut probs = vec![0.0f32; s * s];
    attention(
        view,
        &[Seq { start: 0, len: s }],
        &params,
        mask,
        &mut out,
        d,
        Some(&mut probs),
    )?;
    Ok(probs)
}

/// Mean over rows of `−Σ p·ln p` (0·ln 0 = 0), in nats.
fn mean_entropy(p: &[f32], cols: usize) -> f64 {
    let rows = p.chunks_exact(cols.max(1));
    let n = rows.len().max(1) as f64;
    rows.map(|r| {
        -r.iter()
            .filter(|&&v| v > 0.0)
            .map(|&v| f64::from(v) * f64::from(v).ln())
            .sum::<f64>()
    })
    .sum::<f64>()
        / n
}

fn min_max(x: &[f32]) -> (f32, f32) {
    x.iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        })
}

/// Replays the notebook with qkv's kernels; see the module docs for what each field holds.
///
/// Random numbers come from one [`NumpyRandom`] seeded with `cfg.seed`, drawn in the notebook's
/// order (cells 2, 3, 5, 6, 7, 8), then the `Var(q·k)` samples: for each width `d`, `var_samples`
/// pairs drawn as `q = randn(d)` then `k = randn(d)` (NumPy: `randn(n, 2, d)`).
pub fn run(cfg: &SeedConfig) -> Result<SeedDemo> {
    cfg.validate()?;
    let (d, h, s, dk) = (cfg.d_model, cfg.heads, cfg.seq_len, cfg.d_k());
    let mut rng = NumpyRandom::new(cfg.seed);

    // Cell 2: scaled dot-product attention on random Q, K, V.
    let q = rng.randn_f32(s, dk, 1.0, 0.0);
    let k = rng.randn_f32(s, dk, 1.0, 0.0);
    let v = rng.randn_f32(s, dk, 1.0, 0.0);
    let sdpa_weights = head_weights(&q, &k, &v, s, dk, Mask::None, None)?;

    // Cell 3: multi-head attention (fused QKV projection, fused attention, output projection).
    let (in_w, out_w) = draw_attention_weights(&mut rng, d, h);
    let x = rng.randn_f32(s, d, 1.0, 0.0);
    let mha = MultiHeadAttention::new(d, h, &in_w, &vec![0.0; 3 * d], &out_w, &vec![0.0; d])?;
    let mut buf = AttentionBuffers::default();
    let mut mha_weights = vec![0.0f32; h * s * s];
    let mut mha_output = vec![0.0f32; s * d];
    let one = Batch::single(s);
    mha.project_qkv(&x, s, &mut buf)?;
    mha.attend(&one, &mut buf, Some(&mut mha_weights))?;
    mha.project_out(s, &buf, &mut mha_output, false)?;

    // Cell 4 (no random numbers): the positional encoding.
    let pe = sinusoidal(cfg.pe_positions, d);

    // Cell 5: LayerNorm of randn·10 + 5, PyTorch semantics.
    let ln_input = rng.randn_f32(s, d, 10.0, 5.0);
    let mut ln_output = ln_input.clone();
    layer_norm(&mut ln_output, s, d, &vec![1.0; d], &vec![0.0; d], cfg.eps)?;
    let layer_norm = LayerNormDemo {
        before: RowMoments::of(&ln_input, d),
        after: RowMoments::of(&ln_output, d),
        input: ln_input,
        output: ln_output,
        eps: cfg.eps,
    };

    // Cell 6: one encoder layer, run without and with the causal mask.
    let weights = draw_layer_weights(&mut rng, d, h, cfg.d_ff);
    let layer = EncoderLayer::new(cfg.layer_config(), &weights)?;
    let x = rng.randn_f32(s, d, 1.0, 0.0);
    let mut lbuf = LayerBuffers::default();
    let mut run_layer = |causal: bool| -> Result<EncoderRun> {
        let mut out = x.clone();
        let mut probs = vec![0.0f32; h * s * s];
        let mask = if causal { Mask::Causal } else { Mask::None };
        let batch = Batch::single(s).with_mask(mask)?;
        layer.forward_with(&mut out, &batch, &mut lbuf, Some(&mut probs))?;
        let (output_mean, output_std) = mean_std(&out);
        Ok(EncoderRun {
            causal,
            output: out,
            weights: probs,
            seq_len: s,
            output_mean,
            output_std,
        })
    };
    let encoder = run_layer(false)?;
    let encoder_causal = run_layer(true)?;

    // Cell 7: the effect of 1/√d_k on scores and on the softmax.
    let r = SCALING_ROWS;
    let sqrt_dk = (dk as f64).sqrt();
    let qd = rng.randn_f32(r, dk, sqrt_dk, 0.0);
    let kd = rng.randn_f32(r, dk, sqrt_dk, 0.0);
    let inv_sqrt_dk = 1.0 / (dk as f32).sqrt();
    let setting = |scale: f32| -> Result<(ScoreStats, Vec<f32>)> {
        let mut scores = vec![0.0f32; r * r];
        gemm(
            MatRef::new(&qd, r, dk)?,
            MatRef::new(&kd, r, dk)?.t(),
            MatMut::new(&mut scores, r, r)?,
            &GemmOptions {
                alpha: scale,
                ..GemmOptions::default()
            },
        )?;
        let probs = head_weights(&qd, &kd, &kd, r, dk, Mask::None, Some(scale))?;
        let (min, max) = min_max(&scores);
        let stats = ScoreStats {
            scale,
            min,
            max,
            entropy: mean_entropy(&probs, r),
        };
        Ok((stats, scores))
    };
    let (unscaled, scores) = setting(1.0)?;
    let (scaled, _) = setting(inv_sqrt_dk)?;
    let scaling = ScalingDemo {
        unscaled,
        scaled,
        scores,
    };

    // Cell 8: causal attention on random Q, K, V (the figure's panel 6) ...
    let q = rng.randn_f32(s, dk, 1.0, 0.0);
    let k = rng.randn_f32(s, dk, 1.0, 0.0);
    let v = rng.randn_f32(s, dk, 1.0, 0.0);
    let causal_weights = head_weights(&q, &k, &v, s, dk, Mask::Causal, None)?;

    // ... and softmax(x·s) for x in linspace(−3, 3, 100) (panel 4), on the softmax kernel.
    let n = 100;
    let softmax_x: Vec<f32> = (0..n)
        .map(|i| (-3.0 + 6.0 * i as f64 / (n - 1) as f64) as f32)
        .collect();
    let softmax_curves = SOFTMAX_SCALES
        .iter()
        .map(|&sc| {
            let mut row: Vec<f32> = softmax_x.iter().map(|&x| x * sc).collect();
            softmax_rows(&mut row, 1, n)?;
            Ok((sc, row))
        })
        .collect::<Result<Vec<_>>>()?;

    // What the notebook claimed: Var(q·k) = d_k for unit-variance q, k; 1 after 1/√d_k.
    let dot_variance = cfg
        .var_dims
        .iter()
        .map(|&dim| dot_variance(&mut rng, dim, cfg.var_samples))
        .collect();

    Ok(SeedDemo {
        config: cfg.clone(),
        sdpa_weights,
        mha_weights,
        mha_output,
        pe,
        layer_norm,
        encoder,
        encoder_causal,
        scaling,
        causal_weights,
        softmax_x,
        softmax_curves,
        dot_variance,
    })
}

/// Measures `Var(q·k)` over `n` independent pairs of standard-normal vectors of width `d`
/// (products summed in f64), and the variance of `q·k` scaled by `1/√d`.
pub fn dot_variance(rng: &mut NumpyRandom, d: usize, n: usize) -> DotVariance {
    let mut q = vec![0.0f64; d];
    let dots: Vec<f64> = (0..n)
        .map(|_| {
            q.iter_mut().for_each(|x| *x = rng.standard_normal());
            q.iter().map(|&a| a * rng.standard_normal()).sum()
        })
        .collect();
    let inv = 1.0 / (d as f64).sqrt();
    let scaled: Vec<f64> = dots.iter().map(|x| x * inv).collect();
    DotVariance {
        d_k: d,
        samples: n,
        var: variance(&dots),
        var_scaled: variance(&scaled),
    }
}

/// Population variance (÷ n), two-pass.
fn variance(x: &[f64]) -> f64 {
    let n = x.len().max(1) as f64;
    let m = x.iter().sum::<f64>() / n;
    x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n
}
