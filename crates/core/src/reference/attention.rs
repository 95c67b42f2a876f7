//! Naive attention: the scores materialized in f64, softmax, ·V. The definition the fused
//! kernel is tested against.

use crate::ops::attention::{Mask, QkvView, Seq};

/// Output `[T, heads·d_head]` (rows outside `seqs` are 0) and probabilities
/// `[n_seqs, heads, S, S]`, in f64. A query whose keys are all masked gets zero weights.
pub fn attention_f64(
    qkv: &QkvView,
    seqs: &[Seq],
    heads: usize,
    d: usize,
    scale: f64,
    mask: &Mask,
    rows: usize,
) -> (Vec<f64>, Vec<f64>) {
    let width = heads * d;
    let smax = seqs.iter().map(|s| s.len).max().unwrap_or(0);
    let mut out = vec![0.0f64; rows * width];
    let mut probs = vec![0.0f64; seqs.len() * heads * smax * smax];
    let at = |x: &[f32], t: usize, h: usize, j: usize| x[t * qkv.row_stride + h * d + j] as f64;
    for (b, s) in seqs.iter().enumerate() {
        for h in 0..heads {
            for i in 0..s.len {
                let mut sc = vec![f64::NEG_INFINITY; s.len];
                for (j, v) in sc.iter_mut().enumerate() {
                    let dot: f64 = (0..d)
                        .map(|e| at(qkv.q, s.start + i, h, e) * at(qkv.k, s.start + j, h, e))
                        .sum();
                    let add = mask.value(b, h, i, j) as f64;
                    *v = dot * scale + add;
                }
                let m = sc.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let p: Vec<f64> = if m == f64::NEG_INFINITY {
                    vec![0.0; s.len]
                } else {
                    let e: Vec<f64> = sc.iter().map(|x| (x - m).exp()).collect();
                    let z: f64 = e.iter().sum();
                    e.iter().map(|x| x / z).collect()
                };
                let slab = ((b * heads + h) * smax + i) * smax;
                probs[slab..slab + s.len].copy_from_slice(&p);
                for e in 0..d {
                    let o: f64 = (0..s.len)
                        .map(|j| p[j] * at(qkv.v, s.start + j, h, e))
                        .sum();
                    out[(s.start + i) * width + h * d + e] = o;
                }
            }
        }
    }
    (out, probs)
}
