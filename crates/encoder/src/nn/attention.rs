//! Multi-head self-attention: one fused QKV projection, the fused attention kernel, the output
//! projection (both projections [`Linear`] layers, at any precision).

use crate::error::{Error, Result};
use crate::nn::batch::Batch;
use crate::nn::buffers::{check_len, grow, rows_ref};
use crate::nn::linear::Linear;
use crate::nn::precision::LinearSpec;
use qkv_core::ops::activation::Activation;
use qkv_core::ops::attention::{attention, AttentionParams, QkvView};

/// Multi-head attention with PyTorch's parameter layout.
#[derive(Clone, Debug)]
pub struct MultiHeadAttention {
    d_model: usize,
    heads: usize,
    qkv: Linear,
    out: Linear,
}

/// Buffers reused across calls (grown, never shrunk): no allocation per layer in steady state.
#[derive(Clone, Debug, Default)]
pub struct AttentionBuffers {
    /// `[T, 3·d_model]`: the fused projection's output.
    pub qkv: Vec<f32>,
    /// `[T, d_model]`: the concatenated heads before the output projection.
    pub ctx: Vec<f32>,
}

impl MultiHeadAttention {
    /// From PyTorch's `in_proj_weight [3d, d]` (rows q, k, v), `in_proj_bias [3d]`,
    /// `out_proj.weight [d, d]`, `out_proj.bias [d]`, in f32. `d` not divisible by `heads` is
    /// an error.
    pub fn new(
        d_model: usize,
        heads: usize,
        in_w: &[f32],
        in_b: &[f32],
        out_w: &[f32],
        out_b: &[f32],
    ) -> Result<Self> {
        let d = d_model;
        check_len("self_attn.in_proj_weight", in_w, &[3 * d, d])?;
        check_len("self_attn.in_proj_bias", in_b, &[3 * d])?;
        check_len("self_attn.out_proj.weight", out_w, &[d, d])?;
        check_len("self_attn.out_proj.bias", out_b, &[d])?;
        let f32 = LinearSpec::default();
        MultiHeadAttention::from_linears(
            d_model,
            heads,
            Linear::new(in_w, 3 * d, d, Some(in_b), &f32)?,
            Linear::new(out_w, d, d, Some(out_b), &f32)?,
        )
    }

    /// From prepared projections: `qkv` `[3d, d]` (rows q, k, v) and `out` `[d, d]`, at any
    /// precision.
    pub fn from_linears(d_model: usize, heads: usize, qkv: Linear, out: Linear) -> Result<Self> {
        if heads == 0 || d_model == 0 || !d_model.is_multiple_of(heads) {
            return Err(Error::Config(format!(
                "d_model {d_model} is not divisible by {heads} heads (or is zero)"
            )));
        }
        let d = d_model;
        for (name, l, n) in [("QKV", &qkv, 3 * d), ("output", &out, d)] {
            if (l.n(), l.k()) != (n, d) {
                return Err(Error::TensorShape {
                    name: format!("attention {name} projection"),
                    expected: vec![n, d],
                    found: vec![l.n(), l.k()],
                });
            }
        }
        Ok(MultiHeadAttention {
            d_model,
            heads,
            qkv,
            out,
        })
    }

    /// Model width.
    pub fn d_model(&self) -> usize {
        self.d_model
    }
    /// Number of heads.
    pub fn heads(&self) -> usize {
        self.heads
    }
    /// Width of one head.
    pub fn d_head(&self) -> usize {
        self.d_model / self.heads
    }
    /// The fused QKV projection `[3d, d]`.
    pub fn qkv(&self) -> &Linear {
        &self.qkv
    }
    /// The output projection `[d, d]`.
    pub fn out(&self) -> &Linear {
        &self.out
    }

    /// Step 1: `buf.qkv ← x·W_inᵀ + b` for `x: [T, d_model]`.
    pub fn project_qkv(&self, x: &[f32], tokens: usize, buf: &mut AttentionBuffers) -> Result<()> {
        let d = self.d_model;
        let qkv = grow(&mut buf.qkv, tokens * 3 * d);
        const OP: &str = "MultiHeadAttention::project_qkv";
        self.qkv.forward(
            rows_ref(x, tokens, d, OP)?,
            tokens,
            qkv,
            false,
            Activation::Identity,
        )
    }

    /// Step 2: `buf.ctx ←` attention over `buf.qkv` for the sequences of `batch`, under its
    /// mask; with `probs`, also the weights `[batch.len(), heads, S, S]` (`S` =
    /// `batch.max_len()`).
    pub fn attend(
        &self,
        batch: &Batch,
        buf: &mut AttentionBuffers,
        probs: Option<&mut [f32]>,
    ) -> Result<()> {
        let d = self.d_model;
        let tokens = batch.tokens();
        let qkv = rows_ref(&buf.qkv, tokens, 3 * d, "MultiHeadAttention::attend")?;
        let ctx = grow(&mut buf.ctx, tokens * d);
        let params = AttentionParams::new(self.heads, self.d_head());
        attention(
            QkvView::packed(qkv, d),
            batch.seqs(),
            &params,
            batch.mask(),
            ctx,
            d,
            probs,
        )?;
        Ok(())
    }

    /// Step 3: `out ← ctx·W_outᵀ + b` (`accumulate`: `out += …`, the residual connection fused
    /// into the GEMM's β = 1).
    pub fn project_out(
        &self,
        tokens: usize,
        buf: &AttentionBuffers,
        out: &mut [f32],
        accumulate: bool,
    ) -> Result<()> {
        const OUT: &str = "MultiHeadAttention::project_out";
        let d = self.d_model;
        self.out.forward(
            rows_ref(&buf.ctx, tokens, d, OUT)?,
            tokens,
            out,
            accumulate,
            Activation::Identity,
        )
    }
}
