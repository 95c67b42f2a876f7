//! # qkv (Python)
//!
//! The `qkv` Python module: sentence embeddings from qkv's Rust core, with an API shaped like
//! sentence-transformers.
//!
//! ```python
//! import qkv
//! model = qkv.SentenceEncoder("all-MiniLM-L6-v2")          # a local model directory
//! emb = model.encode(["The cat sits on the mat.", "A feline rests on a rug."])
//! print(emb.shape, float(emb[0] @ emb[1]))                 # (2, 384) cosine similarity
//! ```
//!
//! Layout: `encoder` is the class; `input` checks arguments; `arrays` builds NumPy arrays;
//! `threads` picks the thread count and holds the pool; `prompts` and `resolve` read the
//! model directory's prompts and find hub ids in the local cache; `errors` maps Rust errors
//! to Python exceptions and stops panics; `backend` is the only file that uses `qkv_encoder`.
//! Built with maturin (`crates/python/pyproject.toml`); tested from Python
//! (`crates/python/tests`, run by `scripts/ci_python.sh`).

mod arrays;
mod backend;
mod encoder;
mod errors;
mod input;
mod progress;
mod prompts;
mod resolve;
mod threads;

use pyo3::prelude::*;

/// Panics inside qkv on purpose, to test that a panic reaches Python as a `RuntimeError`
/// (through the same wall every method uses) and the interpreter keeps running. Not API.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>, message: String) -> PyResult<()> {
    py.allow_threads(|| errors::guarded(|| -> PyResult<()> { panic!("{message}") }))
}

/// Fast, exact transformer-encoder inference on the CPU: sentence embeddings from a Rust core.
#[pymodule]
fn qkv(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("PRECISIONS", input::PRECISIONS.to_vec())?;
    m.add_class::<encoder::SentenceEncoder>()?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    Ok(())
}
