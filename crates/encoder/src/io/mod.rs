//! Reading model files: safetensors weights (memory-mapped, validated, with prefixed views for
//! loading modules by local names) and the tokenizer.
//!
//! The bottom floor of the encoder: nothing here imports `nn`, `models` or `sentence`.

pub(crate) mod header;
pub mod tokenizer;
pub mod view;
pub mod weights;

pub use header::MAX_HEADER_BYTES;
pub use tokenizer::{Encoding, Tokenizer};
pub use view::WeightsView;
pub use weights::Weights;
