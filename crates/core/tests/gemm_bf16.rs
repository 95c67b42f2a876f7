//! bf16 GEMM against an f64 reference of the bf16-rounded operands (products exact, so the
//! only error is the f32 summation: a K-aware bound), on every bf16 kernel the host has.

// Every kernel the host runs (`QKV_REQUIRE_BF16_ISAS` names those that may not be skipped).
use qkv_core::bf16::{bf16_peak_gmacs, from_bf16, to_bf16, Bf16Isa, Bf16Options};
use qkv_core::{gemm_bf16, with_threads, Bf16Matrix, Error, MatMut, MatRef};
use qkv_testkit::isa::host_bf16_isas as host_kernels;
use qkv_testkit::rng::{rand_vec, randn_vec};

fn bf(x: f32) -> f64 {
    from_bf16(to_bf16(x)) as f64
}

#[allow(clippy::too_many_arguments)]
fn check(
    isa: Bf16Isa,
    a: MatRef,
    w: &[f32],
    n: usize,
    beta: f32,
    bias: Option<&[f32]>,
    relu: bool,
    what: &str,
) {
    let (m, k) = (a.rows(), a.cols());
    let q = Bf16Matrix::from_weight_for(MatRef::new(w, n, k).unwrap(), isa).unwrap();
    let c0 = rand_vec(m * n, 99);
    let mut c = c0.clone();
    let opts = Bf16Options {
        beta,
        bias,
        relu,
        ..Default::default()
    };
    gemm_bf16(a, &q, MatMut::new(&mut c, m, n).unwrap(), &opts).unwrap();
    let u = f32::EPSILON as f64 / 2.0;
    for i in 0..m {
        for j in 0..n {
            let (mut y, mut mag) = (0f64, 0f64);
            for p in 0..k {
                let t = bf(a.at(i, p)) * bf(w[j * k + p]);
                y += t;
                mag += t.abs();
            }
            let old = if beta != 0.0 {
                beta as f64 * c0[i * n + j] as f64
            } else {
                0.0
            };
            let b = bias.map_or(0.0, |b| b[j] as f64);
            y += old + b;
            mag += old.abs() + b.abs();
            if relu {
                y = y.max(0.0);
            }
            let bound = (k as f64 + 4.0) * u * mag * 1.01;
            let got = c[i * n + j] as f64;
            assert!(
                (got - y).abs() <= bound,
                "{isa} {what} {m}×{k}×{n} ({i},{j}): {got} vs {y} (bound {bound})"
            );
        }
    }
}

#[test]
fn tile_breaking_sizes_within_the_summation_bound() {
    for isa in host_kernels("bf16 sizes") {
        let mut case = 0u64;
        for m in [1, 7, 8, 9, 19] {
            for n in [1, 47, 48, 49, 101] {
                for k in [1, 2, 3, 64, 385] {
                    let a = randn_vec(m * k, case);
                    let w = rand_vec(n * k, 500 + case);
                    let bias = rand_vec(n, 7);
                    let (beta, bias, relu) = match case % 3 {
                        0 => (0.0, None, false),
                        1 => (1.0, Some(bias.as_slice()), false),
                        _ => (-0.5, Some(bias.as_slice()), true),
                    };
                    check(
                        isa,
                        MatRef::new(&a, m, k).unwrap(),
                        &w,
                        n,
                        beta,
                        bias,
                        relu,
                        "sweep",
                    );
                    case += 1;
                }
            }
        }
        // Strided and transposed A.
        let (m, k, n) = (17, 257, 33);
        let w = rand_vec(n * k, 3);
        let a = randn_vec(m * (k + 5), 4);
        check(
            isa,
            MatRef::with_strides(&a, m, k, k + 5, 1).unwrap(),
            &w,
            n,
            0.0,
            None,
            false,
            "strided",
        );
        let at = randn_vec(k * m, 5);
        check(
            isa,
            MatRef::new(&at, k, m).unwrap().t(),
            &w,
            n,
            1.0,
            None,
            false,
            "transposed",
        );
    }
}

#[test]
fn exact_on_bf16_representable_integers_and_bit_identical_across_threads() {
    // Small integers are exact in bf16 and their sums exact in f32: every kernel gives the
    // exact product.
    let (m, k, n) = (70, 200, 150);
    let a: Vec<f32> = (0..m * k).map(|x| ((x * 7) % 9) as f32 - 4.0).collect();
    let w: Vec<f32> = (0..n * k).map(|x| ((x * 5) % 7) as f32 - 3.0).collect();
    for isa in host_kernels("bf16 exact") {
        let q = Bf16Matrix::from_weight_for(MatRef::new(&w, n, k).unwrap(), isa).unwrap();
        let mut first: Option<Vec<f32>> = None;
        for threads in [1, 2, 3] {
            let mut c = vec![0f32; m * n];
            with_threads(threads, || {
                gemm_bf16(
                    MatRef::new(&a, m, k).unwrap(),
                    &q,
                    MatMut::new(&mut c, m, n).unwrap(),
                    &Default::default(),
                )
            })
            .unwrap()
            .unwrap();
            for i in 0..m {
                for j in 0..n {
                    let y: f32 = (0..k).map(|p| a[i * k + p] * w[j * k + p]).sum();
                    assert_eq!(c[i * n + j], y, "{isa} ({i},{j})");
                }
            }
            // Random data: bit-identical for every thread count.
            let ar = randn_vec(m * k, 9);
            let mut cr = vec![0f32; m * n];
            with_threads(threads, || {
                gemm_bf16(
                    MatRef::new(&ar, m, k).unwrap(),
                    &q,
                    MatMut::new(&mut cr, m, n).unwrap(),
                    &Default::default(),
                )
            })
            .unwrap()
            .unwrap();
            match &first {
                None => first = Some(cr),
                Some(f) => assert!(
                    f.iter().zip(&cr).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "{isa} {threads} threads"
                ),
            }
        }
    }
}

#[test]
fn hook_memory_and_bad_input() {
    let (m, k, n) = (9, 64, 50);
    let a = randn_vec(m * k, 1);
    let w = rand_vec(n * k, 2);
    for isa in host_kernels("bf16 misc") {
        let q = Bf16Matrix::from_weight_for(MatRef::new(&w, n, k).unwrap(), isa).unwrap();
        if isa == Bf16Isa::Avx512Bf16 {
            assert!(
                q.memory_bytes() <= 2 * 96 * k,
                "bf16 panels: 2 bytes per value (+ padding)"
            );
        }
        let (mut c1, mut c2) = (vec![0f32; m * n], vec![0f32; m * n]);
        let hook = |r: &mut [f32]| r.iter_mut().for_each(|x| *x = -*x);
        gemm_bf16(
            MatRef::new(&a, m, k).unwrap(),
            &q,
            MatMut::new(&mut c1, m, n).unwrap(),
            &Default::default(),
        )
        .unwrap();
        let opts = Bf16Options {
            hook: Some(&hook),
            ..Default::default()
        };
        gemm_bf16(
            MatRef::new(&a, m, k).unwrap(),
            &q,
            MatMut::new(&mut c2, m, n).unwrap(),
            &opts,
        )
        .unwrap();
        assert!(c1.iter().zip(&c2).all(|(x, y)| *x == -*y));
        let r = gemm_bf16(
            MatRef::new(&a[..m * 63], m, 63).unwrap(),
            &q,
            MatMut::new(&mut c1, m, n).unwrap(),
            &Default::default(),
        );
        assert!(matches!(r, Err(Error::ShapeMismatch { .. })));
        let short = vec![0f32; n - 1];
        let opts = Bf16Options {
            bias: Some(&short),
            ..Default::default()
        };
        let r = gemm_bf16(
            MatRef::new(&a, m, k).unwrap(),
            &q,
            MatMut::new(&mut c1, m, n).unwrap(),
            &opts,
        );
        assert!(matches!(r, Err(Error::ShapeMismatch { .. })));
        // K = 0: C ← β·C + bias.
        let q0 = Bf16Matrix::from_weight_for(MatRef::new(&[], 2, 0).unwrap(), isa).unwrap();
        let mut c = [1.0f32, 2.0];
        let bias = [0.5, 0.25];
        let opts = Bf16Options {
            beta: 2.0,
            bias: Some(&bias),
            ..Default::default()
        };
        gemm_bf16(
            MatRef::new(&[], 1, 0).unwrap(),
            &q0,
            MatMut::new(&mut c, 1, 2).unwrap(),
            &opts,
        )
        .unwrap();
        assert_eq!(c, [2.5, 4.25]);
    }
}

/// bf16 vs f32 vs int8 speed (`cargo test --profile bench -p qkv-core --test gemm_bf16 --
/// --ignored --nocapture`), multiply-adds per second, best of interleaved runs.
#[test]
#[ignore]
fn speed_table_bf16() {
    use qkv_core::perf::interleaved;
    use qkv_core::{gemm_packed, GemmOptions, PackedMatrix};
    for threads in [1, 2] {
        eprintln!(
            "threads {threads}: bf16 {}, vdpbf16ps peak {:.0} G MAC/s, FMA peak {:.0} G MAC/s",
            Bf16Isa::active(),
            bf16_peak_gmacs(threads).unwrap_or(f64::NAN),
            qkv_core::perf::fma_peak_gflops_threads(qkv_core::Isa::active(), threads) / 2.0
        );
        eprintln!("| M×K×N | f32 G MAC/s | bf16 G MAC/s | bf16/f32 |  median (best)");
        for (m, k, n) in [
            (128, 384, 1152),
            (128, 384, 1536),
            (128, 1536, 384),
            (512, 768, 768),
            (512, 768, 3072),
            (2048, 2048, 2048),
        ] {
            let a = randn_vec(m * k, 1);
            let w = rand_vec(n * k, 2);
            let q = Bf16Matrix::from_weight(MatRef::new(&w, n, k).unwrap()).unwrap();
            let p = PackedMatrix::from_weight(MatRef::new(&w, n, k).unwrap()).unwrap();
            let (mut c, mut c2) = (vec![0f32; m * n], vec![0f32; m * n]);
            let reps = if m * n * k > 1 << 30 { 10 } else { 100 };
            let t = with_threads(threads, || {
                let av = MatRef::new(&a, m, k).unwrap();
                let mut f = || {
                    gemm_packed(
                        av,
                        &p,
                        MatMut::new(&mut c, m, n).unwrap(),
                        &GemmOptions::default(),
                    )
                    .unwrap()
                };
                let mut b = || {
                    gemm_bf16(
                        av,
                        &q,
                        MatMut::new(&mut c2, m, n).unwrap(),
                        &Default::default(),
                    )
                    .unwrap()
                };
                interleaved(3, reps, &mut [&mut f, &mut b])
            })
            .unwrap();
            let macs = (m * n * k) as f64;
            let (f, b) = (macs / t[0].median / 1e9, macs / t[1].median / 1e9);
            let (fb, bb) = (macs / t[0].min / 1e9, macs / t[1].min / 1e9);
            eprintln!(
                "| {m}×{k}×{n} | {f:.0} ({fb:.0}) | {b:.0} ({bb:.0}) | {:.2} ({:.2}) |",
                b / f,
                bb / fb
            );
        }
    }
}
