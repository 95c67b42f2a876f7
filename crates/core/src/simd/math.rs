//! Vector math on top of [`Simd`], written once for every ISA.

use super::Simd;

/// Below this, `exp(x)` is under f32's smallest normal and we return exactly 0. This matters:
/// a masked score (−∞) must get a weight of exactly 0.
const EXP_LO: f32 = -87.336_55;
/// Above this, `exp(x)` overflows f32; inputs are clamped (result ≈ 1.7e38, never Inf from
/// a finite input; +∞ and NaN still give non-finite results).
const EXP_HI: f32 = 88.376_26;

/// `e^x` lane-wise, within 2 ULP of the correctly rounded result on [EXP_LO, EXP_HI].
///
/// Cody–Waite range reduction `x = n·ln2 + r`, |r| ≤ ln2/2, with ln 2 split in a high part
/// exact in f32 and a low correction; a degree-6 minimax polynomial for `e^r` (Cephes
/// `expf` coefficients); then scaling by `2^n` through the exponent bits. NaN propagates;
/// `x < EXP_LO` (including −∞) gives exactly 0.
#[inline(always)]
pub fn exp<S: Simd>(s: S, x: S::V) -> S::V {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Data second in max/min so NaN passes through (see `Simd::max`).
    let xc = s.min(s.splat(EXP_HI), s.max(s.splat(EXP_LO), x));
    let n = s.round(s.mul(xc, s.splat(LOG2E)));
    let r = s.mul_add(n, s.splat(-LN2_HI), xc);
    let r = s.mul_add(n, s.splat(-LN2_LO), r);
    let mut p = s.splat(1.987_569_1e-4);
    p = s.mul_add(p, r, s.splat(1.398_199_9e-3));
    p = s.mul_add(p, r, s.splat(8.333_452e-3));
    p = s.mul_add(p, r, s.splat(4.166_579_6e-2));
    p = s.mul_add(p, r, s.splat(1.666_666_5e-1));
    p = s.mul_add(p, r, s.splat(5.000_000_1e-1));
    let r2 = s.mul(r, r);
    let y = s.add(s.mul_add(p, r2, r), s.splat(1.0));
    // n ∈ [-126, 127] after clamping, so 2^n is a normal float. At n = 128 (x near EXP_HI
    // rounds up) split the scale in two to avoid forming 2^128.
    let half = s.round(s.mul(n, s.splat(0.5)));
    let y = s.mul(y, s.pow2i(half));
    let y = s.mul(y, s.pow2i(s.sub(n, half)));
    s.select_lt(x, s.splat(EXP_LO), s.zero(), y)
}
