//! int8 GEMM beyond bit-exactness (`gemm_int8.rs` has that): the quantization error against
//! the f64 product within its documented bound (docs/numerics_int8.md), bad input, degenerate
//! sizes, saved int8 weights, kernel names, and the speed table (ignored).

// Every kernel the host runs (`QKV_REQUIRE_INT8_ISAS` names those that may not be skipped).
use qkv_core::quant::{smoothing_factors, MAX_K};
use qkv_core::{
    gemm_int8, with_threads, Error, Int8Isa, Int8Options, MatMut, MatRef, QuantizedMatrix,
};
use qkv_testkit::isa::host_int8_isas as host_kernels;
use qkv_testkit::rng::{rand_vec, randn_vec};

/// The documented bound on `|ŷ − y|` for one element, with y the exact product of the f32
/// inputs (see docs/numerics_int8.md): weight rounding, activation rounding, their product,
/// and the f32 write-out.
fn error_bound(x: &[f64], w: &[f64], sa: f64, sw: f64, yq_abs: f64) -> f64 {
    let sx: f64 = x.iter().map(|v| v.abs()).sum();
    let swt: f64 = w.iter().map(|v| v.abs()).sum();
    let sxw: f64 = x.iter().zip(w).map(|(a, b)| (a * b).abs()).sum();
    let u = f32::EPSILON as f64 / 2.0;
    // The last two terms: rounding of the smoothing products x·(1/s), w·s (≤ 3u each way), and
    // the f32 write-out (int → f32, sa·sw, the product: 3 roundings).
    sw / 2.0 * sx + sa * swt + sa * sw / 2.0 * x.len() as f64 + 6.0 * u * sxw + 4.0 * u * yq_abs
}

#[test]
fn quantization_error_is_within_the_documented_bound() {
    let (m, k, n) = (16, 384, 64);
    for outliers in [false, true] {
        // Normal activations, optionally with two outlier channels (as transformers have),
        // uniform weights.
        let mut a = randn_vec(m * k, 41);
        if outliers {
            for i in 0..m {
                a[i * k + 5] *= 30.0;
                a[i * k + 200] *= -20.0;
            }
        }
        let w = rand_vec(n * k, 42);
        let amax: Vec<f32> = (0..k)
            .map(|p| (0..m).fold(0f32, |s, i| s.max(a[i * k + p].abs())))
            .collect();
        let s = smoothing_factors(MatRef::new(&w, n, k).unwrap(), &amax, 0.5).unwrap();
        for isa in host_kernels("error_bound") {
            let mut rel = [0f64; 2];
            for (v, smooth) in [None, Some(s.as_slice())].into_iter().enumerate() {
                let q =
                    QuantizedMatrix::from_weight_for(MatRef::new(&w, n, k).unwrap(), smooth, isa)
                        .unwrap();
                let mut c = vec![0f32; m * n];
                gemm_int8(
                    MatRef::new(&a, m, k).unwrap(),
                    &q,
                    MatMut::new(&mut c, m, n).unwrap(),
                    &Default::default(),
                )
                .unwrap();
                let (mut err2, mut ref2, mut worst) = (0f64, 0f64, 0f64);
                for i in 0..m {
                    // The operands as quantized: x' = x/s, w' = w·s.
                    let sm = |p: usize| smooth.map_or(1.0, |s| s[p] as f64);
                    let x: Vec<f64> = (0..k).map(|p| a[i * k + p] as f64 / sm(p)).collect();
                    let xs: Vec<f32> = x.iter().map(|&v| v as f32).collect();
                    let (lo, hi) = xs
                        .iter()
                        .fold((0f32, 0f32), |(l, h), &v| (l.min(v), h.max(v)));
                    let sa = qkv_core::quant::row_params(lo, hi).0 as f64;
                    for j in 0..n {
                        let wr: Vec<f64> = (0..k).map(|p| w[j * k + p] as f64 * sm(p)).collect();
                        let y: f64 = (0..k)
                            .map(|p| a[i * k + p] as f64 * w[j * k + p] as f64)
                            .sum();
                        let got = c[i * n + j] as f64;
                        let bound = error_bound(&x, &wr, sa, q.scales()[j] as f64, got.abs());
                        assert!(
                            (got - y).abs() <= bound,
                            "{isa} ({i},{j}): |{got} − {y}| > {bound}"
                        );
                        worst = worst.max((got - y).abs() / bound);
                        err2 += (got - y).powi(2);
                        ref2 += y * y;
                    }
                }
                rel[v] = (err2 / ref2).sqrt();
                eprintln!(
                    "{isa} outliers {outliers} smoothing {}: relative RMS error {:.2e}, worst error / bound {worst:.3}",
                    smooth.is_some(),
                    rel[v]
                );
            }
            // Smoothing the outlier channels must help (measured: docs/numerics_int8.md).
            if outliers {
                assert!(rel[1] < rel[0], "{isa}: smoothing did not help: {rel:?}");
            }
        }
    }
}

#[test]
fn bad_input_is_a_clear_error_and_c_stays_untouched() {
    let (m, k, n) = (20, 40, 30);
    let mut a = randn_vec(m * k, 51);
    let w = rand_vec(n * k, 52);
    for isa in host_kernels("bad_input") {
        let q =
            QuantizedMatrix::from_weight_for(MatRef::new(&w, n, k).unwrap(), None, isa).unwrap();
        for (row, bad) in [(13, f32::NAN), (0, f32::INFINITY), (19, f32::NEG_INFINITY)] {
            let keep = a[row * k + 7];
            a[row * k + 7] = bad;
            let mut c = vec![-3.0f32; m * n];
            let e = gemm_int8(
                MatRef::new(&a, m, k).unwrap(),
                &q,
                MatMut::new(&mut c, m, n).unwrap(),
                &Default::default(),
            )
            .unwrap_err();
            assert!(e.to_string().contains(&format!("row {row} ")), "{e}");
            assert!(c.iter().all(|&x| x == -3.0), "C was written");
            a[row * k + 7] = keep;
        }
        let mut c = vec![0f32; m * n];
        let shape = gemm_int8(
            MatRef::new(&a[..m * (k - 1)], m, k - 1).unwrap(),
            &q,
            MatMut::new(&mut c, m, n).unwrap(),
            &Default::default(),
        );
        assert!(matches!(shape, Err(Error::ShapeMismatch { .. })));
        let short_bias = vec![0f32; n - 1];
        let opts = Int8Options {
            bias: Some(&short_bias),
            ..Default::default()
        };
        let r = gemm_int8(
            MatRef::new(&a, m, k).unwrap(),
            &q,
            MatMut::new(&mut c, m, n).unwrap(),
            &opts,
        );
        assert!(matches!(r, Err(Error::ShapeMismatch { .. })));
        let opts = Int8Options {
            beta: f32::NAN,
            ..Default::default()
        };
        let r = gemm_int8(
            MatRef::new(&a, m, k).unwrap(),
            &q,
            MatMut::new(&mut c, m, n).unwrap(),
            &opts,
        );
        assert!(matches!(r, Err(Error::InvalidArgument { .. })));
    }
    // Weights: non-finite values, bad smoothing, −128, wrong lengths, K over the bound.
    let mut wb = w.clone();
    wb[3 * k + 4] = f32::NAN;
    let e = QuantizedMatrix::from_weight(MatRef::new(&wb, n, k).unwrap()).unwrap_err();
    assert!(e.to_string().contains("(3, 4)"), "{e}");
    let zero_s = vec![0f32; k];
    assert!(QuantizedMatrix::from_weight_for(
        MatRef::new(&w, n, k).unwrap(),
        Some(&zero_s),
        Int8Isa::Scalar
    )
    .is_err());
    let q8 = vec![-128i8; 4];
    assert!(QuantizedMatrix::from_int8(&q8, &[1.0, 1.0], 2, 2, None, Int8Isa::Scalar).is_err());
    assert!(
        QuantizedMatrix::from_int8(&q8[..3], &[1.0, 1.0], 2, 2, None, Int8Isa::Scalar).is_err()
    );
    assert!(
        QuantizedMatrix::from_int8(&[1, 2, 3, 4], &[1.0], 2, 2, None, Int8Isa::Scalar).is_err()
    );
    let big = vec![0i8; MAX_K + 1];
    assert!(QuantizedMatrix::from_int8(&big, &[1.0], 1, MAX_K + 1, None, Int8Isa::Scalar).is_err());
}

#[test]
fn degenerate_sizes_and_zero_rows() {
    for isa in host_kernels("degenerate") {
        // K = 0: C ← β·C + bias.
        let q =
            QuantizedMatrix::from_weight_for(MatRef::new(&[], 3, 0).unwrap(), None, isa).unwrap();
        let mut c = vec![2.0f32; 2 * 3];
        let bias = [1.0, -10.0, 0.5];
        let opts = Int8Options {
            beta: 0.5,
            bias: Some(&bias),
            relu: true,
            ..Default::default()
        };
        gemm_int8(
            MatRef::new(&[], 2, 0).unwrap(),
            &q,
            MatMut::new(&mut c, 2, 3).unwrap(),
            &opts,
        )
        .unwrap();
        assert_eq!(c, [2.0, 0.0, 1.5, 2.0, 0.0, 1.5]);
        // M = 0 and N = 0 are no-ops.
        let w = rand_vec(4 * 5, 1);
        let q =
            QuantizedMatrix::from_weight_for(MatRef::new(&w, 4, 5).unwrap(), None, isa).unwrap();
        gemm_int8(
            MatRef::new(&[], 0, 5).unwrap(),
            &q,
            MatMut::new(&mut [], 0, 4).unwrap(),
            &Default::default(),
        )
        .unwrap();
        // Rows and weight channels of zeros give exact zeros (and β·C is kept exactly).
        let a = vec![0f32; 3 * 5];
        let wz = vec![0f32; 4 * 5];
        let qz =
            QuantizedMatrix::from_weight_for(MatRef::new(&wz, 4, 5).unwrap(), None, isa).unwrap();
        let mut c = vec![7.0f32; 12];
        let opts = Int8Options {
            beta: 1.0,
            ..Default::default()
        };
        gemm_int8(
            MatRef::new(&a, 3, 5).unwrap(),
            &qz,
            MatMut::new(&mut c, 3, 4).unwrap(),
            &opts,
        )
        .unwrap();
        assert!(c.iter().all(|&x| x == 7.0));
    }
}

#[test]
fn int8_weights_round_trip_and_reload_without_requantizing() {
    let (n, k) = (50, 77);
    let w = rand_vec(n * k, 61);
    for isa in host_kernels("round_trip") {
        let q =
            QuantizedMatrix::from_weight_for(MatRef::new(&w, n, k).unwrap(), None, isa).unwrap();
        let q8 = q.int8_weight();
        // Per-channel symmetric: q = round(w / s), s = max|w| / 127, so max |q| = 127 per row.
        for j in 0..n {
            let row = &q8[j * k..(j + 1) * k];
            assert_eq!(row.iter().map(|x| x.unsigned_abs()).max(), Some(127));
            for p in 0..k {
                let s = q.scales()[j];
                assert!((w[j * k + p] - row[p] as f32 * s).abs() <= s / 2.0 * 1.0001);
            }
        }
        let again = QuantizedMatrix::from_int8(&q8, q.scales(), n, k, None, isa).unwrap();
        assert_eq!(again.int8_weight(), q8);
        let a = randn_vec(9 * k, 62);
        let (mut c1, mut c2) = (vec![0f32; 9 * n], vec![0f32; 9 * n]);
        for (qq, c) in [(&q, &mut c1), (&again, &mut c2)] {
            gemm_int8(
                MatRef::new(&a, 9, k).unwrap(),
                qq,
                MatMut::new(c, 9, n).unwrap(),
                &Default::default(),
            )
            .unwrap();
        }
        assert_eq!(c1, c2);
    }
}

#[test]
fn kernel_names_parse_and_follow_the_f32_isa_class() {
    for isa in Int8Isa::ALL {
        assert_eq!(isa.name().parse::<Int8Isa>().unwrap(), isa);
    }
    assert!("avx9000".parse::<Int8Isa>().is_err());
    assert_eq!(Int8Isa::best_for(qkv_core::Isa::Scalar), Int8Isa::Scalar);
    assert_eq!(Int8Isa::best_for(qkv_core::Isa::Portable), Int8Isa::Scalar);
    let b = Int8Isa::best_for(qkv_core::Isa::Avx2);
    assert!(matches!(
        b,
        Int8Isa::AvxVnni | Int8Isa::Avx2 | Int8Isa::Scalar
    ));
    assert!(Int8Isa::active().is_available());
}

/// Speed beside the f32 GEMM on the encoder shapes (`cargo test --profile bench -p qkv-core
/// --test gemm_int8 -- --ignored --nocapture speed`): multiply-adds per second including the
/// activation quantization, at 1 and 2 threads, and the share of the measured int8 peak.
#[test]
#[ignore]
fn speed_table() {
    use qkv_core::perf::interleaved;
    use qkv_core::quant::int8_peak_gmacs_threads;
    use qkv_core::{gemm_packed, GemmOptions, PackedMatrix};
    let shapes = qkv_testkit::shapes::GEMM;
    let isa = Int8Isa::active();
    let fma = |t| qkv_core::perf::fma_peak_gflops_threads(qkv_core::Isa::active(), t) / 2.0;
    for threads in [1, 2] {
        let peak = int8_peak_gmacs_threads(isa, threads).unwrap_or(f64::NAN);
        eprintln!(
            "threads {threads}: int8 kernel {isa}, peak {peak:.0} G MAC/s; FMA peak {:.0} G MAC/s",
            fma(threads)
        );
        eprintln!(
            "| M×K×N | f32 G MAC/s | int8 G MAC/s | int8/f32 | % of int8 peak |  median (best)"
        );
        for (m, k, n) in shapes {
            let a = randn_vec(m * k, 1);
            let w = rand_vec(n * k, 2);
            let q = QuantizedMatrix::from_weight(MatRef::new(&w, n, k).unwrap()).unwrap();
            let p = PackedMatrix::from_weight(MatRef::new(&w, n, k).unwrap()).unwrap();
            let mut c = vec![0f32; m * n];
            let mut c2 = vec![0f32; m * n];
            let reps = if m * n * k > 1 << 30 { 10 } else { 100 };
            let t = with_threads(threads, || {
                let av = MatRef::new(&a, m, k).unwrap();
                let mut f32_run = || {
                    gemm_packed(
                        av,
                        &p,
                        MatMut::new(&mut c, m, n).unwrap(),
                        &GemmOptions::default(),
                    )
                    .unwrap()
                };
                let mut i8_run = || {
                    gemm_int8(
                        av,
                        &q,
                        MatMut::new(&mut c2, m, n).unwrap(),
                        &Int8Options::default(),
                    )
                    .unwrap()
                };
                interleaved(3, reps, &mut [&mut f32_run, &mut i8_run])
            })
            .unwrap();
            let macs = (m * n * k) as f64;
            let (f, i) = (macs / t[0].median / 1e9, macs / t[1].median / 1e9);
            let (fb, ib) = (macs / t[0].min / 1e9, macs / t[1].min / 1e9);
            eprintln!(
                "| {m}×{k}×{n} | {f:.0} ({fb:.0}) | {i:.0} ({ib:.0}) | {:.2} ({:.2}) | {:.0} % ({:.0} %) |",
                i / f,
                ib / fb,
                100.0 * i / peak,
                100.0 * ib / peak
            );
        }
    }
}
