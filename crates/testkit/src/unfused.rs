//! Unfused attention, the comparison the fused kernel is benchmarked against (criterion's
//! `attention` group and `qkv bench attention` alike): per (sequence, head) the scores
//! S = Q·Kᵀ/√d are materialized with qkv's GEMM, masked, softmaxed, and multiplied by V.

use qkv_core::ops::attention::Seq;
use qkv_core::{gemm, softmax_rows, GemmOptions, MatMut, MatRef, Result};

/// Unfused attention on packed QKV rows `qkv: [rows, 3·heads·d]` (Q, K, V side by side) into
/// `out: [rows, heads·d]`, with a causal mask when `causal`; `scores` is the `[S, S]` scratch,
/// grown as needed. An error when the views do not fit the buffers.
pub fn unfused_attention(
    qkv: &[f32],
    seqs: &[Seq],
    heads: usize,
    d: usize,
    causal: bool,
    out: &mut [f32],
    scores: &mut Vec<f32>,
) -> Result<()> {
    let w = heads * d;
    let rs = 3 * w;
    let scale = 1.0 / (d as f32).sqrt();
    for s in seqs {
        let n = s.len;
        scores.resize(n * n, 0.0);
        for head in 0..heads {
            let at = |part: usize| &qkv[s.start * rs + part * w + head * d..];
            let q = MatRef::with_strides(at(0), n, d, rs, 1)?;
            let k = MatRef::with_strides(at(1), n, d, rs, 1)?;
            let v = MatRef::with_strides(at(2), n, d, rs, 1)?;
            let opts = GemmOptions {
                alpha: scale,
                ..Default::default()
            };
            // pass 1: S = (Q·Kᵀ)·(1/√d)
            gemm(q, k.t(), MatMut::new(scores, n, n)?, &opts)?;
            // pass 2: mask and softmax
            if causal {
                for i in 0..n {
                    scores[i * n + i + 1..(i + 1) * n].fill(f32::NEG_INFINITY);
                }
            }
            softmax_rows(scores, n, n)?;
            // pass 3: O = P·V
            let o = MatMut::with_row_stride(&mut out[s.start * w + head * d..], n, d, w)?;
            gemm(MatRef::new(scores, n, n)?, v, o, &GemmOptions::default())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rand_vec;
    use qkv_core::ops::attention::{attention, AttentionParams, Mask, QkvView};

    #[test]
    fn equals_the_fused_kernel() {
        let (h, d, n) = (2, 8, 13);
        let w = h * d;
        let qkv = rand_vec(2 * n * 3 * w, 1);
        let seqs = [Seq { start: 0, len: n }, Seq { start: n, len: n }];
        for causal in [false, true] {
            let mut want = vec![0.0; 2 * n * w];
            let mask = if causal { Mask::Causal } else { Mask::None };
            let p = AttentionParams::new(h, d);
            attention(
                QkvView::packed(&qkv, w),
                &seqs,
                &p,
                mask,
                &mut want,
                w,
                None,
            )
            .unwrap();
            let mut got = vec![0.0; 2 * n * w];
            unfused_attention(&qkv, &seqs, h, d, causal, &mut got, &mut Vec::new()).unwrap();
            for (g, e) in got.iter().zip(&want) {
                assert!((g - e).abs() <= 1e-5, "causal {causal}: {g} vs {e}");
            }
        }
    }
}
