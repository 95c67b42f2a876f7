//! LayerNorm over the last dimension, with its parameters: `y = (x − mean)·γ/√(var + ε) + β`
//! (two-pass statistics, in qkv-core's kernel).

use crate::error::Result;
use crate::io::view::WeightsView;
use crate::nn::buffers::rows_of;
use qkv_core::ops::layernorm::layer_norm;

/// LayerNorm parameters.
#[derive(Clone, Debug)]
pub struct LayerNorm {
    /// γ.
    pub gamma: Vec<f32>,
    /// β.
    pub beta: Vec<f32>,
    /// ε.
    pub eps: f32,
}

impl LayerNorm {
    /// Reads `weight` and `bias` (`[d]` each) from `w`.
    pub fn load(w: &WeightsView, d: usize, eps: f32) -> Result<Self> {
        Ok(LayerNorm {
            gamma: w.tensor("weight", &[d])?,
            beta: w.tensor("bias", &[d])?,
            eps,
        })
    }

    /// Normalizes `x: [rows, d]` in place.
    pub fn apply(&self, x: &mut [f32], rows: usize) -> Result<()> {
        let d = self.gamma.len();
        let x = rows_of(x, rows, d, "LayerNorm::apply")?;
        layer_norm(x, rows, d, &self.gamma, &self.beta, self.eps)?;
        Ok(())
    }
}
