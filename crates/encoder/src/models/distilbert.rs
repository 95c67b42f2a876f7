//! DistilBERT's `config.json` (its own field names), translated to a [`BertConfig`] for the
//! shared checks; the model itself is a [`BertModel`](crate::models::bert::BertModel) without token types
//! ([`BertModel::load_distilbert`](crate::models::bert::BertModel::load_distilbert)).

use crate::error::{Error, Result};
use crate::models::bert::config::{BertConfig, HiddenAct};
use serde::Deserialize;

/// The fields of a Hugging Face `DistilBertConfig` that inference needs.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct DistilBertConfig {
    /// Model width.
    pub dim: usize,
    /// Number of layers.
    pub n_layers: usize,
    /// Attention heads.
    pub n_heads: usize,
    /// Feed-forward width.
    pub hidden_dim: usize,
    /// Feed-forward activation.
    #[serde(default = "default_act")]
    pub activation: HiddenAct,
    /// Rows of the position table.
    pub max_position_embeddings: usize,
    /// Rows of the word table.
    pub vocab_size: usize,
    /// Id of `[PAD]`.
    #[serde(default)]
    pub pad_token_id: usize,
}

fn default_act() -> HiddenAct {
    HiddenAct::Gelu
}

impl DistilBertConfig {
    /// DistilBERT's LayerNorm ε (fixed in transformers).
    pub const EPS: f32 = 1e-12;

    /// Parses `config.json` text (already known to be `model_type: distilbert`).
    pub fn from_json(text: &[u8]) -> std::result::Result<Self, serde_json::Error> {
        serde_json::from_slice(text)
    }

    /// The same sizes under BERT's names, for the shared validation and for callers that read
    /// a [`BertConfig`].
    pub fn as_bert(&self) -> BertConfig {
        BertConfig {
            hidden_size: self.dim,
            num_hidden_layers: self.n_layers,
            num_attention_heads: self.n_heads,
            intermediate_size: self.hidden_dim,
            hidden_act: self.activation,
            layer_norm_eps: Self::EPS as f64,
            max_position_embeddings: self.max_position_embeddings,
            type_vocab_size: 1,
            vocab_size: self.vocab_size,
            pad_token_id: self.pad_token_id,
            model_type: None,
            relative_attention_num_buckets: 32,
            position_embedding_type: None,
        }
    }

    /// Checks the sizes (through [`DistilBertConfig::as_bert`]).
    pub fn validate(&self) -> Result<()> {
        self.as_bert()
            .validate()
            .map_err(|e| Error::Config(format!("DistilBERT {e}")))
    }
}
