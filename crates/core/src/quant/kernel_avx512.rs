//! AVX-512 VNNI: the `vpdpbusd` zmm microkernel and the AVX-512 row quantizer.
//!
//! `vpdpbusd acc, a, b` multiplies 64 u8 of `a` by 64 i8 of `b` and adds each group of four
//! products to one of 16 i32 lanes: one instruction does 64 multiply-adds, without saturation
//! (four products of at most 255·128 sum to < 2³¹).
//!
//! Register tile 8 × 48 (MR × NV·16, NV = 3): 24 accumulators + 3 B vectors + 1 broadcast =
//! 28 of 32 zmm. Why: Zen 4 executes a zmm `vpdpbusd` as two 256-bit halves on its two
//! vector-integer pipes (1 zmm/cycle, latency 4) and Sapphire Rapids issues one zmm per cycle on
//! each of ports 0 and 5 (latency 5), so keeping both pipes busy needs ≥ 2 × 5 = 10
//! independent accumulators; 24 leave headroom. Each k group (4 values of k) loads 3 B vectors
//! and 8 four-byte broadcasts for 24 `vpdpbusd`: 11 loads per 24 (Zen 4) or 12 (SPR) cycles, within
//! the 2–3 loads per cycle both cores sustain. MR = 8 divides the token counts transformers see
//! (128, 512) and NR = 48 divides d_model 384/768 and d_ff 1536/3072, as in the f32 kernel.

use super::tile::Tile;
use std::arch::x86_64::*;

/// Rows of the register tile.
pub(crate) const MR: usize = 8;
/// Columns of the register tile.
pub(crate) const NR: usize = 48;
/// zmm vectors per tile row.
const NV: usize = 3;
/// Prefetch distance for B̃, in k groups (8 × 192 B ahead).
const PF_B: usize = 8;

/// The VNNI zmm tile (see [`super::tile::TileFn`]).
///
/// # Safety
/// As for [`super::tile::TileFn`] with `MR = 8`, `NR = 48`, u8 A and i8 B panels in groups
/// of four k values; the CPU has the features enabled below (checked by
/// [`super::isa::Int8Isa::is_available`]).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(crate) unsafe fn tile(
    t: &Tile,
    a: *const u8,
    b: *const u8,
    i: usize,
    j: usize,
    mr: usize,
    nr: usize,
) {
    let mut acc = [[_mm512_setzero_si512(); NV]; MR];
    let (mut a, mut b) = (a, b);
    // The k loop: one group of 4 k values per step, MR·NV independent `vpdpbusd`.
    for _ in 0..t.groups {
        let mut bv = [_mm512_setzero_si512(); NV];
        for (v, x) in bv.iter_mut().enumerate() {
            // SAFETY: B̃ holds groups·NR·4 bytes; this step reads NR·4 of them.
            *x = unsafe { _mm512_loadu_si512(b.add(64 * v).cast()) };
        }
        _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add(PF_B * NR * 4).cast());
        _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add(PF_B * NR * 4 + 64).cast());
        _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add(PF_B * NR * 4 + 128).cast());
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: Ã holds groups·MR·4 bytes; this step reads MR·4 of them.
            let x = unsafe { a.add(4 * r).cast::<i32>().read_unaligned() };
            let av = _mm512_set1_epi32(x);
            for v in 0..NV {
                row[v] = _mm512_dpbusd_epi32(row[v], av, bv[v]);
            }
        }
        // SAFETY: advancing within (or one past) the packed panels.
        unsafe {
            a = a.add(MR * 4);
            b = b.add(NR * 4);
        }
    }

    // Write-out (the arithmetic of `tile::dequant_one`, unfused), masked at the right edge.
    // Every accumulator is named by a constant index, so they all stay in registers. A loop
    // over `acc` that LLVM did not unroll spilled them to a zeroed stack array (a memset and
    // 24 stores per tile): four encoder shapes ran at 66–75 % of the peak, now 82–89 %.
    macro_rules! rows {
        ($($r:literal)*) => {$(
            if $r < mr {
                // SAFETY: row i + r < i + mr lies inside C and the padded row arrays; the
                // columns as in `write_vec`.
                unsafe {
                    let w = RowOut::new(t, i + $r, j);
                    w.vec(t, acc[$r][0], j, 0, nr);
                    w.vec(t, acc[$r][1], j, 16, nr);
                    w.vec(t, acc[$r][2], j, 32, nr);
                }
            }
        )*};
    }
    const _: () = assert!(MR == 8 && NV == 3, "rows! names 8 rows of 3 vectors");
    rows!(0 1 2 3 4 5 6 7);
}

/// One row of the tile's write-out: C's row pointer, the row's zero point and scale.
struct RowOut {
    crow: *mut f32,
    zpv: __m512i,
    sav: __m512,
}

impl RowOut {
    /// # Safety
    /// Row `row` lies inside C and the padded row arrays of `t`; the CPU has AVX-512F.
    #[inline(always)]
    unsafe fn new(t: &Tile, row: usize, j: usize) -> RowOut {
        // SAFETY: as the caller promises.
        unsafe {
            RowOut {
                crow: t.c.add(row * t.rsc + j),
                zpv: _mm512_set1_epi32(*t.zp.add(row)),
                sav: _mm512_set1_ps(*t.sa.add(row)),
            }
        }
    }

    /// Dequantizes the 16 sums `x` of columns `j + col ..` and writes the ones left of `nr`.
    ///
    /// # Safety
    /// The column arrays of `t` are padded to whole NR panels; columns `j .. j + nr` of the
    /// row lie inside C; the CPU has AVX-512F.
    #[inline(always)]
    unsafe fn vec(&self, t: &Tile, x: __m512i, j: usize, col: usize, nr: usize) {
        let n = nr.saturating_sub(col).min(16);
        if n == 0 {
            return;
        }
        let mask: __mmask16 = if n == 16 { 0xffff } else { (1u16 << n) - 1 };
        // SAFETY: the column arrays are padded to whole NR panels; C and the bias are touched
        // only through `mask`, i.e. columns col..col+n ≤ nr; C is read only when β ≠ 0.
        unsafe {
            let cs = _mm512_loadu_si512(t.colsum.add(j + col).cast());
            let sw = _mm512_loadu_ps(t.sw.add(j + col));
            let corr = _mm512_sub_epi32(x, _mm512_mullo_epi32(self.zpv, cs));
            let mut y = _mm512_mul_ps(_mm512_cvtepi32_ps(corr), _mm512_mul_ps(self.sav, sw));
            let cp = self.crow.add(col);
            if t.beta != 0.0 {
                let old = _mm512_maskz_loadu_ps(mask, cp);
                y = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(t.beta), old), y);
            }
            if !t.bias.is_null() {
                y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(mask, t.bias.add(j + col)));
            }
            if t.relu {
                // Data second: NaN and −0.0 pass through as in `dequant_one`.
                y = _mm512_max_ps(_mm512_setzero_ps(), y);
            }
            _mm512_mask_storeu_ps(cp, mask, y);
        }
    }
}

/// Lanes of `x[k..k+n]` (times the smoothing factors), with the lanes past `n` zeroed.
///
/// # Safety
/// `x` (and `s`) hold at least `k + n` values, `n ≤ 16`.
#[inline(always)]
unsafe fn load_row(x: &[f32], s: Option<&[f32]>, k: usize, n: usize) -> (__m512, __mmask16) {
    let mask: __mmask16 = if n == 16 { 0xffff } else { (1u16 << n) - 1 };
    // SAFETY: lanes k..k+n are inside the slices (caller) and the mask covers only those.
    unsafe {
        let mut v = _mm512_maskz_loadu_ps(mask, x.as_ptr().add(k));
        if let Some(s) = s {
            v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(mask, s.as_ptr().add(k)));
        }
        (v, mask)
    }
}

/// Row minimum, maximum and finiteness (see [`super::tile::MinMaxFn`]).
///
/// Two independent sets of running values over 32-value steps: with one set, every step
/// waits for the previous `vminps`/`vmaxps` (a latency chain), and this pass ran at about
/// half the speed of the quantizing pass that follows it. Minimum and maximum do not depend
/// on the order, and the finiteness sum is 0 or NaN whatever the order, so the results are
/// those of one set.
///
/// # Safety
/// The CPU has AVX-512F; `inv_smooth`, when given, has `x.len()` values.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(crate) unsafe fn minmax(x: &[f32], inv_smooth: Option<&[f32]>) -> (f32, f32, bool) {
    let (mut lo0, mut lo1) = (_mm512_set1_ps(f32::INFINITY), _mm512_set1_ps(f32::INFINITY));
    let (mut hi0, mut hi1) = (
        _mm512_set1_ps(f32::NEG_INFINITY),
        _mm512_set1_ps(f32::NEG_INFINITY),
    );
    // Σ x·0 is 0 for finite x and NaN as soon as one value is NaN or ±∞.
    let (mut z0, mut z1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    let mut k = 0;
    while k + 32 <= x.len() {
        // SAFETY: k + 32 ≤ x.len() (= inv_smooth.len() when given).
        let ((v0, _), (v1, _)) = unsafe {
            (
                load_row(x, inv_smooth, k, 16),
                load_row(x, inv_smooth, k + 16, 16),
            )
        };
        lo0 = _mm512_min_ps(lo0, v0);
        hi0 = _mm512_max_ps(hi0, v0);
        z0 = _mm512_add_ps(z0, _mm512_mul_ps(v0, _mm512_setzero_ps()));
        lo1 = _mm512_min_ps(lo1, v1);
        hi1 = _mm512_max_ps(hi1, v1);
        z1 = _mm512_add_ps(z1, _mm512_mul_ps(v1, _mm512_setzero_ps()));
        k += 32;
    }
    while k < x.len() {
        let n = (x.len() - k).min(16);
        // SAFETY: k + n ≤ x.len() (= inv_smooth.len() when given).
        let (v, m) = unsafe { load_row(x, inv_smooth, k, n) };
        lo0 = _mm512_mask_min_ps(lo0, m, lo0, v);
        hi0 = _mm512_mask_max_ps(hi0, m, hi0, v);
        z0 = _mm512_add_ps(z0, _mm512_mul_ps(v, _mm512_setzero_ps()));
        k += n;
    }
    let finite = _mm512_reduce_add_ps(_mm512_add_ps(z0, z1)) == 0.0;
    (
        _mm512_reduce_min_ps(_mm512_min_ps(lo0, lo1)),
        _mm512_reduce_max_ps(_mm512_max_ps(hi0, hi1)),
        finite,
    )
}

/// The AVX-512 row quantizer fused with the packing (see [`super::tile::QuantPackFn`]):
/// 16 values are 4 groups, written as 4 four-byte stores MR·4 bytes apart.
///
/// # Safety
/// As for [`super::tile::QuantPackFn`]; the CPU has AVX-512F.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(crate) unsafe fn quantize_pack(
    x: &[f32],
    inv_smooth: Option<&[f32]>,
    inv: f32,
    zp: i32,
    panel: *mut u8,
    r: usize,
    mr: usize,
) {
    let (vinv, vzp) = (_mm512_set1_ps(inv), _mm512_set1_epi32(zp));
    let (lo, hi) = (_mm512_setzero_si512(), _mm512_set1_epi32(255));
    let mut k = 0;
    while k < x.len() {
        let n = (x.len() - k).min(16);
        // SAFETY: k + n ≤ x.len() (= inv_smooth.len() when given); the stores go to groups
        // k/4 .. k/4 + ⌈n/4⌉ ≤ ⌈K/4⌉ = k_padded(K)/4 of row r < mr: inside the panel.
        unsafe {
            let (v, _) = load_row(x, inv_smooth, k, n);
            let q = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v, vinv)), vzp);
            let q = _mm512_min_epi32(_mm512_max_epi32(q, lo), hi);
            let bytes = _mm512_cvtepi32_epi8(q);
            let p = panel.add((k / 4 * mr + r) * 4).cast::<i32>();
            // Four explicit stores, one per group (a loop here becomes a masked scatter,
            // which is microcoded and slow on Zen 4).
            if n == 16 {
                p.write_unaligned(_mm_cvtsi128_si32(bytes));
                p.add(mr).write_unaligned(_mm_extract_epi32::<1>(bytes));
                p.add(2 * mr).write_unaligned(_mm_extract_epi32::<2>(bytes));
                p.add(3 * mr).write_unaligned(_mm_extract_epi32::<3>(bytes));
            } else {
                let mut d = [0i32; 4];
                _mm_storeu_si128(d.as_mut_ptr().cast(), bytes);
                for (t, &w) in d.iter().enumerate().take(n.div_ceil(4)) {
                    p.add(t * mr).write_unaligned(w);
                }
            }
        }
        k += n;
    }
}

/// The AVX-512 row quantizer (see [`super::tile::QuantFn`]); `vcvtps2dq` rounds to nearest
/// even like `f32::round_ties_even`, so the bytes equal the scalar quantizer's.
///
/// # Safety
/// As for [`minmax`]; `out.len() == x.len()`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
pub(crate) unsafe fn quantize(
    x: &[f32],
    inv_smooth: Option<&[f32]>,
    inv: f32,
    zp: i32,
    out: &mut [u8],
) {
    assert_eq!(out.len(), x.len());
    let (vinv, vzp) = (_mm512_set1_ps(inv), _mm512_set1_epi32(zp));
    let (lo, hi) = (_mm512_setzero_si512(), _mm512_set1_epi32(255));
    let mut k = 0;
    while k < x.len() {
        let n = (x.len() - k).min(16);
        // SAFETY: k + n ≤ x.len() = out.len(); the store writes only the n masked bytes.
        unsafe {
            let (v, m) = load_row(x, inv_smooth, k, n);
            let q = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v, vinv)), vzp);
            let q = _mm512_min_epi32(_mm512_max_epi32(q, lo), hi);
            _mm512_mask_cvtepi32_storeu_epi8(out.as_mut_ptr().add(k).cast(), m, q);
        }
        k += n;
    }
}
