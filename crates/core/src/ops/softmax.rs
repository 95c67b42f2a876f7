//! Row-wise softmax, in place: `x[r, :] ← softmax(x[r, :])` for a row-major `[rows, cols]`.
//!
//! Three passes per row (llm.c style): 1. max, starting from −∞ (never a sentinel);
//! 2. `e = exp(x − max)` stored in place, summed; 3. multiply by `1/sum`. A row whose entries
//! are all −∞ (fully masked) gives zeros, as PyTorch ≥ 2.5 and the ONNX spec define it; a NaN
//! anywhere in a row makes the whole row NaN. Each row is computed alone by the same code, so
//! results do not depend on the number of threads. See `docs/numerics.md`.

use super::rows::{check_rows, for_row_chunks, row_max, scale_in_place};
use crate::error::Result;
use crate::isa::{dispatch, Isa};
use crate::simd::math::exp;
use crate::simd::{Simd, SimdOp};

/// Softmax of every row of a row-major `[rows, cols]` matrix, in place, on [`Isa::active`].
///
/// ```
/// let mut x = [1.0, 2.0, 3.0, f32::NEG_INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY];
/// qkv_core::ops::softmax::softmax_rows(&mut x, 2, 3)?;
/// assert!((x[0] + x[1] + x[2] - 1.0).abs() < 1e-6);
/// assert_eq!(&x[3..], &[0.0, 0.0, 0.0]); // a fully masked row gets no weight
/// # Ok::<(), qkv_core::Error>(())
/// ```
pub fn softmax_rows(x: &mut [f32], rows: usize, cols: usize) -> Result<()> {
    softmax_rows_with_isa(x, rows, cols, Isa::active())
}

/// [`softmax_rows`] on a given instruction set ([`crate::Error::IsaUnavailable`] if this CPU
/// lacks it).
pub fn softmax_rows_with_isa(x: &mut [f32], rows: usize, cols: usize, isa: Isa) -> Result<()> {
    check_rows("softmax_rows", "x", x.len(), rows, cols)?;
    let isa = isa.check()?;
    for_row_chunks(x, cols, |_, chunk| {
        dispatch(
            isa,
            SoftmaxRows {
                x: chunk,
                cols,
                scale: 1.0,
            },
        )
    });
    Ok(())
}

/// Softmax of each `cols`-wide row of `x`.
struct SoftmaxRows<'a> {
    x: &'a mut [f32],
    cols: usize,
    scale: f32,
}

impl SimdOp for SoftmaxRows<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        for row in self.x.chunks_exact_mut(self.cols) {
            softmax_row(s, row, self.scale);
        }
    }
}

/// `row ← softmax(scale·row)` in place (`scale` > 0 and finite, e.g. 1/√dₖ).
///
/// Computed as `exp(scale·(x − max))`: the difference is never positive, so no logit
/// (±1e30 included) overflows, whatever the scale.
#[inline(always)]
pub(crate) fn softmax_row<S: Simd>(s: S, row: &mut [f32], scale: f32) {
    debug_assert!(scale > 0.0 && scale.is_finite(), "softmax scale {scale}");
    // Pass 1: the max (a NaN that it skips still makes the sum, hence the row, NaN).
    let max = row_max(s, row);
    // A row of −∞ has max −∞ and x − max = NaN; shifting by 0 instead gives e = 0 everywhere
    // (sum 0 → zeros below) while a NaN entry still makes the sum NaN.
    let shift = if max == f32::NEG_INFINITY { 0.0 } else { max };
    let sum = exp_store_sum(s, row, shift, scale);
    // Pass 3: normalize by the reciprocal (sum ≥ 1 unless the row was fully masked).
    let inv = if sum == 0.0 { 0.0 } else { 1.0 / sum };
    scale_in_place(s, row, inv);
}

/// Pass 2: `x ← exp(scale·(x − shift))` in place; returns the sum.
///
/// Kahan-compensated per lane (Kahan 1965), so the sum's error does not grow with the row
/// length (a few extra adds beside each `exp`), then reduced across lanes in a fixed order.
#[inline(always)]
fn exp_store_sum<S: Simd>(s: S, row: &mut [f32], shift: f32, scale: f32) -> f32 {
    let l = S::LANES;
    let n = row.len();
    let (vshift, vscale) = (s.splat(shift), s.splat(scale));
    let (mut acc, mut comp) = (s.zero(), s.zero());
    let mut add = |e: S::V| {
        let y = s.sub(e, comp);
        let t = s.add(acc, y);
        comp = s.sub(s.sub(t, acc), y);
        acc = t;
    };
    let mut i = 0;
    while i + l <= n {
        // SAFETY: i + LANES ≤ n.
        unsafe {
            let p = row.as_mut_ptr().add(i);
            let e = exp(s, s.mul(s.sub(s.load(p), vshift), vscale));
            s.store(p, e);
            add(e);
        }
        i += l;
    }
    if i < n {
        // SAFETY: n − i < LANES values remain; the padding (−∞) gives e = 0, adding nothing.
        unsafe {
            let p = row.as_mut_ptr().add(i);
            let x = s.load_partial(p, n - i, f32::NEG_INFINITY);
            let e = exp(s, s.mul(s.sub(x, vshift), vscale));
            s.store_partial(p, n - i, e);
            add(e);
        }
    }
    s.reduce_sum(s.sub(acc, comp))
}

#[cfg(all(test, feature = "internals"))]
mod tests {
    use super::*;

    /// The scaled entry used by attention: softmax(scale·x) against f64.
    #[test]
    fn scaled_row_matches_f64() {
        let x: Vec<f32> = (0..37)
            .map(|i| ((i * 7919) % 97) as f32 * 0.37 - 15.0)
            .collect();
        let scale = 0.125;
        for isa in crate::isa::require_tested("scaled_row_matches_f64") {
            let mut y = x.clone();
            dispatch(
                isa,
                SoftmaxRows {
                    x: &mut y,
                    cols: 37,
                    scale,
                },
            );
            let m = x
                .iter()
                .fold(f64::NEG_INFINITY, |m, &v| m.max(scale as f64 * v as f64));
            let e: Vec<f64> = x
                .iter()
                .map(|&v| (scale as f64 * v as f64 - m).exp())
                .collect();
            let z: f64 = e.iter().sum();
            for (a, b) in y.iter().zip(&e) {
                assert!(
                    (*a as f64 - b / z).abs() <= 1e-6 * (b / z),
                    "{isa}: {a} vs {}",
                    b / z
                );
            }
        }
    }
}
