//! Harnesses of qkv's fuzz targets; see `harness.rs`.

mod harness;
pub use harness::{kernels, kernels_with, load_model_files, open_attention_bug, reached, Input};
