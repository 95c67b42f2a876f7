//! Multi-head self-attention: one fused QKV projection with pre-packed weights, the fused
//! attention kernel, the output projection.

use crate::error::{Error, Result};
use crate::nn::batch::Batch;
use crate::nn::buffers::{check_len, grow, rows_of, rows_ref};
use qkv_core::ops::attention::{attention, AttentionParams, QkvView};
use qkv_core::{gemm_packed, GemmOptions, MatMut, MatRef, PackedMatrix};

/// Multi-head attention with PyTorch's parameter layout.
#[derive(Clone, Debug)]
pub struct MultiHeadAttention {
    d_model: usize,
    heads: usize,
    w_qkv: PackedMatrix,
    b_qkv: Vec<f32>,
    w_out: PackedMatrix,
    b_out: Vec<f32>,
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
    /// `out_proj.weight [d, d]`, `out_proj.bias [d]`. `d` not divisible by `heads` is an error.
    pub fn new(
        d_model: usize,
        heads: usize,
        in_w: &[f32],
        in_b: &[f32],
        out_w: &[f32],
        out_b: &[f32],
    ) -> Result<Self> {
        if heads == 0 || d_model == 0 || !d_model.is_multiple_of(heads) {
            return Err(Error::Config(format!(
                "d_model {d_model} is not divisible by {heads} heads (or is zero)"
            )));
        }
        let d = d_model;
        check_len("self_attn.in_proj_weight", in_w, &[3 * d, d])?;
        check_len("self_attn.in_proj_bias", in_b, &[3 * d])?;
        check_len("self_attn.out_proj.weight", out_w, &[d, d])?;
        check_len("self_attn.out_proj.bias", out_b, &[d])?;
        Ok(MultiHeadAttention {
            d_model,
            heads,
            w_qkv: PackedMatrix::from_weight(MatRef::new(in_w, 3 * d, d)?)?,
            b_qkv: in_b.to_vec(),
            w_out: PackedMatrix::from_weight(MatRef::new(out_w, d, d)?)?,
            b_out: out_b.to_vec(),
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

    /// Step 1: `buf.qkv ← x·W_inᵀ + b` for `x: [T, d_model]`.
    pub fn project_qkv(&self, x: &[f32], tokens: usize, buf: &mut AttentionBuffers) -> Result<()> {
        let d = self.d_model;
        let qkv = grow(&mut buf.qkv, tokens * 3 * d);
        let opts = GemmOptions {
            bias: Some(&self.b_qkv),
            ..Default::default()
        };
        gemm_packed(
            MatRef::new(
                rows_ref(x, tokens, d, "MultiHeadAttention::project_qkv")?,
                tokens,
                d,
            )?,
            &self.w_qkv,
            MatMut::new(qkv, tokens, 3 * d)?,
            &opts,
        )?;
        Ok(())
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
        let opts = GemmOptions {
            bias: Some(&self.b_out),
            beta: if accumulate { 1.0 } else { 0.0 },
            ..Default::default()
        };
        gemm_packed(
            MatRef::new(rows_ref(&buf.ctx, tokens, d, OUT)?, tokens, d)?,
            &self.w_out,
            MatMut::new(rows_of(out, tokens, d, OUT)?, tokens, d)?,
            &opts,
        )?;
        Ok(())
    }
}
