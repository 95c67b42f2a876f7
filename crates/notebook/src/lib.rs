//! # qkv-notebook
//!
//! The seed notebook's story as a library (`qkv demo` prints and draws it; no inference crate
//! depends on it): what `transformer_basics.ipynb` computes and prints,
//! computed by qkv's kernels, plus what the notebook only claimed.
//!
//! [`run`] replays the notebook cell by cell with the notebook's own random numbers:
//! [`NumpyRandom`] reproduces NumPy's legacy generator (`np.random.seed(42)`, `np.random.randn`)
//! bit for bit, and the matrices are drawn in the notebook's order, so the attention maps are the
//! ones in its figure and the printed values agree with its printout. The arithmetic is qkv's:
//! the fused attention kernel (with its probabilities output), qkv-encoder's
//! `MultiHeadAttention` and `EncoderLayer`, the GEMM, softmax and LayerNorm kernels. Where the notebook and PyTorch
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
//! use qkv_notebook::SeedConfig;
//! let demo = qkv_notebook::run(&SeedConfig { var_samples: 256, ..SeedConfig::default() })?;
//! assert_eq!(&demo.pe_row(0)[..4], &[0.0, 1.0, 0.0, 1.0]);
//! assert!((demo.layer_norm.before.mean - 5.3091).abs() < 5e-5); // the notebook's printout
//! assert_eq!(&demo.encoder_causal.head(0)[..3], &[1.0, 0.0, 0.0]); // query 0 sees key 0 only
//! # Ok::<(), qkv_encoder::Error>(())
//! ```
//!
//! Modules, by job: [`random`] (NumPy's stream), [`config`] (sizes and constants),
//! [`weights`] (the notebook's matrices in PyTorch's layouts), [`positional`] (the sinusoidal
//! table), [`cells`] (the replay), [`results`] (what it returns).

pub mod cells;
pub mod config;
pub mod positional;
pub mod random;
pub mod results;
pub mod weights;

pub use cells::{dot_variance, run};
pub use config::{SeedConfig, SCALING_ROWS, SEED, SINUSOID_DIMS, SOFTMAX_SCALES};
pub use positional::sinusoidal;
pub use random::NumpyRandom;
pub use results::{
    max_row_sum_error, row_sums, DotVariance, EncoderRun, LayerNormDemo, RowMoments, ScalingDemo,
    ScoreStats, SeedDemo,
};
pub use weights::{draw_attention_weights, draw_layer_weights};

/// The Rust snippets of `docs/tutorial.md`, compiled and run as doctests so that the tutorial
/// keeps matching the API.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/tutorial.md")]
pub struct TutorialSnippets;
