//! criterion group `gemm_int8`: the int8 GEMM (activation quantization included) beside qkv's
//! f32 GEMM with packed weights, on the encoder shapes (`qkv_testkit::shapes::GEMM`), at 1 and
//! 2 threads. Throughput is
//! counted in multiply-adds (M·N·K), so the two lines compare directly; the measured int8 and
//! FMA peaks are printed once before the group.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qkv_core::quant::int8_peak_gmacs_threads;
use qkv_core::{
    gemm_int8, gemm_packed, GemmOptions, Int8Isa, Int8Options, Isa, MatMut, MatRef, PackedMatrix,
    QuantizedMatrix,
};
use qkv_testkit::rng::rand_vec;
use qkv_testkit::shapes;

fn bench_gemm_int8(c: &mut Criterion) {
    let isa = Int8Isa::active();
    for threads in [1, 2] {
        eprintln!(
            "gemm_int8: {isa}, {threads} thread(s): int8 peak {:.0} G MAC/s, FMA peak {:.0} G MAC/s",
            int8_peak_gmacs_threads(isa, threads).unwrap_or(f64::NAN),
            qkv_core::perf::fma_peak_gflops_threads(Isa::active(), threads) / 2.0
        );
    }
    let mut g = c.benchmark_group("gemm_int8");
    g.sample_size(10);
    for (m, k, n) in shapes::GEMM {
        let a = rand_vec(m * k, 1);
        let w = rand_vec(n * k, 2); // [N, K] weight
        let mut out = vec![0.0f32; m * n];
        let q = QuantizedMatrix::from_weight(MatRef::new(&w, n, k).unwrap()).unwrap();
        let p = PackedMatrix::from_weight(MatRef::new(&w, n, k).unwrap()).unwrap();
        g.throughput(Throughput::Elements((m * n * k) as u64));
        for threads in [1, 2] {
            let id = format!("{m}x{k}x{n}/t{threads}");
            // The pool is built once; the timed loop runs inside it.
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            g.bench_function(BenchmarkId::new("int8", &id), |bch| {
                pool.install(|| {
                    bch.iter(|| {
                        let cv = MatMut::new(&mut out, m, n).unwrap();
                        let av = MatRef::new(&a, m, k).unwrap();
                        gemm_int8(av, &q, cv, &Int8Options::default()).unwrap()
                    })
                })
            });
            g.bench_function(BenchmarkId::new("f32_packed", &id), |bch| {
                pool.install(|| {
                    bch.iter(|| {
                        let cv = MatMut::new(&mut out, m, n).unwrap();
                        let av = MatRef::new(&a, m, k).unwrap();
                        gemm_packed(av, &p, cv, &GemmOptions::default()).unwrap()
                    })
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_gemm_int8);
criterion_main!(benches);
