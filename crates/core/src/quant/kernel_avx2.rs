//! The 256-bit int8 microkernels (AVX-VNNI and plain AVX2) and the AVX2 row quantizer.
//!
//! Both use a 6 × 16 tile (MR × 2 ymm): 12 accumulators + 2 B vectors + 1 broadcast (+ 1
//! product temporary on AVX2) fit the 16 ymm registers, and 12 independent chains cover
//! `vpdpbusd`/`vpmaddwd` latency (4–5) × 2 ports. A k group is 24 bytes of Ã and 64 bytes of B̃
//! for both, so they share one loop body and differ only in the multiply-add:
//!
//! - **AVX-VNNI**: `vpdpbusd` (VEX), u8 × i8, four k values per i32 lane.
//! - **AVX2**: the operands were widened to i16 when packed, two k values per lane, and
//!   `vpmaddwd` computes `a₀·b₀ + a₁·b₁` exactly in i32. Why not `vpmaddubsw` (u8 × i8 on the
//!   packed bytes, twice the rate): it sums two products into an i16 *with saturation*, and
//!   255·127 + 255·127 = 64770 > 32767, so full-range u8 activations would clip silently.
//!   With i16 operands |a| ≤ 255 and |b| ≤ 127, so `|a₀·b₀ + a₁·b₁| ≤ 64770`, far inside i32,
//!   and `vpmaddwd`'s only wrap-around case (both pairs −32768·−32768) cannot occur. The i32
//!   sums therefore equal the VNNI kernels' exactly, and so do the results (tested with all
//!   activations 255 and all weights ±127 over K = 4096 in `tests/gemm_int8.rs`).

use super::kernel_scalar::{quantize_one, write_tile};
use super::tile::Tile;
use std::arch::x86_64::*;

/// Rows of the register tile.
pub(crate) const MR: usize = 6;
/// Columns of the register tile.
pub(crate) const NR: usize = 16;
/// ymm vectors per tile row.
const NV: usize = 2;
/// Bytes of Ã and B̃ per k group (the same for u8 × 4 and i16 × 2).
const A_STEP: usize = MR * 4;
const B_STEP: usize = NR * 4;
/// Prefetch distance for B̃, in k groups.
const PF_B: usize = 8;

/// Defines a 256-bit tile function: `$dot(acc, a, b)` is the multiply-add of one k group.
macro_rules! tile256 {
    ($(#[$doc:meta])* $name:ident, $features:literal, $dot:expr) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// As for [`super::tile::TileFn`] with `MR = 6`, `NR = 16`; the CPU has the features
        /// enabled on this function (checked by [`super::isa::Int8Isa::is_available`]).
        #[target_feature(enable = $features)]
        pub(crate) unsafe fn $name(
            t: &Tile,
            a: *const u8,
            b: *const u8,
            i: usize,
            j: usize,
            mr: usize,
            nr: usize,
        ) {
            let mut acc = [[_mm256_setzero_si256(); NV]; MR];
            let (mut a, mut b) = (a, b);
            for _ in 0..t.groups {
                // SAFETY: B̃ holds groups·B_STEP bytes; this step reads B_STEP of them.
                let bv = unsafe {
                    [
                        _mm256_loadu_si256(b.cast()),
                        _mm256_loadu_si256(b.add(32).cast()),
                    ]
                };
                _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add(PF_B * B_STEP).cast());
                for (r, row) in acc.iter_mut().enumerate() {
                    // SAFETY: Ã holds groups·A_STEP bytes; this step reads A_STEP of them.
                    let x = unsafe { a.add(4 * r).cast::<i32>().read_unaligned() };
                    let av = _mm256_set1_epi32(x);
                    for v in 0..NV {
                        row[v] = $dot(row[v], av, bv[v]);
                    }
                }
                // SAFETY: advancing within (or one past) the packed panels.
                unsafe {
                    a = a.add(A_STEP);
                    b = b.add(B_STEP);
                }
            }
            // SAFETY: forwarded from the caller's contract.
            unsafe { write_out(t, &acc, i, j, mr, nr) }
        }
    };
}

tile256! {
    /// The AVX-VNNI tile: VEX `vpdpbusd` on u8 × i8 panels.
    tile_avxvnni, "avxvnni,avx2,fma", |c, a, b| _mm256_dpbusd_avx_epi32(c, a, b)
}

tile256! {
    /// The AVX2 tile: `vpmaddwd` + `vpaddd` on i16 panels (see the module docs for the bound).
    tile_avx2, "avx2,fma", |c, a, b| _mm256_add_epi32(c, _mm256_madd_epi16(a, b))
}

tile256! {
    /// The AVX-VNNI tile's twin with the EVEX encoding of the same instruction
    /// (`_mm256_dpbusd_epi32`, AVX-512 VNNI + VL), so the AVX-VNNI loop body is tested on hosts
    /// that have AVX-512 VNNI but not AVX-VNNI (Zen 4, Ice Lake).
    #[cfg(test)]
    tile_avxvnni_evex, "avx512f,avx512vl,avx512vnni,avx2,fma",
    |c, a, b| _mm256_dpbusd_epi32(c, a, b)
}

/// Write-out of a 256-bit tile: full tiles in SIMD (the arithmetic of `tile::dequant_one`,
/// unfused), right-edge tiles element by element with the same arithmetic.
///
/// # Safety
/// As for [`super::tile::TileFn`]; the CPU has AVX2.
#[inline(always)]
unsafe fn write_out(t: &Tile, acc: &[[__m256i; NV]; MR], i: usize, j: usize, mr: usize, nr: usize) {
    if nr < NR {
        let mut tmp = [[0i32; NR]; MR];
        for (row, v) in tmp.iter_mut().zip(acc) {
            // SAFETY: a row of `tmp` holds NR = 2 × 8 i32.
            unsafe {
                _mm256_storeu_si256(row.as_mut_ptr().cast(), v[0]);
                _mm256_storeu_si256(row.as_mut_ptr().add(8).cast(), v[1]);
            }
        }
        // SAFETY: forwarded from the caller's contract.
        unsafe { write_tile(t, &tmp, i, j, mr, nr) };
        return;
    }
    // SAFETY: full tile: rows i..i+mr and columns j..j+16 lie inside C, the
    // column arrays and the bias; C is read only when β ≠ 0.
    unsafe {
        let zero = _mm256_setzero_ps();
        let vbeta = _mm256_set1_ps(t.beta);
        for (r, row) in acc.iter().enumerate().take(mr) {
            let crow = t.c.add((i + r) * t.rsc + j);
            let zpv = _mm256_set1_epi32(*t.zp.add(i + r));
            let sav = _mm256_set1_ps(*t.sa.add(i + r));
            for (v, &x) in row.iter().enumerate() {
                let col = 8 * v;
                let cs = _mm256_loadu_si256(t.colsum.add(j + col).cast());
                let sw = _mm256_loadu_ps(t.sw.add(j + col));
                let corr = _mm256_sub_epi32(x, _mm256_mullo_epi32(zpv, cs));
                let mut y = _mm256_mul_ps(_mm256_cvtepi32_ps(corr), _mm256_mul_ps(sav, sw));
                let cp = crow.add(col);
                if t.beta != 0.0 {
                    y = _mm256_add_ps(_mm256_mul_ps(vbeta, _mm256_loadu_ps(cp)), y);
                }
                if !t.bias.is_null() {
                    y = _mm256_add_ps(y, _mm256_loadu_ps(t.bias.add(j + col)));
                }
                if t.relu {
                    y = _mm256_max_ps(zero, y);
                }
                _mm256_storeu_ps(cp, y);
            }
        }
    }
}

/// Row minimum, maximum and finiteness (see [`super::tile::MinMaxFn`]).
///
/// # Safety
/// The CPU has AVX2; `inv_smooth`, when given, has `x.len()` values.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn minmax(x: &[f32], inv_smooth: Option<&[f32]>) -> (f32, f32, bool) {
    let mut lo = _mm256_set1_ps(f32::INFINITY);
    let mut hi = _mm256_set1_ps(f32::NEG_INFINITY);
    let mut z = _mm256_setzero_ps(); // Σ x·0: NaN iff some value is NaN or ±∞
    let body = x.len() / 8 * 8;
    for k in (0..body).step_by(8) {
        // SAFETY: k + 8 ≤ x.len() (= inv_smooth.len() when given).
        let v = unsafe {
            let v = _mm256_loadu_ps(x.as_ptr().add(k));
            match inv_smooth {
                Some(s) => _mm256_mul_ps(v, _mm256_loadu_ps(s.as_ptr().add(k))),
                None => v,
            }
        };
        lo = _mm256_min_ps(lo, v);
        hi = _mm256_max_ps(hi, v);
        z = _mm256_add_ps(z, _mm256_mul_ps(v, _mm256_setzero_ps()));
    }
    let (mut l, mut h, mut zs) = ([0f32; 8], [0f32; 8], [0f32; 8]);
    // SAFETY: each array holds 8 f32.
    unsafe {
        _mm256_storeu_ps(l.as_mut_ptr(), lo);
        _mm256_storeu_ps(h.as_mut_ptr(), hi);
        _mm256_storeu_ps(zs.as_mut_ptr(), z);
    }
    let mut finite = zs.iter().sum::<f32>() == 0.0;
    let (mut l, mut h) = (
        l.iter().copied().fold(f32::INFINITY, f32::min),
        h.iter().copied().fold(f32::NEG_INFINITY, f32::max),
    );
    for k in body..x.len() {
        let v = match inv_smooth {
            Some(s) => x[k] * s[k],
            None => x[k],
        };
        finite &= v.is_finite();
        l = l.min(v);
        h = h.max(v);
    }
    (l, h, finite)
}

/// The AVX2 row quantizer (see [`super::tile::QuantFn`]); `vcvtps2dq` rounds to nearest even
/// like `f32::round_ties_even`, so the bytes equal the scalar quantizer's.
///
/// # Safety
/// As for [`minmax`]; `out.len() == x.len()`.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn quantize(
    x: &[f32],
    inv_smooth: Option<&[f32]>,
    inv: f32,
    zp: i32,
    out: &mut [u8],
) {
    assert_eq!(out.len(), x.len());
    let (vinv, vzp) = (_mm256_set1_ps(inv), _mm256_set1_epi32(zp));
    let (lo, hi) = (_mm256_setzero_si256(), _mm256_set1_epi32(255));
    let body = x.len() / 8 * 8;
    for k in (0..body).step_by(8) {
        // SAFETY: k + 8 ≤ x.len() = out.len() (= inv_smooth.len() when given).
        unsafe {
            let mut v = _mm256_loadu_ps(x.as_ptr().add(k));
            if let Some(s) = inv_smooth {
                v = _mm256_mul_ps(v, _mm256_loadu_ps(s.as_ptr().add(k)));
            }
            let q = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(v, vinv)), vzp);
            let q = _mm256_min_epi32(_mm256_max_epi32(q, lo), hi);
            // 8 i32 in 0..=255 → bytes: within each 128-bit lane, pack to u16 then u8; the
            // low 4 bytes of each lane hold that lane's 4 values in order.
            let p = _mm256_packus_epi16(_mm256_packus_epi32(q, q), _mm256_setzero_si256());
            let low = _mm_cvtsi128_si32(_mm256_castsi256_si128(p));
            let high = _mm_cvtsi128_si32(_mm256_extracti128_si256::<1>(p));
            let o = out.as_mut_ptr().add(k).cast::<i32>();
            o.write_unaligned(low);
            o.add(1).write_unaligned(high);
        }
    }
    for k in body..x.len() {
        let v = match inv_smooth {
            Some(s) => x[k] * s[k],
            None => x[k],
        };
        out[k] = quantize_one(v, inv, zp);
    }
}

/// The AVX2 row quantizer fused with the u8 packing of the AVX-VNNI kernel (see
/// [`super::tile::QuantPackFn`]): 8 values are 2 groups of 4 bytes.
///
/// # Safety
/// As for [`super::tile::QuantPackFn`]; the CPU has AVX2.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn quantize_pack(
    x: &[f32],
    inv_smooth: Option<&[f32]>,
    inv: f32,
    zp: i32,
    panel: *mut u8,
    r: usize,
    mr: usize,
) {
    let (vinv, vzp) = (_mm256_set1_ps(inv), _mm256_set1_epi32(zp));
    let (lo, hi) = (_mm256_setzero_si256(), _mm256_set1_epi32(255));
    let body = x.len() / 8 * 8;
    for k in (0..body).step_by(8) {
        // SAFETY: k + 8 ≤ x.len() (= inv_smooth.len() when given); groups k/4 and k/4 + 1 are
        // inside the panel's ⌈K/4⌉ groups and r < mr.
        unsafe {
            let mut v = _mm256_loadu_ps(x.as_ptr().add(k));
            if let Some(s) = inv_smooth {
                v = _mm256_mul_ps(v, _mm256_loadu_ps(s.as_ptr().add(k)));
            }
            let q = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(v, vinv)), vzp);
            let q = _mm256_min_epi32(_mm256_max_epi32(q, lo), hi);
            let p = _mm256_packus_epi16(_mm256_packus_epi32(q, q), _mm256_setzero_si256());
            let g = k / 4;
            let d = panel.add((g * mr + r) * 4).cast::<i32>();
            d.write_unaligned(_mm_cvtsi128_si32(_mm256_castsi256_si128(p)));
            d.add(mr)
                .write_unaligned(_mm_cvtsi128_si32(_mm256_extracti128_si256::<1>(p)));
        }
    }
    for k in body..x.len() {
        let v = match inv_smooth {
            Some(s) => x[k] * s[k],
            None => x[k],
        };
        // SAFETY: group k/4 < ⌈K/4⌉ and r < mr: inside the panel.
        unsafe { *panel.add(((k / 4) * mr + r) * 4 + k % 4) = quantize_one(v, inv, zp) };
    }
}

#[cfg(test)]
mod tests {
    //! The AVX-VNNI loop body, run through its EVEX twin against the scalar kernel.
    use super::super::tile::Tile;
    use super::{tile_avxvnni_evex, MR, NR};

    #[test]
    fn fused_quantize_pack_matches_quantize_then_pack() {
        if !super::super::isa::Int8Isa::Avx2.is_available() {
            eprintln!("fused_quantize_pack: skipped (no AVX2)");
            return;
        }
        use super::super::pack::{k_padded, pack_a_row};
        for k in [1usize, 3, 4, 7, 8, 9, 16, 31, 40] {
            let x: Vec<f32> = (0..k)
                .map(|i| ((i * 37 % 23) as f32 - 9.0) * 0.37)
                .collect();
            let s: Vec<f32> = (0..k).map(|i| 0.5 + (i % 5) as f32 * 0.25).collect();
            for smooth in [None, Some(s.as_slice())] {
                let (inv, zp) = (9.5f32, 77);
                for r in [0, MR - 1] {
                    let mut want = vec![0u8; MR * k_padded(k)];
                    let mut u = vec![0u8; k];
                    // SAFETY: AVX2 is available (checked above); u has k bytes.
                    unsafe { super::quantize(&x, smooth, inv, zp, &mut u) };
                    pack_a_row(&u, r, MR, 4, &mut want);
                    let mut got = vec![0u8; MR * k_padded(k)];
                    // SAFETY: AVX2 is available; `got` holds MR·k_padded(k) bytes, r < MR.
                    unsafe { super::quantize_pack(&x, smooth, inv, zp, got.as_mut_ptr(), r, MR) };
                    // Bytes past K in the last group may differ (weights are zero there).
                    for g in 0..k_padded(k) / 4 {
                        for t in 0..4 {
                            if g * 4 + t < k {
                                let i = (g * MR + r) * 4 + t;
                                assert_eq!(got[i], want[i], "k {k} r {r} at {g},{t}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn avxvnni_body_matches_scalar_via_evex() {
        if !super::super::isa::Int8Isa::Avx512Vnni.is_available() {
            eprintln!("avxvnni_body_matches_scalar_via_evex: skipped (no AVX-512 VNNI)");
            return;
        }
        let groups = 37;
        // Deterministic extreme-ish data: u8 over the full range, i8 in −127..=127.
        let a: Vec<u8> = (0..groups * MR * 4).map(|x| (x * 97 % 256) as u8).collect();
        let b: Vec<i8> = (0..groups * NR * 4)
            .map(|x| ((x * 53 % 255) as i32 - 127) as i8)
            .collect();
        let zp: Vec<i32> = (0..MR as i32).map(|r| r * 40).collect();
        let sa: Vec<f32> = (0..MR).map(|r| 0.01 + r as f32 * 1e-3).collect();
        let colsum: Vec<i32> = (0..NR as i32).map(|c| c * 7 - 50).collect();
        let sw: Vec<f32> = (0..NR).map(|c| 0.02 - c as f32 * 1e-4).collect();
        let bias: Vec<f32> = (0..NR).map(|c| c as f32 * 0.5).collect();
        let run = |f: super::super::tile::TileFn, nr: usize| {
            let mut c = vec![1.5f32; MR * NR];
            let t = Tile {
                groups,
                c: c.as_mut_ptr(),
                rsc: NR,
                beta: 0.5,
                bias: bias.as_ptr(),
                relu: true,
                zp: zp.as_ptr(),
                sa: sa.as_ptr(),
                colsum: colsum.as_ptr(),
                sw: sw.as_ptr(),
            };
            // SAFETY: panels hold groups·MR·4 and groups·NR·4 bytes, C is MR×NR, the row and
            // column arrays hold MR and NR values; the EVEX twin's features were checked above.
            unsafe { f(&t, a.as_ptr(), b.as_ptr().cast(), 0, 0, MR - 1, nr) };
            c
        };
        // The scalar kernel has another tile shape, so compare with an explicit reference.
        for nr in [NR, NR - 3] {
            let got = run(tile_avxvnni_evex, nr);
            for r in 0..MR {
                for col in 0..NR {
                    let want = if r < MR - 1 && col < nr {
                        let mut acc = 0i32;
                        for g in 0..groups {
                            for q in 0..4 {
                                acc += a[(g * MR + r) * 4 + q] as i32
                                    * b[(g * NR + col) * 4 + q] as i32;
                            }
                        }
                        super::super::tile::dequant_one(
                            acc,
                            zp[r],
                            colsum[col],
                            sa[r],
                            sw[col],
                            0.5,
                            1.5,
                            Some(bias[col]),
                            true,
                        )
                    } else {
                        1.5
                    };
                    assert_eq!(got[r * NR + col].to_bits(), want.to_bits(), "({r}, {col})");
                }
            }
        }
    }
}
