//! Position-wise feed-forward: Linear → activation → Linear, bias and ReLU fused into the
//! first GEMM's write-out (GELU in one vectorized pass after it).

use crate::error::Result;
use crate::nn::buffers::{check_len, grow, rows_of, rows_ref};
use qkv_core::ops::activation::{apply, Activation};
use qkv_core::{gemm_packed, GemmOptions, MatMut, MatRef, PackedMatrix};

/// `FF(x) = act(x·W1ᵀ + b1)·W2ᵀ + b2` with PyTorch's `linear1`/`linear2` layout.
#[derive(Clone, Debug)]
pub struct FeedForward {
    d_model: usize,
    d_ff: usize,
    w1: PackedMatrix,
    b1: Vec<f32>,
    w2: PackedMatrix,
    b2: Vec<f32>,
    act: Activation,
}

impl FeedForward {
    /// From `linear1.weight [d_ff, d]`, `linear1.bias [d_ff]`, `linear2.weight [d, d_ff]`,
    /// `linear2.bias [d]`.
    pub fn new(
        d_model: usize,
        d_ff: usize,
        w1: &[f32],
        b1: &[f32],
        w2: &[f32],
        b2: &[f32],
        act: Activation,
    ) -> Result<Self> {
        check_len("linear1.weight", w1, &[d_ff, d_model])?;
        check_len("linear1.bias", b1, &[d_ff])?;
        check_len("linear2.weight", w2, &[d_model, d_ff])?;
        check_len("linear2.bias", b2, &[d_model])?;
        Ok(FeedForward {
            d_model,
            d_ff,
            w1: PackedMatrix::from_weight(MatRef::new(w1, d_ff, d_model)?)?,
            b1: b1.to_vec(),
            w2: PackedMatrix::from_weight(MatRef::new(w2, d_model, d_ff)?)?,
            b2: b2.to_vec(),
            act,
        })
    }

    /// The activation.
    pub fn activation(&self) -> Activation {
        self.act
    }

    /// `out ← FF(x)` (`accumulate`: `out += FF(x)`), `x, out: [T, d_model]`; `hidden` is a
    /// reused `[T, d_ff]` buffer.
    pub fn forward(
        &self,
        x: &[f32],
        tokens: usize,
        hidden: &mut Vec<f32>,
        out: &mut [f32],
        accumulate: bool,
    ) -> Result<()> {
        self.expand(x, tokens, hidden)?;
        self.contract(tokens, hidden, out, accumulate)
    }

    /// `x ← x + FF(x)` in place (the residual fused into the second GEMM).
    pub fn forward_residual(
        &self,
        x: &mut [f32],
        tokens: usize,
        hidden: &mut Vec<f32>,
    ) -> Result<()> {
        self.expand(x, tokens, hidden)?;
        self.contract(tokens, hidden, x, true)
    }

    /// `hidden ← act(x·W1ᵀ + b1)`.
    fn expand(&self, x: &[f32], tokens: usize, hidden: &mut Vec<f32>) -> Result<()> {
        let (d, f) = (self.d_model, self.d_ff);
        let h = grow(hidden, tokens * f);
        let opts = GemmOptions {
            bias: Some(&self.b1),
            relu: self.act == Activation::Relu,
            ..Default::default()
        };
        gemm_packed(
            MatRef::new(rows_ref(x, tokens, d, "FeedForward::forward")?, tokens, d)?,
            &self.w1,
            MatMut::new(h, tokens, f)?,
            &opts,
        )?;
        if !matches!(self.act, Activation::Relu | Activation::Identity) {
            apply(h, self.act);
        }
        Ok(())
    }

    /// `out ← hidden·W2ᵀ + b2` (or `+=`).
    fn contract(
        &self,
        tokens: usize,
        hidden: &[f32],
        out: &mut [f32],
        accumulate: bool,
    ) -> Result<()> {
        let (d, f) = (self.d_model, self.d_ff);
        let opts = GemmOptions {
            bias: Some(&self.b2),
            beta: if accumulate { 1.0 } else { 0.0 },
            ..Default::default()
        };
        gemm_packed(
            MatRef::new(
                rows_ref(hidden, tokens, f, "FeedForward::forward")?,
                tokens,
                f,
            )?,
            &self.w2,
            MatMut::new(rows_of(out, tokens, d, "FeedForward::forward")?, tokens, d)?,
            &opts,
        )?;
        Ok(())
    }
}
