//! The online softmax (Milakov & Gimelshein 2018, as FlashAttention uses it): one block of a
//! query's scores at a time, with a running max `m` and a running sum `l`, so that no row of
//! scores longer than a key block is ever held.

use crate::ops::rows::row_max;
use crate::simd::math::exp;
use crate::simd::Simd;

/// Pass 2 for one query row and one key block: folds the block's (masked) scores into the
/// running max `m` and sum `l`, leaving `row ← exp(row − m_new)`, the block's unnormalized
/// weights.
///
/// Returns the factor `exp(m_old − m_new)` by which the row's accumulator must be rescaled, or
/// `None` when every key so far is masked (the row is zeroed; nothing to rescale). A NaN score
/// poisons the row: `m` and `l` become NaN, and so do its output and its `probs` row.
#[inline(always)]
pub(super) fn exp_row_update<S: Simd>(
    s: S,
    row: &mut [f32],
    m: &mut f32,
    l: &mut f32,
) -> Option<f32> {
    let mut mb = row_max(s, row);
    if mb == f32::NEG_INFINITY && row.iter().any(|x| x.is_nan()) {
        mb = f32::NAN; // max may skip NaN; a NaN score must still poison its row
    }
    let m_new = if mb.is_nan() || m.is_nan() {
        f32::NAN // poison the row: NaN in, NaN out
    } else if mb > *m {
        mb
    } else {
        *m
    };
    if m_new == f32::NEG_INFINITY {
        // Every key so far is masked: weights 0, nothing to rescale.
        row.fill(0.0);
        return None;
    }
    let sum = exp_sub_sum(s, row, m_new);
    let corr = if *m == f32::NEG_INFINITY {
        0.0
    } else {
        (*m - m_new).exp()
    };
    *l = *l * corr + sum;
    *m = m_new;
    Some(corr)
}

/// What the unnormalized weights of a finished row are multiplied by to give `probs`: `1/l`;
/// 0 for a fully masked row (`l = 0`); NaN for a poisoned row (`l` NaN), so that a NaN score
/// makes its whole `probs` row NaN, as `softmax_rows` does.
#[inline(always)]
pub(super) fn probs_inverse(l: f32) -> f32 {
    if l > 0.0 {
        1.0 / l
    } else if l.is_nan() {
        f32::NAN
    } else {
        0.0
    }
}

/// `x ← exp(x − m)` in place; returns the sum (lanes summed in a fixed order).
#[inline(always)]
fn exp_sub_sum<S: Simd>(s: S, x: &mut [f32], m: f32) -> f32 {
    let l = S::LANES;
    let vm = s.splat(m);
    let mut acc = s.zero();
    let n = x.len();
    let mut i = 0;
    while i + l <= n {
        // SAFETY: i + LANES ≤ n.
        unsafe {
            let e = exp(s, s.sub(s.load(x.as_ptr().add(i)), vm));
            s.store(x.as_mut_ptr().add(i), e);
            acc = s.add(acc, e);
        }
        i += l;
    }
    if i < n {
        // SAFETY: n − i < LANES values remain; partial load pads with −∞ → exp gives 0.
        unsafe {
            let e = exp(
                s,
                s.sub(
                    s.load_partial(x.as_ptr().add(i), n - i, f32::NEG_INFINITY),
                    vm,
                ),
            );
            s.store_partial(x.as_mut_ptr().add(i), n - i, e);
            acc = s.add(acc, e);
        }
    }
    s.reduce_sum(acc)
}
