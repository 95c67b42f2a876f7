//! ModernBERT: rotary positions, alternating global and sliding-window attention, GeGLU,
//! bias-free projections.
//!
//! - [`config`]: `config.json` in both of its layouts ([`ModernBertConfig`]);
//! - [`model`]: [`ModernBertModel`], load and forward.

pub mod config;
pub mod model;

pub use config::ModernBertConfig;
pub use model::ModernBertModel;
