//! The blocked kernel of one task: for each block of queries, the keys in blocks with an
//! online softmax, both products on the GEMM microkernel.
//!
//! Shapes (one sequence of `len` tokens, one head of width `d`; scratch is per thread):
//! - Kᵀ packed once per task: `d × len` in panels of NR keys; V packed once: `len × d` in
//!   panels of NR columns;
//! - per query block (`bq ≤ BLOCK_Q` rows): Q̃ `bq × d` (pre-scaled), scores `bq × kb`, P̃
//!   (the scores packed as A), the accumulator O `bq × d`, running max `m` and sum `l`.

use super::mask::{apply_mask, key_range};
use super::online::{exp_row_update, probs_inverse};
use super::task::{SendPtr, Shared, Task};
use crate::gemm::kernel::{TileArgs, TileShape};
use crate::gemm::pack::{pack_a, pack_b};
use crate::mat::MatRef;
use crate::ops::rows::scale_in_place;

/// Queries per block (a multiple of every MR: 8, 6, 4 → 48).
pub const BLOCK_Q: usize = 48;
/// Sequences with at most this many keys are processed in one key block.
pub const SINGLE_BLOCK_MAX: usize = 1024;
/// Key block size above [`SINGLE_BLOCK_MAX`] (a multiple of every NR: 48, 16, 8, 4).
pub const BLOCK_K: usize = 384;

/// Sizes of the scratch regions of one task, in order.
struct Layout {
    kp: usize,
    vp: usize,
    qp: usize,
    sc: usize,
    pp: usize,
    o: usize,
}

/// The scratch regions of one task as disjoint slices (split from one buffer with
/// `split_at_mut`), so that the read pointers and the written tile of each microkernel call
/// come from different borrows and never alias.
struct Scratch<'s> {
    /// Kᵀ, packed as B̃.
    kp: &'s mut [f32],
    /// V, packed as B̃.
    vp: &'s mut [f32],
    /// The query block, packed as Ã and pre-scaled.
    qp: &'s mut [f32],
    /// Scores, then unnormalized weights, `bq × kb`.
    sc: &'s mut [f32],
    /// The weights packed as Ã.
    pp: &'s mut [f32],
    /// The output accumulator, `bq × d`.
    o: &'s mut [f32],
}

impl Layout {
    fn new(len: usize, d: usize, bk: usize, mr: usize, nr: usize) -> Layout {
        let bq_pad = BLOCK_Q.div_ceil(mr) * mr;
        Layout {
            kp: len.div_ceil(nr) * nr * d,
            vp: d.div_ceil(nr) * nr * len,
            qp: bq_pad * d,
            sc: BLOCK_Q * bk,
            pp: bq_pad * bk,
            o: BLOCK_Q * d,
        }
    }

    fn total(&self) -> usize {
        self.kp + self.vp + self.qp + self.sc + self.pp + self.o
    }

    /// Splits the first [`Layout::total`] elements of `buf` into the regions.
    fn split<'s>(&self, buf: &'s mut [f32]) -> Scratch<'s> {
        let (kp, rest) = buf.split_at_mut(self.kp);
        let (vp, rest) = rest.split_at_mut(self.vp);
        let (qp, rest) = rest.split_at_mut(self.qp);
        let (sc, rest) = rest.split_at_mut(self.sc);
        let (pp, rest) = rest.split_at_mut(self.pp);
        let o = &mut rest[..self.o];
        Scratch {
            kp,
            vp,
            qp,
            sc,
            pp,
            o,
        }
    }
}

/// Runs one task: every query block of `t`, writing its rows of the head's output columns
/// (and its `probs` rows).
#[inline(always)]
pub(super) fn run_task<'a, S: TileShape>(s: S, sh: &Shared<'a>, t: &Task, buf: &mut Vec<f32>) {
    let (mr, nr) = (S::MR, S::NR);
    let (d, len) = (sh.d, t.seq.len);
    let bk = if sh.single_block || len <= SINGLE_BLOCK_MAX {
        len
    } else {
        BLOCK_K
    };
    let lay = Layout::new(len, d, bk, mr, nr);
    if buf.len() < lay.total() {
        buf.resize(lay.total(), 0.0);
    }
    let Scratch {
        kp,
        vp,
        qp,
        sc,
        pp,
        o,
    } = lay.split(buf);
    let rs = sh.qkv.row_stride;
    let base = t.seq.start * rs + t.head * d;
    let view = |x: &'a [f32]| MatRef::new_unchecked(&x[base..], len, d, rs, 1);
    let (q, k, v) = (view(sh.qkv.q), view(sh.qkv.k), view(sh.qkv.v));

    // Pack Kᵀ (d × len, panels of NR keys) and V (len × d, panels of NR columns) once.
    pack_b(&k.t(), 0, len, 0, d, nr, kp);
    pack_b(&v, 0, d, 0, len, nr, vp);

    let mut m = [0.0f32; BLOCK_Q];
    let mut l = [0.0f32; BLOCK_Q];
    for qb in t.q_blocks.clone() {
        let q0 = qb * BLOCK_Q;
        let bq = BLOCK_Q.min(len - q0);
        // Pass 0: Q block packed and pre-scaled (the scale folded into Q, not the scores).
        pack_a(&q, q0, bq, 0, d, mr, qp);
        let n = bq.div_ceil(mr) * mr * d;
        scale_in_place(s, &mut qp[..n], sh.scale);
        m[..bq].fill(f32::NEG_INFINITY);
        l[..bq].fill(0.0);
        o[..bq * d].fill(0.0);

        let keys = key_range(&sh.mask, q0, bq, len, nr);
        for k0 in keys.clone().step_by(bk) {
            let kb = bk.min(keys.end - k0);
            // Pass 1: S = Q·Kᵀ for this block, rows of width kb.
            for jp in 0..kb.div_ceil(nr) {
                for ip in 0..bq.div_ceil(mr) {
                    let args = TileArgs {
                        kc: d,
                        alpha: 1.0,
                        beta: 0.0,
                        rsc: kb,
                        epi: Default::default(),
                        a: qp[ip * mr * d..].as_ptr(),
                        b: kp[(k0 / nr + jp) * nr * d..].as_ptr(),
                        b_next: std::ptr::null(),
                        b_rs: 0,
                        a_rs: 0,
                        prefetch_c: true,
                    };
                    let c = &mut sc[ip * mr * kb + jp * nr..];
                    debug_assert!(
                        c.len() >= (mr.min(bq - ip * mr) - 1) * kb + nr.min(kb - jp * nr)
                    );
                    // SAFETY: Ã holds MR·d values at this panel (qp was packed for bq rows
                    // padded to MR); B̃ holds NR·d at panel k0/NR + jp < ⌈len/NR⌉ (kp packed
                    // for len keys); the C tile is min(MR, bq−i)×min(NR, kb−j) inside the
                    // bq × kb score block, which `c` covers (asserted in debug builds). The
                    // read pointers come from `qp` and `kp`, the written tile from `sc`:
                    // disjoint borrows of the scratch (`Layout::split`), so nothing aliases.
                    unsafe {
                        s.tile(
                            &args,
                            c.as_mut_ptr(),
                            mr.min(bq - ip * mr),
                            nr.min(kb - jp * nr),
                            std::ptr::null(),
                        )
                    };
                }
            }
            // Pass 2: mask, online softmax, rescale the accumulator.
            for i in 0..bq {
                let row = &mut sc[i * kb..(i + 1) * kb];
                apply_mask(s, &sh.mask, (t.b, t.head), q0 + i, k0, row);
                if let Some(corr) = exp_row_update(s, row, &mut m[i], &mut l[i]) {
                    if corr != 1.0 {
                        scale_in_place(s, &mut o[i * d..(i + 1) * d], corr);
                    }
                }
            }
            // Pass 3: O += P·V for this key block.
            let scores = MatRef::new_unchecked(&*sc, bq, kb, kb, 1);
            pack_a(&scores, 0, bq, 0, kb, mr, pp);
            for jp in 0..d.div_ceil(nr) {
                for ip in 0..bq.div_ceil(mr) {
                    let args = TileArgs {
                        kc: kb,
                        alpha: 1.0,
                        beta: 1.0,
                        rsc: d,
                        epi: Default::default(),
                        a: pp[ip * mr * kb..].as_ptr(),
                        b: vp[(jp * len + k0) * nr..].as_ptr(),
                        b_next: std::ptr::null(),
                        b_rs: 0,
                        a_rs: 0,
                        prefetch_c: true,
                    };
                    let c = &mut o[ip * mr * d + jp * nr..];
                    // SAFETY: Ã holds MR·kb values at this panel (pp packed for bq rows padded
                    // to MR); B̃ panel jp holds len·NR values and we read kb steps from k0;
                    // the C tile lies inside the bq × d accumulator. Reads come from `pp` and
                    // `vp`, the tile from `o`: disjoint borrows (`Layout::split`).
                    unsafe {
                        s.tile(
                            &args,
                            c.as_mut_ptr(),
                            mr.min(bq - ip * mr),
                            nr.min(d - jp * nr),
                            std::ptr::null(),
                        )
                    };
                }
            }
            if let Some(p) = sh.probs {
                // Single key block here: P is complete; probs = P / l.
                write_probs(sh, t, (q0, bq), (k0, kb), sc, &l, p);
            }
        }
        // Pass 4: normalize and write the head's columns of the output rows.
        for i in 0..bq {
            let inv = if l[i] > 0.0 { 1.0 / l[i] } else { 0.0 };
            let src = &o[i * d..(i + 1) * d];
            let row = (t.seq.start + q0 + i) * sh.out_stride + t.head * d;
            // SAFETY: `attention` checked out holds every row of every sequence up to
            // heads·d_head columns; this task alone writes this row's head columns.
            let dst = unsafe { std::slice::from_raw_parts_mut(sh.out.0.add(row), d) };
            if l[i] > 0.0 {
                for (o, &x) in dst.iter_mut().zip(src) {
                    *o = x * inv;
                }
            } else if l[i].is_nan() || m[i].is_nan() {
                dst.fill(f32::NAN);
            } else {
                dst.fill(0.0);
            }
        }
    }
}

/// Writes normalized weights of one query block (keys `k0..k0 + kb`) into the probs slab of
/// (sequence, head); the keys the block skipped keep the zeros the scheduler wrote.
fn write_probs(
    sh: &Shared,
    t: &Task,
    (q0, bq): (usize, usize),
    (k0, kb): (usize, usize),
    p: &[f32],
    l: &[f32],
    dst: SendPtr,
) {
    let smax = sh.smax;
    let slab = (t.b * sh.heads + t.head) * smax * smax;
    for i in 0..bq {
        let inv = probs_inverse(l[i]);
        // SAFETY: `attention` checked probs has n_seqs·heads·S·S elements; row q0+i < len ≤ S
        // of this task's own (sequence, head) slab, and k0 + kb ≤ len ≤ S columns.
        let row =
            unsafe { std::slice::from_raw_parts_mut(dst.0.add(slab + (q0 + i) * smax + k0), kb) };
        for (o, &x) in row.iter_mut().zip(&p[i * kb..(i + 1) * kb]) {
            *o = x * inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The regions the kernel reads and writes through raw pointers are disjoint slices of one
    /// buffer, in layout order, each of its planned size (issue 17: no pointer of a microkernel
    /// call may come from a borrow that another call's `&mut` invalidates).
    #[test]
    fn scratch_regions_are_disjoint_and_sized() {
        for (len, d, bk, mr, nr) in [
            (1, 1, 1, 4, 4),
            (130, 64, 130, 8, 48),
            (2000, 33, 384, 6, 16),
        ] {
            let lay = Layout::new(len, d, bk, mr, nr);
            let mut buf = vec![0.0f32; lay.total() + 5];
            let start = buf.as_ptr() as usize;
            let sc = lay.split(&mut buf);
            let regions = [
                (&sc.kp, lay.kp),
                (&sc.vp, lay.vp),
                (&sc.qp, lay.qp),
                (&sc.sc, lay.sc),
                (&sc.pp, lay.pp),
                (&sc.o, lay.o),
            ];
            let mut at = start;
            for (r, size) in regions {
                assert_eq!(r.len(), size);
                assert_eq!(
                    r.as_ptr() as usize,
                    at,
                    "regions are consecutive, not overlapping"
                );
                at += 4 * size;
            }
            assert_eq!(at, start + 4 * lay.total());
        }
    }
}
