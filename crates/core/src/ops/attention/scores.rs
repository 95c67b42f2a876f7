//! Microkernel 1: one tile of transposed scores `Sᵀ = K·Q̃ᵀ`, masked while in registers, its
//! per-query maximum folded into the block's running maximum.
//!
//! Shapes (one head): K rows are read where they lie (`k[j·ks + e]`, `e < d`), never packed;
//! Q̃ᵀ is the query block transposed and pre-scaled (`qt[e·qts + q]`, by `scale·log2 e`, so
//! the softmax runs in base 2); the tile is `NK` keys × `QA` vectors of queries, written to
//! the Sᵀ block at `st[j·sts + q]`. Queries sit in vector lanes, so the row maximum of a
//! query over keys is a lane-wise `max` across the tile's rows: no horizontal reductions.
//!
//! Each k step: `QA` loads of Q̃ᵀ, `NK` broadcasts of `K[j, e]` (embedded in the FMA on
//! AVX-512), `NK·QA` independent FMAs.

use crate::simd::Simd;

/// `log2 e`: scores are kept in base-2 units (Q̃ carries it; additive masks are multiplied by it).
pub(super) const LOG2E: f32 = std::f32::consts::LOG2_E;

/// `0, 1, …, 15`: lane indices, for the band masks.
static IOTA: [f32; 16] = [
    0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0,
];

/// What a tile hides or adds, per key row `j` and query lane `q` (sequence positions).
#[derive(Clone, Copy, Debug)]
pub(super) enum TileMask {
    /// Every score kept.
    None,
    /// Query `q` sees key `j` only if `j − before ≤ q ≤ j + after` (causal: `before` 0,
    /// `after` ∞; a sliding window: both the radius). Positions are exact in f32 (< 2²⁴,
    /// checked by the caller).
    Band {
        /// How far before the key a query may be.
        before: f32,
        /// How far after the key a query may be.
        after: f32,
    },
    /// Adds `log2 e · add[jj·jstep + q]` to row `jj` of the tile (`add` points at the tile's
    /// first key and query): the reversed relative-bias row (`jstep` −1) or an additive mask
    /// transposed into the block's layout (`jstep` = the block's row stride).
    Add {
        /// The value for the tile's first key and first query lane.
        add: *const f32,
        /// Elements between consecutive keys' values.
        jstep: isize,
    },
}

/// One tile's operands.
pub(super) struct ScoreArgs {
    /// Head width: the depth of the product.
    pub d: usize,
    /// Q̃ᵀ at the tile's first query lane; row `e` at `qt + e·qts`.
    pub qt: *const f32,
    /// Elements between rows of Q̃ᵀ.
    pub qts: usize,
    /// Row of the tile's first key (element 0 of this head).
    pub k: *const f32,
    /// Elements between key rows (and between the V rows of `pv`).
    pub ks: usize,
    /// Prefetched while the tile runs (a prefetch never faults, so these may point past the
    /// sequence): the first key row of the next tile, and the V row of the tile's first key
    /// (with K's stride). When K and V stream from L3 (long sequences), this hides the
    /// latency of both products' loads.
    pub pf_k: *const f32,
    /// See `pf_k`.
    pub pf_v: *const f32,
    /// Keys of the tile that exist (`1..=NK`); rows beyond reuse the last key and are dropped.
    pub nk: usize,
    /// Sequence position of the tile's first key.
    pub j0: usize,
    /// Sequence position of the tile's first query lane.
    pub q0: usize,
    /// Sᵀ at the tile's first key and query lane.
    pub st: *mut f32,
    /// Elements between rows (keys) of Sᵀ.
    pub sts: usize,
    /// The block's running per-query maximum, at the tile's first query lane (`QA·L` values).
    pub mx: *mut f32,
    /// What the tile hides or adds.
    pub mask: TileMask,
}

/// Computes, masks and stores one `nk × QA·L` tile of Sᵀ and folds it into `mx`.
///
/// NaN scores stay NaN (the softmax turns them into NaN weights that poison their query's
/// row); a hidden score is exactly −∞.
///
/// # Safety
/// `qt` must hold `d` rows of `QA·L` readable f32 at stride `qts`; `k` must hold `nk` rows of
/// `d` readable f32 at stride `ks`; `st` must be writable for `nk` rows of `QA·L` at stride
/// `sts`; `mx` readable and writable for `QA·L` f32; an `Add` mask readable at
/// `add + jj·jstep + q` for `jj < nk`, `q < QA·L`. `1 ≤ nk ≤ NK`, `L ≤ 16`.
#[inline(always)]
pub(super) unsafe fn scores_tile<S: Simd, const NK: usize, const QA: usize>(s: S, a: &ScoreArgs) {
    let l = S::LANES;
    debug_assert!((1..=NK).contains(&a.nk) && l <= IOTA.len());
    // Rows past `nk` read the last key again (in bounds); their results are never stored. A
    // full tile takes its own copy of the loop, whose row offsets LLVM keeps in registers
    // (with the clamp inside, it recomputed them at every step).
    let acc = if a.nk == NK {
        // SAFETY: forwarded (nk = NK rows).
        unsafe { product::<S, NK, QA>(s, a, NK) }
    } else {
        // SAFETY: forwarded.
        unsafe { product::<S, NK, QA>(s, a, a.nk) }
    };
    let mut acc = acc;

    // Mask in registers.
    match a.mask {
        TileMask::None => {}
        TileMask::Band { before, after } => {
            // SAFETY: IOTA holds 16 ≥ L values.
            let iota = unsafe { s.load(IOTA.as_ptr()) };
            let ninf = s.splat(f32::NEG_INFINITY);
            for (jj, row) in acc.iter_mut().enumerate().take(a.nk) {
                let j = (a.j0 + jj) as f32;
                let (lo, hi) = (s.splat(j - before), s.splat(j + after));
                for (t, c) in row.iter_mut().enumerate() {
                    let q = s.add(s.splat((a.q0 + t * l) as f32), iota);
                    *c = s.select_lt(q, lo, ninf, *c);
                    *c = s.select_lt(hi, q, ninf, *c);
                }
            }
        }
        TileMask::Add { add, jstep } => {
            let log2e = s.splat(LOG2E);
            for (jj, row) in acc.iter_mut().enumerate().take(a.nk) {
                let p = add.wrapping_offset(jj as isize * jstep);
                for (t, c) in row.iter_mut().enumerate() {
                    // SAFETY: the caller vouches for `add + jj·jstep + q`, q < QA·L.
                    let m = unsafe { s.load(p.add(t * l)) };
                    *c = s.mul_add(m, log2e, *c);
                }
            }
        }
    }

    // Store the tile and fold its rows into the running maximum (data second: NaN kept).
    let mut mx = [s.zero(); QA];
    for (t, m) in mx.iter_mut().enumerate() {
        // SAFETY: `mx` holds QA·L values.
        *m = unsafe { s.load(a.mx.add(t * l)) };
    }
    for (jj, row) in acc.iter().enumerate().take(a.nk) {
        for (t, (&c, m)) in row.iter().zip(mx.iter_mut()).enumerate() {
            // SAFETY: row jj < nk of Sᵀ holds QA·L writable values.
            unsafe { s.store(a.st.add(jj * a.sts + t * l), c) };
            *m = s.max(*m, c);
        }
    }
    for (t, &m) in mx.iter().enumerate() {
        // SAFETY: as above.
        unsafe { s.store(a.mx.add(t * l), m) };
    }
}

/// The k loop of [`scores_tile`]: `NK × QA` accumulators of K·Q̃ᵀ, rows `≥ nk` repeating row
/// `nk − 1`. Per step: QA loads, NK broadcasts, NK·QA independent FMAs.
///
/// # Safety
/// As for [`scores_tile`], with `1 ≤ nk ≤ NK`.
#[inline(always)]
unsafe fn product<S: Simd, const NK: usize, const QA: usize>(
    s: S,
    a: &ScoreArgs,
    nk: usize,
) -> [[S::V; QA]; NK] {
    let l = S::LANES;
    let mut acc = [[s.zero(); QA]; NK];
    let mut off = [0usize; NK];
    for (jj, o) in off.iter_mut().enumerate() {
        *o = jj.min(nk - 1) * a.ks;
    }
    let (mut kp, mut qp) = (a.k, a.qt);
    // Chunks of one cache line of each key row (16 f32), each opened by the prefetches of
    // the same line of the next tile's keys and of this tile's V rows.
    let mut e0 = 0;
    while e0 < a.d {
        for jj in 0..NK {
            let o = jj * a.ks + e0;
            s.prefetch(a.pf_k.wrapping_add(o));
            s.prefetch(a.pf_v.wrapping_add(o));
        }
        for _ in e0..(e0 + 16).min(a.d) {
            let mut qv = [s.zero(); QA];
            for (t, v) in qv.iter_mut().enumerate() {
                // SAFETY: this row of Q̃ᵀ holds QA·L values from `qp`.
                *v = unsafe { s.load(qp.add(t * l)) };
            }
            for (row, &o) in acc.iter_mut().zip(&off) {
                // SAFETY: key row `o / ks` < nk holds d values; this is element e < d.
                let kv = unsafe { s.broadcast(kp.add(o)) };
                for (c, &q) in row.iter_mut().zip(&qv) {
                    *c = s.mul_add(kv, q, *c);
                }
            }
            // SAFETY: the next element of every key row, the next row of Q̃ᵀ (one past the
            // last at the end).
            unsafe {
                kp = kp.add(1);
                qp = qp.add(a.qts);
            }
        }
        e0 += 16;
    }
    acc
}
