//! Packing: copy a block of A or B into the panel order the microkernel streams, zero-padded
//! to whole tiles so edge tiles need no special loads.
//!
//! Ã (A block, rows i0..i0+mc, depth p0..p0+kc): panels of `mr` rows; within a panel, for each
//! k step the `mr` values of that column: `dst[(panel·kc + p)·mr + r]`.
//! B̃ (B block, cols j0..j0+nc, depth p0..p0+kc): panels of `nr` columns; within a panel, for
//! each k step the `nr` values of that row: `dst[(panel·kc + p)·nr + c]`.
//!
//! Three ways to read the source, by its strides: panel direction contiguous (a row-major B):
//! one copy per k step; K contiguous (a row-major A, a B given as `Wᵀ`): register transposes
//! of 8 × 8 on x86 (`pack_x86`), a scalar gather elsewhere; neither: the scalar gather.

use crate::isa::Isa;
use crate::mat::MatRef;

/// Number of elements of a packed A block.
pub(crate) fn packed_a_len(mc: usize, kc: usize, mr: usize) -> usize {
    mc.div_ceil(mr) * mr * kc
}

/// Panel widths of a packed block: full panels are `lanes` wide; the last, partial one is its
/// width rounded up to a multiple of `step` (`step = lanes`: as wide as the others; the GEMM's
/// B̃ uses the vector width, for [`TileShape::tile_narrow`](super::kernel::TileShape)).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Panels {
    pub lanes: usize,
    pub step: usize,
}

impl Panels {
    /// Every panel `lanes` wide.
    pub fn full(lanes: usize) -> Panels {
        Panels { lanes, step: lanes }
    }

    /// Width in the packed block of a panel holding `width ≤ lanes` columns.
    pub fn width(self, width: usize) -> usize {
        if width >= self.lanes {
            self.lanes
        } else {
            width.next_multiple_of(self.step).min(self.lanes)
        }
    }

    /// Number of elements of a packed block of `xn` columns (rows) and depth `kc`.
    pub fn len(self, xn: usize, kc: usize) -> usize {
        let full = xn / self.lanes;
        let tail = xn - full * self.lanes;
        let tail_width = if tail == 0 { 0 } else { self.width(tail) };
        (full * self.lanes + tail_width) * kc
    }
}

/// Packs rows `i0..i0+mc`, depth `p0..p0+kc` of `a` into `dst` (length `packed_a_len`), with
/// the transposing pack of [`Isa::active`] when it has one.
pub(crate) fn pack_a(
    a: &MatRef,
    i0: usize,
    mc: usize,
    p0: usize,
    kc: usize,
    mr: usize,
    dst: &mut [f32],
) {
    pack_panels(
        Isa::active(),
        a,
        i0,
        mc,
        p0,
        kc,
        Panels::full(mr),
        dst,
        true,
    );
}

/// Packs columns `j0..j0+nc`, depth `p0..p0+kc` of `b` (a K×N view) into `dst`, with the
/// transposing pack of [`Isa::active`] when it has one.
pub(crate) fn pack_b(
    b: &MatRef,
    j0: usize,
    nc: usize,
    p0: usize,
    kc: usize,
    nr: usize,
    dst: &mut [f32],
) {
    pack_panels(
        Isa::active(),
        b,
        j0,
        nc,
        p0,
        kc,
        Panels::full(nr),
        dst,
        false,
    );
}

/// [`pack_a`] for the kernel of `isa`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn pack_a_for(
    isa: Isa,
    a: &MatRef,
    i0: usize,
    mc: usize,
    p0: usize,
    kc: usize,
    mr: usize,
    dst: &mut [f32],
) {
    pack_panels(isa, a, i0, mc, p0, kc, Panels::full(mr), dst, true);
}

/// [`pack_b`] for the kernel of `isa`, with the panel widths of `panels` (`dst` holds
/// `panels.len(nc, kc)` values).
#[allow(clippy::too_many_arguments)]
pub(crate) fn pack_b_for(
    isa: Isa,
    b: &MatRef,
    j0: usize,
    nc: usize,
    p0: usize,
    kc: usize,
    panels: Panels,
    dst: &mut [f32],
) {
    pack_panels(isa, b, j0, nc, p0, kc, panels, dst, false);
}

/// Shared body: `panels` gives the panel widths (mr or nr); `by_rows` says whether panels run along
/// the view's rows (A) or its columns (B). Reads follow whichever stride is 1.
#[allow(clippy::too_many_arguments)]
fn pack_panels(
    isa: Isa,
    src: &MatRef,
    x0: usize,
    xn: usize,
    p0: usize,
    kc: usize,
    panels: Panels,
    dst: &mut [f32],
    by_rows: bool,
) {
    let lanes = panels.lanes;
    let shape = panels;
    let data = src.data();
    // Element (x, p) of the block: x along the panel direction, p along K.
    let (sx, sp) = if by_rows {
        (src.row_stride(), src.col_stride())
    } else {
        (src.col_stride(), src.row_stride())
    };
    if xn == 0 || kc == 0 {
        return;
    }
    let panels = xn.div_ceil(lanes);
    // Bounds, checked once: the last element read is (x0 + xn − 1, p0 + kc − 1).
    let last = (x0 + xn - 1)
        .checked_mul(sx)
        .and_then(|a| a.checked_add((p0 + kc - 1).checked_mul(sp)?));
    assert!(
        matches!(last, Some(l) if l < data.len()),
        "pack: view exceeds its buffer"
    );
    assert!(
        dst.len() >= shape.len(xn, kc),
        "pack: destination too small"
    );
    let src_ptr = data.as_ptr();
    if sx == 1 {
        // SAFETY: `last < data.len()` and `dst` holds `shape.len(xn, kc)` values (both
        // checked above).
        unsafe { pack_contiguous(src_ptr, x0 + p0 * sp, sp, xn, kc, shape, dst.as_mut_ptr()) };
        return;
    }
    let transpose = sp == 1 && has_transpose(isa);
    for panel in 0..panels {
        let width = lanes.min(xn - panel * lanes);
        let base = (x0 + panel * lanes) * sx + p0 * sp;
        // This panel's width in `dst` (the last one may be narrower than `lanes`).
        let pw = shape.width(width);
        let out = &mut dst[panel * kc * lanes..][..kc * pw];
        let o = out.as_mut_ptr();
        // Writes are sequential in `out`; reads walk `width` source lines in step.
        if transpose {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `has_transpose` found AVX2; the panel's source lines x < width are
            // readable for kc steps (every index ≤ `last`, checked above) and `out` holds
            // kc·pw values; width ≤ pw. The padding lanes are written as zeros.
            unsafe {
                super::pack_x86::pack_panel_t(src_ptr.add(base), sx, width, kc, pw, o)
            };
            continue;
        } else {
            for p in 0..kc {
                for x in 0..width {
                    // SAFETY: as above: every index is at most `last`, every write inside `out`.
                    unsafe { *o.add(p * pw + x) = *src_ptr.add(base + x * sx + p * sp) };
                }
            }
        }
        if width < pw {
            for p in 0..kc {
                out[p * pw + width..(p + 1) * pw].fill(0.0);
            }
        }
    }
}

/// The panel direction contiguous (a row-major B, a column-major A). A block larger than the
/// L2 is read line by line: source line `p` (one k step) once, start to end, cut into the
/// panels' rows, so the reads stream from memory (a panel-by-panel walk would visit every line
/// once per panel, 192 bytes at a time, with the line stride between visits). Full panels'
/// rows are fixed-size copies the compiler turns into vector moves.
///
/// # Safety
/// `src` is readable at `base + p·sp + x` for `p < kc`, `x < xn`; `dst` is writable for
/// `shape.len(xn, kc)` values.
unsafe fn pack_contiguous(
    src: *const f32,
    base: usize,
    sp: usize,
    xn: usize,
    kc: usize,
    shape: Panels,
    dst: *mut f32,
) {
    let lanes = shape.lanes;
    let full = xn / lanes;
    let rest = xn - full * lanes;
    let pw = shape.width(rest);
    let row = |p: usize, q: usize| {
        // SAFETY: called with p < kc and q < full: the reads are (p, x) for x < xn, inside the
        // source; the writes are row p of full panel q, inside `dst` (panel q at q·kc·lanes,
        // rows `lanes` wide).
        unsafe {
            let from = src.add(base + p * sp + q * lanes);
            let to = dst.add((q * kc + p) * lanes);
            match lanes {
                48 => copy_fixed::<48>(from, to),
                16 => copy_fixed::<16>(from, to),
                8 => copy_fixed::<8>(from, to),
                _ => std::ptr::copy_nonoverlapping(from, to, lanes),
            }
        }
    };
    if xn * kc >= LINE_ORDER_MIN {
        for p in 0..kc {
            (0..full).for_each(|q| row(p, q));
        }
    } else {
        for q in 0..full {
            (0..kc).for_each(|p| row(p, q));
        }
    }
    if rest > 0 {
        for p in 0..kc {
            // SAFETY: as above, for the last (narrow) panel.
            unsafe {
                let to = dst.add(full * kc * lanes + p * pw);
                std::ptr::copy_nonoverlapping(src.add(base + p * sp + full * lanes), to, rest);
                std::ptr::write_bytes(to.add(rest), 0, pw - rest);
            }
        }
    }
}

/// From this many values (2 MiB, more than a core's L2) a contiguous block is packed line by
/// line; a smaller one, whose lines stay in cache, panel by panel (sequential writes). On Zen 4
/// (CPU time, 1 thread) line order took 16×1536×3072 with a row-major B from 0.81–0.94× to
/// 1.09–1.25× matrixmultiply, and lost ~10 % on blocks that fit the L2 (16×64×1536).
const LINE_ORDER_MIN: usize = 1 << 19;

/// Copies `W` values (a fixed size: vector moves, no call).
///
/// # Safety
/// `from` readable and `to` writable for `W` values; they do not overlap.
#[inline(always)]
unsafe fn copy_fixed<const W: usize>(from: *const f32, to: *mut f32) {
    // SAFETY: the caller's contract; unaligned reads and writes of a plain array.
    unsafe {
        to.cast::<[f32; W]>()
            .write_unaligned(from.cast::<[f32; W]>().read_unaligned())
    }
}

/// Whether the transposing pack of `isa` exists here (x86 with AVX2, for the AVX2 and AVX-512
/// kernels; the portable and scalar paths keep the plain gather, as their name promises).
#[inline]
fn has_transpose(isa: Isa) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        matches!(isa, Isa::Avx2 | Isa::Avx512) && crate::simd::x86::Avx2::new().is_some()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = isa;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scalar gather writes the documented layout (narrow last panels included), and the
    /// transposing pack exactly what it writes (padding included), for every panel width
    /// qkv's kernels use, partial panels, k tails and strided lines.
    #[test]
    fn transposing_pack_equals_gather() {
        let fast: Vec<Isa> = [Isa::Avx512, Isa::Avx2]
            .into_iter()
            .filter(|&i| has_transpose(i))
            .collect();
        if fast.is_empty() {
            eprintln!("transposing_pack_equals_gather: skipped (no AVX2)");
            return;
        }
        for (lanes, step) in [(4, 4), (6, 6), (8, 8), (16, 8), (48, 16), (48, 48)] {
            let sh = Panels { lanes, step };
            for xn in [
                1,
                5,
                8,
                13,
                17,
                lanes,
                lanes + 3,
                2 * lanes + 1,
                2 * lanes + 33,
            ] {
                for kc in [1, 7, 8, 9, 17, 64, 385] {
                    let ld = kc + 3; // lines longer than the block: stride > kc
                    let x0 = 1;
                    let p0 = 2;
                    let rows = x0 + xn;
                    let data: Vec<f32> = (0..rows * ld + p0).map(|i| i as f32 + 0.5).collect();
                    // The block as A (rows = lines along K) and as B (a transposed view).
                    let a = MatRef::with_strides(&data, rows, ld - p0, ld, 1).unwrap();
                    let b = a.t();
                    let len = sh.len(xn, kc);
                    let mut want = vec![f32::NAN; len];
                    pack_panels(Isa::Scalar, &a, x0, xn, p0, kc, sh, &mut want, true);
                    // The layout itself: panel q, step p, lane x.
                    for (q, x0q) in (0..xn).step_by(lanes).enumerate() {
                        let pw = sh.width(lanes.min(xn - x0q));
                        for p in 0..kc {
                            for x in 0..pw {
                                let v = want[q * kc * lanes + p * pw + x];
                                let src = if x0q + x < xn {
                                    data[(x0 + x0q + x) * ld + p0 + p]
                                } else {
                                    0.0
                                };
                                assert_eq!(v, src, "lanes {lanes} step {step} xn {xn} kc {kc}");
                            }
                        }
                    }
                    for &isa in &fast {
                        let mut got = vec![f32::NAN; len];
                        pack_panels(isa, &a, x0, xn, p0, kc, sh, &mut got, true);
                        assert_eq!(got, want, "A {isa} lanes {lanes} xn {xn} kc {kc}");
                        let mut got = vec![f32::NAN; len];
                        pack_panels(isa, &b, x0, xn, p0, kc, sh, &mut got, false);
                        assert_eq!(got, want, "B {isa} lanes {lanes} xn {xn} kc {kc}");
                    }
                }
            }
        }
    }
}
