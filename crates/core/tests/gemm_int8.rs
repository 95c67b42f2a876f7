//! int8 GEMM: bit-exact against the integer reference on every int8 kernel the host has, with
//! tile-breaking sizes, strides, extreme values, thread counts, bad input, and the quantization
//! error against the f64 product within its documented bound (docs/numerics_int8.md).

// Every kernel the host runs (`QKV_REQUIRE_INT8_ISAS` names those that may not be skipped).
use qkv_core::quant::reference::gemm_int8_ref;
use qkv_core::quant::{int8_tile, smoothing_factors, MAX_K};
use qkv_core::{
    gemm_int8, with_threads, Error, Int8Isa, Int8Options, MatMut, MatRef, QuantizedMatrix,
};
use qkv_testkit::isa::host_int8_isas as host_kernels;
use qkv_testkit::rng::{rand_vec, randn_vec};

/// Options that vary with a case number, so a sweep covers every write-out path.
struct Epi {
    beta: f32,
    bias: Option<Vec<f32>>,
    relu: bool,
}

fn epi(case: usize, n: usize) -> Epi {
    Epi {
        beta: [0.0, 1.0, -0.5][case % 3],
        bias: (case % 2 == 1).then(|| rand_vec(n, 900 + case as u64)),
        relu: case % 4 == 2,
    }
}

/// Runs `gemm_int8` on `isa` and the reference, and asserts every element equal bit for bit.
#[allow(clippy::too_many_arguments)]
fn check_exact(
    isa: Int8Isa,
    a: MatRef,
    w: &[f32],
    n: usize,
    smooth: Option<&[f32]>,
    e: &Epi,
    pad_c: usize,
    what: &str,
) {
    let (m, k) = (a.rows(), a.cols());
    let q = QuantizedMatrix::from_weight_for(MatRef::new(w, n, k).unwrap(), smooth, isa).unwrap();
    let c0 = rand_vec(m * (n + pad_c), 77);
    let mut c = c0.clone();
    let opts = Int8Options {
        beta: e.beta,
        bias: e.bias.as_deref(),
        relu: e.relu,
        ..Default::default()
    };
    gemm_int8(
        a,
        &q,
        MatMut::with_row_stride(&mut c, m, n, n + pad_c).unwrap(),
        &opts,
    )
    .unwrap();
    let mut want: Vec<f32> = (0..m * n)
        .map(|x| c0[x / n * (n + pad_c) + x % n])
        .collect();
    gemm_int8_ref(&a, &q, e.beta, e.bias.as_deref(), e.relu, &mut want).unwrap();
    for i in 0..m {
        for j in 0..n {
            let (got, exp) = (c[i * (n + pad_c) + j], want[i * n + j]);
            assert_eq!(
                got.to_bits(),
                exp.to_bits(),
                "{isa} {what} {m}×{k}×{n} at ({i}, {j}): {got} vs {exp}"
            );
        }
        // Padding between rows is never written.
        for j in n..n + pad_c {
            assert_eq!(c[i * (n + pad_c) + j], c0[i * (n + pad_c) + j]);
        }
    }
}

#[test]
fn tile_breaking_sizes_match_the_reference_bit_for_bit() {
    for isa in host_kernels("tile_breaking_sizes") {
        let (mr, nr) = int8_tile(isa);
        let ms = [1, mr - 1, mr, mr + 1, 2 * mr + 3];
        let ns = [1, nr - 1, nr, nr + 1, 2 * nr + 5];
        let ks = [1, 2, 3, 4, 5, 63, 383, 385];
        let mut case = 0;
        for &m in &ms {
            for &n in &ns {
                for &k in &ks {
                    let a = randn_vec(m * k, case as u64);
                    let w = rand_vec(n * k, 1000 + case as u64);
                    let e = epi(case, n);
                    check_exact(
                        isa,
                        MatRef::new(&a, m, k).unwrap(),
                        &w,
                        n,
                        None,
                        &e,
                        0,
                        "sweep",
                    );
                    case += 1;
                }
            }
        }
    }
}

#[test]
fn odd_shapes_strides_and_smoothing_match_the_reference() {
    for isa in host_kernels("odd_shapes") {
        // 17×257×33 (M×K×N), with and without smoothing, strided A and C.
        let (m, k, n) = (17, 257, 33);
        let w = rand_vec(n * k, 5);
        let s: Vec<f32> = rand_vec(k, 6)
            .iter()
            .map(|x| 0.25 + x.abs() * 4.0)
            .collect();
        let a = randn_vec(m * (k + 7), 7);
        let av = MatRef::with_strides(&a, m, k, k + 7, 1).unwrap();
        for (case, smooth) in [None, Some(s.as_slice())].into_iter().enumerate() {
            check_exact(isa, av, &w, n, smooth, &epi(case + 1, n), 3, "strided");
        }
        // A read through a transposed view (column stride ≠ 1: the gather path).
        let at = randn_vec(k * m, 8);
        let av = MatRef::new(&at, k, m).unwrap().t();
        check_exact(isa, av, &w, n, Some(&s), &epi(2, n), 0, "transposed A");
        // Square sizes 1..20.
        for d in 1..=20 {
            let a = randn_vec(d * d, 10 + d as u64);
            let w = rand_vec(d * d, 40 + d as u64);
            check_exact(
                isa,
                MatRef::new(&a, d, d).unwrap(),
                &w,
                d,
                None,
                &epi(d, d),
                0,
                "square",
            );
        }
    }
}

#[test]
fn extreme_values_do_not_saturate() {
    // Activations that quantize to 255 everywhere (a constant positive row: lo = 0, hi = x, so
    // u = 255 and zp = 0) against weights of exactly ±127 (|W| = 1 → q = ±127): every vpdpbusd
    // group sums 4·255·127, every vpmaddwd pair 2·255·127 = 64770 (> i16::MAX, where
    // vpmaddubsw would clip). Long K: 4096, and MAX_K where the sum 255·127·65536 is 98.8 % of i32::MAX
    // (no headroom to spare).
    for isa in host_kernels("extreme_values") {
        for (m, k, n) in [(9, 4096, 50), (2, MAX_K, 17)] {
            let a = vec![3.5f32; m * k];
            // Column j: all +1 (j even) or alternating-in-blocks signs (j odd).
            let w: Vec<f32> = (0..n * k)
                .map(|x| {
                    let (j, p) = (x / k, x % k);
                    if j % 2 == 0 || (p / 7) % 2 == 0 {
                        1.0
                    } else {
                        -1.0
                    }
                })
                .collect();
            check_exact(
                isa,
                MatRef::new(&a, m, k).unwrap(),
                &w,
                n,
                None,
                &epi(0, n),
                0,
                "255×127",
            );
            // All-positive column j = 0 sums to exactly 3.5·K (u = 255, scale 3.5/255).
            let q = QuantizedMatrix::from_weight_for(MatRef::new(&w, n, k).unwrap(), None, isa)
                .unwrap();
            let mut c = vec![0f32; m * n];
            gemm_int8(
                MatRef::new(&a, m, k).unwrap(),
                &q,
                MatMut::new(&mut c, m, n).unwrap(),
                &Int8Options::default(),
            )
            .unwrap();
            let exact = 3.5 * k as f64;
            assert!(
                ((c[0] as f64) - exact).abs() <= exact * 1e-6,
                "{isa}: {} vs {exact}",
                c[0]
            );
            // Rows of negative values: lo = −x, zp = 255, u = 0: the compensation term is the
            // large one.
            let a: Vec<f32> = (0..m * k)
                .map(|x| if x % 3 == 0 { -2.0 } else { 0.0 })
                .collect();
            check_exact(
                isa,
                MatRef::new(&a, m, k).unwrap(),
                &w,
                n,
                None,
                &epi(1, n),
                0,
                "zp=255",
            );
        }
    }
}

#[test]
fn every_kernel_and_thread_count_gives_the_same_bits() {
    let (m, k, n) = (130, 384, 200);
    let a = randn_vec(m * k, 21);
    let w = rand_vec(n * k, 22);
    let bias = rand_vec(n, 23);
    let mut first: Option<Vec<f32>> = None;
    for isa in host_kernels("kernels_and_threads") {
        let q =
            QuantizedMatrix::from_weight_for(MatRef::new(&w, n, k).unwrap(), None, isa).unwrap();
        for threads in [1, 2, 3] {
            let mut c = vec![1.0f32; m * n];
            with_threads(threads, || {
                let opts = Int8Options {
                    beta: 1.0,
                    bias: Some(&bias),
                    ..Default::default()
                };
                gemm_int8(
                    MatRef::new(&a, m, k).unwrap(),
                    &q,
                    MatMut::new(&mut c, m, n).unwrap(),
                    &opts,
                )
            })
            .unwrap()
            .unwrap();
            match &first {
                None => first = Some(c),
                Some(f) => assert!(
                    f.iter().zip(&c).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{isa} with {threads} threads differs"
                ),
            }
        }
    }
}

#[test]
fn hook_runs_after_bias_and_relu_on_every_element_once() {
    let (m, k, n) = (37, 100, 70);
    let a = randn_vec(m * k, 31);
    let w = rand_vec(n * k, 32);
    let bias = rand_vec(n, 33);
    for isa in host_kernels("hook") {
        let q =
            QuantizedMatrix::from_weight_for(MatRef::new(&w, n, k).unwrap(), None, isa).unwrap();
        let hook = |row: &mut [f32]| row.iter_mut().for_each(|x| *x = *x * 2.0 + 1.0);
        let mut c = vec![0f32; m * n];
        let opts = Int8Options {
            bias: Some(&bias),
            relu: true,
            hook: Some(&hook),
            ..Default::default()
        };
        gemm_int8(
            MatRef::new(&a, m, k).unwrap(),
            &q,
            MatMut::new(&mut c, m, n).unwrap(),
            &opts,
        )
        .unwrap();
        let mut want = vec![0f32; m * n];
        gemm_int8_ref(
            &MatRef::new(&a, m, k).unwrap(),
            &q,
            0.0,
            Some(&bias),
            true,
            &mut want,
        )
        .unwrap();
        for (x, y) in c.iter().zip(&want) {
            assert_eq!(x.to_bits(), (y * 2.0 + 1.0).to_bits());
        }
    }
}

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
    let shapes = [
        (128, 384, 1152),
        (128, 384, 1536),
        (128, 1536, 384),
        (512, 768, 768),
        (512, 768, 3072),
        (2048, 2048, 2048),
    ];
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
