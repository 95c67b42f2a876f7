//! Transposing pack for x86 (AVX2, also run under AVX-512): the panel direction of the source
//! is strided and K is contiguous, the case of a row-major A (`[M, K]`) and of a column-major
//! B (a PyTorch weight `[N, K]` seen through `MatRef::t`).
//!
//! The scalar gather reads one value per source line and k step (one load and one store per
//! element); here 8 lines × 8 k steps are loaded as 8 vectors, transposed in registers
//! (`simd::transpose`: 24 shuffles for 64 values) and written as 8 vectors, one per k
//! step. Lines past the panel's width read as zeros, so the padding comes out of the same
//! stores.

use crate::simd::transpose::transpose8x8;
use std::arch::x86_64::*;

/// One panel: `dst[p·lanes + x] = src[x·sx + p]` for `x < width`, `p < kc`, and 0 for
/// `width ≤ x < lanes`.
///
/// # Safety
/// The CPU has AVX2. `src` must be readable at `x·sx + p` for every `x < width`, `p < kc`;
/// `dst` writable for `kc·lanes` values; `width ≤ lanes`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn pack_panel_t(
    src: *const f32,
    sx: usize,
    width: usize,
    kc: usize,
    lanes: usize,
    dst: *mut f32,
) {
    let groups = lanes.div_ceil(8);
    let k8 = kc - kc % 8;
    for g in 0..groups {
        let x0 = g * 8;
        // Rows of this group inside the source (the rest are zero padding).
        let rows = width.saturating_sub(x0).min(8);
        // Lanes of this group inside the panel (8, or fewer for the last group of MR = 6).
        let span = (lanes - x0).min(8);
        let mask = store_mask(span);
        let mut p = 0;
        while p < k8 {
            let mut r = [_mm256_setzero_ps(); 8];
            for (i, v) in r.iter_mut().enumerate().take(rows) {
                // SAFETY: x0 + i < width and p + 8 ≤ kc: inside the source (caller's contract).
                *v = unsafe { _mm256_loadu_ps(src.add((x0 + i) * sx + p)) };
            }
            // SAFETY: AVX2 is enabled in this function (caller's contract: the CPU has it).
            let t = unsafe { transpose8x8(r) };
            for (i, v) in t.into_iter().enumerate() {
                // SAFETY: (p + i)·lanes + x0 + span ≤ kc·lanes: inside the panel.
                unsafe {
                    let d = dst.add((p + i) * lanes + x0);
                    if span == 8 {
                        _mm256_storeu_ps(d, v);
                    } else {
                        _mm256_maskstore_ps(d, mask, v);
                    }
                }
            }
            p += 8;
        }
        // The last kc % 8 steps, one value at a time.
        for p in k8..kc {
            for x in 0..span {
                let v = if x < rows {
                    // SAFETY: x0 + x < width, p < kc: inside the source.
                    unsafe { *src.add((x0 + x) * sx + p) }
                } else {
                    0.0
                };
                // SAFETY: p·lanes + x0 + x < kc·lanes: inside the panel.
                unsafe { *dst.add(p * lanes + x0 + x) = v };
            }
        }
    }
}

/// A mask selecting the first `n` (≤ 8) lanes for `_mm256_maskstore_ps`.
#[inline(always)]
fn store_mask(n: usize) -> __m256i {
    let m: [i32; 8] = std::array::from_fn(|i| if i < n { -1 } else { 0 });
    // SAFETY: `m` holds 8 i32 (unaligned load); AVX is implied by the callers' AVX2.
    unsafe { _mm256_loadu_si256(m.as_ptr().cast()) }
}
