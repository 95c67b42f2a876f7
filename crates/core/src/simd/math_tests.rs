//! The vector math (`exp`, `erf`, `tanh`) against f64 on every ISA the host has, and the
//! `Simd` contracts that the kernels rely on. Unit tests: `simd` is private to the crate.
//!
//! Run with `--nocapture` to see the measured errors quoted in `docs/numerics.md`.

use super::{math, Simd, SimdOp};
use crate::isa::{dispatch, require_tested as host_isas, Isa};
use crate::reference::ops::{erf_f64, ulps};

#[derive(Clone, Copy, Debug)]
enum Func {
    Exp,
    Erf,
    Tanh,
}

/// Applies a `simd::math` function to every element, `LANES` at a time (a partial load and
/// store for each chunk, full ones included: `n ≤ LANES` is the contract).
struct Map<'a>(&'a mut [f32], Func);

impl SimdOp for Map<'_> {
    type Output = ();
    fn run<S: Simd>(self, s: S) {
        for c in self.0.chunks_mut(S::LANES) {
            // SAFETY: `c` holds c.len() ≤ LANES values.
            let v = unsafe { s.load_partial(c.as_ptr(), c.len(), 0.0) };
            let y = match self.1 {
                Func::Exp => math::exp(s, v),
                Func::Erf => math::erf(s, v),
                Func::Tanh => math::tanh(s, v),
            };
            // SAFETY: as above.
            unsafe { s.store_partial(c.as_mut_ptr(), c.len(), y) };
        }
    }
}

fn map(isa: Isa, f: Func, x: &[f32]) -> Vec<f32> {
    let mut y = x.to_vec();
    dispatch(isa, Map(&mut y, f));
    y
}

/// `n + 1` evenly spaced values from `lo` to `hi`.
fn f32_sweep(lo: f32, hi: f32, n: usize) -> Vec<f32> {
    (0..=n)
        .map(|i| lo + (hi - lo) * (i as f32 / n as f32))
        .collect()
}

/// ISAs whose `mul_add` is fused (the scalar path rounds twice; `wide` fuses only when the
/// build enables FMA).
fn fused(isa: Isa) -> bool {
    matches!(isa, Isa::Avx512 | Isa::Avx2)
}

#[test]
fn exp_ulp_sweep_and_special_values() {
    // 2M points over [-87, 88]: every region of the range reduction (n from -126 to 127).
    let x = f32_sweep(-87.0, 88.0, 2_000_000);
    for isa in host_isas("exp") {
        let y = map(isa, Func::Exp, &x);
        let (worst, at) = x
            .iter()
            .zip(&y)
            .map(|(&x, &y)| (ulps(y, (x as f64).exp()), x))
            .fold((0.0, 0.0), max_at);
        eprintln!("exp [{isa}]: max {worst:.3} ULP at x = {at}");
        // Documented bound: 2 ULP (Cephes' expf polynomial, Cody–Waite reduction).
        assert!(worst <= 2.0, "{isa}: exp off by {worst} ULP at {at}");
        let special = [
            f32::NEG_INFINITY,
            -1e30,
            -87.34,
            f32::NAN,
            f32::INFINITY,
            1e30,
            88.722_83,
            88.722_84,
            0.0,
            -0.0,
        ];
        let y = map(isa, Func::Exp, &special);
        assert_eq!(
            &y[..3],
            &[0.0, 0.0, 0.0],
            "{isa}: exp underflows to exactly 0"
        );
        assert!(y[3].is_nan(), "{isa}: exp(NaN)");
        assert_eq!(
            &y[4..6],
            &[f32::INFINITY; 2],
            "{isa}: exp overflows to +inf"
        );
        assert!(
            y[6].is_finite() && ulps(y[6], (88.722_83f32 as f64).exp()) <= 2.0,
            "{isa}: exp(88.72283) = {}",
            y[6]
        );
        assert_eq!(y[7], f32::INFINITY, "{isa}: exp(88.72284) overflows");
        assert_eq!(&y[8..], &[1.0, 1.0], "{isa}: exp(±0)");
    }
}

fn max_at((m, a): (f64, f32), (e, x): (f64, f32)) -> (f64, f32) {
    if e > m {
        (e, x)
    } else {
        (m, a)
    }
}

#[test]
fn erf_abs_error_over_all_f32() {
    // Dense around the branch point and the clamp, plus every 1021st positive f32 bit pattern.
    let mut x = f32_sweep(0.0, 6.0, 3_000_000);
    x.extend((0..0x7f80_0000u32).step_by(1021).map(f32::from_bits));
    for isa in host_isas("erf") {
        let y = map(isa, Func::Erf, &x);
        let (worst, at) = x
            .iter()
            .zip(&y)
            .map(|(&x, &y)| ((y as f64 - erf_f64(x as f64)).abs(), x))
            .fold((0.0, 0.0), max_at);
        eprintln!("erf [{isa}]: max abs error {worst:.3e} at x = {at}");
        // Fused paths: 7.4e-8 measured when the coefficients were fitted; the scalar path
        // rounds each a·b + c twice and may lose about one more ULP near 1 (6e-8).
        let bound = if fused(isa) { 1e-7 } else { 1.6e-7 };
        assert!(worst <= bound, "{isa}: erf off by {worst:e} at {at}");
        // Odd symmetry holds exactly (|x| drives both branches; the sign is applied last).
        let neg: Vec<f32> = x.iter().map(|v| -v).collect();
        let yn = map(isa, Func::Erf, &neg);
        assert!(
            y.iter().zip(&yn).all(|(a, b)| *a == -*b),
            "{isa}: erf is not odd"
        );
        let special = map(
            isa,
            Func::Erf,
            &[f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 4.0, 1e30],
        );
        assert_eq!(&special[..2], &[1.0, -1.0], "{isa}: erf(±inf)");
        assert!(special[2].is_nan(), "{isa}: erf(NaN)");
        assert_eq!(&special[3..], &[1.0, 1.0], "{isa}: erf saturates");
    }
}

#[test]
fn tanh_ulp_sweep_and_special_values() {
    let mut x = f32_sweep(-12.0, 12.0, 2_000_000);
    x.extend(f32_sweep(-1e-3, 1e-3, 100_000));
    for isa in host_isas("tanh") {
        let y = map(isa, Func::Tanh, &x);
        let (worst, at) = x
            .iter()
            .zip(&y)
            .map(|(&x, &y)| (ulps(y, (x as f64).tanh()), x))
            .fold((0.0, 0.0), max_at);
        eprintln!("tanh [{isa}]: max {worst:.3} ULP at x = {at}");
        let bound = if fused(isa) { 2.0 } else { 3.0 };
        assert!(worst <= bound, "{isa}: tanh off by {worst} ULP at {at}");
        let s = map(
            isa,
            Func::Tanh,
            &[
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NAN,
                1e30,
                -1e30,
                20.0,
            ],
        );
        assert_eq!(&s[..2], &[1.0, -1.0], "{isa}: tanh(±inf)");
        assert!(s[2].is_nan(), "{isa}: tanh(NaN)");
        assert_eq!(&s[3..], &[1.0, -1.0, 1.0], "{isa}: tanh saturates");
    }
}
