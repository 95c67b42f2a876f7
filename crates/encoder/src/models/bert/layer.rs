//! Hugging Face's `BertLayer` tensor names, mapped onto the PyTorch
//! `nn.TransformerEncoderLayer` layout of [`LayerWeights`]: Q, K and V concatenated into one
//! `in_proj`, the attention output's LayerNorm as `norm1`, the output's as `norm2`.
//! [`load_encoder_layer`] builds the layer at a precision straight from those names, and also
//! reads the int8 weights `qkv quantize` saves under them.

use crate::error::Result;
use crate::io::view::WeightsView;
use crate::nn::attention::MultiHeadAttention;
use crate::nn::ffn::FeedForward;
use crate::nn::layer::{EncoderLayer, LayerConfig, LayerWeights};
use crate::nn::linear::Linear;
use crate::nn::norm::LayerNorm;
use crate::nn::precision::{PrecisionPlan, Projection};

/// Reads one layer from `w` = the view of `encoder.layer.{i}`.
pub fn load_layer(w: &WeightsView, cfg: &LayerConfig) -> Result<LayerWeights> {
    let (d, f) = (cfg.d_model, cfg.d_ff);
    let attn = w.pp("attention");
    let qkv = attn.pp("self");
    let mut in_w = qkv.tensor("query.weight", &[d, d])?;
    in_w.extend(qkv.tensor("key.weight", &[d, d])?);
    in_w.extend(qkv.tensor("value.weight", &[d, d])?);
    let mut in_b = qkv.tensor("query.bias", &[d])?;
    in_b.extend(qkv.tensor("key.bias", &[d])?);
    in_b.extend(qkv.tensor("value.bias", &[d])?);
    let attn_out = attn.pp("output");
    let out = w.pp("output");
    Ok(LayerWeights {
        in_proj_weight: in_w,
        in_proj_bias: in_b,
        out_proj_weight: attn_out.tensor("dense.weight", &[d, d])?,
        out_proj_bias: attn_out.tensor("dense.bias", &[d])?,
        norm1_weight: attn_out.tensor("LayerNorm.weight", &[d])?,
        norm1_bias: attn_out.tensor("LayerNorm.bias", &[d])?,
        linear1_weight: w.tensor("intermediate.dense.weight", &[f, d])?,
        linear1_bias: w.tensor("intermediate.dense.bias", &[f])?,
        linear2_weight: out.tensor("dense.weight", &[d, f])?,
        linear2_bias: out.tensor("dense.bias", &[d])?,
        norm2_weight: out.tensor("LayerNorm.weight", &[d])?,
        norm2_bias: out.tensor("LayerNorm.bias", &[d])?,
    })
}

/// Builds layer `w` = the view of `encoder.layer.{i}` with its projections prepared as `plan`
/// says; `input_norm` is the LayerNorm whose output feeds the layer (the previous layer's
/// output norm, or the embeddings' norm), for the smoothing estimate.
pub fn load_encoder_layer(
    w: &WeightsView,
    cfg: &LayerConfig,
    plan: &PrecisionPlan,
    input_norm: Option<&LayerNorm>,
) -> Result<EncoderLayer> {
    let (d, f) = (cfg.d_model, cfg.d_ff);
    let attn = w.pp("attention");
    let attn_out = attn.pp("output");
    let out = w.pp("output");
    let norm1 = LayerNorm::load(&attn_out.pp("LayerNorm"), d, cfg.eps)?;
    let norm2 = LayerNorm::load(&out.pp("LayerNorm"), d, cfg.eps)?;
    let qkv = Linear::load(
        &attn.pp("self"),
        &[("query", d), ("key", d), ("value", d)],
        d,
        true,
        &plan.spec(Projection::Qkv, input_norm),
    )?;
    let o = Linear::load(
        &attn_out,
        &[("dense", d)],
        d,
        true,
        &plan.spec(Projection::AttnOut, None),
    )?;
    let ff1 = Linear::load(
        &w.pp("intermediate"),
        &[("dense", f)],
        d,
        true,
        &plan.spec(Projection::FfnIn, Some(&norm1)),
    )?;
    let ff2 = Linear::load(
        &out,
        &[("dense", d)],
        f,
        true,
        &plan.spec(Projection::FfnOut, None),
    )?;
    EncoderLayer::from_parts(
        *cfg,
        MultiHeadAttention::from_linears(d, cfg.heads, qkv, o)?,
        FeedForward::from_linears(ff1, ff2, cfg.activation)?,
        norm1,
        norm2,
    )
}
