//! Helpers shared by the encoder's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The project's test fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The all-MiniLM-L6-v2 directory (`QKV_MODEL_DIR`, else `${QKV_CACHE:-~/.cache/qkv}/…`), or
/// `None` after saying why when it is absent; with `QKV_REQUIRE_MODEL=1` absence fails.
pub fn model_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("QKV_MODEL_DIR") {
        Some(d) => PathBuf::from(d),
        None => std::env::var_os("QKV_CACHE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/qkv")))?
            .join("all-MiniLM-L6-v2"),
    };
    if dir.join("model.safetensors").is_file() {
        return Some(dir);
    }
    let msg = format!(
        "MiniLM model not found at {} (run scripts/fetch_model.sh or set QKV_MODEL_DIR)",
        dir.display()
    );
    if std::env::var("QKV_REQUIRE_MODEL").as_deref() == Ok("1") {
        panic!("{msg}; QKV_REQUIRE_MODEL=1");
    }
    eprintln!("skipped: {msg}");
    None
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
