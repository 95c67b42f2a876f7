//! Measurement helpers shared by `qkv bench` and the docs: medians of repeated runs and the
//! machine's measured FMA peak per ISA.
//!
//! `internals` feature: for qkv's own benches and `qkv bench`, not a stable API.

use crate::isa::{dispatch, Isa};
use crate::simd::{Simd, SimdOp};
use std::time::Instant;

/// Summary of repeated timings, in seconds.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Median of the timed repetitions.
    pub median: f64,
    /// Fastest repetition.
    pub min: f64,
    /// Number of timed repetitions.
    pub reps: usize,
}

/// Median of a list of seconds (empty → NaN).
pub fn median(xs: &mut [f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        0.5 * (xs[n / 2 - 1] + xs[n / 2])
    }
}

/// Times `f` once, in seconds.
pub fn time_once(f: &mut impl FnMut()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

/// Runs several closures *interleaved* (a, b, a, b, …) after `warmup` rounds, so that the
/// machine's noise hits all of them alike; returns one [`Timing`] per closure.
pub fn interleaved(warmup: usize, reps: usize, fs: &mut [&mut dyn FnMut()]) -> Vec<Timing> {
    for _ in 0..warmup {
        for f in fs.iter_mut() {
            f();
        }
    }
    let mut times = vec![Vec::with_capacity(reps); fs.len()];
    for _ in 0..reps {
        for (f, t) in fs.iter_mut().zip(times.iter_mut()) {
            let s = Instant::now();
            f();
            t.push(s.elapsed().as_secs_f64());
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            let min = t.iter().cloned().fold(f64::INFINITY, f64::min);
            Timing {
                median: median(&mut t),
                min,
                reps,
            }
        })
        .collect()
}

/// Independent FMA chains the probe runs for `isa`: enough to cover FMA latency × FMA pipes
/// on every CPU qkv targets, and few enough that chains and constants stay in registers (a
/// spilled accumulator turns the probe into a load/store test and under-reads the peak).
///
/// | ISA | registers | latency × pipes to cover | chains (+ 2 constants) |
/// |---|---|---|---|
/// | AVX-512 | 32 zmm | 4 × 2 (Sapphire Rapids; Zen 4 runs 512 bits as 2 × 256) = 8 | 24 |
/// | AVX2 | 16 ymm | 4 × 2 (Zen 4, Sapphire Rapids, Haswell 5 × 2) = 8–10 | 12 |
/// | portable (`f32x8` = 2 xmm on SSE2, 2 q on NEON) | 16 xmm / 32 q | mul 3–4 + add 3–4 | 6 |
/// | scalar | as portable: see below | | 6 |
///
/// The old probe ran 24 chains everywhere: on AVX2 that spills 10 ymm accumulators per step
/// and read 80–87 GFLOP/s on Zen 4, where the 6×16 AVX2 GEMM kernel itself reaches 100+.
///
/// The scalar kernel is plain Rust that LLVM vectorizes for the baseline target (SSE2, NEON):
/// its 4×4 tile runs on 4-lane registers. A scalar probe would also be rewritten (LLVM
/// interchanges the loops of independent scalar chains into one long dependent chain, which
/// read 1–3 GFLOP/s where the scalar GEMM does 28), so the scalar ISA's peak is the portable
/// probe's: the baseline SIMD the scalar code is compiled to.
pub fn fma_probe_chains(isa: Isa) -> usize {
    match isa {
        Isa::Avx512 => 24,
        Isa::Avx2 => 12,
        Isa::Portable | Isa::Scalar => 6,
    }
}

/// A chain-free FMA loop: `N` independent accumulators, `iters` steps.
struct FmaLoop<const N: usize> {
    iters: usize,
}

impl<const N: usize> SimdOp for FmaLoop<N> {
    type Output = f32;
    #[inline(always)]
    fn run<S: Simd>(self, s: S) -> f32 {
        let mut acc = [s.splat(1.0); N];
        let x = s.splat(0.999_999);
        let y = s.splat(1e-7);
        for _ in 0..self.iters {
            for a in acc.iter_mut() {
                *a = s.mul_add(*a, x, y);
            }
        }
        let mut t = s.zero();
        for a in acc {
            t = s.add(t, a);
        }
        s.reduce_sum(t)
    }
}

/// Lanes of one register of the probe of `isa` (the scalar ISA runs the portable probe).
fn lanes(isa: Isa) -> usize {
    match isa {
        Isa::Avx512 => 16,
        Isa::Avx2 | Isa::Portable | Isa::Scalar => 8,
    }
}

/// Measured FMA peak of one core for `isa`, in GFLOP/s (2 flops per lane per FMA), best of 15
/// runs of [`fma_probe_chains`] independent chains.
pub fn fma_peak_gflops(isa: Isa) -> f64 {
    let isa = if isa == Isa::Scalar {
        Isa::Portable
    } else {
        isa
    };
    let lanes = lanes(isa);
    let chains = fma_probe_chains(isa);
    // 10^8 flops a run whatever the width and chain count (about 1 ms at the peak), best of
    // 15: on a shared machine a run shorter than the scheduler's time slice is likely to run
    // uninterrupted at least once.
    let iters = 50_000_000 / (lanes * chains);
    let run = |seed: f32| -> f32 {
        let iters = std::hint::black_box(iters);
        let r = match chains {
            24 => dispatch(isa, FmaLoop::<24> { iters }),
            12 => dispatch(isa, FmaLoop::<12> { iters }),
            _ => dispatch(isa, FmaLoop::<6> { iters }),
        };
        r + seed
    };
    let mut best = f64::INFINITY;
    let mut sink = 0.0;
    for i in 0..15 {
        let t = Instant::now();
        sink += run(i as f32);
        best = best.min(t.elapsed().as_secs_f64());
    }
    std::hint::black_box(sink);
    (iters * chains * lanes * 2) as f64 / best / 1e9
}

/// Measured FMA peak of `threads` cores running at once, in GFLOP/s.
pub fn fma_peak_gflops_threads(isa: Isa, threads: usize) -> f64 {
    if threads <= 1 {
        return fma_peak_gflops(isa);
    }
    std::thread::scope(|sc| {
        let hs: Vec<_> = (0..threads)
            .map(|_| sc.spawn(move || fma_peak_gflops(isa)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
    })
}
