//! Where a model is: a local directory, or a Hugging Face id (`org/name`) whose files are
//! already in the local Hugging Face cache (as `huggingface_hub` lays it out:
//! `models--org--name/snapshots/<commit>/`, with `refs/main` naming the commit). Nothing is
//! downloaded.

use pyo3::exceptions::{PyFileNotFoundError, PyNotADirectoryError};
use pyo3::PyResult;
use std::path::{Path, PathBuf};

/// The model directory for `arg`.
pub fn model_dir(arg: &Path) -> PyResult<PathBuf> {
    if arg.is_dir() {
        return Ok(arg.to_path_buf());
    }
    if arg.exists() {
        return Err(PyNotADirectoryError::new_err(format!(
            "{} is a file; give the model directory (with config.json, model.safetensors, \
             tokenizer.json)",
            arg.display()
        )));
    }
    let cache = hub_cache();
    if let Some(dir) = arg.to_str().and_then(|id| cached(&cache, id)) {
        return Ok(dir);
    }
    Err(PyFileNotFoundError::new_err(format!(
        "no model directory at {} (nor that id in the Hugging Face cache {}); qkv reads \
         local files only: download the model first",
        arg.display(),
        cache.display()
    )))
}

/// The Hugging Face hub cache: `HF_HUB_CACHE`, else `HF_HOME/hub`, else
/// `~/.cache/huggingface/hub` (`XDG_CACHE_HOME` honoured).
fn hub_cache() -> PathBuf {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(p) = var("HF_HUB_CACHE") {
        return p;
    }
    if let Some(p) = var("HF_HOME") {
        return p.join("hub");
    }
    let cache = var("XDG_CACHE_HOME")
        .or_else(|| var("HOME").map(|h| h.join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("huggingface").join("hub")
}

/// The cached snapshot of hub id `id` (`org/name`), if complete enough to try.
fn cached(cache: &Path, id: &str) -> Option<PathBuf> {
    let parts: Vec<&str> = id.split('/').collect();
    let valid = |p: &str| {
        !p.is_empty()
            && p != "."
            && p != ".."
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    if parts.is_empty() || parts.len() > 2 || !parts.iter().all(|p| valid(p)) {
        return None;
    }
    let repo = cache.join(format!("models--{}", parts.join("--")));
    let commit = std::fs::read_to_string(repo.join("refs").join("main")).ok()?;
    let snap = repo.join("snapshots").join(commit.trim());
    snap.join("config.json").is_file().then_some(snap)
}
