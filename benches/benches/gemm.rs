//! criterion groups `gemm`: qkv (packed weights and per-call packing), matrixmultiply and the
//! naive triple loop, on the shapes of real encoders (`qkv_testkit::shapes`); and
//! `gemm_general`: qkv's general GEMM (B a plain view packed per call, column-major `Wᵀ` and
//! row-major `[K, N]`) beside matrixmultiply given the same view, on the sweep M × K × N of
//! `GEMM_GENERAL_M` × `GEMM_GENERAL_KN`² (filter with e.g. `cargo bench --bench gemm --
//! gemm_general/qkv_col/37x`). Throughput is 2·M·N·K flops. Threads: all cores by default;
//! `RAYON_NUM_THREADS=1 MATMUL_NUM_THREADS=1` for one (each library reads its variable).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qkv_core::reference::gemm_naive;
use qkv_core::{gemm, gemm_packed, GemmOptions, MatMut, MatRef, PackedMatrix};
use qkv_testkit::rng::rand_vec;
use qkv_testkit::shapes;

fn bench_gemm(c: &mut Criterion) {
    let mut g = c.benchmark_group("gemm");
    g.sample_size(10);
    // The seed's small FFN first, then the shapes `qkv bench gemm` measures.
    for (m, k, n) in std::iter::once(shapes::GEMM_SEED).chain(shapes::GEMM) {
        let id = format!("{m}x{k}x{n}");
        let a = rand_vec(m * k, 1);
        let w = rand_vec(n * k, 2); // [N, K] weight
        let mut out = vec![0.0f32; m * n];
        g.throughput(Throughput::Elements(2 * (m * n * k) as u64));
        let packed = PackedMatrix::from_weight(MatRef::new(&w, n, k).unwrap()).unwrap();
        let av = || MatRef::new(&a, m, k).unwrap();
        g.bench_function(BenchmarkId::new("qkv_packed", &id), |bch| {
            bch.iter(|| {
                let cv = MatMut::new(&mut out, m, n).unwrap();
                gemm_packed(av(), &packed, cv, &GemmOptions::default()).unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("qkv", &id), |bch| {
            bch.iter(|| {
                let cv = MatMut::new(&mut out, m, n).unwrap();
                let wv = MatRef::new(&w, n, k).unwrap().t();
                gemm(av(), wv, cv, &GemmOptions::default()).unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("matrixmultiply", &id), |bch| {
            bch.iter(|| {
                // SAFETY: a is m×k, w is n×k read as k×n (rs 1, cs k), out is m×n; sizes match.
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        a.as_ptr(),
                        k as isize,
                        1,
                        w.as_ptr(),
                        1,
                        k as isize,
                        0.0,
                        out.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                }
            })
        });
        if m * n * k <= 128 * 384 * 1536 {
            g.bench_function(BenchmarkId::new("naive", &id), |bch| {
                bch.iter(|| gemm_naive(&av(), &MatRef::new(&w, n, k).unwrap().t(), &mut out))
            });
        }
    }
    g.finish();
}

fn bench_gemm_general(c: &mut Criterion) {
    let mut g = c.benchmark_group("gemm_general");
    g.sample_size(10);
    g.warm_up_time(std::time::Duration::from_millis(300));
    g.measurement_time(std::time::Duration::from_secs(1));
    for &m in &shapes::GEMM_GENERAL_M {
        for &k in &shapes::GEMM_GENERAL_KN {
            for &n in &shapes::GEMM_GENERAL_KN {
                let id = format!("{m}x{k}x{n}");
                let a = rand_vec(m * k, 3);
                let b = rand_vec(k * n, 4);
                let mut out = vec![0.0f32; m * n];
                g.throughput(Throughput::Elements(2 * (m * n * k) as u64));
                // (name, view of b, its row and column strides as matrixmultiply takes them)
                let layouts = [
                    ("col", MatRef::new(&b, n, k).unwrap().t(), 1, k as isize),
                    ("row", MatRef::new(&b, k, n).unwrap(), n as isize, 1),
                ];
                for (name, bv, rsb, csb) in layouts {
                    g.bench_function(BenchmarkId::new(format!("qkv_{name}"), &id), |bch| {
                        bch.iter(|| {
                            let cv = MatMut::new(&mut out, m, n).unwrap();
                            let av = MatRef::new(&a, m, k).unwrap();
                            gemm(av, bv, cv, &GemmOptions::default()).unwrap()
                        })
                    });
                    g.bench_function(BenchmarkId::new(format!("mm_{name}"), &id), |bch| {
                        bch.iter(|| {
                            // SAFETY: a is m×k row-major, b holds k·n values read with the
                            // strides (rsb, csb) of its layout, out is m×n row-major.
                            unsafe {
                                matrixmultiply::sgemm(
                                    m,
                                    k,
                                    n,
                                    1.0,
                                    a.as_ptr(),
                                    k as isize,
                                    1,
                                    b.as_ptr(),
                                    rsb,
                                    csb,
                                    0.0,
                                    out.as_mut_ptr(),
                                    n as isize,
                                    1,
                                )
                            }
                        })
                    });
                }
            }
        }
    }
    g.finish();
}

criterion_group!(benches, bench_gemm, bench_gemm_general);
criterion_main!(benches);
