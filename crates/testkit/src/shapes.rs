//! The shapes every benchmark measures: one table for the criterion benches (`benches/`) and
//! `qkv bench` alike, taken from real encoders (docs/design.md §5): MiniLM (d 384, 6 heads,
//! FFN 1536, 128 tokens, batch 1 and 8), BERT-base (d 768, 12 heads, FFN 3072, 512 tokens) and
//! the seed notebook (d 64, 4 heads, 10 tokens).

/// GEMM `(M, K, N)`, weight `[N, K]` as PyTorch's `Linear` stores it: MiniLM's QKV projection,
/// FFN up and FFN down at 128 tokens, BERT-base's attention output and FFN up at 512 tokens,
/// and a 2048 square.
pub const GEMM: [(usize, usize, usize); 6] = [
    (128, 384, 1152),
    (128, 384, 1536),
    (128, 1536, 384),
    (512, 768, 768),
    (512, 768, 3072),
    (2048, 2048, 2048),
];

/// The seed notebook's FFN up-projection `(M, K, N)`: a GEMM small enough that call overhead
/// shows (the criterion `gemm` group measures it beside [`GEMM`]).
pub const GEMM_SEED: (usize, usize, usize) = (10, 64, 256);

/// Attention `(batch, heads, seq, d_head)`: MiniLM at batch 1 and 8, BERT-base at 512 tokens,
/// a 4096-token sequence (key blocks), the seed.
pub const ATTENTION: [(usize, usize, usize, usize); 5] = [
    (1, 6, 128, 64),
    (8, 6, 128, 64),
    (1, 12, 512, 64),
    (1, 12, 4096, 64),
    (1, 4, 10, 16),
];

/// One encoder-layer benchmark case: a layer of `d_model`, `heads`, `d_ff` on a batch padded
/// to `seq` tokens whose sequences have `lengths` real tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderCase {
    /// Model width.
    pub d_model: usize,
    /// Attention heads.
    pub heads: usize,
    /// Feed-forward width.
    pub d_ff: usize,
    /// Padded sequence length.
    pub seq: usize,
    /// Real tokens of each sequence (the batch size is their count).
    pub lengths: &'static [usize],
}

impl EncoderCase {
    /// Sequences in the batch.
    pub fn batch(&self) -> usize {
        self.lengths.len()
    }

    /// Real tokens in the batch.
    pub fn tokens(&self) -> usize {
        self.lengths.iter().sum()
    }
}

/// Encoder layers: MiniLM-sized at batch 1 and 8, BERT-base at 512 tokens, the seed, and a
/// batch of 8 where half the sequences have 64 real tokens of 128.
pub const ENCODER: [EncoderCase; 5] = [
    EncoderCase {
        d_model: 384,
        heads: 6,
        d_ff: 1536,
        seq: 128,
        lengths: &[128],
    },
    EncoderCase {
        d_model: 384,
        heads: 6,
        d_ff: 1536,
        seq: 128,
        lengths: &[128; 8],
    },
    EncoderCase {
        d_model: 768,
        heads: 12,
        d_ff: 3072,
        seq: 512,
        lengths: &[512],
    },
    EncoderCase {
        d_model: 64,
        heads: 4,
        d_ff: 256,
        seq: 10,
        lengths: &[10],
    },
    EncoderCase {
        d_model: 384,
        heads: 6,
        d_ff: 1536,
        seq: 128,
        lengths: &[128, 64, 128, 64, 128, 64, 128, 64],
    },
];

/// Rows M of the general-GEMM sweep (`qkv bench gemm --general`, criterion `gemm_general`):
/// a single request, a few sentences, a 37-token sentence, and the batch sizes above.
pub const GEMM_GENERAL_M: [usize; 7] = [1, 4, 16, 37, 128, 512, 2048];

/// K and N of the general-GEMM sweep (every pair): a small head, MiniLM's d_model and FFN,
/// BERT-base's FFN.
pub const GEMM_GENERAL_KN: [usize; 4] = [64, 384, 1536, 3072];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_fit_their_models() {
        for c in ENCODER {
            assert_eq!(c.d_model % c.heads, 0, "{c:?}");
            assert!(c.lengths.iter().all(|&l| l <= c.seq), "{c:?}");
        }
        assert_eq!(ENCODER[4].batch(), 8);
        assert_eq!(ENCODER[4].tokens(), 768);
        for (b, h, s, d) in ATTENTION {
            assert!(b * h * s * d > 0);
        }
        assert!(GEMM.iter().all(|&(m, k, n)| m * k * n > 0));
    }
}
