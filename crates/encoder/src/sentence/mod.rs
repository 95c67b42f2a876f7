//! Pipelines: text in, sentence embeddings out.
//!
//! - [`encoder`]: [`SentenceEncoder`] (tokenizer → model → pooling → normalization), safe to
//!   call from many threads at once;
//! - [`cross`]: [`CrossEncoder`] (a query–document pair → a relevance score);
//! - [`tokenizer_config`]: the maximum length and model inputs of `tokenizer_config.json`;
//! - [`model_dir`]: a sentence-transformers model directory ([`ModelDir`]) and its settings;
//! - [`pooling`]: token vectors to one sentence vector ([`Pooling`]), and L2 normalization.

pub mod cross;
pub mod encoder;
pub mod model_dir;
pub mod pooling;
mod scratch;
pub mod tokenizer_config;

pub use cross::{CrossEncoder, Ranked, ScoreOptions, Scores};
pub use encoder::{EmbedOptions, Embeddings, SentenceEncoder};
pub use model_dir::ModelDir;
pub use pooling::{l2_normalize, pool, Pooling};
