//! Packing: copy a block of A or B into the panel order the microkernel streams, zero-padded
//! to whole tiles so edge tiles need no special loads.
//!
//! Ã (A block, rows i0..i0+mc, depth p0..p0+kc): panels of `mr` rows; within a panel, for each
//! k step the `mr` values of that column: `dst[(panel·kc + p)·mr + r]`.
//! B̃ (B block, cols j0..j0+nc, depth p0..p0+kc): panels of `nr` columns; within a panel, for
//! each k step the `nr` values of that row: `dst[(panel·kc + p)·nr + c]`.

use crate::mat::MatRef;

/// Number of elements of a packed A block.
pub(crate) fn packed_a_len(mc: usize, kc: usize, mr: usize) -> usize {
    mc.div_ceil(mr) * mr * kc
}

/// Number of elements of a packed B block.
pub(crate) fn packed_b_len(nc: usize, kc: usize, nr: usize) -> usize {
    nc.div_ceil(nr) * nr * kc
}

/// Packs rows `i0..i0+mc`, depth `p0..p0+kc` of `a` into `dst` (length `packed_a_len`).
pub(crate) fn pack_a(
    a: &MatRef,
    i0: usize,
    mc: usize,
    p0: usize,
    kc: usize,
    mr: usize,
    dst: &mut [f32],
) {
    pack_panels(a, i0, mc, p0, kc, mr, dst, true);
}

/// Packs columns `j0..j0+nc`, depth `p0..p0+kc` of `b` (a K×N view) into `dst`.
pub(crate) fn pack_b(
    b: &MatRef,
    j0: usize,
    nc: usize,
    p0: usize,
    kc: usize,
    nr: usize,
    dst: &mut [f32],
) {
    pack_panels(b, j0, nc, p0, kc, nr, dst, false);
}

/// Shared body: `lanes` is the panel width (mr or nr); `by_rows` says whether panels run along
/// the view's rows (A) or its columns (B). Reads follow whichever stride is 1.
#[allow(clippy::too_many_arguments)]
fn pack_panels(
    src: &MatRef,
    x0: usize,
    xn: usize,
    p0: usize,
    kc: usize,
    lanes: usize,
    dst: &mut [f32],
    by_rows: bool,
) {
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
        dst.len() >= panels * kc * lanes,
        "pack: destination too small"
    );
    let src_ptr = data.as_ptr();
    for panel in 0..panels {
        let out = &mut dst[panel * kc * lanes..(panel + 1) * kc * lanes];
        let width = lanes.min(xn - panel * lanes);
        let base = (x0 + panel * lanes) * sx + p0 * sp;
        let o = out.as_mut_ptr();
        // Writes are sequential in `out`; reads walk `width` source lines in step.
        if sx == 1 {
            for p in 0..kc {
                // SAFETY: base + p·sp + (width − 1) ≤ last < data.len() (checked above), and
                // p·lanes + width ≤ kc·lanes = out.len().
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        src_ptr.add(base + p * sp),
                        o.add(p * lanes),
                        width,
                    )
                };
            }
        } else {
            for p in 0..kc {
                for x in 0..width {
                    // SAFETY: as above: every index is at most `last`, every write inside `out`.
                    unsafe { *o.add(p * lanes + x) = *src_ptr.add(base + x * sx + p * sp) };
                }
            }
        }
        if width < lanes {
            for p in 0..kc {
                out[p * lanes + width..(p + 1) * lanes].fill(0.0);
            }
        }
    }
}
