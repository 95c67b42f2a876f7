//! Fused multi-head attention: for each (sequence, head, block of queries)
//! `O = softmax(Q·Kᵀ·scale + mask)·V`, written straight into the concatenated-heads output.
//!
//! Shapes (per sequence of `len` tokens starting at row `start`):
//! - q, k, v: token `t`, head `h`, element `j` at `x[t·row_stride + h·d_head + j]`, so the
//!   packed output of a fused QKV projection (`[T, 3·d_model]`) is read in place, no transposes;
//! - out: `[T, heads·d_head]` at `out[t·out_stride + h·d_head + j]`;
//! - probs (optional): `[n_seqs, heads, S, S]` with `S` the longest sequence.
//!
//! Algorithm (FlashAttention, Dao et al. 2022, without the GPU-specific parts): queries in
//! blocks, keys in blocks with an online softmax (running max `m`, running sum `l`,
//! accumulator rescaled by `exp(m_old − m_new)`), so memory per thread is O(len·d), never
//! O(len²).
//!
//! Variants and the dispatch rule (`schedule.rs`):
//! - **attention microkernels** (`fused.rs`) for head widths 32, 64, 96 and 128 on AVX-512
//!   and AVX2, without `probs`: per task one block of `BQ` queries (64 on AVX-512, 48 on
//!   AVX2), its Q̃ᵀ packed, K and V rows read where they lie; the scores as Sᵀ tiles with the
//!   queries in vector lanes (`scores.rs`: K·Q̃ᵀ, masked in registers), the online softmax on
//!   the whole block in base 2 (`block_softmax.rs`), P·V on a tile as wide as the head
//!   (`pv.rs`); key blocks sized from the L2 cache (`caches.rs`, from `crate::cache`), one
//!   block up to that size;
//! - **GEMM tiles** (`blocked.rs`) otherwise (other widths, the portable and scalar ISAs,
//!   and `probs`, whose path uses one key block so P is complete): Kᵀ and V packed once per
//!   task, both products on the GEMM microkernel; blocks of 48 queries, one key block up to
//!   1024 keys, blocks of 384 above;
//! - the mask decides which keys a query block visits (causal: up to its last query; a
//!   sliding window: the keys some query of the block sees) and what is added to each score
//!   (`mask.rs` for the GEMM path, `fused::tile_mask` for the microkernels).
//!
//! Files: `params.rs` (the types below), `validate.rs` (argument checks), `schedule.rs`
//! (tasks over sequence × head × query blocks over threads, scratch), `task.rs` (what a task
//! holds); the microkernel path: `tiles.rs` (per-ISA tiles and their dispatcher), `fused.rs`,
//! `pack.rs`, `scores.rs`, `block_softmax.rs`, `pv.rs`, `caches.rs`; the GEMM path:
//! `blocked.rs`, `mask.rs`, `online.rs`.

mod block_softmax;
mod blocked;
mod caches;
mod fused;
mod mask;
mod online;
mod pack;
mod params;
mod pv;
mod schedule;
mod scores;
mod task;
mod tiles;
mod validate;

/// The blocking constants (`internals` feature: for qkv's tests and benches, not API).
#[cfg(feature = "internals")]
pub use blocked::{BLOCK_K, BLOCK_Q, SINGLE_BLOCK_MAX};
pub use params::{AttentionParams, Mask, QkvView, Seq};

use crate::error::Result;

/// Fused attention over a batch of sequences. Rows of `out` not covered by `seqs` are left
/// untouched. With `probs`, the attention weights are also written (`[n_seqs, heads, S, S]`,
/// `S` = longest sequence, entries outside a sequence set to 0); that path uses one key block
/// per sequence, so its memory is O(len²) per thread.
///
/// ```
/// use qkv_core::{attention, AttentionParams, Mask, QkvView, Seq};
/// // One sequence of 3 tokens, 1 head of width 2, Q = K = V stacked as [q | k | v] rows.
/// let d = 2;
/// let qkv = [1.0, 0.0, 1.0, 0.0, 1.0, 2.0,
///            0.0, 1.0, 0.0, 1.0, 3.0, 4.0,
///            1.0, 1.0, 1.0, 1.0, 5.0, 6.0];
/// let mut out = [0.0f32; 6];
/// let mut probs = [0.0f32; 9];
/// attention(QkvView::packed(&qkv, d), &[Seq { start: 0, len: 3 }], &AttentionParams::new(1, d),
///           Mask::Causal, &mut out, d, Some(&mut probs))?;
/// assert_eq!(&out[..2], &[1.0, 2.0]);           // query 0 sees only key 0
/// assert_eq!(&probs[..3], &[1.0, 0.0, 0.0]);
/// # Ok::<(), qkv_core::Error>(())
/// ```
pub fn attention(
    qkv: QkvView,
    seqs: &[Seq],
    params: &AttentionParams,
    mask: Mask,
    out: &mut [f32],
    out_stride: usize,
    probs: Option<&mut [f32]>,
) -> Result<()> {
    let checked = validate::check(
        &qkv,
        seqs,
        params,
        &mask,
        out.len(),
        out_stride,
        probs.as_ref().map(|p| p.len()),
    )?;
    if checked.width == 0 || checked.smax == 0 {
        return Ok(());
    }
    schedule::run(qkv, seqs, params, mask, &checked, out, out_stride, probs);
    Ok(())
}
