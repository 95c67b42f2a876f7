//! criterion group `gemm`: qkv (packed weights and per-call packing), matrixmultiply and the
//! naive triple loop, on the shapes of real encoders (`qkv_testkit::shapes`). Throughput is
//! 2·M·N·K flops.

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

criterion_group!(benches, bench_gemm);
criterion_main!(benches);
