//! Scheduling: splits a validated call into (sequence, head, query blocks) tasks, runs them
//! over threads (`crate::par`; the calling thread alone for small calls), each on the ISA's attention microkernels
//! (`fused.rs`) or, for other head widths, other ISAs and the `probs` path, on the GEMM tile
//! (`blocked.rs`), with a per-thread scratch buffer.
//!
//! On the microkernel path every task is one query block: K and V are read in place, so a
//! task has no setup to amortize, and even one (sequence, head) splits over every thread.
//! Each query's result depends only on its block's position, never on which thread runs it.

use super::blocked::{run_task, BLOCK_Q};
use super::fused::run_fast;
use super::params::{AttentionParams, Mask, QkvView, Seq};
use super::task::{SendPtr, Shared, Task};
use super::tiles::{dispatch_attn, fast_block, AttnOp, AttnTiles};
use super::validate::Checked;
use crate::gemm::kernel::{dispatch_tile, TileOp, TileShape};
use crate::isa::Isa;
use crate::par;
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

    let flops: usize = seqs.iter().map(|s| 4 * s.len * s.len * d * h).sum();
    let threads = if params.parallel && flops >= PARALLEL_MIN_FLOPS {
        rayon::current_num_threads()
    } else {
        1
    };
    // The microkernels' band masks compare positions as f32: exact below 2²⁴.
    let fast = match want_probs || c.smax >= 1 << 24 {
        true => None,
        false => fast_block(c.isa, d),
    };
    // Tasks: (sequence, head, range of query blocks). On the GEMM-tile path, split queries
    // only when there are too few (sequence, head) pairs to keep every thread busy (each
    // task packs K and V); on the microkernel path, always one block per task.
    let pairs = seqs.iter().filter(|s| s.len > 0).count() * h;
    let mut tasks = Vec::new();
    for (b, s) in seqs.iter().enumerate().filter(|(_, s)| s.len > 0) {
        let blocks = s.len.div_ceil(fast.unwrap_or(BLOCK_Q));
        let split = if fast.is_some() {
            blocks
        } else if threads > 1 && pairs < 2 * threads {
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
    // The scratch is borrowed here, outside the ISA shims: a closure inside a kernel body
    // would be compiled without the shim's target features (docs/design.md).
    let run = |t: &Task| {
        SCRATCH.with(|cell| {
            let buf = &mut *cell.borrow_mut();
            match fast {
                Some(_) => run_fast_task(c.isa, &shared, t, buf),
                None => dispatch_tile(
                    c.isa,
                    GemmTileOp {
                        sh: &shared,
                        t,
                        buf,
                    },
                ),
            }
        })
    };
    if threads > 1 {
        par::for_each(tasks.len(), |i| run(&tasks[i]));
    } else {
        tasks.iter().for_each(run);
    }
}

/// One task on the microkernels, inside the ISA's own shim for its head width (each shim
/// holds one instantiation of each microkernel).
fn run_fast_task(isa: Isa, sh: &Shared, t: &Task, buf: &mut Vec<f32>) {
    match sh.d {
        32 => dispatch_attn(isa, FastOp::<32> { sh, t, buf }),
        64 => dispatch_attn(isa, FastOp::<64> { sh, t, buf }),
        96 => dispatch_attn(isa, FastOp::<96> { sh, t, buf }),
        128 => dispatch_attn(isa, FastOp::<128> { sh, t, buf }),
        // `fast_block` admits only the widths above; any other still gets a right answer.
        _ => dispatch_tile(isa, GemmTileOp { sh, t, buf }),
    }
}

/// One task on the microkernels of head width `D`.
struct FastOp<'a, 'b, const D: usize> {
    sh: &'b Shared<'a>,
    t: &'b Task,
    buf: &'b mut Vec<f32>,
}

impl<const D: usize> AttnOp for FastOp<'_, '_, D> {
    type Output = ();
    #[inline(always)]
    fn run<S: AttnTiles>(self, s: S) {
        if S::FAST {
            run_fast::<S, D>(s, self.sh, self.t, self.buf);
        } else {
            // Not reached (`fast_block` said no); the GEMM tile is right for every token.
            run_task(s, self.sh, self.t, self.buf);
        }
    }
}

/// One task on the GEMM tile, generic over the ISA's tile shape.
struct GemmTileOp<'a, 'b> {
    sh: &'b Shared<'a>,
    t: &'b Task,
    buf: &'b mut Vec<f32>,
}

impl TileOp for GemmTileOp<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn run<S: TileShape>(self, s: S) {
        run_task(s, self.sh, self.t, self.buf);
    }
}
