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

/// A chain-free FMA loop: 24 independent accumulators, `iters` steps.
struct FmaLoop {
    iters: usize,
}

impl SimdOp for FmaLoop {
    type Output = f32;
    #[inline(always)]
    fn run<S: Simd>(self, s: S) -> f32 {
        let mut acc = [s.splat(1.0); 24];
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

/// Measured FMA peak of one core for `isa`, in GFLOP/s (2 flops per lane per FMA).
pub fn fma_peak_gflops(isa: Isa) -> f64 {
    let lanes = match isa {
        Isa::Avx512 => 16,
        Isa::Avx2 | Isa::Portable => 8,
        Isa::Scalar => 1,
    };
    let iters = 2_000_000 / lanes.max(1) * 4;
    let mut best = f64::INFINITY;
    let mut sink = 0.0;
    for _ in 0..5 {
        let t = Instant::now();
        sink += dispatch(isa, FmaLoop { iters });
        best = best.min(t.elapsed().as_secs_f64());
    }
    std::hint::black_box(sink);
    (iters * 24 * lanes * 2) as f64 / best / 1e9
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
