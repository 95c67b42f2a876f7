//! Vector math on top of [`Simd`], written once for every ISA.
//!
//! The polynomial and rational coefficients of `erf` and `tanh` were fitted for this file
//! (minimax by Loeb's linearization with Lawson's reweighting on 2000 Chebyshev points, then
//! rounded to f32 and checked on a dense f32 sweep); `docs/numerics.md` lists the measured errors.

use super::Simd;

/// Below this, `exp(x)` is under f32's smallest normal and we return exactly 0. This matters:
/// a masked score (−∞) must get a weight of exactly 0.
const EXP_LO: f32 = -87.336_55;
/// The largest f32 whose exponential is finite (`ln(f32::MAX)` rounded down); above it
/// `exp` overflows to +∞ as IEEE arithmetic would.
const EXP_HI: f32 = 88.722_83;

/// `e^x` lane-wise, within 2 ULP of the correctly rounded result on [EXP_LO, EXP_HI] (about
/// 1 ULP measured with FMA).
///
/// Cody–Waite range reduction `x = n·ln2 + r`, |r| ≤ ln2/2, with ln 2 split in a high part
/// exact in f32 and a low correction; a degree-6 minimax polynomial for `e^r` (Cephes
/// `expf` coefficients); then scaling by `2^n` through the exponent bits. NaN propagates;
/// `x < EXP_LO` (including −∞) gives exactly 0; `x > EXP_HI` (including +∞) gives +∞.
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
    p = s.mul_add(p, r, s.splat(0.5));
    let r2 = s.mul(r, r);
    let y = s.add(s.mul_add(p, r2, r), s.splat(1.0));
    // n ∈ [-126, 128] after clamping, so 2^n may not be a normal float: split the scale in
    // two halves that are.
    let half = s.round(s.mul(n, s.splat(0.5)));
    let y = s.mul(y, s.pow2i(half));
    let y = s.mul(y, s.pow2i(s.sub(n, half)));
    let y = s.select_lt(s.splat(EXP_HI), x, s.splat(f32::INFINITY), y);
    s.select_lt(x, s.splat(EXP_LO), s.zero(), y)
}

/// `c[0] + c[1]·x + c[2]·x² + …` by Horner's rule.
#[inline(always)]
fn poly<S: Simd, const N: usize>(s: S, x: S::V, c: &[f32; N]) -> S::V {
    c[..N - 1]
        .iter()
        .rev()
        .fold(s.splat(c[N - 1]), |acc, &ci| s.mul_add(acc, x, s.splat(ci)))
}

/// `-v` (for nonzero or unsigned-zero results).
#[inline(always)]
fn neg<S: Simd>(s: S, v: S::V) -> S::V {
    s.sub(s.zero(), v)
}

/// Below this |x| `erf` uses its series-like branch, above it the `erfc` branch.
const ERF_SPLIT: f32 = 0.9;
/// `erf(x) = x·(2/√π + t·P(t))`, `t = x²`, on |x| < [`ERF_SPLIT`] (fit error 4e-9).
const ERF_SMALL: [f32; 6] = [
    -0.376_128_38,
    0.112_857_02,
    -0.026_944_267,
    0.005_375_624_6,
    -0.000_986_748,
    0.000_149_253_87,
];
/// `erfc(x)·e^{x²} = P(x)/Q(x)` on [`ERF_SPLIT`, 4] (absolute fit error of erfc 3e-10).
const ERFC_P: [f32; 3] = [1.000_742_7, 0.748_857_9, 0.237_213_9];
const ERFC_Q: [f32; 4] = [1.0, 1.882_267_5, 1.345_336_6, 0.419_006_74];

/// The error function lane-wise, within 1e-7 absolute of the true value for every f32 (about
/// 7.4e-8 measured with FMA; see `docs/numerics.md`).
///
/// Two branches, both computed and then selected per lane:
/// - |x| < 0.9: `x·(2/√π + x²·P(x²))`, written as one FMA on top of the small correction so
///   the leading term is rounded once;
/// - |x| ≥ 0.9: `1 − e^{−x²}·P(|x|)/Q(|x|)`; erfc is at most 0.2 there, so the relative
///   error of the rational and of `exp` shrinks by that factor in absolute terms. `x²` is
///   split into a rounded part and its exact FMA residue so `e^{−x²}` is accurate.
///
/// |x| is clamped to 4, where erf rounds to ±1 in f32. NaN propagates; erf(±∞) = ±1.
#[inline(always)]
pub fn erf<S: Simd>(s: S, x: S::V) -> S::V {
    let one = s.splat(1.0);
    // Data second in min so NaN passes through.
    let ax = s.min(s.splat(4.0), s.abs(x));
    let t = s.mul(ax, ax);
    // Small branch on the signed x (t = x² there, the clamp does not reach it).
    let small = s.mul_add(
        x,
        s.splat(std::f32::consts::FRAC_2_SQRT_PI),
        s.mul(s.mul(x, t), poly(s, t, &ERF_SMALL)),
    );
    // Large branch: e^{−x²} = e^{−t}·e^{−t_lo} ≈ e^{−t}·(1 − t_lo) with t_lo = ax² − t exact.
    let t_lo = s.mul_add(ax, ax, neg(s, t));
    let e = s.mul(exp(s, neg(s, t)), s.sub(one, t_lo));
    let r = s.div(poly(s, ax, &ERFC_P), poly(s, ax, &ERFC_Q));
    let large = s.mul_add(neg(s, e), r, one);
    let large = s.select_lt(x, s.zero(), neg(s, large), large);
    s.select_lt(ax, s.splat(ERF_SPLIT), small, large)
}

/// Below this |x| `tanh` uses its odd polynomial.
const TANH_SPLIT: f32 = 0.625;
/// `tanh(x) = x + x·t·P(t)`, `t = x²`, on |x| < [`TANH_SPLIT`] (relative fit error 4.4e-9).
const TANH_SMALL: [f32; 5] = [
    -0.333_332_8,
    0.133_314_42,
    -0.053_739_715,
    0.020_639_088,
    -0.005_704_987_3,
];

/// `tanh(x)` lane-wise, within 2 ULP (relative error, so small |x| stays accurate).
///
/// |x| < 0.625: an odd polynomial (no cancellation near 0). Otherwise
/// `sign(x)·(1 − 2/(e^{2|x|} + 1))`: `e^{2|x|}` only grows, and once it overflows to +∞ the
/// result is exactly ±1, so large |x| is stable. NaN propagates; tanh(±∞) = ±1.
#[inline(always)]
pub fn tanh<S: Simd>(s: S, x: S::V) -> S::V {
    let one = s.splat(1.0);
    let ax = s.abs(x);
    let t = s.mul(x, x);
    let small = s.mul_add(s.mul(x, t), poly(s, t, &TANH_SMALL), x);
    let e = exp(s, s.add(ax, ax));
    let large = s.sub(one, s.div(s.splat(2.0), s.add(e, one)));
    let large = s.select_lt(x, s.zero(), neg(s, large), large);
    s.select_lt(ax, s.splat(TANH_SPLIT), small, large)
}
