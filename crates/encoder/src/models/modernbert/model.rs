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
use crate::nn::norm::LayerNorm;
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
    fn load(w: &WeightsView, cfg: &ModernBertConfig, i: usize, kind: LayerKind) -> Result<Self> {
        let (d, f) = (cfg.hidden_size, cfg.intermediate_size);
        let opt = |on: bool, name: &str, n: usize| -> Result<Option<Vec<f32>>> {
            if on {
                Ok(Some(w.tensor(name, &[n])?))
            } else {
                Ok(None)
            }
        };
        let zeros = |n| vec![0.0f32; n];
        let b_qkv = opt(cfg.attention_bias, "attn.Wqkv.bias", 3 * d)?.unwrap_or(zeros(3 * d));
        let b_o = opt(cfg.attention_bias, "attn.Wo.bias", d)?.unwrap_or(zeros(d));
        let attn = MultiHeadAttention::new(
            d,
            cfg.num_attention_heads,
            &w.tensor("attn.Wqkv.weight", &[3 * d, d])?,
            &b_qkv,
            &w.tensor("attn.Wo.weight", &[d, d])?,
            &b_o,
        )?;
        let bi = opt(cfg.mlp_bias, "mlp.Wi.bias", 2 * f)?;
        let bo = opt(cfg.mlp_bias, "mlp.Wo.bias", d)?;
        let mlp = GatedFeedForward::new(
            d,
            f,
            (&w.tensor("mlp.Wi.weight", &[2 * f, d])?, bi.as_deref()),
            (&w.tensor("mlp.Wo.weight", &[d, f])?, bo.as_deref()),
            cfg.hidden_activation.activation(),
        )?;
        Ok(ModernBertLayer {
            attn_norm: if i == 0 {
                None
            } else {
                Some(norm(&w.pp("attn_norm"), d, cfg.norm_eps, cfg.norm_bias)?)
            },
            attn,
            rotary: Rotary::new(kind.theta, cfg.head_dim())?,
            window: kind.window,
            mlp_norm: norm(&w.pp("mlp_norm"), d, cfg.norm_eps, cfg.norm_bias)?,
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
}

impl ModernBertModel {
    /// Loads `embeddings.*`, `layers.{i}.*`, `final_norm` (with or without `model.`).
    pub fn load(w: &Weights, cfg: &ModernBertConfig) -> Result<Self> {
        cfg.validate()?;
        let root = base_view(w, &["model"], "embeddings.tok_embeddings.weight");
        let d = cfg.hidden_size;
        let layers = root.pp("layers");
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| ModernBertLayer::load(&layers.pp(i), cfg, i, cfg.layer_kind(i)))
            .collect::<Result<Vec<_>>>()?;
        let emb = root.pp("embeddings");
        Ok(ModernBertModel {
            tok: EmbeddingTable::load(&emb.pp("tok_embeddings"), cfg.vocab_size, d)?,
            emb_norm: norm(&emb.pp("norm"), d, cfg.norm_eps, cfg.norm_bias)?,
            layers,
            final_norm: norm(&root.pp("final_norm"), d, cfg.norm_eps, cfg.norm_bias)?,
            cfg: cfg.clone(),
        })
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
