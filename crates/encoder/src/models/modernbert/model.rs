//! [`ModernBertModel`] (Warner et al. 2024): token embeddings and a LayerNorm; pre-norm layers
//! with rotary positions (a global and a local θ), alternating global and sliding-window
//! attention, a GeGLU feed-forward, no linear biases; a final LayerNorm.
//!
//! Layer `i`: `x += Wo·attn(rope(Wqkv·n₁(x)))`, `x += mlp(n₂(x))`, with `n₁` the identity in
//! layer 0 (transformers' `attn_norm = Identity`).

use crate::error::Result;
use crate::io::view::WeightsView;
use crate::io::weights::Weights;
use crate::models::bert::model::base_view;
use crate::models::modernbert::config::{LayerKind, ModernBertConfig};
use crate::nn::attention::{AttentionBuffers, MultiHeadAttention};
use crate::nn::batch::{Batch, TokenSeq};
use crate::nn::embedding::EmbeddingTable;
use crate::nn::glu::{GatedFeedForward, GluBuffers};
use crate::nn::linear::Linear;
use crate::nn::norm::LayerNorm;
use crate::nn::precision::{PrecisionPlan, Projection};
use crate::nn::rotary::Rotary;
use qkv_core::Mask;

/// One ModernBERT layer.
#[derive(Clone, Debug)]
struct ModernBertLayer {
    attn_norm: Option<LayerNorm>,
    attn: MultiHeadAttention,
    rotary: Rotary,
    window: Option<usize>,
    mlp_norm: LayerNorm,
    mlp: GatedFeedForward,
}

/// A LayerNorm `weight` with an optional `bias` (zeros when the config has none).
pub(crate) fn norm(w: &WeightsView, d: usize, eps: f64, bias: bool) -> Result<LayerNorm> {
    Ok(LayerNorm {
        gamma: w.tensor("weight", &[d])?,
        beta: if bias {
            w.tensor("bias", &[d])?
        } else {
            vec![0.0; d]
        },
        eps: eps as f32,
    })
}

impl ModernBertLayer {
    /// Layer `i` from `w` with its projections prepared as `plan` says; `input_norm` is the
    /// norm whose output feeds layer 0's attention (its own `attn_norm` is the identity).
    fn load(
        w: &WeightsView,
        cfg: &ModernBertConfig,
        i: usize,
        kind: LayerKind,
        plan: &PrecisionPlan,
        emb_norm: &LayerNorm,
    ) -> Result<Self> {
        let (d, f) = (cfg.hidden_size, cfg.intermediate_size);
        let attn_norm = if i == 0 {
            None
        } else {
            Some(norm(&w.pp("attn_norm"), d, cfg.norm_eps, cfg.norm_bias)?)
        };
        let mlp_norm = norm(&w.pp("mlp_norm"), d, cfg.norm_eps, cfg.norm_bias)?;
        let (ab, mb) = (cfg.attention_bias, cfg.mlp_bias);
        let qkv_in = attn_norm.as_ref().unwrap_or(emb_norm);
        let lin = |name: &str, rows: usize, k: usize, bias: bool, spec| {
            Linear::load(w, &[(name, rows)], k, bias, &spec)
        };
        let attn = MultiHeadAttention::from_linears(
            d,
            cfg.num_attention_heads,
            lin(
                "attn.Wqkv",
                3 * d,
                d,
                ab,
                plan.spec(Projection::Qkv, Some(qkv_in)),
            )?,
            lin("attn.Wo", d, d, ab, plan.spec(Projection::AttnOut, None))?,
        )?;
        let mlp = GatedFeedForward::from_linears(
            lin(
                "mlp.Wi",
                2 * f,
                d,
                mb,
                plan.spec(Projection::FfnIn, Some(&mlp_norm)),
            )?,
            lin("mlp.Wo", d, f, mb, plan.spec(Projection::FfnOut, None))?,
            cfg.hidden_activation.activation(),
        )?;
        Ok(ModernBertLayer {
            attn_norm,
            attn,
            rotary: Rotary::new(kind.theta, cfg.head_dim())?,
            window: kind.window,
            mlp_norm,
            mlp,
        })
    }

    fn forward(&self, x: &mut [f32], batch: &Batch, buf: &mut Buffers) -> Result<()> {
        let tokens = batch.tokens();
        let d = self.attn.d_model();
        buf.normed.clear();
        buf.normed.extend_from_slice(x);
        if let Some(n) = &self.attn_norm {
            n.apply(&mut buf.normed, tokens)?;
        }
        self.attn.project_qkv(&buf.normed, tokens, &mut buf.attn)?;
        self.rotary
            .apply(&mut buf.attn.qkv[..tokens * 3 * d], d, batch)?;
        let mask = match self.window {
            Some(radius) => Mask::SlidingWindow { radius },
            None => Mask::None,
        };
        self.attn
            .attend(&batch.clone().with_mask(mask)?, &mut buf.attn, None)?;
        self.attn.project_out(tokens, &buf.attn, x, true)?;
        buf.normed.clear();
        buf.normed.extend_from_slice(x);
        self.mlp_norm.apply(&mut buf.normed, tokens)?;
        self.mlp.forward_add(&buf.normed, tokens, &mut buf.glu, x)
    }
}

/// Per-call scratch.
#[derive(Default)]
struct Buffers {
    normed: Vec<f32>,
    attn: AttentionBuffers,
    glu: GluBuffers,
}

/// A loaded ModernBERT encoder.
#[derive(Clone, Debug)]
pub struct ModernBertModel {
    cfg: ModernBertConfig,
    tok: EmbeddingTable,
    emb_norm: LayerNorm,
    layers: Vec<ModernBertLayer>,
    final_norm: LayerNorm,
    plan: PrecisionPlan,
}

impl ModernBertModel {
    /// Loads `embeddings.*`, `layers.{i}.*`, `final_norm` (with or without `model.`), in f32.
    pub fn load(w: &Weights, cfg: &ModernBertConfig) -> Result<Self> {
        ModernBertModel::load_with(w, cfg, &PrecisionPlan::default())
    }

    /// [`ModernBertModel::load`] with the projections prepared as `plan` says.
    pub fn load_with(w: &Weights, cfg: &ModernBertConfig, plan: &PrecisionPlan) -> Result<Self> {
        cfg.validate()?;
        let root = base_view(w, &["model"], "embeddings.tok_embeddings.weight");
        let d = cfg.hidden_size;
        let emb = root.pp("embeddings");
        let emb_norm = norm(&emb.pp("norm"), d, cfg.norm_eps, cfg.norm_bias)?;
        let layers = root.pp("layers");
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| {
                let kind = cfg.layer_kind(i);
                ModernBertLayer::load(&layers.pp(i), cfg, i, kind, plan, &emb_norm)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ModernBertModel {
            tok: EmbeddingTable::load(&emb.pp("tok_embeddings"), cfg.vocab_size, d)?,
            emb_norm,
            layers,
            final_norm: norm(&root.pp("final_norm"), d, cfg.norm_eps, cfg.norm_bias)?,
            cfg: cfg.clone(),
            plan: *plan,
        })
    }

    /// The precision plan the projections were prepared with.
    pub fn precision_plan(&self) -> &PrecisionPlan {
        &self.plan
    }

    /// Every projection, layer by layer (for `qkv quantize`).
    pub fn linears(&self) -> Vec<&Linear> {
        self.layers
            .iter()
            .flat_map(|l| {
                let [wi, wo] = l.mlp.linears();
                [l.attn.qkv(), l.attn.out(), wi, wo]
            })
            .collect()
    }

    /// The configuration.
    pub fn config(&self) -> &ModernBertConfig {
        &self.cfg
    }

    /// Hidden width.
    pub fn hidden_size(&self) -> usize {
        self.cfg.hidden_size
    }

    /// The longest input.
    pub fn max_len(&self) -> usize {
        self.cfg.max_position_embeddings
    }

    /// Last hidden states (after the final norm) of packed sequences into `out`, `[Σ len, d]`.
    pub fn forward_into(&self, seqs: &[TokenSeq], out: &mut Vec<f32>) -> Result<()> {
        let batch = Batch::from_tokens(seqs)?;
        let d = self.cfg.hidden_size;
        out.clear();
        out.reserve(batch.tokens() * d);
        for (b, s) in seqs.iter().enumerate() {
            if s.ids.len() > self.max_len() {
                return Err(crate::error::input_err(
                    "ModernBertModel::forward",
                    format!(
                        "sequence {b} has {} tokens, the model takes at most {}",
                        s.ids.len(),
                        self.max_len()
                    ),
                ));
            }
            for (i, &id) in s.ids.iter().enumerate() {
                let row = self.tok.row(id as usize).ok_or_else(|| {
                    crate::error::input_err(
                        "ModernBertModel::forward",
                        format!(
                            "sequence {b} token {i}: id {id} is not below the vocabulary size {}",
                            self.tok.rows()
                        ),
                    )
                })?;
                out.extend_from_slice(row);
            }
        }
        self.emb_norm.apply(out, batch.tokens())?;
        let mut buf = Buffers::default();
        for layer in &self.layers {
            layer.forward(out, &batch, &mut buf)?;
        }
        self.final_norm.apply(out, batch.tokens())
    }
}
