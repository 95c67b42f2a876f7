//! The seed notebook's story as a library: what `transformer_basics.ipynb` computes and prints,
//! computed by qkv's kernels, plus what the notebook only claimed.
//!
//! [`run`] replays the notebook cell by cell with the notebook's own random numbers:
//! [`NumpyRandom`] reproduces NumPy's legacy generator (`np.random.seed(42)`, `np.random.randn`)
//! bit for bit, and the matrices are drawn in the notebook's order, so the attention maps are the
//! ones in its figure and the printed values agree with its printout. The arithmetic is qkv's:
//! the fused attention kernel (with its probabilities output), [`MultiHeadAttention`],
//! [`EncoderLayer`], the GEMM, softmax and LayerNorm kernels. Where the notebook and PyTorch
//! differ, qkv follows PyTorch: LayerNorm is `(x − mean)/√(var + ε)` with ε = 1e-5 (the notebook
//! divides by `std + 1e-6`), masked scores are −∞ (the notebook uses −1e9).
//!
//! | cell | notebook | here |
//! |---|---|---|
//! | 2 | one head on random Q, K, V (10 × 16); row sums | [`SeedDemo::sdpa_weights`] |
//! | 3 | 4-head attention on X (10 × 64), weights `randn·0.1` | [`SeedDemo::mha_weights`] |
//! | 4 | sinusoidal positional encoding, `PE[0, :8]`, `PE[1, :8]` | [`SeedDemo::pe`] |
//! | 5 | LayerNorm of `randn·10 + 5` | [`SeedDemo::layer_norm`] |
//! | 6 | one post-norm ReLU encoder layer (never masked) | [`SeedDemo::encoder`], [`SeedDemo::encoder_causal`] |
//! | 7 | scores and softmax entropy with and without `1/√d_k` | [`SeedDemo::scaling`] |
//! | 8 | the figure; causal attention on random Q, K, V | [`SeedDemo::causal_weights`], [`SeedDemo::softmax_curves`] |
//! | — | claimed, never shown: `Var(q·k) = d_k` | [`SeedDemo::dot_variance`] |
//!
//! ```
//! use qkv_encoder::seed::{self, SeedConfig};
//! let demo = seed::run(&SeedConfig { var_samples: 256, ..SeedConfig::default() })?;
//! assert_eq!(&demo.pe_row(0)[..4], &[0.0, 1.0, 0.0, 1.0]);
//! assert!((demo.layer_norm.before.mean - 5.3091).abs() < 5e-5); // the notebook's printout
//! assert_eq!(&demo.encoder_causal.head(0)[..3], &[1.0, 0.0, 0.0]); // query 0 sees key 0 only
//! # Ok::<(), qkv_encoder::Error>(())
//! ```

use crate::attention::{AttentionBuffers, MultiHeadAttention};
use crate::error::{input_err, Result};
use crate::layer::{EncoderLayer, LayerBuffers, LayerConfig, LayerWeights};
use crate::positional::sinusoidal;
use qkv_core::ops::activation::Activation;
use qkv_core::ops::attention::{attention, AttentionParams, Mask, QkvView, Seq};
use qkv_core::ops::layernorm::layer_norm;
use qkv_core::ops::softmax::softmax_rows;
use qkv_core::{gemm, GemmOptions, MatMut, MatRef};

/// The notebook's seed (`np.random.seed(42)`).
pub const SEED: u32 = 42;

/// Rows of Q and K in the scaling demo (cell 7: `np.random.randn(5, d_k)`).
pub const SCALING_ROWS: usize = 5;

/// Scales of the "Effect of Scaling on Softmax" panel.
pub const SOFTMAX_SCALES: [f32; 4] = [0.5, 1.0, 2.0, 4.0];

/// Dimensions drawn in the positional-encoding sinusoid panel.
pub const SINUSOID_DIMS: [usize; 5] = [0, 4, 8, 16, 32];

// ---------------------------------------------------------------------------------------------
// NumPy's legacy random stream
// ---------------------------------------------------------------------------------------------

/// NumPy's legacy global generator (`np.random.seed(s)`, `np.random.rand`, `np.random.randn`),
/// reproduced exactly: MT19937 seeded by Knuth's initializer (`init_genrand`, what NumPy uses for
/// an integer seed), doubles from two 32-bit draws (`(a >> 5)·2²⁶ + (b >> 6)` over 2⁵³), and
/// normals by the polar Box–Muller method, which makes two normals per accepted pair, returns the
/// second and keeps the first for the next call.
///
/// ```
/// let mut rng = qkv_encoder::seed::NumpyRandom::new(42);
/// // np.random.seed(42); np.random.randn(2) → [0.49671415, -0.1382643]
/// assert!((rng.standard_normal() - 0.49671415).abs() < 1e-8);
/// assert!((rng.standard_normal() + 0.1382643).abs() < 1e-7);
/// ```
#[derive(Clone)]
pub struct NumpyRandom {
    mt: [u32; MT_N],
    pos: usize,
    gauss: Option<f64>,
}

const MT_N: usize = 624;
const MT_M: usize = 397;

impl std::fmt::Debug for NumpyRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NumpyRandom")
            .field("pos", &self.pos)
            .field("gauss", &self.gauss)
            .finish_non_exhaustive()
    }
}

impl NumpyRandom {
    /// The state after `np.random.seed(seed)`.
    pub fn new(seed: u32) -> Self {
        let mut mt = [0u32; MT_N];
        mt[0] = seed;
        for i in 1..MT_N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        NumpyRandom {
            mt,
            pos: MT_N,
            gauss: None,
        }
    }

    /// The next 32-bit output of MT19937.
    pub fn next_u32(&mut self) -> u32 {
        if self.pos == MT_N {
            self.twist();
        }
        let mut y = self.mt[self.pos];
        self.pos += 1;
        // Tempering.
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// Regenerates the 624 words of state (in place: entries past `N − M` read updated words,
    /// exactly as the reference implementation does).
    fn twist(&mut self) {
        for i in 0..MT_N {
            let y = (self.mt[i] & 0x8000_0000) | (self.mt[(i + 1) % MT_N] & 0x7fff_ffff);
            let mut v = self.mt[(i + MT_M) % MT_N] ^ (y >> 1);
            if y & 1 != 0 {
                v ^= 0x9908_b0df;
            }
            self.mt[i] = v;
        }
        self.pos = 0;
    }

    /// Uniform in [0, 1) with 53 random bits (`np.random.rand()`).
    pub fn uniform(&mut self) -> f64 {
        let a = f64::from(self.next_u32() >> 5);
        let b = f64::from(self.next_u32() >> 6);
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// One standard normal (`np.random.randn()`).
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.uniform() - 1.0;
            let x2 = 2.0 * self.uniform() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `n` standard normals in draw order (`np.random.randn(…)` of any shape with `n` elements,
    /// row-major).
    pub fn randn(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.standard_normal()).collect()
    }

    /// `np.random.randn(rows, cols) * scale + shift`, rounded to f32, row-major.
    pub fn randn_f32(&mut self, rows: usize, cols: usize, scale: f64, shift: f64) -> Vec<f32> {
        (0..rows * cols)
            .map(|_| (self.standard_normal() * scale + shift) as f32)
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration and results
// ---------------------------------------------------------------------------------------------

/// Sizes and options of the seed demo. `Default` is the notebook's.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedConfig {
    /// Model width (64).
    pub d_model: usize,
    /// Attention heads (4); `d_k = d_v = d_model / heads` (16).
    pub heads: usize,
    /// Tokens in the sequence (10).
    pub seq_len: usize,
    /// Feed-forward width (256 = 4·d_model).
    pub d_ff: usize,
    /// LayerNorm ε (PyTorch's default 1e-5).
    pub eps: f32,
    /// `np.random.seed` value (42).
    pub seed: u32,
    /// Rows of the positional-encoding table drawn in the figure (50).
    pub pe_positions: usize,
    /// Head widths for the `Var(q·k)` measurement (4, 8, …, 1024).
    pub var_dims: Vec<usize>,
    /// Independent (q, k) pairs drawn per head width (8192).
    pub var_samples: usize,
}

impl Default for SeedConfig {
    fn default() -> Self {
        SeedConfig {
            d_model: 64,
            heads: 4,
            seq_len: 10,
            d_ff: 256,
            eps: 1e-5,
            seed: SEED,
            pe_positions: 50,
            var_dims: (2..=10).map(|p| 1usize << p).collect(),
            var_samples: 8192,
        }
    }
}

impl SeedConfig {
    /// Width of one head, `d_model / heads`.
    pub fn d_k(&self) -> usize {
        self.d_model / self.heads.max(1)
    }

    /// Checks the sizes before anything is drawn.
    pub fn validate(&self) -> Result<()> {
        self.layer_config().validate()?;
        if self.seq_len == 0 || self.pe_positions < 2 {
            return Err(input_err(
                "seed::run",
                format!(
                    "seq_len {} must be positive and pe_positions {} at least 2",
                    self.seq_len, self.pe_positions
                ),
            ));
        }
        if self.var_samples < 2 || self.var_dims.contains(&0) {
            return Err(input_err(
                "seed::run",
                format!(
                    "Var(q·k) needs ≥ 2 samples and positive widths (got {} samples, widths {:?})",
                    self.var_samples, self.var_dims
                ),
            ));
        }
        Ok(())
    }

    /// The encoder layer's configuration: post-norm, ReLU.
    pub fn layer_config(&self) -> LayerConfig {
        LayerConfig {
            d_model: self.d_model,
            heads: self.heads,
            d_ff: self.d_ff,
            activation: Activation::Relu,
            norm_first: false,
            eps: self.eps,
        }
    }
}

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
    /// Panel 4's curves: `(s, softmax(x·s))` for s in [`SOFTMAX_SCALES`].
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

// ---------------------------------------------------------------------------------------------
// The notebook's modules in qkv's layouts
// ---------------------------------------------------------------------------------------------

/// The notebook's `MultiHeadAttention.__init__`: per-head `W_Q`, `W_K`, `W_V` (`d_model × d_k`,
/// drawn in that order, all heads of one kind first) and `W_O` (`d_model × d_model`), each
/// `randn·0.1`, no biases; returned in PyTorch's layout as `(in_proj_weight [3d, d],
/// out_proj_weight [d, d])`. The notebook computes `X·W`; PyTorch `x·Wᵀ`: head `h`'s column `j`
/// of `W_Q` becomes row `h·d_k + j` of the q block.
pub fn draw_attention_weights(
    rng: &mut NumpyRandom,
    d_model: usize,
    heads: usize,
) -> (Vec<f32>, Vec<f32>) {
    let d = d_model;
    let dk = d / heads.max(1);
    let mut in_proj = vec![0.0f32; 3 * d * d];
    for block in 0..3 {
        for h in 0..heads {
            let w = rng.randn_f32(d, dk, 0.1, 0.0); // [d_model, d_k]
            for i in 0..d {
                for j in 0..dk {
                    in_proj[(block * d + h * dk + j) * d + i] = w[i * dk + j];
                }
            }
        }
    }
    let w_o = rng.randn_f32(d, d, 0.1, 0.0);
    (in_proj, transpose(&w_o, d, d))
}

/// The notebook's `TransformerEncoderLayer.__init__`: attention weights as
/// [`draw_attention_weights`], then `W1` (`d_model × d_ff`) and `W2` (`d_ff × d_model`), each
/// `randn·0.1`; zero biases, γ = 1, β = 0. Returned with PyTorch names and layouts.
pub fn draw_layer_weights(
    rng: &mut NumpyRandom,
    d_model: usize,
    heads: usize,
    d_ff: usize,
) -> LayerWeights {
    let d = d_model;
    let (in_proj_weight, out_proj_weight) = draw_attention_weights(rng, d, heads);
    let w1 = rng.randn_f32(d, d_ff, 0.1, 0.0);
    let w2 = rng.randn_f32(d_ff, d, 0.1, 0.0);
    LayerWeights {
        in_proj_weight,
        in_proj_bias: vec![0.0; 3 * d],
        out_proj_weight,
        out_proj_bias: vec![0.0; d],
        linear1_weight: transpose(&w1, d, d_ff),
        linear1_bias: vec![0.0; d_ff],
        linear2_weight: transpose(&w2, d_ff, d),
        linear2_bias: vec![0.0; d],
        norm1_weight: vec![1.0; d],
        norm1_bias: vec![0.0; d],
        norm2_weight: vec![1.0; d],
        norm2_bias: vec![0.0; d],
    }
}

/// `[rows, cols]` → `[cols, rows]`.
fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; a.len()];
    for i in 0..rows {
        for j in 0..cols {
            t[j * rows + i] = a[i * cols + j];
        }
    }
    t
}

/// Mean and population standard deviation, two-pass in f64.
fn mean_std(x: &[f32]) -> (f64, f64) {
    let n = x.len().max(1) as f64;
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = x
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

/// Single-head attention weights `[s, s]` of separate Q, K, V (`[s, d]` each) through the fused
/// kernel's probabilities path.
fn head_weights(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    s: usize,
    d: usize,
    mask: Mask,
    scale: Option<f32>,
) -> Result<Vec<f32>> {
    let view = QkvView {
        q,
        k,
        v,
        row_stride: d,
    };
    let params = AttentionParams {
        scale,
        ..AttentionParams::new(1, d)
    };
    let mut out = vec![0.0f32; s * d];
    let mut probs = vec![0.0f32; s * s];
    attention(
        view,
        &[Seq { start: 0, len: s }],
        &params,
        mask,
        &mut out,
        d,
        Some(&mut probs),
    )?;
    Ok(probs)
}

/// Mean over rows of `−Σ p·ln p` (0·ln 0 = 0), in nats.
fn mean_entropy(p: &[f32], cols: usize) -> f64 {
    let rows = p.chunks_exact(cols.max(1));
    let n = rows.len().max(1) as f64;
    rows.map(|r| {
        -r.iter()
            .filter(|&&v| v > 0.0)
            .map(|&v| f64::from(v) * f64::from(v).ln())
            .sum::<f64>()
    })
    .sum::<f64>()
        / n
}

fn min_max(x: &[f32]) -> (f32, f32) {
    x.iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        })
}

// ---------------------------------------------------------------------------------------------
// The cells
// ---------------------------------------------------------------------------------------------

/// Replays the notebook with qkv's kernels; see the module docs for what each field holds.
///
/// Random numbers come from one [`NumpyRandom`] seeded with `cfg.seed`, drawn in the notebook's
/// order (cells 2, 3, 5, 6, 7, 8), then the `Var(q·k)` samples: for each width `d`, `var_samples`
/// pairs drawn as `q = randn(d)` then `k = randn(d)` (NumPy: `randn(n, 2, d)`).
pub fn run(cfg: &SeedConfig) -> Result<SeedDemo> {
    cfg.validate()?;
    let (d, h, s, dk) = (cfg.d_model, cfg.heads, cfg.seq_len, cfg.d_k());
    let mut rng = NumpyRandom::new(cfg.seed);

    // Cell 2: scaled dot-product attention on random Q, K, V.
    let q = rng.randn_f32(s, dk, 1.0, 0.0);
    let k = rng.randn_f32(s, dk, 1.0, 0.0);
    let v = rng.randn_f32(s, dk, 1.0, 0.0);
    let sdpa_weights = head_weights(&q, &k, &v, s, dk, Mask::None, None)?;

    // Cell 3: multi-head attention (fused QKV projection, fused attention, output projection).
    let (in_w, out_w) = draw_attention_weights(&mut rng, d, h);
    let x = rng.randn_f32(s, d, 1.0, 0.0);
    let mha = MultiHeadAttention::new(d, h, &in_w, &vec![0.0; 3 * d], &out_w, &vec![0.0; d])?;
    let mut buf = AttentionBuffers::default();
    let mut mha_weights = vec![0.0f32; h * s * s];
    let mut mha_output = vec![0.0f32; s * d];
    let seqs = [Seq { start: 0, len: s }];
    mha.project_qkv(&x, s, &mut buf)?;
    mha.attend(s, &seqs, Mask::None, &mut buf, Some(&mut mha_weights))?;
    mha.project_out(s, &buf, &mut mha_output, false)?;

    // Cell 4 (no random numbers): the positional encoding.
    let pe = sinusoidal(cfg.pe_positions, d);

    // Cell 5: LayerNorm of randn·10 + 5, PyTorch semantics.
    let ln_input = rng.randn_f32(s, d, 10.0, 5.0);
    let mut ln_output = ln_input.clone();
    layer_norm(&mut ln_output, s, d, &vec![1.0; d], &vec![0.0; d], cfg.eps)?;
    let layer_norm = LayerNormDemo {
        before: RowMoments::of(&ln_input, d),
        after: RowMoments::of(&ln_output, d),
        input: ln_input,
        output: ln_output,
        eps: cfg.eps,
    };

    // Cell 6: one encoder layer, run without and with the causal mask.
    let weights = draw_layer_weights(&mut rng, d, h, cfg.d_ff);
    let layer = EncoderLayer::new(cfg.layer_config(), &weights)?;
    let x = rng.randn_f32(s, d, 1.0, 0.0);
    let mut lbuf = LayerBuffers::default();
    let mut run_layer = |causal: bool| -> Result<EncoderRun> {
        let mut out = x.clone();
        let mut probs = vec![0.0f32; h * s * s];
        let mask = if causal { Mask::Causal } else { Mask::None };
        layer.forward(&mut out, s, &seqs, mask, &mut lbuf, Some(&mut probs))?;
        let (output_mean, output_std) = mean_std(&out);
        Ok(EncoderRun {
            causal,
            output: out,
            weights: probs,
            seq_len: s,
            output_mean,
            output_std,
        })
    };
    let encoder = run_layer(false)?;
    let encoder_causal = run_layer(true)?;

    // Cell 7: the effect of 1/√d_k on scores and on the softmax.
    let r = SCALING_ROWS;
    let sqrt_dk = (dk as f64).sqrt();
    let qd = rng.randn_f32(r, dk, sqrt_dk, 0.0);
    let kd = rng.randn_f32(r, dk, sqrt_dk, 0.0);
    let inv_sqrt_dk = 1.0 / (dk as f32).sqrt();
    let setting = |scale: f32| -> Result<(ScoreStats, Vec<f32>)> {
        let mut scores = vec![0.0f32; r * r];
        gemm(
            MatRef::new(&qd, r, dk)?,
            MatRef::new(&kd, r, dk)?.t(),
            MatMut::new(&mut scores, r, r)?,
            &GemmOptions {
                alpha: scale,
                ..GemmOptions::default()
            },
        )?;
        let probs = head_weights(&qd, &kd, &kd, r, dk, Mask::None, Some(scale))?;
        let (min, max) = min_max(&scores);
        let stats = ScoreStats {
            scale,
            min,
            max,
            entropy: mean_entropy(&probs, r),
        };
        Ok((stats, scores))
    };
    let (unscaled, scores) = setting(1.0)?;
    let (scaled, _) = setting(inv_sqrt_dk)?;
    let scaling = ScalingDemo {
        unscaled,
        scaled,
        scores,
    };

    // Cell 8: causal attention on random Q, K, V (the figure's panel 6) ...
    let q = rng.randn_f32(s, dk, 1.0, 0.0);
    let k = rng.randn_f32(s, dk, 1.0, 0.0);
    let v = rng.randn_f32(s, dk, 1.0, 0.0);
    let causal_weights = head_weights(&q, &k, &v, s, dk, Mask::Causal, None)?;

    // ... and softmax(x·s) for x in linspace(−3, 3, 100) (panel 4), on the softmax kernel.
    let n = 100;
    let softmax_x: Vec<f32> = (0..n)
        .map(|i| (-3.0 + 6.0 * i as f64 / (n - 1) as f64) as f32)
        .collect();
    let softmax_curves = SOFTMAX_SCALES
        .iter()
        .map(|&sc| {
            let mut row: Vec<f32> = softmax_x.iter().map(|&x| x * sc).collect();
            softmax_rows(&mut row, 1, n)?;
            Ok((sc, row))
        })
        .collect::<Result<Vec<_>>>()?;

    // What the notebook claimed: Var(q·k) = d_k for unit-variance q, k; 1 after 1/√d_k.
    let dot_variance = cfg
        .var_dims
        .iter()
        .map(|&dim| dot_variance(&mut rng, dim, cfg.var_samples))
        .collect();

    Ok(SeedDemo {
        config: cfg.clone(),
        sdpa_weights,
        mha_weights,
        mha_output,
        pe,
        layer_norm,
        encoder,
        encoder_causal,
        scaling,
        causal_weights,
        softmax_x,
        softmax_curves,
        dot_variance,
    })
}

/// Measures `Var(q·k)` over `n` independent pairs of standard-normal vectors of width `d`
/// (products summed in f64), and the variance of `q·k` scaled by `1/√d`.
pub fn dot_variance(rng: &mut NumpyRandom, d: usize, n: usize) -> DotVariance {
    let mut q = vec![0.0f64; d];
    let dots: Vec<f64> = (0..n)
        .map(|_| {
            q.iter_mut().for_each(|x| *x = rng.standard_normal());
            q.iter().map(|&a| a * rng.standard_normal()).sum()
        })
        .collect();
    let inv = 1.0 / (d as f64).sqrt();
    let scaled: Vec<f64> = dots.iter().map(|x| x * inv).collect();
    DotVariance {
        d_k: d,
        samples: n,
        var: variance(&dots),
        var_scaled: variance(&scaled),
    }
}

/// Population variance (÷ n), two-pass.
fn variance(x: &[f64]) -> f64 {
    let n = x.len().max(1) as f64;
    let m = x.iter().sum::<f64>() / n;
    x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n
}

/// The Rust snippets of `docs/tutorial.md`, compiled and run as doctests so that the tutorial
/// keeps matching the API.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/tutorial.md")]
pub struct TutorialSnippets;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_stream_matches_numpy() {
        // np.random.seed(42); np.random.randn(5)
        let want = [0.49671415, -0.1382643, 0.64768854, 1.52302986, -0.23415337];
        let mut rng = NumpyRandom::new(42);
        for w in want {
            let g = rng.standard_normal();
            assert!((g - w).abs() < 1e-8, "{g} vs {w}");
        }
    }

    #[test]
    fn transpose_round_trips() {
        let a: Vec<f32> = (0..6).map(|i| i as f32).collect();
        let t = transpose(&a, 2, 3);
        assert_eq!(t, [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert_eq!(transpose(&t, 3, 2), a);
    }
}
