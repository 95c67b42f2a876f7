//! Attention masks as users give them, and their conversion to what the fused kernel takes.

use crate::error::{input_err, Result};

/// Which keys each query may see.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum AttentionMask {
    /// All keys of the query's own sequence.
    #[default]
    None,
    /// Query `i` sees keys `0..=i`.
    Causal,
    /// Added to the scores, `[seq, seq]` shared by the batch (`per_sequence = false`) or
    /// `[batch, seq, seq]`; `-inf` hides a key. `seq` is the padded length.
    Additive {
        /// The values.
        data: Vec<f32>,
        /// Whether there is one `[seq, seq]` mask per sequence.
        per_sequence: bool,
    },
}

impl AttentionMask {
    /// The additive form of a boolean mask `[seq, seq]` where `true` = hidden (PyTorch's
    /// `attn_mask` convention for bool masks).
    pub fn from_bool(hidden: &[bool], seq: usize) -> Result<Self> {
        if hidden.len() != seq * seq {
            return Err(input_err(
                "AttentionMask::from_bool",
                format!("{} entries for a {seq}×{seq} mask", hidden.len()),
            ));
        }
        let data = hidden
            .iter()
            .map(|&h| if h { f32::NEG_INFINITY } else { 0.0 })
            .collect();
        Ok(AttentionMask::Additive {
            data,
            per_sequence: false,
        })
    }
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
    if padding.len() != batch * seq {
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
