//! The 8×8 transpose of f32 in AVX registers, shared by the kernels that move a block from
//! rows into columns: the GEMM's transposing pack (`gemm/pack_x86.rs`) and the attention
//! microkernels' Q̃ᵀ pack (`ops/attention/pack.rs`).
//!
//! Two unpacks, a shuffle and a lane permute per row pair: 24 shuffles for 64 values (the
//! transpose of Intel's optimization manual), all in registers.

use std::arch::x86_64::*;

/// Transposes 8 vectors of 8: lane `j` of output `i` is lane `i` of input `j`.
///
/// `#[inline(always)]` so that it compiles inside the caller's `#[target_feature]` shim with
/// its features (a call that is not inlined would run its intrinsics without them).
///
/// # Safety
/// The CPU must have AVX (the callers hold an AVX2 or AVX-512 token, or run inside a shim that
/// enables AVX2).
#[inline(always)]
pub(crate) unsafe fn transpose8x8(r: [__m256; 8]) -> [__m256; 8] {
    // SAFETY: register-only AVX shuffles; the CPU has AVX (caller's contract).
    unsafe {
        let [a0, a1, a2, a3, a4, a5, a6, a7] = r;
        let (t0, t1) = (_mm256_unpacklo_ps(a0, a1), _mm256_unpackhi_ps(a0, a1));
        let (t2, t3) = (_mm256_unpacklo_ps(a2, a3), _mm256_unpackhi_ps(a2, a3));
        let (t4, t5) = (_mm256_unpacklo_ps(a4, a5), _mm256_unpackhi_ps(a4, a5));
        let (t6, t7) = (_mm256_unpacklo_ps(a6, a7), _mm256_unpackhi_ps(a6, a7));
        let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(s0, s4),
            _mm256_permute2f128_ps::<0x20>(s1, s5),
            _mm256_permute2f128_ps::<0x20>(s2, s6),
            _mm256_permute2f128_ps::<0x20>(s3, s7),
            _mm256_permute2f128_ps::<0x31>(s0, s4),
            _mm256_permute2f128_ps::<0x31>(s1, s5),
            _mm256_permute2f128_ps::<0x31>(s2, s6),
            _mm256_permute2f128_ps::<0x31>(s3, s7),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_an_8x8_block() {
        if !is_x86_feature_detected!("avx") {
            eprintln!("transpose8x8: skipped (no AVX)");
            return;
        }
        let m: Vec<f32> = (0..64).map(|x| x as f32).collect();
        let mut out = [0.0f32; 64];
        // SAFETY: AVX detected above; every load and store is 8 values inside `m` / `out`.
        unsafe {
            let mut r = [_mm256_setzero_ps(); 8];
            for (i, v) in r.iter_mut().enumerate() {
                *v = _mm256_loadu_ps(m.as_ptr().add(8 * i));
            }
            for (i, v) in transpose8x8(r).into_iter().enumerate() {
                _mm256_storeu_ps(out.as_mut_ptr().add(8 * i), v);
            }
        }
        for i in 0..8 {
            for j in 0..8 {
                assert_eq!(out[8 * i + j], m[8 * j + i], "({i}, {j})");
            }
        }
    }
}
