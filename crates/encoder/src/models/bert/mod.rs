//! BERT-family encoders (BERT, MiniLM, …): embeddings (word + position + token type,
//! LayerNorm) and a post-norm encoder stack, loaded from Hugging Face safetensors names with or
//! without the `bert.` prefix.
//!
//! - [`config`]: `config.json` ([`BertConfig`]), validated before anything is allocated;
//! - [`layer`]: Hugging Face's `BertLayer` names mapped onto [`crate::nn::LayerWeights`];
//! - [`embeddings`]: the embedding sum and its LayerNorm;
//! - [`model`]: [`BertModel`], load and forward.

pub mod config;
pub mod embeddings;
pub mod layer;
pub mod model;

pub use config::{BertConfig, HiddenAct};
pub use embeddings::BertEmbeddings;
pub use model::BertModel;
