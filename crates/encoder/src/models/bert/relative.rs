//! MPNet's relative-position attention bias: a learned `[buckets, heads]` table indexed by the
//! bucket of each key's offset from its query, the same in every layer.
//!
//! The bias depends only on the offset `j − i`, so a forward pass builds one
//! `[heads, 2·S − 1]` table (S = the longest sequence) and hands it to the fused attention as
//! [`Mask::RelativeBias`]: never a `[batch, heads, S, S]` tensor.

use crate::error::Result;
use crate::io::view::WeightsView;
use qkv_core::Mask;

/// transformers' `MPNetEncoder.relative_position_bucket` for `rel = key − query`: exact offsets
/// up to `num_buckets / 4`, then logarithmic buckets up to `max_distance`, half the buckets for
/// keys after the query. The logarithm runs in f32 with torch's operation order, so the
/// bucket boundaries fall where PyTorch puts them.
pub fn relative_bucket(rel: i64, num_buckets: usize, max_distance: usize) -> usize {
    let half = num_buckets / 2;
    let mut ret = if rel > 0 { half } else { 0 };
    let n = rel.unsigned_abs() as usize;
    let max_exact = half / 2;
    if n < max_exact {
        return ret + n;
    }
    let scale = ((max_distance as f64) / (max_exact as f64)).ln() as f32;
    let x = (n as f32 / max_exact as f32).ln() / scale * (half - max_exact) as f32;
    ret += (max_exact + x as usize).min(half - 1);
    ret
}

/// The learned table `encoder.relative_attention_bias.weight` `[buckets, heads]`.
#[derive(Clone, Debug)]
pub struct RelativeBias {
    weight: Vec<f32>,
    buckets: usize,
    heads: usize,
}

/// MPNet's fixed `max_distance`.
const MAX_DISTANCE: usize = 128;

impl RelativeBias {
    /// Reads `relative_attention_bias.weight` from `w` (the view of `encoder`).
    pub fn load(w: &WeightsView, buckets: usize, heads: usize) -> Result<Self> {
        Ok(RelativeBias {
            weight: w.tensor("relative_attention_bias.weight", &[buckets, heads])?,
            buckets,
            heads,
        })
    }

    /// Fills `table` with the bias of every head and offset `−(span−1)..=span−1` and returns the
    /// attention mask that reads it.
    pub fn mask<'t>(&self, span: usize, table: &'t mut Vec<f32>) -> Mask<'t> {
        let width = (2 * span).saturating_sub(1);
        table.clear();
        table.resize(self.heads * width, 0.0);
        for o in 0..width {
            let rel = o as i64 - (span as i64 - 1);
            let row = relative_bucket(rel, self.buckets, MAX_DISTANCE) * self.heads;
            for h in 0..self.heads {
                table[h * width + o] = self.weight[row + h];
            }
        }
        Mask::RelativeBias {
            table: &table[..],
            span,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where PyTorch's buckets change (`rel`, bucket from there on), for 32 buckets and
    /// max_distance 128, read off transformers 5.24 for rel in −1100..=1100.
    const TORCH: &[(i64, usize)] = &[
        (-1100, 15),
        (-90, 14),
        (-63, 13),
        (-45, 12),
        (-31, 11),
        (-22, 10),
        (-15, 9),
        (-11, 8),
        (-7, 7),
        (-6, 6),
        (-5, 5),
        (-4, 4),
        (-3, 3),
        (-2, 2),
        (-1, 1),
        (0, 0),
        (1, 17),
        (2, 18),
        (3, 19),
        (4, 20),
        (5, 21),
        (6, 22),
        (7, 23),
        (8, 24),
        (12, 25),
        (16, 26),
        (23, 27),
        (32, 28),
        (46, 29),
        (64, 30),
        (91, 31),
    ];

    #[test]
    fn buckets_match_pytorch() {
        for (w, &(from, bucket)) in TORCH.iter().enumerate() {
            let to = TORCH.get(w + 1).map_or(1100, |n| n.0 - 1);
            for rel in from..=to {
                assert_eq!(relative_bucket(rel, 32, 128), bucket, "rel {rel}");
            }
        }
    }

    #[test]
    fn mask_table_reads_the_bucket_rows() {
        let (buckets, heads) = (32, 2);
        let bias = RelativeBias {
            weight: (0..buckets * heads).map(|x| x as f32).collect(),
            buckets,
            heads,
        };
        let mut t = Vec::new();
        let m = bias.mask(20, &mut t);
        for (i, j) in [(0, 0), (3, 19), (19, 0), (5, 6)] {
            for h in 0..heads {
                let b = relative_bucket(j as i64 - i as i64, buckets, 128);
                assert_eq!(m.value(0, h, i, j), (b * heads + h) as f32);
            }
        }
    }
}
