//! Pipelines: text in, sentence embeddings out.
//!
//! - [`encoder`]: [`SentenceEncoder`] (prompt → tokenizer → model → pooling → truncation →
//!   normalization), safe to call from many threads at once;
//! - [`cross`]: [`CrossEncoder`] (a query–document pair → a relevance score);
//! - [`tokenizer_config`]: the maximum length and model inputs of `tokenizer_config.json`;
//! - [`model_dir`]: a sentence-transformers model directory ([`ModelDir`]) and its settings,
//!   read by [`st_config`] (both layouts) and [`prompts`];
//! - [`load`]: the precision a model is loaded at ([`LoadOptions`]);
//! - [`pooling`]: token vectors to one sentence vector ([`Pooling`]), and L2 normalization;
//! - [`hub`]: Hugging Face ids resolved in the local cache ([`resolve_model`]);
//! - [`quantize`]: a model directory saved at bf16 or int8 ([`quantize_dir`]).

pub mod cross;
pub mod encoder;
pub mod hub;
pub mod load;
pub mod model_dir;
pub mod pooling;
pub mod prompts;
pub mod quantize;
mod scratch;
pub mod st_config;
pub mod tokenizer_config;

pub use cross::{CrossEncoder, Ranked, ScoreOptions, Scores};
pub use encoder::{EmbedOptions, Embeddings, SentenceEncoder};
pub use hub::{resolve_model, resolve_model_with, HubOptions};
pub use load::{LoadOptions, QUANTIZATION_FILE};
pub use model_dir::ModelDir;
pub use pooling::{l2_normalize, pool, pool_excluding, Pooling};
pub use prompts::Prompts;
pub use quantize::{quantize_dir, QuantizeOptions, QuantizeReport};
pub use st_config::PoolingConfig;
