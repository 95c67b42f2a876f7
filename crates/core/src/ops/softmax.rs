//! Row-wise softmax, in place: `x[r, :] ← softmax(x[r, :])` for a row-major `[rows, cols]`.
//!
//! Three passes per row (llm.c style): 1. max, starting from −∞ (never a sentinel);
//! 2. `e = exp(x − max)` stored in place, summed; 3. multiply by `1/sum`. A row whose entries
//! are all −∞ (fully masked) gives zeros, as PyTorch ≥ 2.5 and the ONNX spec define it; a NaN
//! anywhere in a row makes the whole row NaN. Each row is computed alone by the same code, so
//! results do not depend on the number of threads. See `docs/numerics.md`.

use crate::error::{shape_mismatch, Result};
use crate::isa::{dispatch, Isa};
use crate::simd::math::exp;
use crate::simd::{Simd, SimdOp};
use rayon::prelude::*;

/// Below this many elements a row-wise op runs on the calling thread.
const PAR_MIN_ELEMS: usize = 32 * 1024;
/// Smallest piece of work (in elements) handed to one rayon task.
const CHUNK_MIN_ELEMS: usize = 8 * 1024;

/// Checks that a buffer of `len` elements holds a row-major `[rows, cols]` matrix.
pub(crate) fn check_rows(
    op: &'static str,
    what: &str,
    len: usize,
    rows: usize,
    cols: usize,
) -> Result<()> {
    if rows.checked_mul(cols) == Some(len) {
        Ok(())
    } else {
        Err(shape_mismatch(
            op,
            format!(
                "{what} [{rows}, {cols}] ({} elements)",
                rows.saturating_mul(cols)
            ),
            format!("{len} elements"),
        ))
    }
}

/// Calls `f(first_row, rows)` on consecutive groups of whole rows of a row-major `[_, cols]`
/// buffer, in parallel with rayon when the buffer holds at least [`PAR_MIN_ELEMS`] elements.
///
/// How rows are grouped depends on the thread count, but every row is computed by the same
/// code on its own, so results are bit-identical for any number of threads. Shared by the
/// row-wise ops (softmax, LayerNorm, activations).
pub(crate) fn for_row_chunks<F>(x: &mut [f32], cols: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Sync,
{
    if x.is_empty() || cols == 0 {
        return;
    }
    let rows = x.len() / cols;
    let threads = rayon::current_num_threads();
    if x.len() < PAR_MIN_ELEMS || threads == 1 {
        return f(0, x);
    }
    // Big enough to amortize a task, small enough for about four tasks per thread.
    let per = CHUNK_MIN_ELEMS
        .div_ceil(cols)
        .max(rows.div_ceil(4 * threads));
    x.par_chunks_mut(per * cols)
        .enumerate()
        .for_each(|(i, chunk)| f(i * per, chunk));
}

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
    let max = row_max(s, row);
    // A row of −∞ has max −∞ and x − max = NaN; shifting by 0 instead gives e = 0 everywhere
    // (sum 0 → zeros below) while a NaN entry still makes the sum NaN.
    let shift = if max == f32::NEG_INFINITY { 0.0 } else { max };
    let sum = exp_store_sum(s, row, shift, scale);
    // Pass 3: normalize by the reciprocal (sum ≥ 1 unless the row was fully masked).
    let inv = if sum == 0.0 { 0.0 } else { 1.0 / sum };
    scale_in_place(s, row, inv);
}

/// Pass 1: the row's maximum, starting from −∞. (A NaN may or may not survive the max; pass 2
/// makes the row NaN either way.)
#[inline(always)]
fn row_max<S: Simd>(s: S, row: &[f32]) -> f32 {
    let l = S::LANES;
    let n = row.len();
    let ninf = s.splat(f32::NEG_INFINITY);
    // Four accumulators: max has a latency of 4 cycles on x86.
    let mut acc = [ninf; 4];
    let mut i = 0;
    while i + 4 * l <= n {
        for (k, a) in acc.iter_mut().enumerate() {
            // SAFETY: i + 4·LANES ≤ n.
            *a = s.max(*a, unsafe { s.load(row.as_ptr().add(i + k * l)) });
        }
        i += 4 * l;
    }
    while i + l <= n {
        // SAFETY: i + LANES ≤ n.
        acc[0] = s.max(acc[0], unsafe { s.load(row.as_ptr().add(i)) });
        i += l;
    }
    if i < n {
        // SAFETY: n − i < LANES readable values; the padding (−∞) cannot raise the max.
        acc[0] = s.max(acc[0], unsafe {
            s.load_partial(row.as_ptr().add(i), n - i, f32::NEG_INFINITY)
        });
    }
    let m = s.max(s.max(acc[0], acc[1]), s.max(acc[2], acc[3]));
    s.reduce_max(m)
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

/// `x ← c·x` in place.
#[inline(always)]
fn scale_in_place<S: Simd>(s: S, row: &mut [f32], c: f32) {
    let l = S::LANES;
    let n = row.len();
    let vc = s.splat(c);
    let mut i = 0;
    while i + l <= n {
        // SAFETY: i + LANES ≤ n.
        unsafe {
            let p = row.as_mut_ptr().add(i);
            s.store(p, s.mul(s.load(p), vc));
        }
        i += l;
    }
    if i < n {
        // SAFETY: n − i < LANES values remain.
        unsafe {
            let p = row.as_mut_ptr().add(i);
            s.store_partial(p, n - i, s.mul(s.load_partial(p, n - i, 0.0), vc));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scaled entry used by attention: softmax(scale·x) against f64.
    #[test]
    fn scaled_row_matches_f64() {
        let x: Vec<f32> = (0..37)
            .map(|i| ((i * 7919) % 97) as f32 * 0.37 - 15.0)
            .collect();
        let scale = 0.125;
        for isa in Isa::available() {
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
