//! The attention call's vocabulary: where Q, K and V live, the sequences of a batch, the mask,
//! and the shape options.

use crate::isa::Isa;

/// Where Q, K and V live (see the [module docs](super) for the layout).
#[derive(Clone, Copy, Debug)]
pub struct QkvView<'a> {
    /// Queries.
    pub q: &'a [f32],
    /// Keys.
    pub k: &'a [f32],
    /// Values.
    pub v: &'a [f32],
    /// Elements between consecutive tokens (e.g. `3·d_model` for a packed QKV buffer).
    pub row_stride: usize,
}

impl<'a> QkvView<'a> {
    /// A view of the output of a fused QKV projection: rows of `[q | k | v]`, each `d_model`
    /// wide, as PyTorch's `in_proj_weight` produces them.
    pub fn packed(qkv: &'a [f32], d_model: usize) -> Self {
        // Checked: an absurd width gives empty views, which `attention` then rejects.
        let at = |i: usize| {
            i.checked_mul(d_model)
                .and_then(|o| qkv.get(o..))
                .unwrap_or(&[])
        };
        QkvView {
            q: at(0),
            k: at(1),
            v: at(2),
            row_stride: d_model.saturating_mul(3),
        }
    }
}

/// One sequence: its tokens are rows `start..start + len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seq {
    /// First row.
    pub start: usize,
    /// Number of tokens (queries and keys: self-attention).
    pub len: usize,
}

/// Which scores are hidden. Key padding is expressed by each [`Seq`]'s own length.
#[derive(Clone, Copy, Debug, Default)]
pub enum Mask<'a> {
    /// Every query sees every key of its sequence.
    #[default]
    None,
    /// Query `i` sees keys `0..=i`.
    Causal,
    /// Added to the scores: element `(i, j)` of sequence `b` at
    /// `data[b·batch_stride + i·row_stride + j]` (`batch_stride` = 0 shares one mask).
    /// Use `-inf` to hide a key.
    Additive {
        /// The mask values.
        data: &'a [f32],
        /// Elements between rows (the mask's width, ≥ every sequence length).
        row_stride: usize,
        /// Elements between sequences' masks (0: one mask for all).
        batch_stride: usize,
    },
    /// A per-head bias that depends only on how far the key is from the query (MPNet's
    /// relative-position buckets, T5, ALiBi): head `h`, query `i`, key `j` adds
    /// `table[h·(2·span − 1) + (j − i + span − 1)]`. `span` must be ≥ every sequence length.
    /// The table is O(heads·span), never a `[batch, heads, S, S]` tensor.
    RelativeBias {
        /// `[heads, 2·span − 1]`, offsets `−(span − 1)..=span − 1`.
        table: &'a [f32],
        /// One more than the largest offset the table covers.
        span: usize,
    },
    /// Query `i` sees keys `j` with `|i − j| ≤ radius` (ModernBERT's local layers: radius =
    /// `local_attention / 2`). Key blocks wholly outside the window are skipped, so the cost
    /// is O(S·radius) and the memory O(S).
    SlidingWindow {
        /// The farthest key a query sees, on either side.
        radius: usize,
    },
}

impl Mask<'_> {
    /// What the mask adds to the score of query `i`, key `j` (both < the sequence's length) of
    /// sequence `b`, head `h`: `−∞` hides the key. The scalar definition that the kernel's
    /// row-wise `apply_mask` and the naive references follow.
    pub fn value(&self, b: usize, h: usize, i: usize, j: usize) -> f32 {
        match *self {
            Mask::None => 0.0,
            Mask::Causal if j > i => f32::NEG_INFINITY,
            Mask::Causal => 0.0,
            Mask::Additive {
                data,
                row_stride,
                batch_stride,
            } => data[b * batch_stride + i * row_stride + j],
            Mask::RelativeBias { table, span } => table[h * (2 * span - 1) + (j + span - 1 - i)],
            Mask::SlidingWindow { radius } if i.abs_diff(j) > radius => f32::NEG_INFINITY,
            Mask::SlidingWindow { .. } => 0.0,
        }
    }

    /// True when the mask differs between heads (a combined `[batch, S, S]` mask cannot hold it).
    pub fn per_head(&self) -> bool {
        matches!(self, Mask::RelativeBias { .. })
    }
}

/// Shape and options of one attention call.
#[derive(Clone, Copy, Debug)]
pub struct AttentionParams {
    /// Number of heads.
    pub heads: usize,
    /// Width of one head.
    pub d_head: usize,
    /// Score scale; `None` = `1/√d_head`.
    pub scale: Option<f32>,
    /// Instruction set; `None` = [`Isa::active`].
    pub isa: Option<Isa>,
    /// Allow splitting the work over (sequence, head, query block).
    pub parallel: bool,
}

impl AttentionParams {
    /// `heads` heads of width `d_head`, default scale, active ISA, parallel.
    pub fn new(heads: usize, d_head: usize) -> Self {
        AttentionParams {
            heads,
            d_head,
            scale: None,
            isa: None,
            parallel: true,
        }
    }
}
