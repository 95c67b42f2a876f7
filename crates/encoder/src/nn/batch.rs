//! One description of a batch: the sequences packed back to back in a `[tokens, d]` matrix
//! (sequence `i` is rows `offsets[i]..offsets[i + 1]`, no padding), and the mask their
//! attention uses.
//!
//! Every layer, the stack and the models take a [`Batch`]; it is built from lengths, from token
//! sequences, or as `n` sequences of one length (a padded layout), and checked once.

use crate::error::{input_err, Result};
use qkv_core::ops::attention::{Mask, Seq};

/// One input sequence as token ids (and segment ids; `None` = all 0).
#[derive(Clone, Copy, Debug)]
pub struct TokenSeq<'a> {
    /// Token ids, special tokens included.
    pub ids: &'a [u32],
    /// Segment ids, one per token.
    pub type_ids: Option<&'a [u32]>,
}

/// Sequences packed back to back, with the mask their attention uses (by default none).
///
/// ```
/// use qkv_encoder::{Batch, Mask};
/// let batch = Batch::from_lengths(&[3, 0, 2])?.with_mask(Mask::Causal)?;
/// assert_eq!((batch.len(), batch.tokens(), batch.max_len()), (3, 5, 3));
/// assert_eq!(batch.offsets(), [0, 3, 3, 5]);
/// # Ok::<(), qkv_encoder::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Batch<'m> {
    seqs: Vec<Seq>,
    tokens: usize,
    max_len: usize,
    mask: Mask<'m>,
}

impl Batch<'static> {
    /// Sequences of these lengths, packed back to back; an error if their sum overflows.
    pub fn from_lengths(lengths: &[usize]) -> Result<Self> {
        Self::packed(lengths.iter().copied())
    }

    /// The layout of these token sequences (lengths = number of ids).
    pub fn from_tokens(seqs: &[TokenSeq]) -> Result<Self> {
        Self::packed(seqs.iter().map(|s| s.ids.len()))
    }

    /// One sequence of `len` tokens.
    pub fn single(len: usize) -> Self {
        Batch {
            seqs: vec![Seq { start: 0, len }],
            tokens: len,
            max_len: len,
            mask: Mask::None,
        }
    }

    /// `n` sequences of `len` tokens each (a padded `[n, len, d]` layout).
    pub fn uniform(n: usize, len: usize) -> Result<Self> {
        n.checked_mul(len)
            .ok_or_else(|| input_err("Batch::uniform", format!("{n} × {len} overflows")))?;
        Self::packed(std::iter::repeat_n(len, n))
    }

    fn packed(lengths: impl ExactSizeIterator<Item = usize>) -> Result<Self> {
        let mut seqs = Vec::with_capacity(lengths.len());
        let (mut start, mut max_len) = (0usize, 0);
        for len in lengths {
            seqs.push(Seq { start, len });
            start = start
                .checked_add(len)
                .ok_or_else(|| input_err("Batch", "lengths overflow usize"))?;
            max_len = max_len.max(len);
        }
        Ok(Batch {
            seqs,
            tokens: start,
            max_len,
            mask: Mask::None,
        })
    }
}

impl<'m> Batch<'m> {
    /// The same sequences under `mask`. An additive mask must cover every sequence: rows at
    /// least [`Batch::max_len`] wide and, with a per-sequence stride, one block per sequence.
    pub fn with_mask<'n>(self, mask: Mask<'n>) -> Result<Batch<'n>> {
        if let Mask::Additive {
            data,
            row_stride,
            batch_stride,
        } = mask
        {
            let what = |need: String| {
                input_err(
                    "attention mask",
                    format!(
                        "{} values with row stride {row_stride} and sequence stride \
                         {batch_stride} do not cover {} sequences of up to {} tokens ({need})",
                        data.len(),
                        self.seqs.len(),
                        self.max_len
                    ),
                )
            };
            if row_stride < self.max_len {
                return Err(what(format!("rows must be ≥ {} wide", self.max_len)));
            }
            for (b, s) in self.seqs.iter().enumerate().filter(|(_, s)| s.len > 0) {
                let need = b
                    .checked_mul(batch_stride)
                    .and_then(|x| x.checked_add((s.len - 1).checked_mul(row_stride)?))
                    .and_then(|x| x.checked_add(s.len));
                if need.is_none_or(|n| n > data.len()) {
                    return Err(what(format!("sequence {b} needs more")));
                }
            }
        }
        Ok(Batch {
            seqs: self.seqs,
            tokens: self.tokens,
            max_len: self.max_len,
            mask,
        })
    }

    /// The sequences, as the attention kernel takes them.
    pub fn seqs(&self) -> &[Seq] {
        &self.seqs
    }

    /// Number of sequences.
    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    /// True for no sequences.
    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    /// Number of tokens, the rows of the packed matrix.
    pub fn tokens(&self) -> usize {
        self.tokens
    }

    /// The longest sequence: the `S` of attention weights `[n, heads, S, S]`.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The mask.
    pub fn mask(&self) -> Mask<'m> {
        self.mask
    }

    /// Offsets of the sequences' rows (`len() + 1` values, from 0 to [`Batch::tokens`]).
    pub fn offsets(&self) -> Vec<usize> {
        let mut o = Vec::with_capacity(self.seqs.len() + 1);
        o.push(0);
        o.extend(self.seqs.iter().map(|s| s.start + s.len));
        o
    }
}
