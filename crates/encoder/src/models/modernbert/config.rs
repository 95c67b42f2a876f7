//! ModernBERT's `config.json`: both the layout transformers ≥ 5 writes (`layer_types`,
//! `rope_parameters`) and the original one (`global_attn_every_n_layers`, `global_rope_theta`,
//! `local_rope_theta`).

use crate::error::{Error, Result};
use crate::models::bert::config::HiddenAct;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One rotary setting of `rope_parameters`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct RopeParameters {
    /// The base θ.
    pub rope_theta: f64,
    /// Only `"default"` is supported.
    #[serde(default)]
    pub rope_type: Option<String>,
}

/// The fields of a Hugging Face `ModernBertConfig` that inference needs.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ModernBertConfig {
    /// Model width.
    pub hidden_size: usize,
    /// Number of layers.
    pub num_hidden_layers: usize,
    /// Attention heads.
    pub num_attention_heads: usize,
    /// Width of the gated feed-forward (Wi is `2·intermediate_size` wide).
    pub intermediate_size: usize,
    /// Feed-forward activation.
    #[serde(default = "default_act")]
    pub hidden_activation: HiddenAct,
    /// Rows of the word table.
    pub vocab_size: usize,
    /// Longest input.
    pub max_position_embeddings: usize,
    /// LayerNorm ε.
    #[serde(default = "default_eps")]
    pub norm_eps: f64,
    /// LayerNorms with a bias.
    #[serde(default)]
    pub norm_bias: bool,
    /// Q/K/V/O projections with a bias.
    #[serde(default)]
    pub attention_bias: bool,
    /// Feed-forward projections with a bias.
    #[serde(default)]
    pub mlp_bias: bool,
    /// Local attention window: a query sees keys within `local_attention / 2` positions.
    #[serde(default = "default_local")]
    pub local_attention: usize,
    /// `"full_attention"` / `"sliding_attention"` per layer (transformers ≥ 5).
    #[serde(default)]
    pub layer_types: Option<Vec<String>>,
    /// Rotary bases per layer type (transformers ≥ 5).
    #[serde(default)]
    pub rope_parameters: Option<BTreeMap<String, RopeParameters>>,
    /// Every n-th layer is global (original layout).
    #[serde(default = "default_every")]
    pub global_attn_every_n_layers: usize,
    /// Rotary base of global layers (original layout).
    #[serde(default = "default_global_theta")]
    pub global_rope_theta: f64,
    /// Rotary base of local layers (original layout; the global one when absent).
    #[serde(default)]
    pub local_rope_theta: Option<f64>,
    /// Id of the padding token.
    #[serde(default)]
    pub pad_token_id: usize,
    /// Classification head: `"cls"` or `"mean"`.
    #[serde(default = "default_pooling")]
    pub classifier_pooling: String,
    /// Classification head: bias of its dense layer.
    #[serde(default)]
    pub classifier_bias: bool,
    /// Classification head: its activation.
    #[serde(default = "default_act")]
    pub classifier_activation: HiddenAct,
}

fn default_act() -> HiddenAct {
    HiddenAct::Gelu
}
fn default_eps() -> f64 {
    1e-5
}
fn default_local() -> usize {
    128
}
fn default_every() -> usize {
    3
}
fn default_global_theta() -> f64 {
    160_000.0
}
fn default_pooling() -> String {
    "cls".into()
}

/// How one layer attends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerKind {
    /// `Some(radius)` for a sliding-window layer.
    pub window: Option<usize>,
    /// Rotary base.
    pub theta: f32,
}

impl ModernBertConfig {
    /// Head width.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads.max(1)
    }

    /// Whether layer `i` is a sliding-window layer.
    fn is_local(&self, i: usize) -> bool {
        match &self.layer_types {
            Some(t) => t.get(i).is_some_and(|t| t == "sliding_attention"),
            None => !i.is_multiple_of(self.global_attn_every_n_layers.max(1)),
        }
    }

    /// Window and rotary base of layer `i`.
    pub fn layer_kind(&self, i: usize) -> LayerKind {
        let local = self.is_local(i);
        let key = if local {
            "sliding_attention"
        } else {
            "full_attention"
        };
        let theta = match self.rope_parameters.as_ref().and_then(|r| r.get(key)) {
            Some(p) => p.rope_theta,
            None if local => self.local_rope_theta.unwrap_or(self.global_rope_theta),
            None => self.global_rope_theta,
        };
        LayerKind {
            window: local.then_some(self.local_attention / 2),
            theta: theta as f32,
        }
    }

    /// Checks sizes, layer types and rotary settings.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        for (field, v, max) in [
            ("hidden_size", self.hidden_size, 1 << 16),
            ("num_hidden_layers", self.num_hidden_layers, 1000),
            ("num_attention_heads", self.num_attention_heads, 1 << 16),
            ("intermediate_size", self.intermediate_size, 1 << 20),
            ("vocab_size", self.vocab_size, 10_000_000),
            (
                "max_position_embeddings",
                self.max_position_embeddings,
                1 << 20,
            ),
        ] {
            if v == 0 || v > max {
                return bad(format!("{field} = {v} must be in 1..={max}"));
            }
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads)
            || !self.head_dim().is_multiple_of(2)
        {
            return bad(format!(
                "hidden_size = {} over num_attention_heads = {} must give an even head width",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if !(self.norm_eps.is_finite() && self.norm_eps > 0.0) {
            return bad(format!("norm_eps = {} must be positive", self.norm_eps));
        }
        if let Some(t) = &self.layer_types {
            if t.len() != self.num_hidden_layers {
                return bad(format!(
                    "layer_types has {} entries for {} layers",
                    t.len(),
                    self.num_hidden_layers
                ));
            }
            if let Some(x) = t
                .iter()
                .find(|x| *x != "full_attention" && *x != "sliding_attention")
            {
                return bad(format!("layer_types entry {x:?} is not supported"));
            }
        }
        if let Some(r) = &self.rope_parameters {
            for (k, p) in r {
                if p.rope_type.as_deref().is_some_and(|t| t != "default") {
                    return bad(format!(
                        "rope_parameters.{k}.rope_type {:?} is not supported",
                        p.rope_type
                    ));
                }
            }
        }
        for i in 0..self.num_hidden_layers {
            let th = self.layer_kind(i).theta;
            if !(th.is_finite() && th > 1.0) {
                return bad(format!("layer {i}: rope theta {th} must be > 1"));
            }
        }
        if !matches!(self.classifier_pooling.as_str(), "cls" | "mean") {
            return bad(format!(
                "classifier_pooling = {:?} is not supported (cls, mean)",
                self.classifier_pooling
            ));
        }
        Ok(())
    }
}
