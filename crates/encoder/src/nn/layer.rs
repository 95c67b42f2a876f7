//! One Transformer encoder layer, post-norm (Vaswani et al.; PyTorch's default) or pre-norm.
//!
//! Post-norm: `x = LN1(x + SA(x)); x = LN2(x + FF(x))`.
//! Pre-norm (`norm_first`): `x = x + SA(LN1(x)); x = x + FF(LN2(x))`.
//! The residual additions are fused into the output GEMMs (β = 1).

use crate::error::{Error, Result};
use crate::io::view::WeightsView;
use crate::nn::attention::{AttentionBuffers, MultiHeadAttention};
use crate::nn::batch::Batch;
use crate::nn::buffers::{check_len, grow, rows_of};
use crate::nn::ffn::FeedForward;
use crate::nn::linear::Linear;
use crate::nn::norm::LayerNorm;
use crate::nn::precision::{PrecisionPlan, Projection};
use qkv_core::ops::activation::Activation;

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
    /// Every tensor from `f(name, shape)`, called in the order of the fields (and of PyTorch's
    /// state_dict): `self_attn.in_proj_weight`, `self_attn.in_proj_bias`,
    /// `self_attn.out_proj.weight`, `self_attn.out_proj.bias`, `linear1.weight`, `linear1.bias`,
    /// `linear2.weight`, `linear2.bias`, `norm1.weight`, `norm1.bias`, `norm2.weight`,
    /// `norm2.bias`. For random or synthetic layers; [`EncoderLayer::new`] checks the lengths.
    pub fn from_fn(cfg: &LayerConfig, mut f: impl FnMut(&str, &[usize]) -> Vec<f32>) -> Self {
        let (d, ff) = (cfg.d_model, cfg.d_ff);
        LayerWeights {
            in_proj_weight: f("self_attn.in_proj_weight", &[3 * d, d]),
            in_proj_bias: f("self_attn.in_proj_bias", &[3 * d]),
            out_proj_weight: f("self_attn.out_proj.weight", &[d, d]),
            out_proj_bias: f("self_attn.out_proj.bias", &[d]),
            linear1_weight: f("linear1.weight", &[ff, d]),
            linear1_bias: f("linear1.bias", &[ff]),
            linear2_weight: f("linear2.weight", &[d, ff]),
            linear2_bias: f("linear2.bias", &[d]),
            norm1_weight: f("norm1.weight", &[d]),
            norm1_bias: f("norm1.bias", &[d]),
            norm2_weight: f("norm2.weight", &[d]),
            norm2_bias: f("norm2.bias", &[d]),
        }
    }

    /// Reads a layer by its PyTorch `nn.TransformerEncoderLayer` state_dict names under `w`
    /// (e.g. `weights.root()`, `weights.pp("layers").pp(0)`). The attention parameters are
    /// found with or without the `self_attn.` part. A missing or mis-shaped tensor is an error
    /// naming the tensor and both shapes.
    pub fn load(w: &WeightsView, cfg: &LayerConfig) -> Result<Self> {
        let (d, f) = (cfg.d_model, cfg.d_ff);
        let attn = |name: &str, shape: &[usize]| {
            w.tensor_any(&[&format!("self_attn.{name}"), name], shape)
        };
        Ok(LayerWeights {
            in_proj_weight: attn("in_proj_weight", &[3 * d, d])?,
            in_proj_bias: attn("in_proj_bias", &[3 * d])?,
            out_proj_weight: attn("out_proj.weight", &[d, d])?,
            out_proj_bias: attn("out_proj.bias", &[d])?,
            linear1_weight: w.tensor("linear1.weight", &[f, d])?,
            linear1_bias: w.tensor("linear1.bias", &[f])?,
            linear2_weight: w.tensor("linear2.weight", &[d, f])?,
            linear2_bias: w.tensor("linear2.bias", &[d])?,
            norm1_weight: w.tensor("norm1.weight", &[d])?,
            norm1_bias: w.tensor("norm1.bias", &[d])?,
            norm2_weight: w.tensor("norm2.weight", &[d])?,
            norm2_bias: w.tensor("norm2.bias", &[d])?,
        })
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
    /// Validates `cfg` and the weights' shapes, and packs the weights once (f32).
    pub fn new(cfg: LayerConfig, w: &LayerWeights) -> Result<Self> {
        EncoderLayer::with_precision(cfg, w, &PrecisionPlan::default(), None)
    }

    /// [`EncoderLayer::new`] with the projections prepared as `plan` says. `input_norm` is the
    /// LayerNorm whose output feeds a post-norm layer (the previous layer's `norm2`, or the
    /// embeddings' norm), used for SmoothQuant's activation-range estimate when the plan
    /// smooths; a pre-norm layer uses its own norms.
    pub fn with_precision(
        cfg: LayerConfig,
        w: &LayerWeights,
        plan: &PrecisionPlan,
        input_norm: Option<&LayerNorm>,
    ) -> Result<Self> {
        cfg.validate()?;
        let d = cfg.d_model;
        for (name, v) in [
            ("norm1.weight", &w.norm1_weight),
            ("norm1.bias", &w.norm1_bias),
            ("norm2.weight", &w.norm2_weight),
            ("norm2.bias", &w.norm2_bias),
        ] {
            check_len(name, v, &[d])?;
        }
        let ln = |g: &Vec<f32>, b: &Vec<f32>| LayerNorm {
            gamma: g.clone(),
            beta: b.clone(),
            eps: cfg.eps,
        };
        let (norm1, norm2) = (
            ln(&w.norm1_weight, &w.norm1_bias),
            ln(&w.norm2_weight, &w.norm2_bias),
        );
        let (qkv_in, ffn_in) = if cfg.norm_first {
            (Some(&norm1), Some(&norm2))
        } else {
            (input_norm, Some(&norm1))
        };
        let (f, d3) = (cfg.d_ff, 3 * d);
        for (name, v, shape) in [
            ("self_attn.in_proj_weight", &w.in_proj_weight, [d3, d]),
            ("self_attn.out_proj.weight", &w.out_proj_weight, [d, d]),
            ("linear1.weight", &w.linear1_weight, [f, d]),
            ("linear2.weight", &w.linear2_weight, [d, f]),
        ] {
            check_len(name, v, &shape)?;
        }
        for (name, v, n) in [
            ("self_attn.in_proj_bias", &w.in_proj_bias, d3),
            ("self_attn.out_proj.bias", &w.out_proj_bias, d),
            ("linear1.bias", &w.linear1_bias, f),
            ("linear2.bias", &w.linear2_bias, d),
        ] {
            check_len(name, v, &[n])?;
        }
        let lin = |v: &[f32], b: &[f32], n, k, p, norm| {
            Linear::new(v, n, k, Some(b), &plan.spec(p, norm))
        };
        let mha = MultiHeadAttention::from_linears(
            d,
            cfg.heads,
            lin(
                &w.in_proj_weight,
                &w.in_proj_bias,
                d3,
                d,
                Projection::Qkv,
                qkv_in,
            )?,
            lin(
                &w.out_proj_weight,
                &w.out_proj_bias,
                d,
                d,
                Projection::AttnOut,
                None,
            )?,
        )?;
        let ffn = FeedForward::from_linears(
            lin(
                &w.linear1_weight,
                &w.linear1_bias,
                f,
                d,
                Projection::FfnIn,
                ffn_in,
            )?,
            lin(
                &w.linear2_weight,
                &w.linear2_bias,
                d,
                f,
                Projection::FfnOut,
                None,
            )?,
            cfg.activation,
        )?;
        EncoderLayer::from_parts(cfg, mha, ffn, norm1, norm2)
    }

    /// A layer from prepared parts (how a model family with its own tensor names, or a saved
    /// int8 model, builds its layers); their sizes must agree with `cfg`.
    pub fn from_parts(
        cfg: LayerConfig,
        mha: MultiHeadAttention,
        ffn: FeedForward,
        norm1: LayerNorm,
        norm2: LayerNorm,
    ) -> Result<Self> {
        cfg.validate()?;
        let d = cfg.d_model;
        let ok = mha.d_model() == d
            && mha.heads() == cfg.heads
            && ffn.w1().k() == d
            && ffn.w1().n() == cfg.d_ff
            && ffn.activation() == cfg.activation
            && [&norm1, &norm2]
                .iter()
                .all(|n| n.gamma.len() == d && n.beta.len() == d);
        if !ok {
            return Err(Error::Config(format!(
                "layer parts do not match the config (d_model {d}, heads {}, d_ff {}, {:?})",
                cfg.heads, cfg.d_ff, cfg.activation
            )));
        }
        Ok(EncoderLayer {
            cfg,
            mha,
            ffn,
            norm1,
            norm2,
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

    /// The feed-forward block.
    pub fn feed_forward(&self) -> &FeedForward {
        &self.ffn
    }

    /// The two LayerNorms (`norm1` after or before attention, `norm2` around the FFN).
    pub fn norms(&self) -> (&LayerNorm, &LayerNorm) {
        (&self.norm1, &self.norm2)
    }

    /// The four projections: QKV, attention output, FFN in, FFN out.
    pub fn linears(&self) -> [&Linear; 4] {
        [self.mha.qkv(), self.mha.out(), self.ffn.w1(), self.ffn.w2()]
    }

    /// `x ← layer(x)` in place on the packed tokens of `batch` (`x: [batch.tokens(), d]`),
    /// under the batch's mask. Allocates its scratch buffers; use
    /// [`EncoderLayer::forward_with`] to reuse them across calls.
    ///
    /// ```
    /// use qkv_encoder::{Activation, Batch, EncoderLayer, LayerConfig, LayerWeights};
    /// let (d, heads, d_ff) = (8, 2, 16);
    /// let cfg = LayerConfig { d_model: d, heads, d_ff, activation: Activation::Gelu,
    ///                         norm_first: false, eps: 1e-5 };
    /// // Every tensor from a function of its name and shape: here 0.01, and γ = 1.
    /// let w = LayerWeights::from_fn(&cfg, |name, shape| {
    ///     let v = if name.starts_with("norm") && name.ends_with("weight") { 1.0 } else { 0.01 };
    ///     vec![v; shape.iter().product()]
    /// });
    /// let layer = EncoderLayer::new(cfg, &w)?;
    /// let batch = Batch::from_lengths(&[3, 2])?;
    /// let mut x = vec![0.5f32; batch.tokens() * d];
    /// layer.forward(&mut x, &batch)?;
    /// assert!(x.iter().all(|v| v.is_finite()));
    /// # Ok::<(), qkv_encoder::Error>(())
    /// ```
    pub fn forward(&self, x: &mut [f32], batch: &Batch) -> Result<()> {
        self.forward_with(x, batch, &mut LayerBuffers::default(), None)
    }

    /// [`EncoderLayer::forward`] with reused buffers; with `probs`, also writes the attention
    /// weights `[batch.len(), heads, S, S]` (`S` = `batch.max_len()`).
    pub fn forward_with(
        &self,
        x: &mut [f32],
        batch: &Batch,
        buf: &mut LayerBuffers,
        probs: Option<&mut [f32]>,
    ) -> Result<()> {
        let d = self.cfg.d_model;
        let tokens = batch.tokens();
        let x = rows_of(x, tokens, d, "EncoderLayer::forward")?;
        if self.cfg.norm_first {
            // x = x + SA(LN1(x))
            let h = grow(&mut buf.normed, tokens * d);
            h.copy_from_slice(x);
            self.norm1.apply(h, tokens)?;
            self.mha.project_qkv(h, tokens, &mut buf.attn)?;
            self.mha.attend(batch, &mut buf.attn, probs)?;
            self.mha.project_out(tokens, &buf.attn, x, true)?;
            // x = x + FF(LN2(x))
            let h = grow(&mut buf.normed, tokens * d);
            h.copy_from_slice(x);
            self.norm2.apply(h, tokens)?;
            self.ffn.forward(h, tokens, &mut buf.hidden, x, true)?;
        } else {
            // x = LN1(x + SA(x))
            self.mha.project_qkv(x, tokens, &mut buf.attn)?;
            self.mha.attend(batch, &mut buf.attn, probs)?;
            self.mha.project_out(tokens, &buf.attn, x, true)?;
            self.norm1.apply(x, tokens)?;
            // x = LN2(x + FF(x)): FF reads x into `hidden` before its second GEMM adds into x.
            self.ffn.forward_residual(x, tokens, &mut buf.hidden)?;
            self.norm2.apply(x, tokens)?;
        }
        Ok(())
    }
}
