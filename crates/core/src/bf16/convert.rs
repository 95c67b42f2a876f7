//! f32 → bf16 rounding and the layouts the bf16 kernel reads.
//!
//! B̃ (weights): panels of NR columns, k in pairs: `B̃[((panel·G + g)·NR + c)·2 + t] =
//! W[panel·NR + c, 2g + t]` (G = ⌈K/2⌉), zero-padded. Ã (activations): row-major bf16 with rows
//! padded to an even length and the row count to whole MR panels, zeros in the padding (a
//! padded zero meets a zero weight: no NaN from stale bits).

/// Rounds to the nearest bf16, ties to even (the rounding of `vcvtneps2bf16` for normal
/// values); NaN stays NaN (quieted), ±∞ stays ±∞, values past the largest bf16 become ±∞.
#[inline(always)]
pub fn to_bf16(x: f32) -> u16 {
    let b = x.to_bits();
    if x.is_nan() {
        return ((b >> 16) | 0x40) as u16;
    }
    ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16
}

/// The f32 value of a bf16.
#[inline(always)]
pub fn from_bf16(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// K rounded up to whole pairs.
pub(crate) fn k_even(k: usize) -> usize {
    k.div_ceil(2) * 2
}

/// Packs `w: [N, K]` (any strides, read through `at`) as bf16 panels of `nr` columns.
pub(crate) fn pack_weight(
    at: impl Fn(usize, usize) -> f32,
    n: usize,
    k: usize,
    nr: usize,
) -> Vec<u16> {
    let ke = k_even(k);
    let mut out = vec![0u16; n.div_ceil(nr) * nr * ke];
    if ke == 0 {
        return out;
    }
    for (panel, dst) in out.chunks_exact_mut(nr * ke).enumerate() {
        for c in 0..nr.min(n - panel * nr) {
            for p in 0..k {
                dst[((p / 2) * nr + c) * 2 + p % 2] = to_bf16(at(panel * nr + c, p));
            }
        }
    }
    out
}

/// Converts one row to bf16 (scalar; the SIMD converters must equal it).
pub(crate) fn convert_row(x: &[f32], out: &mut [u16]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = to_bf16(v);
    }
}
