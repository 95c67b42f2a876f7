//! Measured int8 multiply-add peak: chains of the kernels' multiply-add instruction with enough
//! independent accumulators to fill every pipe, like `perf::fma_peak_gflops` for FMA.
//!
//! 16 zmm accumulators cover 2 pipes × latency 5 (Sapphire Rapids) and Zen 4's 2 × 256-bit
//! halves; on ymm, 12 accumulators (of 16 registers) cover 2 ports × latency 5.

use super::isa::Int8Isa;
use std::time::Instant;

/// Dependent steps per accumulator in one timed run.
const ITERS: usize = 200_000;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::ITERS;
    use std::arch::x86_64::*;

    /// `16 · ITERS` zmm `vpdpbusd` (64 multiply-adds each); returns a value to keep.
    ///
    /// # Safety
    /// The CPU has AVX-512F and AVX-512 VNNI.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
    pub(super) unsafe fn vnni512(seed: i32) -> i32 {
        let a = _mm512_set1_epi32(seed | 0x0101_0101);
        let b = _mm512_set1_epi32(0x0102_0301);
        let mut acc = [_mm512_set1_epi32(seed); 16];
        for _ in 0..ITERS {
            for x in acc.iter_mut() {
                *x = _mm512_dpbusd_epi32(*x, a, b);
            }
        }
        let s = acc
            .iter()
            .fold(_mm512_setzero_si512(), |s, &x| _mm512_add_epi32(s, x));
        _mm512_reduce_add_epi32(s)
    }

    /// Sums 8 i32 lanes.
    #[inline(always)]
    fn hsum(v: __m256i) -> i32 {
        let mut l = [0i32; 8];
        // SAFETY: `l` holds 8 i32.
        unsafe { _mm256_storeu_si256(l.as_mut_ptr().cast(), v) };
        l.iter().fold(0i32, |s, &x| s.wrapping_add(x))
    }

    /// `12 · ITERS` VEX ymm `vpdpbusd` (32 multiply-adds each).
    ///
    /// # Safety
    /// The CPU has AVX-VNNI.
    #[target_feature(enable = "avxvnni,avx2")]
    pub(super) unsafe fn avxvnni(seed: i32) -> i32 {
        let a = _mm256_set1_epi32(seed | 0x0101_0101);
        let b = _mm256_set1_epi32(0x0102_0301);
        let mut acc = [_mm256_set1_epi32(seed); 12];
        for _ in 0..ITERS {
            for x in acc.iter_mut() {
                *x = _mm256_dpbusd_avx_epi32(*x, a, b);
            }
        }
        hsum(
            acc.iter()
                .fold(_mm256_setzero_si256(), |s, &x| _mm256_add_epi32(s, x)),
        )
    }

    /// `12 · ITERS` `vpmaddwd` + `vpaddd` pairs (16 multiply-adds each).
    ///
    /// # Safety
    /// The CPU has AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn avx2(seed: i32) -> i32 {
        let a = _mm256_set1_epi32(seed | 0x0001_0001);
        let b = _mm256_set1_epi32(0x0002_0003);
        let mut acc = [_mm256_set1_epi32(seed); 12];
        for _ in 0..ITERS {
            for x in acc.iter_mut() {
                let t: __m256i;
                // SAFETY: a register-only `vpmaddwd` (AVX2, enabled on this function). Written
                // as asm so that LLVM cannot hoist the loop-invariant product out of the loop.
                unsafe {
                    std::arch::asm!(
                        "vpmaddwd {t}, {a}, {b}",
                        t = out(ymm_reg) t,
                        a = in(ymm_reg) a,
                        b = in(ymm_reg) b,
                        options(nomem, nostack, preserves_flags)
                    )
                };
                *x = _mm256_add_epi32(*x, t);
            }
        }
        hsum(
            acc.iter()
                .fold(_mm256_setzero_si256(), |s, &x| _mm256_add_epi32(s, x)),
        )
    }
}

/// Independent accumulator chains of the int8 probe of `isa` (0 for the scalar kernel, which
/// has no probe): 16 zmm, 12 ymm (of 16 registers, leaving room for the two operands).
pub fn int8_probe_chains(isa: Int8Isa) -> usize {
    match isa {
        Int8Isa::Avx512Vnni => 16,
        Int8Isa::AvxVnni | Int8Isa::Avx2 => 12,
        Int8Isa::Scalar => 0,
    }
}

/// Measured int8 multiply-add peak of one core for `isa`, in G multiply-adds per second (one
/// u8·i8 product added to an i32), best of 5 runs. `None` for the scalar kernel (no single
/// instruction to time) and for kernels this CPU cannot run.
pub fn int8_peak_gmacs(isa: Int8Isa) -> Option<f64> {
    if !isa.is_available() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let (run, macs): (unsafe fn(i32) -> i32, usize) = match isa {
            Int8Isa::Avx512Vnni => (x86::vnni512, 16 * 64),
            Int8Isa::AvxVnni => (x86::avxvnni, 12 * 32),
            Int8Isa::Avx2 => (x86::avx2, 12 * 16),
            Int8Isa::Scalar => return None,
        };
        let mut best = f64::INFINITY;
        let mut sink = 0i32;
        for seed in 0..5 {
            let t = Instant::now();
            // SAFETY: `isa` is available (checked above), which is each probe's requirement.
            sink = sink.wrapping_add(unsafe { run(std::hint::black_box(seed)) });
            best = best.min(t.elapsed().as_secs_f64());
        }
        std::hint::black_box(sink);
        Some((ITERS * macs) as f64 / best / 1e9)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = Instant::now;
        None
    }
}

/// Measured peak of `threads` cores running the probe at once (sum), in G multiply-adds/s.
pub fn int8_peak_gmacs_threads(isa: Int8Isa, threads: usize) -> Option<f64> {
    if threads <= 1 {
        return int8_peak_gmacs(isa);
    }
    std::thread::scope(|sc| {
        let hs: Vec<_> = (0..threads)
            .map(|_| sc.spawn(move || int8_peak_gmacs(isa)))
            .collect();
        hs.into_iter()
            .map(|h| h.join().ok().flatten())
            .sum::<Option<f64>>()
    })
}
