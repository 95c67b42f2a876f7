//! Hugging Face's `BertLayer` tensor names, mapped onto the PyTorch
//! `nn.TransformerEncoderLayer` layout of [`LayerWeights`]: Q, K and V concatenated into one
//! `in_proj`, the attention output's LayerNorm as `norm1`, the output's as `norm2`.

use crate::error::Result;
use crate::io::view::WeightsView;
use crate::nn::layer::{LayerConfig, LayerWeights};

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
