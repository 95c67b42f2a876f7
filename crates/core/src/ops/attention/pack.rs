//! Pass 0 of the microkernel path: the query block transposed and scaled,
//! `Q̃ᵀ[e·qts + i] = c·Q[i·rs + e]` (`i < rows`, `e < d`), the one operand the kernels pack.
//!
//! On x86 the block moves in 8×8 tiles through registers (`simd::transpose`, AVX): LLVM turns
//! the plain loop into `vscatterdps`, which took a tenth of the whole kernel's time on Zen 4.

/// The scalar transpose (any ISA; the edges of the vector one).
///
/// # Panics
/// When `q` or `qt` is too short for the block (a bug in the caller).
#[inline(always)]
pub(super) fn pack_qt_scalar(
    q: &[f32],
    rs: usize,
    (rows, d): (usize, usize),
    c: f32,
    qt: &mut [f32],
    qts: usize,
) {
    for i in 0..rows {
        let row = &q[i * rs..i * rs + d];
        for (e, &x) in row.iter().enumerate() {
            qt[e * qts + i] = x * c;
        }
    }
}

/// The 8×8-tile transpose with AVX; rows and columns past the last whole tile go through
/// [`pack_qt_scalar`].
///
/// # Safety
/// The CPU must have AVX (the caller holds an `Avx2` or `Avx512` token; inside its dispatch
/// shim the intrinsics compile inline).
///
/// # Panics
/// When `q` or `qt` is too short for the block.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) unsafe fn pack_qt_avx(
    q: &[f32],
    rs: usize,
    (rows, d): (usize, usize),
    c: f32,
    qt: &mut [f32],
    qts: usize,
) {
    use crate::simd::transpose::transpose8x8;
    use std::arch::x86_64::*;
    if rows == 0 || d == 0 {
        return;
    }
    assert!(
        q.len() >= (rows - 1) * rs + d && qt.len() >= (d - 1) * qts + rows,
        "pack_qt: buffers too short"
    );
    let (r8, d8) = (rows / 8 * 8, d / 8 * 8);
    // SAFETY: AVX is available and enabled (caller's contract). Every load reads 8 values of
    // row i0 + r < rows at columns e0..e0 + 8 ≤ d, inside `q` (asserted); every store writes
    // 8 values of row e0 + r < d at columns i0..i0 + 8 ≤ rows, inside `qt` (asserted).
    unsafe {
        let vc = _mm256_set1_ps(c);
        let (src, dst) = (q.as_ptr(), qt.as_mut_ptr());
        for i0 in (0..r8).step_by(8) {
            for e0 in (0..d8).step_by(8) {
                // No closure here: it would be compiled without AVX (docs/design.md).
                let mut a = [_mm256_setzero_ps(); 8];
                for (r, x) in a.iter_mut().enumerate() {
                    *x = _mm256_loadu_ps(src.add((i0 + r) * rs + e0));
                }
                let cols = transpose8x8(a);
                for (r, &col) in cols.iter().enumerate() {
                    _mm256_storeu_ps(dst.add((e0 + r) * qts + i0), _mm256_mul_ps(col, vc));
                }
            }
        }
    }
    // Edges: columns d8..d of the whole tiles' rows, then the rows past them.
    if d8 < d {
        for i in 0..r8 {
            for e in d8..d {
                qt[e * qts + i] = q[i * rs + e] * c;
            }
        }
    }
    if r8 < rows {
        pack_qt_scalar(&q[r8 * rs..], rs, (rows - r8, d), c, &mut qt[r8..], qts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_every_shape() {
        for (rows, d, rs, qts) in [
            (1, 1, 1, 1),
            (8, 8, 8, 8),
            (17, 64, 70, 64),
            (64, 96, 96, 64),
            (5, 13, 20, 9),
        ] {
            let q: Vec<f32> = (0..(rows - 1) * rs + d).map(|x| x as f32).collect();
            let mut want = vec![-1.0f32; (d - 1) * qts + rows];
            pack_qt_scalar(&q, rs, (rows, d), 0.5, &mut want, qts);
            for i in 0..rows {
                for e in 0..d {
                    assert_eq!(want[e * qts + i], 0.5 * q[i * rs + e]);
                }
            }
            #[cfg(target_arch = "x86_64")]
            if is_x86_feature_detected!("avx") {
                let mut got = vec![-1.0f32; want.len()];
                // SAFETY: AVX detected above.
                unsafe { pack_qt_avx(&q, rs, (rows, d), 0.5, &mut got, qts) };
                assert_eq!(got, want, "rows {rows} d {d}");
            }
        }
    }
}
