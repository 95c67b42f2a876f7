//! `Linear` at every precision against an f64 reference of `act(x·Wᵀ + b (+ y))`, within
//! each precision's error bound: f32 K-aware, bf16 two operand roundings (2⁻⁸ relative each),
//! int8 the bound of `docs/numerics_int8.md`. Tile-breaking sizes, every activation, with and
//! without the residual; shape errors.

use qkv_encoder::{Activation, Linear, LinearSpec, Precision};
use qkv_testkit::rng::{uniform as rand_vec, TestRng};
use rand::SeedableRng;

fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + libm_erf(x / std::f64::consts::SQRT_2))
}

/// erf by its series / continued fraction is overkill here: Abramowitz–Stegun 7.1.26 is good
/// to 1.5e-7, far below the tolerances checked.
fn libm_erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    if x >= 0.0 {
        y
    } else {
        -y
    }
}

#[test]
fn every_precision_is_within_its_bound() {
    let mut rng = TestRng::seed_from_u64(7);
    for (m, k, n) in [(1, 1, 1), (33, 50, 70), (17, 257, 33), (5, 384, 49)] {
        let w = rand_vec(n * k, 1.0, &mut rng);
        let x = rand_vec(m * k, 1.0, &mut rng);
        let b = rand_vec(n, 0.5, &mut rng);
        let y0 = rand_vec(m * n, 1.0, &mut rng);
        for p in Precision::ALL {
            let lin = Linear::new(&w, n, k, Some(&b), &LinearSpec::new(p)).unwrap();
            assert_eq!((lin.n(), lin.k(), lin.precision()), (n, k, p));
            for act in [Activation::Identity, Activation::Relu, Activation::Gelu] {
                for acc in [false, true] {
                    let mut y = y0.clone();
                    lin.forward(&x, m, &mut y, acc, act).unwrap();
                    for i in 0..m {
                        let xr = &x[i * k..(i + 1) * k];
                        let (lo, hi) = xr.iter().fold((0f64, 0f64), |(l, h), &v| {
                            (l.min(v as f64), h.max(v as f64))
                        });
                        let sa = (hi - lo) / 255.0;
                        for j in 0..n {
                            let wr = &w[j * k..(j + 1) * k];
                            let dot: f64 =
                                xr.iter().zip(wr).map(|(a, b)| *a as f64 * *b as f64).sum();
                            let abs: f64 = xr
                                .iter()
                                .zip(wr)
                                .map(|(a, b)| (*a as f64 * *b as f64).abs())
                                .sum();
                            let sw = wr.iter().fold(0f64, |a, v| a.max(v.abs() as f64)) / 127.0;
                            let sx: f64 = xr.iter().map(|v| v.abs() as f64).sum();
                            let sww: f64 = wr.iter().map(|v| v.abs() as f64).sum();
                            let mut z = dot + b[j] as f64;
                            if acc {
                                z += y0[i * n + j] as f64;
                            }
                            let want = match act {
                                Activation::Relu => z.max(0.0),
                                Activation::Gelu => gelu(z),
                                _ => z,
                            };
                            let bound = match p {
                                Precision::F32 => 1e-6 * (k as f64 + 4.0) * (abs + 2.0),
                                Precision::Bf16 => 2f64.powi(-7) * abs + 1e-5 * (abs + 2.0),
                                Precision::Int8 => {
                                    sw / 2.0 * sx
                                        + sa * sww
                                        + sa * sw / 2.0 * k as f64
                                        + 1e-5 * (abs + 2.0)
                                }
                            } * 1.13; // GELU's Lipschitz constant (≤ 1.13)
                            let got = y[i * n + j] as f64;
                            assert!(
                                (got - want).abs() <= bound,
                                "{p} {act:?} acc={acc} {m}×{k}×{n} ({i},{j}): {got} vs {want}, bound {bound:e}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn memory_and_shape_errors() {
    let (n, k) = (96, 128);
    let w = vec![0.25f32; n * k];
    let bytes = |p| {
        Linear::new(&w, n, k, None, &LinearSpec::new(p))
            .unwrap()
            .memory_bytes()
    };
    assert_eq!(bytes(Precision::F32), 4 * n * k);
    // int8: one byte per weight (two where only the AVX2 kernel runs) plus per-channel data.
    assert!(
        bytes(Precision::Int8) <= 2 * n * k + 16 * n,
        "{}",
        bytes(Precision::Int8)
    );
    assert!(bytes(Precision::Bf16) <= 4 * n * k);
    for p in Precision::ALL {
        let e = Linear::new(&w[1..], n, k, None, &LinearSpec::new(p)).unwrap_err();
        assert!(e.to_string().contains("linear weight"), "{e}");
        let lin = Linear::new(&w, n, k, Some(&[0.0; 96]), &LinearSpec::new(p)).unwrap();
        let mut y = vec![0.0; 2 * n];
        let e = lin
            .forward(&[1.0; 128], 2, &mut y, false, Activation::Identity)
            .unwrap_err();
        assert!(e.to_string().contains("shorter"), "{e}");
        let e = lin
            .forward(&[1.0; 256], 2, &mut y[..n], false, Activation::Identity)
            .unwrap_err();
        assert!(e.to_string().contains("shorter"), "{e}");
        if p == Precision::Int8 {
            // A non-finite activation is an error, not a silently wrong row.
            let mut x = vec![1.0; 256];
            x[130] = f32::NAN;
            let e = lin
                .forward(&x, 2, &mut y, false, Activation::Identity)
                .unwrap_err();
            assert!(e.to_string().contains("row 1"), "{e}");
        }
    }
}
