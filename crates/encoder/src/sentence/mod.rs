//! Pipelines: text in, sentence embeddings out.
//!
//! - [`encoder`]: [`SentenceEncoder`] (tokenizer → model → pooling → normalization), safe to
//!   call from many threads at once;
//! - [`model_dir`]: a sentence-transformers model directory ([`ModelDir`]) and its settings;
//! - [`pooling`]: token vectors to one sentence vector ([`Pooling`]), and L2 normalization;
//! - [`quantize`]: a model directory saved at bf16 or int8 ([`quantize_dir`]).

pub mod encoder;
pub mod model_dir;
pub mod pooling;
pub mod quantize;
mod scratch;

pub use encoder::{EmbedOptions, Embeddings, LoadOptions, SentenceEncoder};
pub use model_dir::{ModelDir, QUANTIZATION_FILE};
pub use pooling::{l2_normalize, pool, Pooling};
pub use quantize::{quantize_dir, QuantizeOptions, QuantizeReport};
