//! The microkernel path of one task (a sequence, a head, one block of `BQ` queries): the
//! FlashAttention loop with both products on attention-specific tiles (`scores.rs`, `pv.rs`)
//! and the online softmax on whole Sᵀ blocks (`block_softmax.rs`).
//!
//! Shapes (one sequence of `len` tokens, one head of width `D`; scratch per thread):
//! - Q̃ᵀ `D × BQ`: the query block transposed and multiplied by `scale·log2 e` (packed once
//!   per task; the only packing left);
//! - K and V rows read where they lie in the QKV buffer (copied to scratch only when the row
//!   stride is a multiple of 4 KiB, where the rows of one tile would share L1 sets);
//! - Sᵀ/Pᵀ `kb × BQ` per key block (`kb` from the L2 size, `caches.rs`), the running `m`, `l`
//!   per query, and, when there is more than one key block, the accumulator O `BQ × D`.
//!
//! Passes per key block: (1) Sᵀ tiles, masked in registers, block max; (2) online softmax in
//! place; (3) O (re)scaled and += P·V, straight to the output rows after the last block.

use super::block_softmax::{exp_block, Running};
use super::caches::{balanced_block, key_block};
use super::mask::key_range;
use super::online::probs_inverse;
use super::params::Mask;
use super::pv::PvArgs;
use super::scores::{ScoreArgs, TileMask, LOG2E};
use super::task::{Shared, Task};
use super::tiles::AttnTiles;
use crate::cache::caches;
use std::ops::Range;

/// K or V rows of one head: row `j` of the sequence at `ptr + (j − first)·stride`.
#[derive(Clone, Copy)]
struct Rows {
    ptr: *const f32,
    first: usize,
    stride: usize,
}

impl Rows {
    #[inline(always)]
    fn at(self, j: usize) -> *const f32 {
        self.ptr.wrapping_add((j - self.first) * self.stride)
    }
}

/// Scratch sizes, in f32, each region starting on a 64-byte boundary.
struct Layout {
    qt: usize,
    st: usize,
    state: usize,
    o: usize,
    extra: usize,
    kv: usize,
}

/// Rounds up to whole cache lines.
fn lines(n: usize) -> usize {
    n.div_ceil(16) * 16
}

impl Layout {
    fn total(&self) -> usize {
        self.qt + self.st + 5 * self.state + self.o + self.extra + 2 * self.kv
    }
}

/// The largest P·V tile height of any token (`AttnTiles::pv_shape`).
const MAX_MR: usize = 16;

/// Whether rows `stride` floats apart fall into the same L1 sets (a multiple of 4 KiB).
fn aliasing_stride(stride: usize) -> bool {
    (stride * 4).is_multiple_of(4096)
}

/// Runs one task on the microkernels of `S` for head width `D` (= `sh.d`).
#[inline(always)]
pub(super) fn run_fast<S: AttnTiles, const D: usize>(
    s: S,
    sh: &Shared,
    t: &Task,
    buf: &mut Vec<f32>,
) {
    let (bqm, l, len) = (S::BQ, S::LANES, t.seq.len);
    debug_assert!(D == sh.d && S::FAST);
    // At most this many keys per block; the scratch is sized for no more than the sequence
    // needs (a block never exceeds the keys rounded up to whole vectors).
    let kb_max = key_block(caches(), bqm, D).min(len.div_ceil(16) * 16);
    let rs = sh.qkv.row_stride;
    // The keys any query block of the task visits (monotone in the block for every mask).
    let first = key_range(&sh.mask, t.q_blocks.start * bqm, bqm, len, 1);
    let last_q = (t.q_blocks.end - 1) * bqm;
    let last = key_range(&sh.mask, last_q, bqm.min(len - last_q), len, 1);
    let task_keys = first.start..last.end;
    let copy_kv = aliasing_stride(rs);
    let lay = Layout {
        qt: lines(D * bqm),
        // A P·V tile may run past the block's last query (MR need not divide BQ): it reads
        // up to MR − 1 lanes past the Sᵀ rows and the state, and MR − 1 accumulator rows.
        st: lines(kb_max * bqm + MAX_MR),
        state: lines(bqm + MAX_MR),
        o: lines((bqm + MAX_MR) * D),
        extra: match sh.mask {
            Mask::RelativeBias { .. } => lines(2 * len + bqm),
            Mask::Additive { .. } => lines(kb_max * bqm),
            _ => 0,
        },
        kv: if copy_kv {
            lines(task_keys.len() * D)
        } else {
            0
        },
    };
    if buf.len() < lay.total() + 16 {
        buf.resize(lay.total() + 16, 0.0);
    }
    let skip = buf.as_ptr().align_offset(64).min(15);
    let rest = &mut buf[skip..];
    let (qt, rest) = rest.split_at_mut(lay.qt);
    let (st, rest) = rest.split_at_mut(lay.st);
    let (mb, rest) = rest.split_at_mut(lay.state);
    let (m, rest) = rest.split_at_mut(lay.state);
    let (lsum, rest) = rest.split_at_mut(lay.state);
    let (corr, rest) = rest.split_at_mut(lay.state);
    let (inv, rest) = rest.split_at_mut(lay.state);
    let (o, rest) = rest.split_at_mut(lay.o);
    let (extra, rest) = rest.split_at_mut(lay.extra);
    let (kc, rest) = rest.split_at_mut(lay.kv);
    let vc = &mut rest[..lay.kv];

    let base = t.seq.start * rs + t.head * D;
    let (k, v) = if copy_kv {
        for (i, j) in task_keys.clone().enumerate() {
            let src = base + j * rs;
            kc[i * D..(i + 1) * D].copy_from_slice(&sh.qkv.k[src..src + D]);
            vc[i * D..(i + 1) * D].copy_from_slice(&sh.qkv.v[src..src + D]);
        }
        let rows = |p: *const f32| Rows {
            ptr: p,
            first: task_keys.start,
            stride: D,
        };
        (rows(kc.as_ptr()), rows(vc.as_ptr()))
    } else {
        let rows = |x: &[f32]| Rows {
            ptr: x[base..].as_ptr(),
            first: 0,
            stride: rs,
        };
        (rows(sh.qkv.k), rows(sh.qkv.v))
    };
    if let Mask::RelativeBias { table, span } = sh.mask {
        reverse_bias(&mut extra[..2 * len + bqm], table, span, t.head, len);
    }

    let q_rows = sh.qkv.q[base..].as_ptr();
    for qb in t.q_blocks.clone() {
        let q0 = qb * bqm;
        let bq = bqm.min(len - q0);
        // Pass 0: Q̃ᵀ, scaled into base-2 units; lanes past the block are zero.
        let c = sh.scale * LOG2E;
        s.pack_qt(&sh.qkv.q[base + q0 * rs..], rs, (bq, D), c, qt, bqm);
        if bq < bqm {
            for e in 0..D {
                qt[e * bqm + bq..(e + 1) * bqm].fill(0.0);
            }
        }
        let qa = S::QA * l;
        // Query vectors the passes cover: only those that hold a query (an 18-token sentence
        // computes 2 of the block's 4 vectors). Lanes past them keep stale scratch values,
        // read only by the rows of an edge P·V tile past the block, which are never stored.
        let nv = bq.div_ceil(l);
        m[..nv * l].fill(f32::NEG_INFINITY);
        lsum[..nv * l].fill(0.0);

        let keys = key_range(&sh.mask, q0, bq, len, 1);
        let kb = balanced_block(keys.len(), kb_max);
        let mut k0 = keys.start;
        while k0 < keys.end {
            let kn = kb.min(keys.end - k0);
            let block = k0..k0 + kn;
            // Pass 1: Sᵀ = K·Q̃ᵀ (+ mask) and the block maximum, tile by tile.
            mb[..nv * l].fill(f32::NEG_INFINITY);
            if let Mask::Additive {
                data,
                row_stride,
                batch_stride,
            } = sh.mask
            {
                // The block's mask transposed into Sᵀ's layout (lanes past the block: 0).
                let at = &mut extra[..kb_max * bqm];
                for q in 0..nv * l {
                    if q < bq {
                        let src = t.b * batch_stride + (q0 + q) * row_stride + k0;
                        for (jj, &x) in data[src..src + kn].iter().enumerate() {
                            at[jj * bqm + q] = x;
                        }
                    } else {
                        for jj in 0..kn {
                            at[jj * bqm + q] = 0.0;
                        }
                    }
                }
            }
            for sub in (0..bq).step_by(qa) {
                for j in block.clone().step_by(S::NK) {
                    let nk = S::NK.min(block.end - j);
                    let mask = tile_mask(&sh.mask, (j, nk), (q0, sub, qa), extra, (k0, bqm, len));
                    let args = ScoreArgs {
                        d: D,
                        qt: qt[sub..].as_ptr(),
                        qts: bqm,
                        k: k.at(j),
                        ks: k.stride,
                        pf_k: k.at(j).wrapping_add(S::NK * k.stride),
                        pf_v: v.at(j),
                        nk,
                        j0: j,
                        q0: q0 + sub,
                        st: st[(j - k0) * bqm + sub..].as_mut_ptr(),
                        sts: bqm,
                        mx: mb[sub..].as_mut_ptr(),
                        mask,
                    };
                    // SAFETY: Q̃ᵀ has D rows of BQ ≥ sub + QA·L values; key rows j..j+nk
                    // lie in the sequence (block ⊆ 0..len, checked by `validate`) or in the
                    // copy of the task's keys; Sᵀ has kb_max ≥ kn rows of BQ; `mb` holds BQ;
                    // an Add mask reads the reversed bias (indices 0..2·len + BQ, see
                    // `reverse_bias`) or the transposed block (kn rows of BQ). The regions
                    // are disjoint slices of the scratch.
                    unsafe { s.scores(&args, S::QA.min((bq - sub).div_ceil(l))) };
                }
            }
            // Pass 2: online softmax on the block.
            exp_block(
                s,
                st,
                bqm,
                kn,
                nv,
                Running {
                    m,
                    l: lsum,
                    mb,
                    corr,
                },
            );
            let (first_block, last_block) = (k0 == keys.start, k0 + kn == keys.end);
            if last_block {
                for (i, x) in inv[..bq].iter_mut().enumerate() {
                    *x = probs_inverse(lsum[i]);
                }
            }
            // Pass 3: O = O·corr + P·V, or the output rows after the last block.
            let (mr, cols) = S::pv_shape::<D>();
            debug_assert!(mr <= MAX_MR);
            let op = o.as_mut_ptr();
            for i0 in (0..bq).step_by(mr) {
                let rows = mr.min(bq - i0);
                let tk = tile_keys(&sh.mask, q0 + i0, q0 + i0 + rows - 1, &block);
                if last_block {
                    // The same rows of the next query block's Q, for its pass 0 (usually the
                    // next task on this thread): they come from memory otherwise.
                    let next = q_rows.wrapping_add((q0 + bqm + i0) * rs);
                    for r in 0..mr {
                        for e in (0..D).step_by(16) {
                            s.prefetch(next.wrapping_add(r * rs + e));
                        }
                    }
                }
                for c0 in (0..D).step_by(cols) {
                    let acc = op.wrapping_add(i0 * D + c0);
                    let (out, outs) = if last_block {
                        let row = (t.seq.start + q0 + i0) * sh.out_stride + t.head * D + c0;
                        (sh.out.0.wrapping_add(row), sh.out_stride)
                    } else {
                        (acc, D)
                    };
                    let args = PvArgs {
                        keys: tk.len(),
                        p: st.as_ptr().wrapping_add((tk.start - k0) * bqm + i0),
                        ps: bqm,
                        v: v.at(tk.start).wrapping_add(c0),
                        vs: v.stride,
                        acc: if first_block { std::ptr::null() } else { acc },
                        corr: corr[i0..].as_ptr(),
                        accs: D,
                        out,
                        outs,
                        scale: if last_block {
                            inv[i0..].as_ptr()
                        } else {
                            std::ptr::null()
                        },
                        rows: if last_block { rows } else { mr },
                    };
                    // SAFETY: Pᵀ rows tk ⊆ block, lanes i0..i0 + MR < BQ + MAX_MR (the
                    // region's padding covers the last row's overrun); V rows tk of the
                    // sequence (or the copy), columns c0..c0 + cols ≤ D; `o` holds
                    // BQ + MAX_MR rows of D; `corr` and `inv` BQ + MAX_MR values; the output rows
                    // q0 + i0 .. + rows lie in this sequence, whose head columns only this
                    // task writes (`attention` checked `out`'s extent and that sequences do
                    // not overlap).
                    unsafe { s.pv::<D>(&args) };
                }
            }
            k0 += kn;
        }
    }
}

/// The mask of the Sᵀ tile of keys `j..j + nk` and query lanes `q0 + sub ..+ qa` (positions
/// in the sequence; `q0` the block's first query); `None` where nothing in the tile is hidden.
/// `extra` holds the reversed bias or the block's transposed additive mask (`k0`: the block's
/// first key; `bqm`: its row stride).
#[inline(always)]
fn tile_mask(
    mask: &Mask,
    (j, nk): (usize, usize),
    (q0, sub, qa): (usize, usize, usize),
    extra: &[f32],
    (k0, bqm, len): (usize, usize, usize),
) -> TileMask {
    let q = q0 + sub;
    let (j_last, q_last) = (j + nk - 1, q + qa - 1);
    match *mask {
        Mask::None => TileMask::None,
        Mask::Causal if q < j_last => TileMask::Band {
            before: 0.0,
            after: f32::INFINITY,
        },
        Mask::SlidingWindow { radius } if q + radius < j_last || q_last > j + radius => {
            let r = radius.min(len) as f32;
            TileMask::Band {
                before: r,
                after: r,
            }
        }
        Mask::Causal | Mask::SlidingWindow { .. } => TileMask::None,
        // rev[(q' − j') + len − 1] for lane q', key j' (see `reverse_bias`); later rows step
        // back, so the pointer is taken from the whole slice, not a tail of it.
        Mask::RelativeBias { .. } => TileMask::Add {
            add: extra.as_ptr().wrapping_add(q + len - 1 - j),
            jstep: -1,
        },
        Mask::Additive { .. } => TileMask::Add {
            add: extra.as_ptr().wrapping_add((j - k0) * bqm + sub),
            jstep: bqm as isize,
        },
    }
}

/// The keys of `block` that queries `qa..=qb` can see (the others have weight exactly 0).
#[inline(always)]
fn tile_keys(mask: &Mask, qa: usize, qb: usize, block: &Range<usize>) -> Range<usize> {
    let (lo, hi) = match *mask {
        Mask::Causal => (block.start, qb + 1),
        Mask::SlidingWindow { radius } => (
            qa.saturating_sub(radius),
            qb.saturating_add(radius).saturating_add(1),
        ),
        _ => (block.start, block.end),
    };
    let lo = lo.clamp(block.start, block.end);
    lo..hi.clamp(lo, block.end)
}

/// `rev[δ + len − 1]` = the bias of head `h` for a query `δ` positions after its key
/// (`table[h·(2·span − 1) + span − 1 − δ]`, |δ| < len), 0 outside: the relative bias laid out
/// so that consecutive queries of one key are consecutive (the scores tile's lanes).
fn reverse_bias(rev: &mut [f32], table: &[f32], span: usize, h: usize, len: usize) {
    let row = &table[h * (2 * span - 1)..(h + 1) * (2 * span - 1)];
    rev.fill(0.0);
    // δ from −(len − 1) to len − 1: table index span − 1 − δ, within 0..2·span − 1 (span ≥ len).
    for (x, r) in rev[..2 * len - 1].iter_mut().enumerate() {
        *r = row[span - 1 + (len - 1) - x];
    }
}
