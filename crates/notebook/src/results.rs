//! What the demo prints and draws: one plain struct per cell ([`SeedDemo`] holds them all),
//! with the statistics the notebook printed.

use crate::config::SeedConfig;

/// Mean over rows of each row's mean and of each row's standard deviation (population, ÷ n):
/// what the notebook prints as `x.mean(axis=-1).mean()` and `x.std(axis=-1).mean()`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RowMoments {
    /// Mean of the row means.
    pub mean: f64,
    /// Mean of the row standard deviations.
    pub std: f64,
}

impl RowMoments {
    /// The moments of a row-major matrix with rows of `cols` values (computed in f64, two-pass).
    pub fn of(x: &[f32], cols: usize) -> Self {
        let rows = x.len() / cols.max(1);
        let (mut mean_sum, mut std_sum) = (0.0, 0.0);
        for row in x.chunks_exact(cols.max(1)) {
            let (m, s) = mean_std(row);
            mean_sum += m;
            std_sum += s;
        }
        let n = rows.max(1) as f64;
        RowMoments {
            mean: mean_sum / n,
            std: std_sum / n,
        }
    }
}

/// Cell 5: LayerNorm of `randn(seq_len, d_model)·10 + 5` with γ = 1, β = 0.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNormDemo {
    /// The input, `[seq_len, d_model]`.
    pub input: Vec<f32>,
    /// The kernel's output.
    pub output: Vec<f32>,
    /// Row moments of the input (the notebook: mean 5.3091, std 9.8988).
    pub before: RowMoments,
    /// Row moments of the output (mean 0, std √(var/(var + ε)) ≈ 1).
    pub after: RowMoments,
    /// The ε used.
    pub eps: f32,
}

/// Cell 6: the encoder layer run on one sequence, with its attention weights.
#[derive(Clone, Debug, PartialEq)]
pub struct EncoderRun {
    /// Whether the causal mask was applied.
    pub causal: bool,
    /// The layer's output, `[seq_len, d_model]`.
    pub output: Vec<f32>,
    /// Attention weights from the kernel's probabilities path, `[heads, seq_len, seq_len]`.
    pub weights: Vec<f32>,
    /// Sequence length.
    pub seq_len: usize,
    /// Mean of all output values (the notebook's `output.mean()`).
    pub output_mean: f64,
    /// Standard deviation of all output values (the notebook's `output.std()`).
    pub output_std: f64,
}

impl EncoderRun {
    /// Number of heads.
    pub fn heads(&self) -> usize {
        self.weights.len() / (self.seq_len * self.seq_len).max(1)
    }

    /// Head `h`'s weights, `[seq_len, seq_len]` (row = query).
    pub fn head(&self, h: usize) -> &[f32] {
        let s2 = self.seq_len * self.seq_len;
        &self.weights[h * s2..(h + 1) * s2]
    }

    /// Every head's weights, one `Vec` each.
    pub fn per_head(&self) -> Vec<Vec<f32>> {
        (0..self.heads()).map(|h| self.head(h).to_vec()).collect()
    }

    /// The sum of every attention row, `[heads · seq_len]`.
    pub fn row_sums(&self) -> Vec<f32> {
        row_sums(&self.weights, self.seq_len)
    }

    /// Largest weight on a key after its query (0 exactly under the causal mask).
    pub fn max_above_diagonal(&self) -> f32 {
        let s = self.seq_len;
        let mut max = 0.0f32;
        for w in self.weights.chunks_exact(s * s) {
            for i in 0..s {
                for &v in &w[i * s + i + 1..(i + 1) * s] {
                    max = max.max(v.abs());
                }
            }
        }
        max
    }
}

/// Score range and mean softmax entropy of one setting of the scaling demo.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreStats {
    /// The factor the scores were multiplied by (1 or 1/√d_k).
    pub scale: f32,
    /// Smallest score.
    pub min: f32,
    /// Largest score.
    pub max: f32,
    /// Mean over queries of the softmax entropy `−Σ p·ln p` in nats (0·ln 0 = 0).
    pub entropy: f64,
}

/// Cell 7: Q and K of `SCALING_ROWS × d_k` drawn as `randn·√d_k`, scored with and without
/// `1/√d_k`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingDemo {
    /// Scores `Q·Kᵀ` as they are (the notebook: range [−99.49, 41.97], entropy 0.1319).
    pub unscaled: ScoreStats,
    /// Scores `Q·Kᵀ/√d_k` (range [−24.87, 10.49], entropy 0.2842).
    pub scaled: ScoreStats,
    /// The unscaled scores, `[SCALING_ROWS, SCALING_ROWS]`.
    pub scores: Vec<f32>,
}

/// The measured variance of `q·k` for one head width.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DotVariance {
    /// Head width `d_k`.
    pub d_k: usize,
    /// Number of independent (q, k) pairs.
    pub samples: usize,
    /// Sample variance (÷ n) of `q·k` (theory: `d_k`).
    pub var: f64,
    /// Sample variance of `q·k/√d_k` (theory: 1).
    pub var_scaled: f64,
}

impl DotVariance {
    /// `var / d_k` (theory: 1).
    pub fn ratio(&self) -> f64 {
        self.var / self.d_k as f64
    }

    /// Standard error of [`DotVariance::ratio`] for independent samples: `q·k` is a sum of `d`
    /// products of independent standard normals, with fourth central moment `3d² + 6d`, so the
    /// sample variance has variance `(μ₄ − σ⁴)/n = (2d² + 6d)/n`, and `ratio` a standard error of
    /// `√((2 + 6/d)/n)`.
    pub fn ratio_std_error(&self) -> f64 {
        ((2.0 + 6.0 / self.d_k as f64) / self.samples as f64).sqrt()
    }
}

/// Everything the seed demo prints and draws.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedDemo {
    /// The configuration it ran with.
    pub config: SeedConfig,
    /// Cell 2: one head on random Q, K, V (`seq_len × d_k`), weights `[seq_len, seq_len]`.
    pub sdpa_weights: Vec<f32>,
    /// Cell 3: multi-head attention weights on random X, `[heads, seq_len, seq_len]`
    /// (the figure's panels 2 and 3).
    pub mha_weights: Vec<f32>,
    /// Cell 3: the multi-head attention's output, `[seq_len, d_model]`.
    pub mha_output: Vec<f32>,
    /// Sinusoidal positional encoding, `[pe_positions, d_model]` (panels 1 and 5).
    pub pe: Vec<f32>,
    /// Cell 5.
    pub layer_norm: LayerNormDemo,
    /// Cell 6: the encoder layer without a mask (as the notebook runs it).
    pub encoder: EncoderRun,
    /// Cell 6 with the causal mask, which the notebook's layer cannot take.
    pub encoder_causal: EncoderRun,
    /// Cell 7.
    pub scaling: ScalingDemo,
    /// Cell 8: causal attention on random Q, K, V, `[seq_len, seq_len]` (panel 6).
    pub causal_weights: Vec<f32>,
    /// Panel 4's input scores: 100 points in [−3, 3].
    pub softmax_x: Vec<f32>,
    /// Panel 4's curves: `(s, softmax(x·s))` for s in [`SOFTMAX_SCALES`](crate::config::SOFTMAX_SCALES).
    pub softmax_curves: Vec<(f32, Vec<f32>)>,
    /// `Var(q·k)` before and after scaling, one entry per width of `config.var_dims`.
    pub dot_variance: Vec<DotVariance>,
}

impl SeedDemo {
    /// Row `pos` of the positional encoding (`d_model` values).
    pub fn pe_row(&self, pos: usize) -> &[f32] {
        let d = self.config.d_model;
        &self.pe[pos * d..(pos + 1) * d]
    }

    /// Cell 3's weights of head `h` (0-based), `[seq_len, seq_len]`.
    pub fn mha_head(&self, h: usize) -> &[f32] {
        let s2 = self.config.seq_len * self.config.seq_len;
        &self.mha_weights[h * s2..(h + 1) * s2]
    }

    /// Cell 3's weights, one `Vec` per head.
    pub fn mha_per_head(&self) -> Vec<Vec<f32>> {
        (0..self.config.heads)
            .map(|h| self.mha_head(h).to_vec())
            .collect()
    }
}

/// Sums of the `cols`-wide rows of `w`.
pub fn row_sums(w: &[f32], cols: usize) -> Vec<f32> {
    w.chunks_exact(cols.max(1))
        .map(|r| r.iter().sum::<f32>())
        .collect()
}

/// Largest `|sum − 1|` over the rows of `w` (0 for no rows).
pub fn max_row_sum_error(w: &[f32], cols: usize) -> f32 {
    row_sums(w, cols)
        .iter()
        .map(|s| (s - 1.0).abs())
        .fold(0.0, f32::max)
}

/// Mean and population standard deviation, two-pass in f64.
pub(crate) fn mean_std(x: &[f32]) -> (f64, f64) {
    let n = x.len().max(1) as f64;
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = x
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}
