//! Harnesses of qkv's fuzz targets; see `harness.rs`.

mod harness;
pub use harness::{kernels, load_model_files, reached, Input};
