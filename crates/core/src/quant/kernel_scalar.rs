//! The portable int8 kernel: plain Rust, i32 accumulators, the same packed format as the VNNI
//! kernels (groups of four k values per lane). Also the scalar row quantizer, which defines
//! what the SIMD quantizers compute.

use super::tile::{dequant_one, Tile};

/// Rows of the register tile.
pub(crate) const MR: usize = 4;
/// Columns of the register tile: 4 × 16 i32 accumulators (LLVM keeps them in vector registers).
pub(crate) const NR: usize = 16;
/// k values per group.
const KG: usize = 4;

/// The scalar tile (see [`super::tile::TileFn`]).
///
/// # Safety
/// As for [`super::tile::TileFn`] with `MR = 4`, `NR = 16`, u8 A and i8 B panels.
pub(crate) unsafe fn tile(
    t: &Tile,
    a: *const u8,
    b: *const u8,
    i: usize,
    j: usize,
    mr: usize,
    nr: usize,
) {
    // SAFETY: the caller guarantees the panel lengths.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a, t.groups * MR * KG),
            std::slice::from_raw_parts(b.cast::<i8>(), t.groups * NR * KG),
        )
    };
    let mut acc = [[0i32; NR]; MR];
    for (ag, bg) in a.chunks_exact(MR * KG).zip(b.chunks_exact(NR * KG)) {
        for (r, row) in acc.iter_mut().enumerate() {
            let av = &ag[r * KG..r * KG + KG];
            for (c, x) in row.iter_mut().enumerate() {
                let bv = &bg[c * KG..c * KG + KG];
                let mut s = 0i32;
                for q in 0..KG {
                    s += av[q] as i32 * bv[q] as i32;
                }
                *x += s;
            }
        }
    }
    // SAFETY: forwarded from the caller's contract.
    unsafe { write_tile(t, &acc, i, j, mr, nr) }
}

/// Scalar write-out of an i32 tile held in memory, element by element with [`dequant_one`].
/// Used by the scalar kernel and by the 256-bit kernels for partial column vectors.
///
/// # Safety
/// Rows `i..i+mr`, columns `j..j+nr` lie inside C; `nr ≤ W`; the row and column arrays and the
/// bias hold the values [`super::tile::TileFn`] promises.
#[inline(always)]
pub(crate) unsafe fn write_tile<const W: usize>(
    t: &Tile,
    acc: &[[i32; W]],
    i: usize,
    j: usize,
    mr: usize,
    nr: usize,
) {
    for (r, row) in acc.iter().enumerate().take(mr) {
        // SAFETY: row i + r < i + mr lies inside C and the padded row arrays.
        let (crow, zp, sa) = unsafe {
            (
                t.c.add((i + r) * t.rsc + j),
                *t.zp.add(i + r),
                *t.sa.add(i + r),
            )
        };
        for (c, &x) in row.iter().enumerate().take(nr) {
            // SAFETY: column j + c < j + nr lies inside C, the column arrays and the bias; C is
            // read only when β ≠ 0.
            unsafe {
                let old = if t.beta != 0.0 { *crow.add(c) } else { 0.0 };
                let bias = (!t.bias.is_null()).then(|| *t.bias.add(j + c));
                *crow.add(c) = dequant_one(
                    x,
                    zp,
                    *t.colsum.add(j + c),
                    sa,
                    *t.sw.add(j + c),
                    t.beta,
                    old,
                    bias,
                    t.relu,
                );
            }
        }
    }
}

/// Minimum, maximum and finiteness of `x·inv_smooth` (see [`super::tile::MinMaxFn`]).
///
/// # Safety
/// None beyond the type's contract (kept `unsafe` to share the function-pointer type).
pub(crate) unsafe fn minmax(x: &[f32], inv_smooth: Option<&[f32]>) -> (f32, f32, bool) {
    let (mut lo, mut hi, mut finite) = (f32::INFINITY, f32::NEG_INFINITY, true);
    for (k, &v) in x.iter().enumerate() {
        let v = match inv_smooth {
            Some(s) => v * s[k],
            None => v,
        };
        finite &= v.is_finite();
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (lo, hi, finite)
}

/// One activation: `clamp(round_ties_even(x·inv) + zp, 0, 255)`.
#[inline(always)]
pub(crate) fn quantize_one(x: f32, inv: f32, zp: i32) -> u8 {
    ((x * inv).round_ties_even() as i32 + zp).clamp(0, 255) as u8
}

/// The scalar row quantizer (see [`super::tile::QuantFn`]).
///
/// # Safety
/// None beyond the type's contract (kept `unsafe` to share the function-pointer type).
pub(crate) unsafe fn quantize(
    x: &[f32],
    inv_smooth: Option<&[f32]>,
    inv: f32,
    zp: i32,
    out: &mut [u8],
) {
    for (k, (o, &v)) in out.iter_mut().zip(x).enumerate() {
        let v = match inv_smooth {
            Some(s) => v * s[k],
            None => v,
        };
        *o = quantize_one(v, inv, zp);
    }
}
