//! What the scheduler hands the kernel: the call-wide [`Shared`] state and one [`Task`] per
//! (sequence, head, range of query blocks).

use super::params::{Mask, QkvView, Seq};
use std::ops::Range;

/// A raw output pointer shared by tasks that write disjoint rows / heads.
#[derive(Clone, Copy)]
pub(super) struct SendPtr(pub *mut f32);
// SAFETY: every task writes only its own (rows of one sequence) × (columns of one head) of
// `out` and its own (sequence, head) slab of `probs`; `attention` checked that sequences do
// not overlap and the buffers are long enough, and the parallel region joins before return.
unsafe impl Send for SendPtr {}
// SAFETY: as above.
unsafe impl Sync for SendPtr {}

/// What every task shares.
pub(super) struct Shared<'a> {
    pub qkv: QkvView<'a>,
    pub d: usize,
    pub scale: f32,
    pub mask: Mask<'a>,
    pub out: SendPtr,
    pub out_stride: usize,
    pub probs: Option<SendPtr>,
    /// The longest sequence: the side of each `probs` slab.
    pub smax: usize,
    pub heads: usize,
    /// One key block per sequence (the `probs` path), whatever its length.
    pub single_block: bool,
}

/// One unit of parallel work.
#[derive(Clone)]
pub(super) struct Task {
    /// Index of the sequence in the batch.
    pub b: usize,
    pub seq: Seq,
    pub head: usize,
    pub q_blocks: Range<usize>,
}
