//! int8 GEMM: bit-exact against the integer reference on every int8 kernel the host has, with
//! tile-breaking sizes, strides, extreme values, thread counts and the write-out hook
//! (`gemm_int8_bounds.rs`: the error bound, bad input, degenerate sizes, saved weights).

// Every kernel the host runs (`QKV_REQUIRE_INT8_ISAS` names those that may not be skipped).
use qkv_core::quant::reference::gemm_int8_ref;
use qkv_core::quant::{int8_tile, MAX_K};
use qkv_core::{gemm_int8, with_threads, Int8Isa, Int8Options, MatMut, MatRef, QuantizedMatrix};
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
