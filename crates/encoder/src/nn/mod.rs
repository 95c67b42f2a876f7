//! The layers: what every encoder family is built from.
//!
//! - [`batch`]: one description of a packed batch ([`Batch`], [`TokenSeq`]);
//! - [`mask`]: the one mask type ([`Mask`], from qkv-core) and its constructors;
//! - [`linear`]: every projection ([`Linear`]), at the [`precision`] a model is loaded with;
//! - [`attention`], [`ffn`], [`glu`], [`norm`], [`embedding`], [`rotary`]: the sub-blocks;
//! - [`layer`]: one encoder layer ([`EncoderLayer`]), post-norm or pre-norm;
//! - [`stack`]: layers in sequence ([`Encoder`]), over packed or padded batches;
//! - [`mod@reference`]: the f64 definition the fast layer is tested against.
//!
//! Imports flow down: `stack` → `layer` → sub-blocks → `linear` → `precision` → `norm`,
//! `batch`, `buffers` → `io`.

pub mod attention;
pub mod batch;
mod buffers;
pub mod embedding;
pub mod ffn;
pub mod glu;
pub mod layer;
pub mod linear;
pub mod mask;
pub mod norm;
pub mod precision;
pub mod reference;
pub mod rotary;
pub mod stack;

pub use attention::{AttentionBuffers, MultiHeadAttention};
pub use batch::{Batch, TokenSeq};
pub use embedding::EmbeddingTable;
pub use ffn::FeedForward;
pub use layer::{EncoderLayer, LayerBuffers, LayerConfig, LayerWeights};
pub use linear::Linear;
pub use norm::LayerNorm;
pub use precision::{LinearSpec, Precision, PrecisionPlan, Projection, Smoothing};
pub use qkv_core::ops::attention::{Mask, Seq};
pub use stack::{Encoder, Workspace};
