//! Which keys each query may see. There is one mask type, qkv-core's [`Mask`] (`None`,
//! `Causal`, `Additive` over borrowed values); this module builds it from the forms users hold:
//! an additive `[seq, seq]` or `[batch, seq, seq]` array, a boolean mask, key padding.
//!
//! A mask travels with its [`Batch`](crate::nn::batch::Batch) (`Batch::with_mask`), which
//! checks that it covers every sequence.

use crate::error::{input_err, Result};
use qkv_core::ops::attention::Mask;

/// One additive `[seq, seq]` mask shared by every sequence (`-inf` hides a key).
pub fn additive(data: &[f32], seq: usize) -> Mask<'_> {
    Mask::Additive {
        data,
        row_stride: seq,
        batch_stride: 0,
    }
}

/// One additive `[seq, seq]` mask per sequence, `data: [batch, seq, seq]`.
pub fn additive_per_sequence(data: &[f32], seq: usize) -> Mask<'_> {
    Mask::Additive {
        data,
        row_stride: seq,
        batch_stride: seq * seq,
    }
}

/// The additive form (`0` or `-inf`) of a boolean mask `[seq, seq]` where `true` = hidden
/// (PyTorch's `attn_mask` convention for bool masks); pass it to [`additive`].
pub fn additive_from_bool(hidden: &[bool], seq: usize) -> Result<Vec<f32>> {
    if seq.checked_mul(seq) != Some(hidden.len()) {
        return Err(input_err(
            "mask::additive_from_bool",
            format!("{} entries for a {seq}×{seq} mask", hidden.len()),
        ));
    }
    Ok(hidden
        .iter()
        .map(|&h| if h { f32::NEG_INFINITY } else { 0.0 })
        .collect())
}

/// The causal mask `[seq, seq]` in additive form (0 on and below the diagonal, −∞ above), for
/// display and for tests.
pub fn causal_additive(seq: usize) -> Vec<f32> {
    let mut m = vec![0.0f32; seq * seq];
    for i in 0..seq {
        m[i * seq + i + 1..(i + 1) * seq].fill(f32::NEG_INFINITY);
    }
    m
}

/// Lengths from a key-padding mask `[batch, seq]` (`true` = padding), when every row's padding
/// is a suffix (the usual right padding); `None` when some row pads in the middle.
pub fn lengths_from_key_padding(
    padding: &[bool],
    batch: usize,
    seq: usize,
) -> Result<Option<Vec<usize>>> {
    if batch.checked_mul(seq) != Some(padding.len()) {
        return Err(input_err(
            "key_padding_mask",
            format!("{} entries for [batch {batch}, seq {seq}]", padding.len()),
        ));
    }
    let mut lens = Vec::with_capacity(batch);
    for row in padding.chunks(seq.max(1)).take(batch) {
        let len = row.iter().take_while(|&&p| !p).count();
        if row[len..].iter().any(|&p| !p) {
            return Ok(None);
        }
        lens.push(len);
    }
    Ok(Some(lens))
}
