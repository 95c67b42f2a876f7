//! Position-wise feed-forward: Linear → activation → Linear ([`Linear`] layers at any
//! precision), bias and activation fused into the first product's write-out.

use crate::error::{Error, Result};
use crate::nn::buffers::{check_len, grow, rows_ref};
use crate::nn::linear::Linear;
use crate::nn::precision::LinearSpec;
use qkv_core::ops::activation::Activation;

/// `FF(x) = act(x·W1ᵀ + b1)·W2ᵀ + b2` with PyTorch's `linear1`/`linear2` layout.
#[derive(Clone, Debug)]
pub struct FeedForward {
    d_model: usize,
    d_ff: usize,
    w1: Linear,
    w2: Linear,
    act: Activation,
}

impl FeedForward {
    /// From `linear1.weight [d_ff, d]`, `linear1.bias [d_ff]`, `linear2.weight [d, d_ff]`,
    /// `linear2.bias [d]`, in f32.
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
        let f32 = LinearSpec::default();
        FeedForward::from_linears(
            Linear::new(w1, d_ff, d_model, Some(b1), &f32)?,
            Linear::new(w2, d_model, d_ff, Some(b2), &f32)?,
            act,
        )
    }

    /// From prepared projections `w1: [d_ff, d]` and `w2: [d, d_ff]`, at any precision.
    pub fn from_linears(w1: Linear, w2: Linear, act: Activation) -> Result<Self> {
        let (d_ff, d_model) = (w1.n(), w1.k());
        if (w2.n(), w2.k()) != (d_model, d_ff) {
            return Err(Error::TensorShape {
                name: "feed-forward output projection".into(),
                expected: vec![d_model, d_ff],
                found: vec![w2.n(), w2.k()],
            });
        }
        Ok(FeedForward {
            d_model,
            d_ff,
            w1,
            w2,
            act,
        })
    }

    /// The activation.
    pub fn activation(&self) -> Activation {
        self.act
    }
    /// The first projection `[d_ff, d]`.
    pub fn w1(&self) -> &Linear {
        &self.w1
    }
    /// The second projection `[d, d_ff]`.
    pub fn w2(&self) -> &Linear {
        &self.w2
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
        const OP: &str = "FeedForward::forward";
        let h = grow(hidden, tokens * self.d_ff);
        let x = rows_ref(x, tokens, self.d_model, OP)?;
        self.w1.forward(x, tokens, h, false, self.act)
    }

    /// `out ← hidden·W2ᵀ + b2` (or `+=`).
    fn contract(
        &self,
        tokens: usize,
        hidden: &[f32],
        out: &mut [f32],
        accumulate: bool,
    ) -> Result<()> {
        const OP: &str = "FeedForward::forward";
        let h = rows_ref(hidden, tokens, self.d_ff, OP)?;
        self.w2
            .forward(h, tokens, out, accumulate, Activation::Identity)
    }
}
