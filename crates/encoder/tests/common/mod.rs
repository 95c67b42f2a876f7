//! Helpers of the encoder's integration tests that only they need: the fixture directory and
//! tensor readers for its golden files. The shared ones (random layers, temp and model
//! directories, bit comparisons, the counting allocator) live in `qkv-testkit`.
#![allow(dead_code)]

use std::path::PathBuf;

/// The project's test fixtures (`crates/encoder/tests/fixtures`).
pub fn fixtures() -> PathBuf {
    qkv_testkit::dirs::encoder_fixtures()
}

/// A little-endian f32 tensor from a safetensors buffer.
pub fn f32s(st: &safetensors::SafeTensors, name: &str) -> Vec<f32> {
    let t = st.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    t.data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// A little-endian i64 tensor from a safetensors buffer.
pub fn i64s(st: &safetensors::SafeTensors, name: &str) -> Vec<i64> {
    let t = st.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    t.data()
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// Cosine (in f64) and max abs difference of two embedding rows.
pub fn cos_and_max_abs(a: &[f32], b: &[f32]) -> (f64, f32) {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let max_abs = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    (dot / (norm(a) * norm(b)), max_abs)
}

pub mod model_copy;
