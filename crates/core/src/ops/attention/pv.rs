//! Microkernel 2: one tile of `O = P·V`, `MR` queries × `NB` vectors of output columns, as
//! wide as the head (AVX-512) so no column is padding.
//!
//! Shapes (one head): the weights come from the Pᵀ block (`p[j·ps + i]`: for each key, the
//! block's queries side by side, as the scores kernel left them), broadcast one query at a
//! time; V rows are read where they lie (`v[j·vs + c]`), never packed. Each key step: `NB`
//! loads of V, `MR` broadcasts of P, `MR·NB` independent FMAs.
//!
//! The tile either starts from zero (first key block) or from the accumulator of the
//! previous blocks rescaled per row by `exp(m_old − m_new)`, and either goes back to that
//! accumulator or, after the last key block, straight to the output rows multiplied by `1/l`.

use crate::simd::Simd;

/// One tile's operands.
pub(super) struct PvArgs {
    /// Keys to sum over.
    pub keys: usize,
    /// Pᵀ at the first key and the tile's first query.
    pub p: *const f32,
    /// Elements between keys of Pᵀ.
    pub ps: usize,
    /// V at the first key and the tile's first column.
    pub v: *const f32,
    /// Elements between V rows.
    pub vs: usize,
    /// The accumulator of earlier key blocks at the tile's first row and column, or null to
    /// start from zero.
    pub acc: *const f32,
    /// Per-row rescaling factors of `acc` (`MR` values; read only when `acc` is not null).
    pub corr: *const f32,
    /// Elements between rows of `acc`.
    pub accs: usize,
    /// Where the tile goes: the accumulator again, or the output rows.
    pub out: *mut f32,
    /// Elements between rows of `out`.
    pub outs: usize,
    /// Null: store the sums as they are. Otherwise one factor per row (`1/l`): a row whose
    /// factor is 0 (no visible key) is written as exact zeros.
    pub scale: *const f32,
    /// Rows of the tile to store (`≤ MR`).
    pub rows: usize,
}

/// Computes one `MR × NB·L` tile of P·V (see the module docs) and stores its first `rows`
/// rows.
///
/// # Safety
/// `p` readable for `keys` steps of `MR` f32 at stride `ps`; `v` for `keys` rows of `NB·L` f32
/// at stride `vs`; when `acc` is not null, `acc` readable for `MR` rows of `NB·L` at stride
/// `accs` and `corr` for `MR` f32; `out` writable for `rows` rows of `NB·L` at stride `outs`;
/// a non-null `scale` readable for `rows` f32; `rows ≤ MR`.
#[inline(always)]
pub(super) unsafe fn pv_tile<S: Simd, const MR: usize, const NB: usize>(s: S, a: &PvArgs) {
    let l = S::LANES;
    debug_assert!(a.rows <= MR);
    let mut acc = [[s.zero(); NB]; MR];
    if !a.acc.is_null() {
        for (i, row) in acc.iter_mut().enumerate() {
            // SAFETY: `corr` holds MR values and `acc` MR rows of NB·L (caller's contract).
            unsafe {
                let c = s.broadcast(a.corr.add(i));
                for (t, x) in row.iter_mut().enumerate() {
                    *x = s.mul(s.load(a.acc.add(i * a.accs + t * l)), c);
                }
            }
        }
    }
    let (mut p, mut v) = (a.p, a.v);
    // The k loop: NB loads of V, MR broadcasts of P, MR·NB independent FMAs per step.
    for _ in 0..a.keys {
        let mut vv = [s.zero(); NB];
        for (t, x) in vv.iter_mut().enumerate() {
            // SAFETY: this V row holds NB·L values from `v`.
            *x = unsafe { s.load(v.add(t * l)) };
        }
        for (i, row) in acc.iter_mut().enumerate() {
            // SAFETY: this step of Pᵀ holds MR values from `p`.
            let pb = unsafe { s.broadcast(p.add(i)) };
            for (x, &w) in row.iter_mut().zip(&vv) {
                *x = s.mul_add(pb, w, *x);
            }
        }
        // SAFETY: advancing within (or one past) Pᵀ and V.
        unsafe {
            p = p.add(a.ps);
            v = v.add(a.vs);
        }
    }

    for (i, row) in acc.iter().enumerate().take(a.rows) {
        // SAFETY: row i < rows of `out` holds NB·L writable values.
        let o = unsafe { a.out.add(i * a.outs) };
        if a.scale.is_null() {
            for (t, &x) in row.iter().enumerate() {
                // SAFETY: as above.
                unsafe { s.store(o.add(t * l), x) };
            }
        } else {
            // SAFETY: `scale` holds `rows` values.
            let f = unsafe { *a.scale.add(i) };
            let (vf, zero) = (s.splat(f), f == 0.0);
            for (t, &x) in row.iter().enumerate() {
                let y = if zero { s.zero() } else { s.mul(x, vf) };
                // SAFETY: as above.
                unsafe { s.store(o.add(t * l), y) };
            }
        }
    }
}
