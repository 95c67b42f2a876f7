//! One Transformer encoder layer, post-norm (Vaswani et al.; PyTorch's default) or pre-norm.
//!
//! Post-norm: `x = LN1(x + SA(x)); x = LN2(x + FF(x))`.
//! Pre-norm (`norm_first`): `x = x + SA(LN1(x)); x = x + FF(LN2(x))`.
//! The residual additions are fused into the output GEMMs (β = 1).

use crate::attention::{grow, AttentionBuffers, MultiHeadAttention};
use crate::error::{input_err, Error, Result};
use crate::ffn::FeedForward;
use crate::weights::Weights;
use qkv_core::ops::activation::Activation;
use qkv_core::ops::attention::{Mask, Seq};
use qkv_core::ops::layernorm::layer_norm;

/// Shape and options of one layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerConfig {
    /// Model width.
    pub d_model: usize,
    /// Attention heads (`d_model` must be divisible by it).
    pub heads: usize,
    /// Feed-forward width.
    pub d_ff: usize,
    /// Feed-forward activation.
    pub activation: Activation,
    /// Pre-norm when true (PyTorch `norm_first`).
    pub norm_first: bool,
    /// LayerNorm ε.
    pub eps: f32,
}

impl LayerConfig {
    /// Checks the sizes before anything is allocated.
    pub fn validate(&self) -> Result<()> {
        if self.d_model == 0 || self.heads == 0 || self.d_ff == 0 {
            return Err(Error::Config(format!(
                "d_model {}, heads {}, d_ff {} must be positive",
                self.d_model, self.heads, self.d_ff
            )));
        }
        if !self.d_model.is_multiple_of(self.heads) {
            return Err(Error::Config(format!(
                "d_model {} is not divisible by heads {}",
                self.d_model, self.heads
            )));
        }
        if self.d_model > 1 << 16 || self.d_ff > 1 << 18 {
            return Err(Error::Config(format!(
                "d_model {} / d_ff {} are implausibly large",
                self.d_model, self.d_ff
            )));
        }
        if !(self.eps > 0.0 && self.eps.is_finite()) {
            return Err(Error::Config(format!(
                "layer_norm_eps {} must be positive and finite",
                self.eps
            )));
        }
        Ok(())
    }
}

/// A layer's parameters with PyTorch `nn.TransformerEncoderLayer` names and layouts.
#[derive(Clone, Debug, Default)]
pub struct LayerWeights {
    /// `self_attn.in_proj_weight [3d, d]`.
    pub in_proj_weight: Vec<f32>,
    /// `self_attn.in_proj_bias [3d]`.
    pub in_proj_bias: Vec<f32>,
    /// `self_attn.out_proj.weight [d, d]`.
    pub out_proj_weight: Vec<f32>,
    /// `self_attn.out_proj.bias [d]`.
    pub out_proj_bias: Vec<f32>,
    /// `linear1.weight [d_ff, d]`.
    pub linear1_weight: Vec<f32>,
    /// `linear1.bias [d_ff]`.
    pub linear1_bias: Vec<f32>,
    /// `linear2.weight [d, d_ff]`.
    pub linear2_weight: Vec<f32>,
    /// `linear2.bias [d]`.
    pub linear2_bias: Vec<f32>,
    /// `norm1.weight [d]`.
    pub norm1_weight: Vec<f32>,
    /// `norm1.bias [d]`.
    pub norm1_bias: Vec<f32>,
    /// `norm2.weight [d]`.
    pub norm2_weight: Vec<f32>,
    /// `norm2.bias [d]`.
    pub norm2_bias: Vec<f32>,
}

impl LayerWeights {
    /// Reads a layer from a safetensors file by its PyTorch state_dict names under `prefix`
    /// (e.g. `""`, `"layers.0."`, `"encoder.layers.3."`). The attention parameters are found
    /// with or without the `self_attn.` part. A missing or mis-shaped tensor is an error naming
    /// the tensor and both shapes.
    pub fn from_safetensors(w: &Weights, prefix: &str, cfg: &LayerConfig) -> Result<Self> {
        let (d, f) = (cfg.d_model, cfg.d_ff);
        let get = |name: &str, shape: &[usize]| w.tensor(&format!("{prefix}{name}"), shape);
        let attn = |name: &str, shape: &[usize]| {
            w.tensor_any(
                &[
                    &format!("{prefix}self_attn.{name}"),
                    &format!("{prefix}{name}"),
                ],
                shape,
            )
        };
        Ok(LayerWeights {
            in_proj_weight: attn("in_proj_weight", &[3 * d, d])?,
            in_proj_bias: attn("in_proj_bias", &[3 * d])?,
            out_proj_weight: attn("out_proj.weight", &[d, d])?,
            out_proj_bias: attn("out_proj.bias", &[d])?,
            linear1_weight: get("linear1.weight", &[f, d])?,
            linear1_bias: get("linear1.bias", &[f])?,
            linear2_weight: get("linear2.weight", &[d, f])?,
            linear2_bias: get("linear2.bias", &[d])?,
            norm1_weight: get("norm1.weight", &[d])?,
            norm1_bias: get("norm1.bias", &[d])?,
            norm2_weight: get("norm2.weight", &[d])?,
            norm2_bias: get("norm2.bias", &[d])?,
        })
    }
}

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
    /// Normalizes `x: [rows, d]` in place.
    pub fn apply(&self, x: &mut [f32], rows: usize) -> Result<()> {
        let d = self.gamma.len();
        let x = rows_of(x, rows, d, "LayerNorm::apply")?;
        layer_norm(x, rows, d, &self.gamma, &self.beta, self.eps)?;
        Ok(())
    }
}

/// Buffers one layer reuses across calls.
#[derive(Clone, Debug, Default)]
pub struct LayerBuffers {
    /// Attention projections.
    pub attn: AttentionBuffers,
    /// `[T, d_ff]`.
    pub hidden: Vec<f32>,
    /// `[T, d]`: the normalized input of a pre-norm sub-block.
    pub normed: Vec<f32>,
}

/// One encoder layer with its weights packed for the GEMM at construction.
#[derive(Clone, Debug)]
pub struct EncoderLayer {
    cfg: LayerConfig,
    mha: MultiHeadAttention,
    ffn: FeedForward,
    norm1: LayerNorm,
    norm2: LayerNorm,
}

impl EncoderLayer {
    /// Validates `cfg` and the weights' shapes, and packs the weights once.
    pub fn new(cfg: LayerConfig, w: &LayerWeights) -> Result<Self> {
        cfg.validate()?;
        let d = cfg.d_model;
        for (name, v) in [
            ("norm1.weight", &w.norm1_weight),
            ("norm1.bias", &w.norm1_bias),
            ("norm2.weight", &w.norm2_weight),
            ("norm2.bias", &w.norm2_bias),
        ] {
            crate::attention::check_len(name, v, &[d])?;
        }
        let ln = |g: &Vec<f32>, b: &Vec<f32>| LayerNorm {
            gamma: g.clone(),
            beta: b.clone(),
            eps: cfg.eps,
        };
        Ok(EncoderLayer {
            cfg,
            mha: MultiHeadAttention::new(
                d,
                cfg.heads,
                &w.in_proj_weight,
                &w.in_proj_bias,
                &w.out_proj_weight,
                &w.out_proj_bias,
            )?,
            ffn: FeedForward::new(
                d,
                cfg.d_ff,
                &w.linear1_weight,
                &w.linear1_bias,
                &w.linear2_weight,
                &w.linear2_bias,
                cfg.activation,
            )?,
            norm1: ln(&w.norm1_weight, &w.norm1_bias),
            norm2: ln(&w.norm2_weight, &w.norm2_bias),
        })
    }

    /// The layer's configuration.
    pub fn config(&self) -> &LayerConfig {
        &self.cfg
    }

    /// The attention block.
    pub fn attention(&self) -> &MultiHeadAttention {
        &self.mha
    }

    /// Runs the layer in place on packed tokens `x: [T, d]` (`T` = Σ lengths; sequence `i` is
    /// rows `seqs[i].start..+len`). With `probs`, also writes the attention weights
    /// `[n_seqs, heads, S, S]`.
    pub fn forward(
        &self,
        x: &mut [f32],
        tokens: usize,
        seqs: &[Seq],
        mask: Mask,
        buf: &mut LayerBuffers,
        probs: Option<&mut [f32]>,
    ) -> Result<()> {
        let d = self.cfg.d_model;
        let x = rows_of(x, tokens, d, "EncoderLayer::forward")?;
        if let Some(bad) = seqs
            .iter()
            .find(|s| s.start.checked_add(s.len).is_none_or(|end| end > tokens))
        {
            return Err(input_err(
                "EncoderLayer::forward",
                format!(
                    "sequence {}..+{} lies outside {tokens} tokens",
                    bad.start, bad.len
                ),
            ));
        }
        if self.cfg.norm_first {
            // x = x + SA(LN1(x))
            let h = grow(&mut buf.normed, tokens * d);
            h.copy_from_slice(x);
            self.norm1.apply(h, tokens)?;
            self.mha.project_qkv(h, tokens, &mut buf.attn)?;
            self.mha.attend(tokens, seqs, mask, &mut buf.attn, probs)?;
            self.mha.project_out(tokens, &buf.attn, x, true)?;
            // x = x + FF(LN2(x))
            let h = grow(&mut buf.normed, tokens * d);
            h.copy_from_slice(x);
            self.norm2.apply(h, tokens)?;
            self.ffn.forward(h, tokens, &mut buf.hidden, x, true)?;
        } else {
            // x = LN1(x + SA(x))
            self.mha.project_qkv(x, tokens, &mut buf.attn)?;
            self.mha.attend(tokens, seqs, mask, &mut buf.attn, probs)?;
            self.mha.project_out(tokens, &buf.attn, x, true)?;
            self.norm1.apply(x, tokens)?;
            // x = LN2(x + FF(x)): FF reads x into `hidden` before its second GEMM adds into x.
            self.ffn.forward_residual(x, tokens, &mut buf.hidden)?;
            self.norm2.apply(x, tokens)?;
        }
        Ok(())
    }
}

/// The first `rows × d` values of `x`, or an error when `x` is shorter (or the size overflows).
pub(crate) fn rows_of<'a>(
    x: &'a mut [f32],
    rows: usize,
    d: usize,
    op: &'static str,
) -> Result<&'a mut [f32]> {
    let n = rows
        .checked_mul(d)
        .ok_or_else(|| input_err(op, format!("{rows} rows × {d} overflows")))?;
    let len = x.len();
    x.get_mut(..n).ok_or_else(|| {
        input_err(
            op,
            format!("buffer of {len} values is shorter than {rows} rows × {d}"),
        )
    })
}
