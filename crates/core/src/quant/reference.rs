//! The naive int8 reference: the same quantization and integer arithmetic as the kernels,
//! written as plain loops (sums in i64, checked to fit i32). Since every kernel's i32 sums are
//! exact and its write-out rounds the same way, kernels must match this bit for bit.

use super::weights::QuantizedMatrix;
use crate::mat::MatRef;

/// One row quantized as [`super::gemm_int8`] does: `(u, scale, zp)`, or `None` when a value
/// (after smoothing) is NaN or ±∞.
pub fn quantize_row_ref(x: &[f32], inv_smooth: Option<&[f32]>) -> Option<(Vec<u8>, f32, i32)> {
    let xs: Vec<f32> = match inv_smooth {
        Some(s) => x.iter().zip(s).map(|(a, b)| a * b).collect(),
        None => x.to_vec(),
    };
    if xs.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let lo = xs.iter().fold(0f32, |m, &v| m.min(v));
    let hi = xs.iter().fold(0f32, |m, &v| m.max(v));
    let s = hi / 255.0 - lo / 255.0;
    if s == 0.0 {
        return Some((vec![0; xs.len()], 0.0, 0));
    }
    let s = s.max(f32::MIN_POSITIVE);
    let inv = 1.0 / s;
    let zp = (-lo * inv).round_ties_even().clamp(0.0, 255.0) as i32;
    let u = xs
        .iter()
        .map(|&v| ((v * inv).round_ties_even() as i32 + zp).clamp(0, 255) as u8)
        .collect();
    Some((u, s, zp))
}

/// `C ← dequant(A_q·W_qᵀ) (+ β·C) (+ bias) (ReLU)` by the definition, C row-major `M × N`.
/// Returns `None` when a row of A is not finite (where the GEMM returns an error).
pub fn gemm_int8_ref(
    a: &MatRef,
    w: &QuantizedMatrix,
    beta: f32,
    bias: Option<&[f32]>,
    relu: bool,
    c: &mut [f32],
) -> Option<()> {
    let (m, k, n) = (a.rows(), a.cols(), w.n());
    let q = w.int8_weight();
    let sw = w.scales();
    let inv_smooth: Option<Vec<f32>> = w.smoothing().map(|s| s.iter().map(|x| 1.0 / x).collect());
    let mut rows = Vec::with_capacity(m);
    for i in 0..m {
        let x: Vec<f32> = (0..k).map(|p| a.at(i, p)).collect();
        rows.push(quantize_row_ref(&x, inv_smooth.as_deref())?);
    }
    for (i, (u, sa, zp)) in rows.iter().enumerate() {
        for j in 0..n {
            let wrow = &q[j * k..(j + 1) * k];
            let dot: i64 = u.iter().zip(wrow).map(|(&x, &y)| x as i64 * y as i64).sum();
            let colsum: i64 = wrow.iter().map(|&y| y as i64).sum();
            let corr = dot - *zp as i64 * colsum;
            assert!(i32::try_from(dot).is_ok() && i32::try_from(corr).is_ok());
            let mut v = corr as f32 * (sa * sw[j]);
            if beta != 0.0 {
                v += beta * c[i * n + j];
            }
            if let Some(b) = bias {
                v += b[j];
            }
            if relu && v < 0.0 {
                v = 0.0;
            }
            c[i * n + j] = v;
        }
    }
    Some(())
}
