//! # qkv-encoder
//!
//! The transformer encoder built on `qkv-core`: positional encodings, masks, multi-head
//! attention, feed-forward, encoder layers (post-norm and pre-norm) and stacks, and real
//! BERT-family models loaded from safetensors + `config.json` + `tokenizer.json`.

pub mod attention;
pub mod bert;
pub mod config;
pub mod embedder;
pub mod encoder;
pub mod error;
pub mod ffn;
pub mod layer;
pub mod mask;
pub mod pooling;
pub mod positional;
pub mod reference;
pub mod seed;
pub mod sentence;
pub mod tokenize;
pub mod weights;

pub use error::{Error, Result};
