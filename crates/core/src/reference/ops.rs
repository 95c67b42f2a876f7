//! Naive references for softmax, LayerNorm and activations, in f64.
//!
//! Inputs are the f32 data the kernels see, widened exactly; outputs stay in f64 so tests can
//! measure the kernels' error in ULP of the true result.

use crate::ops::activation::Activation;

/// Softmax of each row of a row-major `[rows, cols]` matrix. A row whose entries are all −∞
/// gives zeros; a NaN anywhere in a row gives a NaN row.
pub fn softmax_f64(x: &[f32], rows: usize, cols: usize) -> Vec<f64> {
    let mut out = vec![0.0f64; rows * cols];
    for (row, o) in x
        .chunks_exact(cols)
        .zip(out.chunks_exact_mut(cols))
        .take(rows)
    {
        if row.iter().any(|v| v.is_nan()) {
            o.fill(f64::NAN);
            continue;
        }
        let m = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
        if m == f64::NEG_INFINITY {
            continue;
        }
        let mut z = 0.0;
        for (o, &v) in o.iter_mut().zip(row) {
            *o = (v as f64 - m).exp();
            z += *o;
        }
        o.iter_mut().for_each(|o| *o /= z);
    }
    out
}

/// LayerNorm of each row: `(x − mean)/√(var + ε)·γ + β`, biased variance, two-pass.
pub fn layer_norm_f64(
    x: &[f32],
    rows: usize,
    cols: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) -> Vec<f64> {
    let mut out = vec![0.0f64; rows * cols];
    for (row, o) in x
        .chunks_exact(cols)
        .zip(out.chunks_exact_mut(cols))
        .take(rows)
    {
        let n = cols as f64;
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        let rstd = 1.0 / (var + eps as f64).sqrt();
        for (j, (o, &v)) in o.iter_mut().zip(row).enumerate() {
            *o = (v as f64 - mean) * rstd * gamma[j] as f64 + beta[j] as f64;
        }
    }
    out
}

/// The error function (musl's, through the `libm` crate: within 1 ULP of f64).
pub fn erf_f64(x: f64) -> f64 {
    libm::erf(x)
}

/// Exact GELU `x·Φ(x)`, written `0.5·x·erfc(−x/√2)` so the negative tail keeps its relative
/// accuracy (`1 + erf` would cancel).
pub fn gelu_f64(x: f64) -> f64 {
    if x == f64::NEG_INFINITY {
        return 0.0;
    }
    0.5 * x * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// GELU with the tanh approximation, `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
pub fn gelu_tanh_f64(x: f64) -> f64 {
    if x == f64::NEG_INFINITY {
        return 0.0;
    }
    let u = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
    0.5 * x * (1.0 + u.tanh())
}

/// `act(x)` in f64 (ReLU propagates NaN).
pub fn activation_f64(x: f64, act: Activation) -> f64 {
    match act {
        Activation::Identity => x,
        Activation::Relu => {
            if x.is_nan() {
                x
            } else {
                x.max(0.0)
            }
        }
        Activation::Gelu => gelu_f64(x),
        Activation::GeluTanh => gelu_tanh_f64(x),
    }
}

/// Distance from an f32 result `y` to the true value `r`, in units of the f32 spacing at `r`
/// (subnormal spacing below the normal range). Equal infinities and two NaNs are 0 apart;
/// anything else non-finite is infinitely far.
pub fn ulps(y: f32, r: f64) -> f64 {
    if y.is_nan() && r.is_nan() || y as f64 == r {
        return 0.0;
    }
    if !y.is_finite() || !r.is_finite() {
        return f64::INFINITY;
    }
    let e = r.abs().max(f32::MIN_POSITIVE as f64).log2().floor();
    (y as f64 - r).abs() / (e - 23.0).exp2()
}
