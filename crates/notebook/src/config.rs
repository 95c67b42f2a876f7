//! The demo's sizes and options ([`SeedConfig`], the notebook's by default) and the constants
//! of its cells and figure.

use qkv_encoder::error::input_err;
use qkv_encoder::{Activation, LayerConfig, Result};

/// The notebook's seed (`np.random.seed(42)`).
pub const SEED: u32 = 42;

/// Rows of Q and K in the scaling demo (cell 7: `np.random.randn(5, d_k)`).
pub const SCALING_ROWS: usize = 5;

/// Scales of the "Effect of Scaling on Softmax" panel.
pub const SOFTMAX_SCALES: [f32; 4] = [0.5, 1.0, 2.0, 4.0];

/// Dimensions drawn in the positional-encoding sinusoid panel.
pub const SINUSOID_DIMS: [usize; 5] = [0, 4, 8, 16, 32];

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
