//! Activations against f64 on every ISA the host has (the vector math under them, `exp`,
//! `erf` and `tanh`, is tested in `src/simd/math_tests.rs`: the SIMD layer is private).
//!
//! Run with `--nocapture` to see the measured errors quoted in `docs/numerics.md`.

use proptest::prelude::*;
use qkv_core::ops::activation::{apply_with_isa, bias_act, bias_act_with_isa, Activation};
use qkv_core::reference::ops::activation_f64;
use qkv_core::{with_threads, Error, Isa};
use qkv_testkit::isa::host_isas;
use qkv_testkit::rng::rand_vec;

const ACTS: [Activation; 4] = [
    Activation::Identity,
    Activation::Relu,
    Activation::Gelu,
    Activation::GeluTanh,
];

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

fn max_at((m, a): (f64, f32), (e, x): (f64, f32)) -> (f64, f32) {
    if e > m {
        (e, x)
    } else {
        (m, a)
    }
}

/// Largest `|y − ref| / max(1, |x|)` of an activation over `x`.
fn act_error(isa: Isa, act: Activation, x: &[f32]) -> (f64, f32) {
    let mut y = x.to_vec();
    apply_with_isa(&mut y, act, isa).unwrap();
    x.iter()
        .zip(&y)
        .map(|(&x, &y)| {
            (
                (y as f64 - activation_f64(x as f64, act)).abs() / (x.abs() as f64).max(1.0),
                x,
            )
        })
        .fold((0.0, 0.0), max_at)
}

/// GELU bounds, in units of max(1, |x|): `0.5·x·(1 + erf)` inherits erf's absolute error
/// (≤ 1e-7, or 1.6e-7 unfused) times |x|/2, plus the rounding of `h + h·erf` and of `x/√2`
/// (≤ 1 ULP of a value ≤ |x|, i.e. 1.2e-7·|x|). The tanh form instead inherits tanh's 2 ULP
/// relative error (≤ 2.4e-7·|x|/2) and the rounding of its argument.
fn gelu_bound(isa: Isa, act: Activation) -> f64 {
    match (act, fused(isa)) {
        (Activation::Gelu, true) => 1.2e-7,
        (Activation::Gelu, false) => 2e-7,
        (_, true) => 2e-7,
        (_, false) => 3e-7,
    }
}

#[test]
fn gelu_matches_f64_on_dense_sweep() {
    let x = f32_sweep(-10.0, 10.0, 2_000_000);
    for isa in host_isas("gelu") {
        for act in [Activation::Gelu, Activation::GeluTanh] {
            let (worst, at) = act_error(isa, act, &x);
            eprintln!("{act:?} [{isa}]: max |err|/max(1,|x|) = {worst:.3e} at x = {at}");
            assert!(
                worst <= gelu_bound(isa, act),
                "{isa} {act:?}: {worst:e} at {at}"
            );
        }
        let (worst, at) = act_error(isa, Activation::Relu, &x);
        assert_eq!(worst, 0.0, "{isa}: relu at {at}");
    }
}

#[test]
fn special_values_propagate() {
    let x = [
        f32::NAN,
        f32::NEG_INFINITY,
        f32::INFINITY,
        -0.0,
        0.0,
        -1e30,
        1e30,
    ];
    for isa in host_isas("special") {
        for act in ACTS {
            let mut y = x.to_vec();
            apply_with_isa(&mut y, act, isa).unwrap();
            assert!(y[0].is_nan(), "{isa} {act:?}: NaN must propagate");
            for (i, (&x, &y)) in x.iter().zip(&y).enumerate().skip(1) {
                let r = activation_f64(x as f64, act);
                assert!(
                    y as f64 == r,
                    "{isa} {act:?}: f({x}) = {y}, expected {r} (#{i})"
                );
            }
        }
    }
}

#[test]
fn bias_act_matches_reference_at_edge_sizes() {
    for isa in host_isas("bias_act") {
        for cols in [1, 2, 7, 8, 15, 16, 17, 31, 33, 100, 385] {
            let rows = 3;
            let x: Vec<f32> = rand_vec(rows * cols, cols as u64)
                .iter()
                .map(|v| v * 6.0)
                .collect();
            let bias = rand_vec(cols, 1000 + cols as u64);
            for act in ACTS {
                let mut y = x.clone();
                bias_act_with_isa(&mut y, rows, cols, &bias, act, isa).unwrap();
                for (i, &y) in y.iter().enumerate() {
                    let z = x[i] + bias[i % cols];
                    let r = activation_f64(z as f64, act);
                    let tol = gelu_bound(isa, Activation::GeluTanh) * (z.abs() as f64).max(1.0);
                    assert!(
                        (y as f64 - r).abs() <= tol,
                        "{isa} {act:?} [{rows}x{cols}] #{i}: {y} vs {r}"
                    );
                }
            }
        }
    }
}

#[test]
fn scalar_helper_equals_scalar_kernel() {
    let x: Vec<f32> = rand_vec(1000, 5).iter().map(|v| v * 8.0).collect();
    for act in ACTS {
        let mut y = x.clone();
        apply_with_isa(&mut y, act, Isa::Scalar).unwrap();
        for (&x, &y) in x.iter().zip(&y) {
            assert_eq!(act.apply_scalar(x).to_bits(), y.to_bits(), "{act:?}({x})");
        }
    }
}

#[test]
fn shapes_are_validated() {
    let mut x = vec![0.0f32; 12];
    let err = bias_act(&mut x, 3, 5, &[0.0; 5], Activation::Gelu).unwrap_err();
    assert!(
        matches!(err, Error::ShapeMismatch { op: "bias_act", .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("[3, 5]") && err.to_string().contains("12"),
        "{err}"
    );
    let err = bias_act(&mut x, 3, 4, &[0.0; 3], Activation::Gelu).unwrap_err();
    assert!(
        err.to_string().contains("bias [4]") && err.to_string().contains("bias [3]"),
        "{err}"
    );
    bias_act(&mut [], 0, 7, &[0.0; 7], Activation::Gelu).unwrap();
    bias_act(&mut [], 4, 0, &[], Activation::Relu).unwrap();
}

#[test]
fn thread_count_does_not_change_bits() {
    let (rows, cols) = (97, 1536);
    let x: Vec<f32> = rand_vec(rows * cols, 11).iter().map(|v| v * 5.0).collect();
    let bias = rand_vec(cols, 12);
    for isa in host_isas("act threads") {
        let run = |t| {
            with_threads(t, || {
                let mut y = x.clone();
                bias_act_with_isa(&mut y, rows, cols, &bias, Activation::Gelu, isa).unwrap();
                apply_with_isa(&mut y, Activation::GeluTanh, isa).unwrap();
                y
            })
            .unwrap()
        };
        let one = run(1);
        assert_eq!(one, run(2), "{isa}: 1 vs 2 threads");
        assert_eq!(one, run(3), "{isa}: 1 vs 3 threads");
    }
}

/// Values biased toward the extremes: zeros, huge, tiny, infinities and ordinary numbers.
fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => -12.0f32..12.0,
        1 => Just(0.0f32),
        1 => prop::sample::select(vec![f32::INFINITY, f32::NEG_INFINITY, f32::MAX, -f32::MAX, 1e-30, -1e-30]),
        1 => -1e20f32..1e20,
    ]
}

fn edge_cols() -> impl Strategy<Value = usize> {
    prop::sample::select(vec![1usize, 2, 7, 8, 15, 16, 17, 31, 33, 100, 385])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn activations_track_f64(
        (rows, cols, x) in (1usize..4, edge_cols()).prop_flat_map(|(r, c)| (Just(r), Just(c), prop::collection::vec(value(), r * c))),
        act in prop::sample::select(ACTS.to_vec()),
    ) {
        let bias = vec![0.0f32; cols];
        // Isa::available(), not host_isas: the other loops of this file fail on a missing
        // required ISA; a proptest would record that as a regression case.
        for isa in Isa::available() {
            let mut y = x.clone();
            bias_act_with_isa(&mut y, rows, cols, &bias, act, isa).unwrap();
            for (&x, &y) in x.iter().zip(&y) {
                let r = activation_f64(x as f64, act);
                let tol = gelu_bound(isa, Activation::GeluTanh) * (x.abs() as f64).max(1.0);
                // Inf and huge values must come out exactly (x, 0 or inf), never NaN.
                prop_assert!(y as f64 == r || (y as f64 - r).abs() <= tol, "{} {:?}: f({}) = {} vs {}", isa, act, x, y, r);
            }
        }
    }
}
