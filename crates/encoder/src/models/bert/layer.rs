//! Hugging Face's layer tensor names of the BERT-shaped families, mapped onto the PyTorch
//! `nn.TransformerEncoderLayer` layout of [`LayerWeights`]: Q, K and V concatenated into one
//! `in_proj`, the attention block's LayerNorm as `norm1`, the feed-forward's as `norm2`.
//!
//! | | BERT / RoBERTa | MPNet | DistilBERT |
//! |---|---|---|---|
//! | Q, K, V | `attention.self.{query,key,value}` | `attention.attn.{q,k,v}` | `attention.{q,k,v}_lin` |
//! | attention out | `attention.output.dense` | `attention.attn.o` | `attention.out_lin` |
//! | norm1 | `attention.output.LayerNorm` | `attention.LayerNorm` | `sa_layer_norm` |
//! | FFN in / out | `intermediate.dense` / `output.dense` | same | `ffn.lin1` / `ffn.lin2` |
//! | norm2 | `output.LayerNorm` | same | `output_layer_norm` |
//!
//! [`load_encoder_layer`] builds a layer at a precision straight from those names, and also
//! reads the int8 weights `qkv quantize` saves under them.

use crate::error::Result;
use crate::io::view::WeightsView;
use crate::nn::attention::MultiHeadAttention;
use crate::nn::ffn::FeedForward;
use crate::nn::layer::{EncoderLayer, LayerConfig, LayerWeights};
use crate::nn::linear::Linear;
use crate::nn::norm::LayerNorm;
use crate::nn::precision::{PrecisionPlan, Projection};

/// Which naming scheme a checkpoint's layers use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerNames {
    /// BERT, RoBERTa, XLM-R, CamemBERT.
    Bert,
    /// MPNet.
    MPNet,
    /// DistilBERT.
    DistilBert,
}

/// The names of one layer's tensors (without `.weight` / `.bias`).
struct Names {
    q: &'static str,
    k: &'static str,
    v: &'static str,
    o: &'static str,
    norm1: &'static str,
    ff_in: &'static str,
    ff_out: &'static str,
    norm2: &'static str,
}

impl LayerNames {
    fn names(self) -> Names {
        match self {
            LayerNames::Bert => Names {
                q: "attention.self.query",
                k: "attention.self.key",
                v: "attention.self.value",
                o: "attention.output.dense",
                norm1: "attention.output.LayerNorm",
                ff_in: "intermediate.dense",
                ff_out: "output.dense",
                norm2: "output.LayerNorm",
            },
            LayerNames::MPNet => Names {
                q: "attention.attn.q",
                k: "attention.attn.k",
                v: "attention.attn.v",
                o: "attention.attn.o",
                norm1: "attention.LayerNorm",
                ff_in: "intermediate.dense",
                ff_out: "output.dense",
                norm2: "output.LayerNorm",
            },
            LayerNames::DistilBert => Names {
                q: "attention.q_lin",
                k: "attention.k_lin",
                v: "attention.v_lin",
                o: "attention.out_lin",
                norm1: "sa_layer_norm",
                ff_in: "ffn.lin1",
                ff_out: "ffn.lin2",
                norm2: "output_layer_norm",
            },
        }
    }
}

/// Reads one layer from `w` = the view of `encoder.layer.{i}` (`transformer.layer.{i}`).
pub fn load_layer(w: &WeightsView, cfg: &LayerConfig, names: LayerNames) -> Result<LayerWeights> {
    let (d, f) = (cfg.d_model, cfg.d_ff);
    let n = names.names();
    let t = |name: &str, part: &str, shape: &[usize]| w.tensor(&format!("{name}.{part}"), shape);
    let mut in_w = t(n.q, "weight", &[d, d])?;
    in_w.extend(t(n.k, "weight", &[d, d])?);
    in_w.extend(t(n.v, "weight", &[d, d])?);
    let mut in_b = t(n.q, "bias", &[d])?;
    in_b.extend(t(n.k, "bias", &[d])?);
    in_b.extend(t(n.v, "bias", &[d])?);
    Ok(LayerWeights {
        in_proj_weight: in_w,
        in_proj_bias: in_b,
        out_proj_weight: t(n.o, "weight", &[d, d])?,
        out_proj_bias: t(n.o, "bias", &[d])?,
        norm1_weight: t(n.norm1, "weight", &[d])?,
        norm1_bias: t(n.norm1, "bias", &[d])?,
        linear1_weight: t(n.ff_in, "weight", &[f, d])?,
        linear1_bias: t(n.ff_in, "bias", &[f])?,
        linear2_weight: t(n.ff_out, "weight", &[d, f])?,
        linear2_bias: t(n.ff_out, "bias", &[d])?,
        norm2_weight: t(n.norm2, "weight", &[d])?,
        norm2_bias: t(n.norm2, "bias", &[d])?,
    })
}

/// Builds layer `w` = the view of `encoder.layer.{i}` with its projections prepared as `plan`
/// says; `input_norm` is the LayerNorm whose output feeds the layer (the previous layer's
/// `norm2`, or the embeddings' norm), for the smoothing estimate.
pub fn load_encoder_layer(
    w: &WeightsView,
    cfg: &LayerConfig,
    names: LayerNames,
    plan: &PrecisionPlan,
    input_norm: Option<&LayerNorm>,
) -> Result<EncoderLayer> {
    let (d, f) = (cfg.d_model, cfg.d_ff);
    let n = names.names();
    let norm1 = LayerNorm::load(&w.pp(n.norm1), d, cfg.eps)?;
    let norm2 = LayerNorm::load(&w.pp(n.norm2), d, cfg.eps)?;
    let lin = |blocks: &[(&str, usize)], k, proj, norm| {
        Linear::load(w, blocks, k, true, &plan.spec(proj, norm))
    };
    let qkv = lin(
        &[(n.q, d), (n.k, d), (n.v, d)],
        d,
        Projection::Qkv,
        input_norm,
    )?;
    let o = lin(&[(n.o, d)], d, Projection::AttnOut, None)?;
    let ff1 = lin(&[(n.ff_in, f)], d, Projection::FfnIn, Some(&norm1))?;
    let ff2 = lin(&[(n.ff_out, d)], f, Projection::FfnOut, None)?;
    EncoderLayer::from_parts(
        *cfg,
        MultiHeadAttention::from_linears(d, cfg.heads, qkv, o)?,
        FeedForward::from_linears(ff1, ff2, cfg.activation)?,
        norm1,
        norm2,
    )
}
