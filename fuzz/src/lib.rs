//! Harnesses of qkv's fuzz targets; see `harness/mod.rs`.

mod harness;
pub use harness::{kernels, load_model_files, reached, Input};
