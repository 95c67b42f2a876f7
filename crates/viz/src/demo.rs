//! Synthetic data with the seed figure's shapes, for examples, self-tests and `qkv viz --selftest`:
//! the positional encoding from its formula, attention rows as softmaxes of seeded pseudo-random
//! scores. No model is involved; the real figures are computed by the qkv kernels.

use crate::seed::SeedFigureData;

/// SplitMix64: a tiny seeded generator, enough for reproducible demo data.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The sinusoidal positional encoding, `[positions, dims]` row-major:
/// PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d)).
pub fn positional_encoding(positions: usize, dims: usize) -> Vec<f32> {
    let mut pe = vec![0f32; positions * dims];
    for pos in 0..positions {
        for j in 0..dims {
            let two_i = (j - j % 2) as f64;
            let angle = pos as f64 / 10000f64.powf(two_i / dims as f64);
            pe[pos * dims + j] = if j % 2 == 0 { angle.sin() } else { angle.cos() } as f32;
        }
    }
    pe
}

/// Softmax of one row; −∞ entries get weight 0 (a row of all −∞ gives zeros).
pub fn softmax(row: &[f64]) -> Vec<f32> {
    // pass 1: max; pass 2: exp and sum; pass 3: normalize.
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return vec![0.0; row.len()];
    }
    let e: Vec<f64> = row.iter().map(|&x| (x - max).exp()).collect();
    let inv = 1.0 / e.iter().sum::<f64>();
    e.iter().map(|&x| (x * inv) as f32).collect()
}

/// `[n, n]` attention weights: row-wise softmax of normal scores times `temperature`, keys after the
/// query masked out when `causal`.
fn attention(rng: &mut SplitMix64, n: usize, temperature: f64, causal: bool) -> Vec<f32> {
    (0..n)
        .flat_map(|q| {
            let scores: Vec<f64> = (0..n)
                .map(|k| {
                    let s = rng.normal() * temperature;
                    if causal && k > q {
                        f64::NEG_INFINITY
                    } else {
                        s
                    }
                })
                .collect();
            softmax(&scores)
        })
        .collect()
}

/// Data with the seed figure's shapes (PE 50 × 64 with dims 0, 4, 8, 16, 32; four heads over ten
/// positions, query 0; softmax scales 0.5, 1, 2, 4 over 100 points in [−3, 3]; a causal map), made
/// from the formulas and a generator seeded with `seed`.
pub fn seed_figure_data(seed: u64) -> SeedFigureData {
    let mut rng = SplitMix64(seed);
    let (positions, dims, seq, heads) = (50, 64, 10, 4);
    let softmax_x: Vec<f32> = (0..100).map(|i| -3.0 + 6.0 * i as f32 / 99.0).collect();
    let softmax_curves = [0.5f32, 1.0, 2.0, 4.0]
        .iter()
        .map(|&s| {
            let scaled: Vec<f64> = softmax_x.iter().map(|&x| f64::from(x * s)).collect();
            (s, softmax(&scaled))
        })
        .collect();
    SeedFigureData {
        pe: positional_encoding(positions, dims),
        pe_positions: positions,
        pe_dims: dims,
        sinusoid_dims: vec![0, 4, 8, 16, 32],
        head_weights: (0..heads)
            .map(|_| attention(&mut rng, seq, 0.6, false))
            .collect(),
        seq_len: seq,
        query: 0,
        softmax_x,
        softmax_curves,
        causal_weights: attention(&mut rng, seq, 1.0, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pe_matches_the_seed_printout() {
        let pe = positional_encoding(2, 64);
        assert_eq!(&pe[..8], &[0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
        let row1: [f64; 8] = [
            0.84147098, 0.54030231, 0.68156135, 0.73176098, 0.53316844, 0.84600911, 0.40930892,
            0.91239586,
        ];
        for (a, b) in pe[64..72].iter().zip(row1) {
            assert!((f64::from(*a) - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn demo_rows_are_distributions_and_causal() {
        let d = seed_figure_data(42);
        for w in d
            .head_weights
            .iter()
            .chain(std::iter::once(&d.causal_weights))
        {
            for row in w.chunks(d.seq_len) {
                assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            }
        }
        assert_eq!(d.causal_weights[0], 1.0);
        assert!(d.causal_weights[1..d.seq_len].iter().all(|&w| w == 0.0));
        assert_eq!(softmax(&[f64::NEG_INFINITY; 3]), vec![0.0; 3]);
    }
}
