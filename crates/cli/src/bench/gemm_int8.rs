//! `qkv bench gemm --int8`: the int8 GEMM (per-token activation quantization included, as a
//! layer runs it) beside qkv's f32 GEMM on the same pre-packed weight, on the encoder shapes
//! ([`qkv_testkit::shapes::GEMM`]), with the measured `vpdpbusd` (or `vpmaddwd`) peak beside
//! the FMA peak. Both products are counted in multiply-adds (M·N·K), so `ratio_vs_f32` compares
//! them directly and `pct_int8_peak` says how close the int8 kernel runs to what the CPU can do.

use super::report::{r3, Row};
use qkv_core::perf::{fma_peak_gflops_threads, interleaved};
use qkv_core::quant::int8_peak_gmacs_threads;
use qkv_core::{
    gemm_int8, gemm_packed, with_threads, GemmOptions, Int8Isa, Int8Options, Isa, MatMut, MatRef,
    PackedMatrix, QuantizedMatrix,
};
use qkv_testkit::rng::rand_vec;
use serde_json::Value;

/// Measures `shapes` (`(M, K, N)`) at `threads`, `reps` timed calls at least.
pub fn measure(
    shapes: &[(usize, usize, usize)],
    threads: usize,
    reps: usize,
) -> anyhow::Result<Vec<Row>> {
    let (isa, fma_isa) = (Int8Isa::active(), Isa::active());
    // The machine may be shared: both peaks are probed before and after, the higher kept.
    let int8_before = int8_peak_gmacs_threads(isa, threads).unwrap_or(f64::NAN);
    let fma_before = fma_peak_gflops_threads(fma_isa, threads) / 2.0;
    let mut measured = Vec::new();
    for (i, &(m, k, n)) in shapes.iter().enumerate() {
        let a = rand_vec(m * k, 2 * i as u64);
        let w = rand_vec(n * k, 2 * i as u64 + 1); // PyTorch Linear weight [N, K]
        let wv = MatRef::new(&w, n, k)?;
        let (q, p) = (
            QuantizedMatrix::from_weight(wv)?,
            PackedMatrix::from_weight(wv)?,
        );
        let (mut c1, mut c2) = (vec![0.0f32; m * n], vec![0.0f32; m * n]);
        let reps = if m * n * k > 1 << 30 {
            reps.max(5)
        } else {
            reps.max(5) * 3
        };
        let t = with_threads(threads, || {
            let mut int8 = || {
                let (av, cv) = (MatRef::new(&a, m, k), MatMut::new(&mut c1, m, n));
                gemm_int8(
                    av.expect("shape"),
                    &q,
                    cv.expect("shape"),
                    &Int8Options::default(),
                )
                .expect("gemm_int8")
            };
            let mut f32 = || {
                let (av, cv) = (MatRef::new(&a, m, k), MatMut::new(&mut c2, m, n));
                gemm_packed(
                    av.expect("shape"),
                    &p,
                    cv.expect("shape"),
                    &GemmOptions::default(),
                )
                .expect("gemm")
            };
            interleaved(2, reps, &mut [&mut int8, &mut f32])
        })?;
        let macs = (m * n * k) as f64;
        measured.push((m, k, n, macs / t[0].median / 1e9, macs / t[1].median / 1e9));
    }
    let int8_peak =
        int8_peak_gmacs_threads(isa, threads).map_or(int8_before, |p| p.max(int8_before));
    let fma_peak = (fma_peak_gflops_threads(fma_isa, threads) / 2.0).max(fma_before);
    Ok(measured
        .into_iter()
        .map(|(m, k, n, g8, g32)| {
            Row(vec![
                ("m", Value::from(m)),
                ("k", Value::from(k)),
                ("n", Value::from(n)),
                ("threads", Value::from(threads)),
                ("int8_isa", Value::from(isa.name())),
                ("int8_gmacs", r3(g8)),
                ("f32_gmacs", r3(g32)),
                ("ratio_vs_f32", r3(g8 / g32)),
                ("int8_peak_gmacs", r3(int8_peak)),
                ("fma_peak_gmacs", r3(fma_peak)),
                ("pct_int8_peak", r3(100.0 * g8 / int8_peak)),
            ])
        })
        .collect())
}
