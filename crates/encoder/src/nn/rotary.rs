//! Rotary position embeddings (RoPE, Su et al. 2021) as transformers' `apply_rotary_pos_emb`
//! with `rotate_half`: for head width `dh` and `i < dh/2`, with `θ_i = p · base^(−2i/dh)`,
//! `q'[i] = q[i]·cos θ_i − q[i + dh/2]·sin θ_i` and `q'[i + dh/2] = q[i + dh/2]·cos θ_i + q[i]·sin θ_i`.
//! Applied in place to the Q and K columns of a packed `[T, 3·d]` QKV buffer, positions counted
//! from 0 within each sequence. Everything in f32, in PyTorch's order of operations.

use crate::error::{input_err, Result};
use crate::nn::batch::Batch;

/// The inverse frequencies of one rotary table.
#[derive(Clone, Debug, PartialEq)]
pub struct Rotary {
    inv_freq: Vec<f32>,
}

impl Rotary {
    /// `inv_freq[i] = 1 / base^(2i / dh)` for `i < dh/2` (`dh` even), as transformers'
    /// `compute_default_rope_parameters` computes it in f32.
    pub fn new(base: f32, dh: usize) -> Result<Self> {
        if dh == 0 || !dh.is_multiple_of(2) || !(base.is_finite() && base > 1.0) {
            return Err(input_err(
                "Rotary::new",
                format!("head width {dh} must be even and base {base} > 1"),
            ));
        }
        let inv_freq = (0..dh / 2)
            .map(|i| 1.0 / base.powf((2 * i) as f32 / dh as f32))
            .collect();
        Ok(Rotary { inv_freq })
    }

    /// Rotates the Q and K heads of `qkv` (`[batch.tokens(), 3·d]`, `d = heads·dh`) in place.
    pub fn apply(&self, qkv: &mut [f32], d: usize, batch: &Batch) -> Result<()> {
        let half = self.inv_freq.len();
        let dh = 2 * half;
        if d == 0 || !d.is_multiple_of(dh) || qkv.len() != batch.tokens() * 3 * d {
            return Err(input_err(
                "Rotary::apply",
                format!(
                    "qkv of {} values for {} tokens of width {d} (head width {dh})",
                    qkv.len(),
                    batch.tokens()
                ),
            ));
        }
        let (mut cos, mut sin) = (vec![0.0f32; half], vec![0.0f32; half]);
        for s in batch.seqs() {
            for p in 0..s.len {
                for i in 0..half {
                    let f = p as f32 * self.inv_freq[i];
                    (cos[i], sin[i]) = (f.cos(), f.sin());
                }
                let row = &mut qkv[(s.start + p) * 3 * d..(s.start + p) * 3 * d + 2 * d];
                for head in row.chunks_exact_mut(dh) {
                    let (a, b) = head.split_at_mut(half);
                    for i in 0..half {
                        let (x, y) = (a[i], b[i]);
                        a[i] = x * cos[i] + -y * sin[i];
                        b[i] = y * cos[i] + x * sin[i];
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rotation keeps each pair's norm, position 0 is the identity, and q·k after rotation
    /// depends only on the offset between the two positions.
    #[test]
    fn rotation_properties() {
        let r = Rotary::new(10_000.0, 8).unwrap();
        let d = 8;
        let batch = Batch::from_lengths(&[6]).unwrap();
        let base: Vec<f32> = (0..3 * d).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut qkv: Vec<f32> = (0..6).flat_map(|_| base.clone()).collect();
        r.apply(&mut qkv, d, &batch).unwrap();
        assert_eq!(&qkv[..3 * d], &base[..]);
        let dot = |a: usize, b: usize| -> f32 {
            (0..d)
                .map(|j| qkv[a * 3 * d + j] * qkv[b * 3 * d + d + j])
                .sum()
        };
        assert!((dot(1, 3) - dot(2, 4)).abs() < 1e-5);
        assert!((dot(0, 5) - dot(0, 5)).abs() == 0.0);
        for t in 0..6 {
            let n: f32 = qkv[t * 3 * d..t * 3 * d + d].iter().map(|x| x * x).sum();
            let n0: f32 = base[..d].iter().map(|x| x * x).sum();
            assert!((n - n0).abs() < 1e-5);
            assert_eq!(&qkv[t * 3 * d + 2 * d..(t + 1) * 3 * d], &base[2 * d..]);
        }
        assert!(Rotary::new(10_000.0, 7).is_err());
        assert!(r.apply(&mut qkv[..5], d, &batch).is_err());
    }
}
