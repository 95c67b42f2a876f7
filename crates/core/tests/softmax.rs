//! Row-wise softmax against the f64 reference on every ISA the host has.
//!
//! Error bound, in ULP of the true probability `p = e_i/Σe`:
//! - each `e_i = exp(d_i)` is within 2 ULP (documented `exp` bound), a relative error ≤ 4u
//!   (u = 2⁻²⁴), and the sum inherits at most the same relative error;
//! - the sum is Kahan-compensated per lane (≤ 2u) and then reduced over log₂(LANES) adds;
//! - the reciprocal and the final product round once each (2u);
//! - when `d_i = x_i − max` is not exact in f32, its rounding (≤ u·|d_i|) changes `e_i` by a
//!   relative u·|d_i|. Tests with logits on a 2⁻¹⁰ grid make `d_i` exact.
//!
//! A relative error of k·u is at most k ULP, so the bound is `12 + log₂(LANES) + |d_i|` ULP.
//! Run with `--nocapture` to see the measured maxima quoted in `docs/numerics.md`.

use proptest::prelude::*;
use qkv_core::ops::softmax::{softmax_rows, softmax_rows_with_isa};
use qkv_core::reference::ops::{softmax_f64, ulps};
use qkv_core::{with_threads, Error, Isa};
use qkv_testkit::isa::host_isas;
use qkv_testkit::rng::{rand_vec, randn_vec};

const EDGE_COLS: [usize; 11] = [1, 2, 7, 8, 15, 16, 17, 31, 33, 100, 385];

fn lanes(isa: Isa) -> usize {
    match isa {
        Isa::Avx512 => 16,
        Isa::Avx2 | Isa::Portable => 8,
        Isa::Scalar => 1,
    }
}

/// The documented bound for entry with shifted logit `d` (see the module docs).
fn bound(isa: Isa, d: f64) -> f64 {
    12.0 + (lanes(isa) as f64).log2() + d.abs()
}

fn softmax(isa: Isa, x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut y = x.to_vec();
    softmax_rows_with_isa(&mut y, rows, cols, isa).unwrap();
    y
}

/// Checks every entry against f64 within [`bound`]; returns the largest error in ULP.
fn check(isa: Isa, x: &[f32], rows: usize, cols: usize) -> f64 {
    let y = softmax(isa, x, rows, cols);
    let r = softmax_f64(x, rows, cols);
    let mut worst = 0.0f64;
    for (i, (&y, &r)) in y.iter().zip(&r).enumerate() {
        let row = &x[i / cols * cols..][..cols];
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
        // A fully masked row has no shifted logits (its zeros are exact).
        let d = if max == f64::NEG_INFINITY {
            0.0
        } else {
            x[i] as f64 - max
        };
        let e = ulps(y, r);
        assert!(
            e <= bound(isa, d),
            "{isa} [{rows}x{cols}] #{i}: {y} vs {r} ({e} ULP, d = {d})"
        );
        worst = worst.max(e);
    }
    worst
}

/// Seeded logits on a 2⁻¹⁰ grid in about [−16, 16], so `x − max` is exact in f32.
fn grid_logits(n: usize, seed: u64) -> Vec<f32> {
    randn_vec(n, seed)
        .iter()
        .map(|v| (v * 4.0 * 1024.0).round() / 1024.0)
        .collect()
}

#[test]
fn matches_f64_within_few_ulp() {
    for isa in host_isas("softmax") {
        let mut worst = 0.0f64;
        for (k, cols) in EDGE_COLS.into_iter().chain([128, 512, 1000]).enumerate() {
            let rows = 5;
            worst = worst.max(check(isa, &grid_logits(rows * cols, k as u64), rows, cols));
        }
        eprintln!("softmax [{isa}]: max {worst:.3} ULP (exact x − max)");
        let mut worst_any = 0.0f64;
        for (k, cols) in EDGE_COLS.into_iter().enumerate() {
            let x: Vec<f32> = randn_vec(4 * cols, 100 + k as u64)
                .iter()
                .map(|v| v * 3.0)
                .collect();
            worst_any = worst_any.max(check(isa, &x, 4, cols));
        }
        eprintln!("softmax [{isa}]: max {worst_any:.3} ULP (randn·3 logits, x − max rounded)");
    }
}

#[test]
fn shift_invariant_bit_for_bit() {
    // On the grid, x + 1024 is exact and so is (x + 1024) − max, so the results are identical.
    for isa in host_isas("softmax shift") {
        for (k, cols) in EDGE_COLS.into_iter().enumerate() {
            let x = grid_logits(3 * cols, 50 + k as u64);
            let shifted: Vec<f32> = x.iter().map(|v| v + 1024.0).collect();
            assert_eq!(
                softmax(isa, &x, 3, cols),
                softmax(isa, &shifted, 3, cols),
                "{isa} cols {cols}"
            );
        }
    }
}

#[test]
fn rows_sum_to_one() {
    for isa in host_isas("softmax sum") {
        for (k, cols) in EDGE_COLS.into_iter().enumerate() {
            let x: Vec<f32> = randn_vec(4 * cols, 200 + k as u64)
                .iter()
                .map(|v| v * 5.0)
                .collect();
            for row in softmax(isa, &x, 4, cols).chunks(cols) {
                let sum: f64 = row.iter().map(|&p| p as f64).sum();
                // Each p_i is within (12 + log₂L + |d_i|)·u relative (module docs), so Σp is
                // within that much of 1; n·ε covers it here (|d_i| ≤ 40 for these logits).
                let tol = (cols as f64 * f32::EPSILON as f64).max(16.0 * f32::EPSILON as f64);
                assert!((sum - 1.0).abs() <= tol, "{isa} cols {cols}: sum {sum}");
            }
        }
    }
}

#[test]
fn masked_entries_get_exactly_zero() {
    let ninf = f32::NEG_INFINITY;
    for isa in host_isas("softmax mask") {
        for cols in EDGE_COLS {
            // Row 0 fully masked; row 1 masks every third entry (and always keeps entry 0).
            let mut x = grid_logits(2 * cols, cols as u64);
            x[..cols].fill(ninf);
            for j in (1..cols).step_by(3) {
                x[cols + j] = ninf;
            }
            let y = softmax(isa, &x, 2, cols);
            assert!(
                y[..cols].iter().all(|&p| p == 0.0 && p.is_sign_positive()),
                "{isa} cols {cols}: {:?}",
                &y[..cols]
            );
            let kept: Vec<f32> = x[cols..].iter().copied().filter(|v| *v != ninf).collect();
            let expect = softmax(isa, &kept, 1, kept.len());
            let mut kept_y = Vec::new();
            for j in 0..cols {
                if x[cols + j] == ninf {
                    assert_eq!(y[cols + j], 0.0, "{isa} cols {cols}: masked entry {j}");
                } else {
                    kept_y.push(y[cols + j]);
                }
            }
            // Masked keys contribute nothing: same as the softmax of the unmasked ones (the
            // lanes see the survivors at other positions, so allow the rounding bound).
            for (a, &b) in kept_y.iter().zip(&expect) {
                assert!(
                    ulps(*a, b as f64) <= bound(isa, 0.0),
                    "{isa} cols {cols}: {a} vs {b}"
                );
            }
            check(isa, &x, 2, cols);
        }
    }
}

#[test]
fn huge_logits_stay_finite() {
    for isa in host_isas("softmax huge") {
        for scale in [1e4f32, 1e30, 3e38] {
            for cols in [7, 33, 385] {
                let x: Vec<f32> = randn_vec(3 * cols, 7)
                    .iter()
                    .map(|v| (v * scale).clamp(-f32::MAX, f32::MAX))
                    .collect();
                let y = softmax(isa, &x, 3, cols);
                assert!(
                    y.iter().all(|p| p.is_finite() && (0.0..=1.0).contains(p)),
                    "{isa} scale {scale}"
                );
                for row in y.chunks(cols) {
                    let sum: f64 = row.iter().map(|&p| p as f64).sum();
                    assert!(
                        (sum - 1.0).abs() <= 16.0 * f32::EPSILON as f64,
                        "{isa} scale {scale}: sum {sum}"
                    );
                }
                let r = softmax_f64(&x, 3, cols);
                // The f32 differences x − max may round (or overflow to −∞ → 0), so compare
                // absolutely: every probability here is 0 or close to 1 in the reference too.
                for (a, b) in y.iter().zip(&r) {
                    assert!(
                        (*a as f64 - b).abs() <= 1e-6,
                        "{isa} scale {scale}: {a} vs {b}"
                    );
                }
            }
        }
    }
}

#[test]
fn nan_poisons_only_its_row() {
    for isa in host_isas("softmax nan") {
        for cols in EDGE_COLS {
            for pos in [0, cols / 2, cols - 1] {
                for (fill, what) in [(0.0f32, "finite"), (f32::NEG_INFINITY, "masked")] {
                    let mut x = grid_logits(3 * cols, 9);
                    x[cols..2 * cols].fill(fill);
                    x[cols + pos] = f32::NAN;
                    let y = softmax(isa, &x, 3, cols);
                    assert!(
                        y[cols..2 * cols].iter().all(|p| p.is_nan()),
                        "{isa} cols {cols} pos {pos} {what}"
                    );
                    assert!(
                        y[..cols]
                            .iter()
                            .chain(&y[2 * cols..])
                            .all(|p| p.is_finite()),
                        "{isa}"
                    );
                }
            }
            // +∞ is not a probability weight: ∞ − ∞ is NaN, and the row says so.
            let mut x = grid_logits(cols, 10);
            x[cols / 2] = f32::INFINITY;
            assert!(
                softmax(isa, &x, 1, cols).iter().all(|p| p.is_nan()),
                "{isa} +inf"
            );
        }
    }
}

#[test]
fn shapes_are_validated() {
    let mut x = vec![0.0f32; 10];
    let err = softmax_rows(&mut x, 3, 4).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ShapeMismatch {
                op: "softmax_rows",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("[3, 4]") && err.to_string().contains("10 elements"),
        "{err}"
    );
    assert!(softmax_rows(&mut x, usize::MAX, 2).is_err());
    softmax_rows(&mut [], 0, 5).unwrap();
    softmax_rows(&mut [], 5, 0).unwrap();
    for isa in Isa::ALL.into_iter().filter(|i| !i.is_available()) {
        assert!(matches!(
            softmax_rows_with_isa(&mut x, 2, 5, isa),
            Err(Error::IsaUnavailable(_))
        ));
    }
}

#[test]
fn thread_count_does_not_change_bits() {
    let (rows, cols) = (300, 385);
    let x: Vec<f32> = rand_vec(rows * cols, 3).iter().map(|v| v * 20.0).collect();
    for isa in host_isas("softmax threads") {
        let run = |t| with_threads(t, || softmax(isa, &x, rows, cols)).unwrap();
        let one = run(1);
        assert_eq!(one, run(2), "{isa}: 1 vs 2 threads");
        assert_eq!(one, run(3), "{isa}: 1 vs 3 threads");
    }
}

/// Logits biased toward the edges: ordinary values, −∞ (masked), huge magnitudes.
fn logit() -> impl Strategy<Value = f32> {
    prop_oneof![
        6 => (-64.0f32..64.0).prop_map(|v| (v * 1024.0).round() / 1024.0),
        2 => Just(f32::NEG_INFINITY),
        1 => prop::sample::select(vec![1e30f32, -1e30, 1e4, -1e4, f32::MAX, -f32::MAX, 0.0]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn rows_are_distributions(
        (rows, cols, x) in (1usize..4, prop::sample::select(EDGE_COLS.to_vec()))
            .prop_flat_map(|(r, c)| (Just(r), Just(c), prop::collection::vec(logit(), r * c))),
    ) {
        // Isa::available(), not host_isas: the other loops of this file fail on a missing
        // required ISA; a proptest would record that as a regression case.
        for isa in Isa::available() {
            let y = softmax(isa, &x, rows, cols);
            for (xr, yr) in x.chunks(cols).zip(y.chunks(cols)) {
                prop_assert!(yr.iter().all(|p| p.is_finite() && *p >= 0.0));
                let sum: f64 = yr.iter().map(|&p| p as f64).sum();
                if xr.iter().all(|v| *v == f32::NEG_INFINITY) {
                    prop_assert!(sum == 0.0);
                } else {
                    prop_assert!((sum - 1.0).abs() <= (cols as f64 * f32::EPSILON as f64).max(16.0 * f32::EPSILON as f64));
                }
                for (a, b) in xr.iter().zip(yr) {
                    if *a == f32::NEG_INFINITY {
                        prop_assert_eq!(*b, 0.0);
                    }
                }
            }
            // Against f64: absolute, since huge logits make x − max round (see huge_logits).
            for (a, b) in y.iter().zip(softmax_f64(&x, rows, cols)) {
                prop_assert!((*a as f64 - b).abs() <= 1e-6, "{}: {} vs {}", isa, a, b);
            }
        }
    }
}
