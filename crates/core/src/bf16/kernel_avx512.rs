//! AVX-512 BF16: the `vdpbf16ps` microkernel, the SIMD f32 → bf16 row converter and the peak
//! probe.
//!
//! `vdpbf16ps acc, a, b` adds `a[2i]·b[2i] + a[2i+1]·b[2i+1]` to f32 lane i: 32 multiply-adds
//! per zmm instruction, twice the f32 FMA's 16, at the same issue rate on Zen 4 (measured:
//! `bf16_peak_gmacs`). The products of two bf16 are exact in f32; the instruction treats bf16
//! denormal inputs as zero and flushes denormal results.
//!
//! Register tile 8 × 48 as for the int8 and f32 kernels: 24 accumulators + 3 B + 1 broadcast =
//! 28 zmm, ≥ 2 pipes × latency 6 independent chains. Ã is read row-major (8 row streams, one
//! 4-byte broadcast of a k pair each): no packing scatter, and the hardware prefetcher follows 8
//! sequential streams.

use std::arch::x86_64::*;
use std::mem::transmute;

/// Rows of the register tile.
pub(crate) const MR: usize = 8;
/// Columns of the register tile.
pub(crate) const NR: usize = 48;
/// zmm vectors per tile row.
const NV: usize = 3;
/// Prefetch distance for B̃, in k pairs.
const PF_B: usize = 8;

/// Per-call constants of the write-out.
pub(crate) struct Tile {
    /// k pairs (`⌈K/2⌉`).
    pub pairs: usize,
    /// Ã: row-major bf16, `lda` elements per row, rows padded to whole MR panels.
    pub a: *const u16,
    pub lda: usize,
    /// C's first element and row stride.
    pub c: *mut f32,
    pub rsc: usize,
    /// Scale of the existing C (0: C is not read).
    pub beta: f32,
    /// Bias per column (length N) or null.
    pub bias: *const f32,
    /// `max(0, x)` after the bias.
    pub relu: bool,
}

// SAFETY: the pointers address buffers that outlive the parallel region of one product (it
// joins before the driver returns); tasks only read through them, except C, where each task
// writes its own disjoint tiles.
unsafe impl Send for Tile {}
// SAFETY: as above.
unsafe impl Sync for Tile {}

/// One tile: rows `i..i+mr` (of MR computed), columns `j..j+nr` from the B̃ panel `b`.
///
/// # Safety
/// The CPU has AVX-512F and AVX-512 BF16; Ã holds rows `i..i+MR` of `lda ≥ 2·pairs` elements,
/// `b` holds `pairs·NR·2` bf16; rows `i..i+mr`, columns `j..j+nr` lie inside C (nr ≤ NR) and
/// the bias (when set) has `j + nr` values.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")]
pub(crate) unsafe fn tile(t: &Tile, b: *const u16, i: usize, j: usize, mr: usize, nr: usize) {
    let mut acc = [[_mm512_setzero_ps(); NV]; MR];
    // SAFETY: row i of Ã exists (caller).
    let a0 = unsafe { t.a.add(i * t.lda) };
    let mut b = b;
    for g in 0..t.pairs {
        // SAFETY: B̃ holds pairs·NR·2 bf16; this step reads NR·2 of them. The casts between
        // __m512i and __m512bh reinterpret 64 bytes.
        let bv: [__m512bh; NV] = unsafe {
            [
                transmute::<__m512i, __m512bh>(_mm512_loadu_si512(b.cast())),
                transmute::<__m512i, __m512bh>(_mm512_loadu_si512(b.add(32).cast())),
                transmute::<__m512i, __m512bh>(_mm512_loadu_si512(b.add(64).cast())),
            ]
        };
        _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add(PF_B * NR * 2).cast());
        _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add(PF_B * NR * 2 + 32).cast());
        _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add(PF_B * NR * 2 + 64).cast());
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: row i + r < i + MR of Ã holds 2·pairs elements; this reads pair g.
            let x = unsafe { a0.add(r * t.lda + 2 * g).cast::<i32>().read_unaligned() };
            // SAFETY: reinterprets 64 bytes.
            let av = unsafe { transmute::<__m512i, __m512bh>(_mm512_set1_epi32(x)) };
            for v in 0..NV {
                row[v] = _mm512_dpbf16_ps(row[v], av, bv[v]);
            }
        }
        // SAFETY: advancing within (or one past) the packed panel.
        b = unsafe { b.add(NR * 2) };
    }
    // Write-out: β·C (mul, add: unfused), bias, ReLU; masked at the right edge.
    let (zero, vbeta) = (_mm512_setzero_ps(), _mm512_set1_ps(t.beta));
    for (r, row) in acc.iter().enumerate().take(mr) {
        for (v, &x) in row.iter().enumerate() {
            let col = 16 * v;
            if col >= nr {
                break;
            }
            let n = (nr - col).min(16);
            let mask: __mmask16 = if n == 16 { 0xffff } else { (1u16 << n) - 1 };
            // SAFETY: columns col..col+n ≤ nr of row i + r lie inside C and the bias (caller);
            // only masked lanes are touched; C is read only when β ≠ 0.
            unsafe {
                let cp = t.c.add((i + r) * t.rsc + j + col);
                let mut y = x;
                if t.beta != 0.0 {
                    y = _mm512_add_ps(_mm512_mul_ps(vbeta, _mm512_maskz_loadu_ps(mask, cp)), y);
                }
                if !t.bias.is_null() {
                    y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(mask, t.bias.add(j + col)));
                }
                if t.relu {
                    y = _mm512_max_ps(zero, y);
                }
                _mm512_mask_storeu_ps(cp, mask, y);
            }
        }
    }
}

/// f32 → bf16 for a row, the bit arithmetic of [`super::convert::to_bf16`] in SIMD (so the
/// bytes are identical, NaN included).
///
/// # Safety
/// The CPU has AVX-512F and AVX-512BW; `out.len() == x.len()`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
pub(crate) unsafe fn convert_row(x: &[f32], out: &mut [u16]) {
    assert_eq!(x.len(), out.len());
    let (one, bias, quiet) = (
        _mm512_set1_epi32(1),
        _mm512_set1_epi32(0x7fff),
        _mm512_set1_epi32(0x40),
    );
    let mut k = 0;
    while k < x.len() {
        let n = (x.len() - k).min(16);
        let mask: __mmask16 = if n == 16 { 0xffff } else { (1u16 << n) - 1 };
        // SAFETY: lanes k..k+n are inside both slices and only those are touched.
        unsafe {
            let v = _mm512_maskz_loadu_ps(mask, x.as_ptr().add(k));
            let bits = _mm512_castps_si512(v);
            let lsb = _mm512_and_si512(_mm512_srli_epi32::<16>(bits), one);
            let rounded =
                _mm512_srli_epi32::<16>(_mm512_add_epi32(bits, _mm512_add_epi32(bias, lsb)));
            let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
            let quieted = _mm512_or_si512(_mm512_srli_epi32::<16>(bits), quiet);
            let r = _mm512_mask_blend_epi32(nan, rounded, quieted);
            _mm512_mask_cvtepi32_storeu_epi16(out.as_mut_ptr().add(k).cast(), mask, r);
        }
        k += n;
    }
}

/// `16 · iters` zmm `vdpbf16ps` (32 multiply-adds each) on independent accumulators.
///
/// # Safety
/// The CPU has AVX-512F and AVX-512 BF16.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
pub(crate) unsafe fn peak_loop(iters: usize, seed: f32) -> f32 {
    // SAFETY: reinterprets 64 bytes.
    let (a, b) = unsafe {
        (
            transmute::<__m512i, __m512bh>(_mm512_set1_epi32(0x3f80_3f80)),
            transmute::<__m512i, __m512bh>(_mm512_set1_epi32(0x3380_3380)),
        )
    };
    let mut acc = [_mm512_set1_ps(seed); 16];
    for _ in 0..iters {
        for x in acc.iter_mut() {
            *x = _mm512_dpbf16_ps(*x, a, b);
        }
    }
    _mm512_reduce_add_ps(
        acc.iter()
            .fold(_mm512_setzero_ps(), |s, &x| _mm512_add_ps(s, x)),
    )
}
