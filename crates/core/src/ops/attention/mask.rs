//! How each [`Mask`] variant hides scores: the range of keys a query block visits, and what is
//! added to a row of scores. A new variant (a per-head additive bias such as ALiBi, a sliding
//! window) is one arm in each function here; the kernel (`blocked.rs`) stays as it is.

use super::params::Mask;
use crate::ops::rows::add_in_place;
use crate::simd::Simd;
use std::ops::Range;

/// The keys the query block `q0..q0 + bq` of a sequence of `len` tokens visits. Causal
/// attention stops after the block's last query (later keys are hidden from every query of the
/// block); a sliding window visits only the keys some query of the block sees; the other
/// variants visit every key. The packed Kᵀ panels are indexed by `k0 / NR`, so the range
/// starts on a multiple of `nr`.
#[inline(always)]
pub(super) fn key_range(mask: &Mask, q0: usize, bq: usize, len: usize, nr: usize) -> Range<usize> {
    match *mask {
        Mask::Causal => 0..(q0 + bq).min(len),
        Mask::SlidingWindow { radius } => {
            let first = q0.saturating_sub(radius) / nr * nr;
            first..(q0 + bq).saturating_add(radius).min(len)
        }
        Mask::None | Mask::Additive { .. } | Mask::RelativeBias { .. } => 0..len,
    }
}

/// Adds the mask to one score row: query `qi` of sequence `b`, head `head`, keys
/// `k0..k0 + row.len()`.
#[inline(always)]
pub(super) fn apply_mask<S: Simd>(
    s: S,
    mask: &Mask,
    (b, head): (usize, usize),
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
        Mask::RelativeBias { table, span } => {
            // Offset of key k0 from query qi, shifted to be ≥ 0: k0 − qi + span − 1 (validate
            // checked span ≥ len > qi, so this never underflows).
            let off = head * (2 * span - 1) + k0 + span - 1 - qi;
            add_in_place(s, row, &table[off..off + row.len()]);
        }
        Mask::SlidingWindow { radius } => {
            // Visible keys: qi − radius ..= qi + radius, clipped to this block.
            let lo = qi.saturating_sub(radius).saturating_sub(k0).min(row.len());
            let hi = (qi + radius + 1).saturating_sub(k0).min(row.len());
            row[..lo].fill(f32::NEG_INFINITY);
            row[hi..].fill(f32::NEG_INFINITY);
        }
    }
}
