//! The pieces every row-wise kernel shares: the shape check and the parallel row driver of
//! softmax, LayerNorm and the activations, and the vector row helpers (max, scale, add) that
//! softmax and the attention kernel's online softmax both use.

use crate::error::{shape_mismatch, Result};
use crate::par;
use crate::simd::Simd;

/// Below this many elements a row-wise op runs on the calling thread.
const PAR_MIN_ELEMS: usize = 32 * 1024;
/// Smallest piece of work (in elements) handed to one parallel task.
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
/// buffer, in parallel (`crate::par`) when the buffer holds at least [`PAR_MIN_ELEMS`] elements.
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
    par::for_each_chunk_mut(x, per * cols, |i, chunk| f(i * per, chunk));
}

/// The row's maximum, starting from −∞ (never a sentinel). Exact for rows without NaN; a NaN
/// may or may not survive (x86 `max` returns its second operand when either is NaN), so
/// callers that must propagate NaN do so through the sum that follows (`exp(NaN) = NaN`).
#[inline(always)]
pub(crate) fn row_max<S: Simd>(s: S, row: &[f32]) -> f32 {
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

/// `x ← c·x` in place (one rounding per element, as a scalar multiply).
#[inline(always)]
pub(crate) fn scale_in_place<S: Simd>(s: S, row: &mut [f32], c: f32) {
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

/// `x ← x + y` over the first `min(len x, len y)` elements.
#[inline(always)]
pub(crate) fn add_in_place<S: Simd>(s: S, x: &mut [f32], y: &[f32]) {
    let l = S::LANES;
    let n = x.len().min(y.len());
    let mut i = 0;
    while i + l <= n {
        // SAFETY: i + LANES ≤ n ≤ both lengths.
        unsafe {
            let v = s.add(s.load(x.as_ptr().add(i)), s.load(y.as_ptr().add(i)));
            s.store(x.as_mut_ptr().add(i), v);
        }
        i += l;
    }
    for j in i..n {
        x[j] += y[j];
    }
}
