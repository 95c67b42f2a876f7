//! BERT-shaped encoders (BERT, MiniLM, RoBERTa, XLM-R, CamemBERT, MPNet, DistilBERT):
//! embeddings (word + position [+ token type], LayerNorm) and a post-norm encoder stack.
//!
//! - [`config`]: `config.json` ([`BertConfig`]), validated before anything is allocated; the
//!   [`Flavor`] (`model_type`) decides positions, token types and MPNet's bias;
//! - [`layer`]: each family's layer names mapped onto [`crate::nn::LayerWeights`];
//! - [`embeddings`]: the embedding sum and its LayerNorm;
//! - [`relative`]: MPNet's relative-position bucket bias;
//! - [`model`]: [`BertModel`], load and forward.

pub mod config;
pub mod embeddings;
pub mod layer;
pub mod model;
pub mod relative;

pub use config::{BertConfig, Flavor, HiddenAct};
pub use embeddings::BertEmbeddings;
pub use model::BertModel;
