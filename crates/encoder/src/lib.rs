//! # qkv-encoder
//!
//! Transformer encoders on qkv-core's kernels: multi-head attention, feed-forward, post-norm
//! and pre-norm layers and stacks over packed variable-length batches, BERT-family models
//! loaded from safetensors + `config.json` + `tokenizer.json`, and sentence embeddings.
//!
//! Everything a user needs is at the root: one `use qkv_encoder::{…}` line.
//!
//! | to … | use |
//! |---|---|
//! | embed sentences with a sentence-transformers directory | [`SentenceEncoder`], [`EmbedOptions`], [`Embeddings`], [`Pooling`], [`Prompts`] |
//! | score (query, document) pairs with a reranker or classifier | [`CrossEncoder`], [`Scores`], [`Ranked`] |
//! | load at bf16 or int8; save a quantized directory | [`LoadOptions`], [`Precision`], [`PrecisionPlan`]; [`quantize_dir`], [`QuantizeOptions`] |
//! | find a model by Hugging Face id in the local cache | [`resolve_model`], [`HubOptions`] |
//! | load a model of any family and run it on token ids | [`Model`], [`ModelConfig`], [`BertModel`], [`ModernBertModel`], [`TokenSeq`], [`Weights`], [`Tokenizer`], [`ModelDir`] |
//! | run encoder layers on your own weights | [`EncoderLayer`], [`LayerConfig`], [`LayerWeights`], [`Encoder`], [`Batch`], [`Mask`], [`Linear`], [`LinearSpec`] |
//! | handle failures | [`Error`], [`Result`] |
//!
//! Text to embeddings (needs a model directory, e.g. from `scripts/fetch_model.sh`):
//!
//! ```no_run
//! use qkv_encoder::SentenceEncoder;
//! let model = SentenceEncoder::open("all-MiniLM-L6-v2")?;
//! let emb = model.embed(&["The cat sits on the mat.", "A feline rests on a rug."])?;
//! let cosine: f32 = emb.row(0).iter().zip(emb.row(1)).map(|(a, b)| a * b).sum();
//! # Ok::<(), qkv_encoder::Error>(())
//! ```
//!
//! One encoder layer on a packed batch of two sequences, under a causal mask:
//!
//! ```
//! use qkv_encoder::{Activation, Batch, EncoderLayer, LayerConfig, LayerWeights, Mask};
//! let cfg = LayerConfig { d_model: 8, heads: 2, d_ff: 32, activation: Activation::Gelu,
//!                         norm_first: false, eps: 1e-5 };
//! let mut seed = 1u32; // any weights: here a small deterministic sequence
//! let w = LayerWeights::from_fn(&cfg, |_, shape| {
//!     (0..shape.iter().product()).map(|_| {
//!         seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
//!         (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
//!     }).collect()
//! });
//! let layer = EncoderLayer::new(cfg, &w)?;
//! let batch = Batch::from_lengths(&[3, 5])?.with_mask(Mask::Causal)?;
//! let mut x = vec![0.25f32; batch.tokens() * cfg.d_model]; // [tokens, d_model], packed
//! layer.forward(&mut x, &batch)?; // x ← LN2(h + FFN(h)), h = LN1(x + MHA(x))
//! assert!(x.iter().all(|v| v.is_finite()));
//! # Ok::<(), qkv_encoder::Error>(())
//! ```
//!
//! ## Layout
//! The modules are floors, each importing only from the ones below it:
//! [`sentence`] (pipelines) → [`models`] (one folder per family) → [`nn`] (layers, batch,
//! mask) → [`io`] (weights, tokenizer), all on `qkv-core`'s kernels. Every layer has a simple
//! call (`forward(&mut x, &batch)`, allocating its scratch) and a `forward_with` that reuses a
//! workspace and can return the attention weights. The f64 reference layer the tests check
//! against is [`nn::reference`]; it is not meant for inference.

pub mod error;
pub mod io;
pub mod models;
pub mod nn;
pub mod sentence;

pub use error::{Error, Result};
pub use io::{Encoding, Tokenizer, Weights, WeightsView};
pub use models::bert::{BertConfig, BertModel, Flavor, HiddenAct};
pub use models::distilbert::DistilBertConfig;
pub use models::heads::ClassifierHead;
pub use models::modernbert::{ModernBertConfig, ModernBertModel};
pub use models::{Family, Model, ModelConfig};
pub use nn::{
    Batch, Encoder, EncoderLayer, LayerConfig, LayerNorm, LayerWeights, Linear, LinearSpec, Mask,
    Precision, PrecisionPlan, TokenSeq, Workspace,
};
pub use qkv_core::ops::activation::Activation;
pub use sentence::{
    quantize_dir, resolve_model, resolve_model_with, CrossEncoder, EmbedOptions, Embeddings,
    HubOptions, LoadOptions, ModelDir, Pooling, PoolingConfig, Prompts, QuantizeOptions,
    QuantizeReport, Ranked, ScoreOptions, Scores, SentenceEncoder, QUANTIZATION_FILE,
};
