//! How each [`Mask`] variant hides scores: the range of keys a query block visits, and what is
//! added to a row of scores. A new variant (a per-head additive bias such as ALiBi, a sliding
//! window) is one arm in each function here; the kernel (`blocked.rs`) stays as it is.

use super::params::Mask;
use crate::ops::rows::add_in_place;
use crate::simd::Simd;
use std::ops::Range;

/// The keys the query block `q0..q0 + bq` of a sequence of `len` tokens visits. Causal
/// attention stops after the block's last query (later keys are hidden from every query of the
/// block); the other variants visit every key. The range starts at key 0: the packed Kᵀ panels
/// are indexed by `k0 / NR`, so a variant that starts later must start on a multiple of NR.
#[inline(always)]
pub(super) fn key_range(mask: &Mask, q0: usize, bq: usize, len: usize) -> Range<usize> {
    match mask {
        Mask::Causal => 0..(q0 + bq).min(len),
        Mask::None | Mask::Additive { .. } => 0..len,
    }
}

/// Adds the mask to one score row: query `qi` of sequence `b`, keys `k0..k0 + row.len()`.
#[inline(always)]
pub(super) fn apply_mask<S: Simd>(
    s: S,
    mask: &Mask,
    b: usize,
    qi: usize,
    k0: usize,
    row: &mut [f32],
) {
    match *mask {
        Mask::None => {}
        Mask::Causal => {
            let visible = (qi + 1).saturating_sub(k0).min(row.len());
            row[visible..].fill(f32::NEG_INFINITY);
        }
        Mask::Additive {
            data,
            row_stride,
            batch_stride,
        } => {
            let off = b * batch_stride + qi * row_stride + k0;
            add_in_place(s, row, &data[off..off + row.len()]);
        }
    }
}
