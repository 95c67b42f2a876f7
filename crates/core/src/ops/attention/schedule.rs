//! Scheduling: splits a validated call into (sequence, head, query blocks) tasks, runs them
//! on rayon (or the calling thread for small calls), each on the ISA's tile kernel with a
//! per-thread scratch buffer.

use super::blocked::{run_task, BLOCK_Q};
use super::params::{AttentionParams, Mask, QkvView, Seq};
use super::task::{SendPtr, Shared, Task};
use super::validate::Checked;
use crate::gemm::kernel::{dispatch_tile, TileOp, TileShape};
use rayon::prelude::*;
use std::cell::RefCell;

/// Below this many flops a call runs on one thread.
const PARALLEL_MIN_FLOPS: usize = 1 << 20;

thread_local! {
    /// Per-thread scratch, grown on demand and reused: no allocation per call in steady state.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs a call that [`super::validate::check`] accepted, with `width > 0` and `smax > 0`.
#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    qkv: QkvView,
    seqs: &[Seq],
    params: &AttentionParams,
    mask: Mask,
    c: &Checked,
    out: &mut [f32],
    out_stride: usize,
    probs: Option<&mut [f32]>,
) {
    let (h, d) = (params.heads, params.d_head);
    let want_probs = probs.is_some();
    let probs_ptr = probs.map(|p| {
        p.fill(0.0);
        SendPtr(p.as_mut_ptr())
    });

    // Tasks: (sequence, head, range of query blocks). Split queries only when there are too
    // few (sequence, head) pairs to keep every thread busy.
    let flops: usize = seqs.iter().map(|s| 4 * s.len * s.len * d * h).sum();
    let threads = if params.parallel && flops >= PARALLEL_MIN_FLOPS {
        rayon::current_num_threads()
    } else {
        1
    };
    let pairs = seqs.iter().filter(|s| s.len > 0).count() * h;
    let mut tasks = Vec::new();
    for (b, s) in seqs.iter().enumerate().filter(|(_, s)| s.len > 0) {
        let blocks = s.len.div_ceil(BLOCK_Q);
        let split = if threads > 1 && pairs < 2 * threads {
            blocks.min((2 * threads).div_ceil(pairs))
        } else {
            1
        };
        let per = blocks.div_ceil(split);
        for head in 0..h {
            for c in (0..blocks).step_by(per) {
                tasks.push(Task {
                    b,
                    seq: *s,
                    head,
                    q_blocks: c..(c + per).min(blocks),
                });
            }
        }
    }
    let shared = Shared {
        qkv,
        d,
        scale: c.scale,
        mask,
        out: SendPtr(out.as_mut_ptr()),
        out_stride,
        probs: probs_ptr,
        smax: c.smax,
        heads: h,
        single_block: want_probs,
    };
    let run = |t: &Task| {
        dispatch_tile(
            c.isa,
            AttnOp {
                sh: &shared,
                t: t.clone(),
            },
        )
    };
    if threads > 1 {
        tasks.par_iter().for_each(run);
    } else {
        tasks.iter().for_each(run);
    }
}

/// One task, generic over the ISA's tile shape.
struct AttnOp<'a, 'b> {
    sh: &'b Shared<'a>,
    t: Task,
}

impl TileOp for AttnOp<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn run<S: TileShape>(self, s: S) {
        SCRATCH.with(|cell| {
            let mut buf = cell.borrow_mut();
            run_task(s, self.sh, &self.t, &mut buf);
        })
    }
}
