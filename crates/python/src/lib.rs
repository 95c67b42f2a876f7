//! # qkv (Python)
//!
//! The `qkv` Python module: sentence embeddings and cross-encoder scores from qkv's Rust core,
//! with an API shaped like sentence-transformers.
//!
//! ```python
//! import qkv
//! model = qkv.SentenceEncoder("all-MiniLM-L6-v2")          # a model directory or hub id
//! emb = model.encode(["The cat sits on the mat.", "A feline rests on a rug."])
//! print(emb.shape, float(emb[0] @ emb[1]))                 # (2, 384) cosine similarity
//! reranker = qkv.CrossEncoder("ms-marco-MiniLM-L-6-v2")
//! reranker.rank("How do cats rest?", ["Cats nap for hours.", "Stock prices fell."])
//! ```
//!
//! Built with maturin (`crates/python/pyproject.toml`); tested from Python
//! (`crates/python/tests`, run by `scripts/ci_python.sh`) and, for the Rust parts, by
//! `cargo test -p qkv-python` (also under AddressSanitizer in `.ci/run`).
//!
//! Layout (imports flow one way): `encoder` and `cross` are the two classes, made and pickled
//! through `model_args` (arguments checked, model opened, pool made); `compute` runs
//! their work (own thread pool, GIL released, chunks) on `batching`'s pure-Rust order and
//! scatter; `input` checks arguments; `arrays` builds NumPy arrays; `progress` draws the
//! progress line; `resolve` finds the model directory; `errors` maps Rust errors to Python
//! exceptions and stops panics; `threads` picks the thread count and holds the pool;
//! `backend` is the only file that uses `qkv_encoder`.
//!
//! Choices, with the reason for each:
//! - **abi3, no NumPy C API.** Results are copied once into a `bytearray` and viewed with
//!   `numpy.frombuffer` (writable, C-contiguous): one wheel serves CPython ≥ 3.9, nothing
//!   about NumPy is needed at build time, and the copy costs microseconds beside the model.
//! - **Everything about the text is the library's**: prompts, truncation, Matryoshka
//!   `dimensions`, normalization, precision, the cross-encoder's activation. The binding
//!   passes options through, so its results are `qkv embed`'s and `qkv rerank`'s bits.
//! - **An own rayon pool per model object**, sized from `threads`, else `OMP_NUM_THREADS`,
//!   else `available_parallelism` (affinity and cgroup quota): Ray and Spark size workers by
//!   CPUs, and the global pool would take the host's count. Rebuilt after `fork()`.
//! - **Panics become `RuntimeError`**, not PyO3's `PanicException` (a `BaseException` that
//!   `except Exception` and the engines' retry logic treat as a crash).
//! - **Tokenize all, sort by length, then compute in chunks of whole batches**: the same
//!   batches as one library call, with the GIL taken back between chunks for Ctrl-C and the
//!   progress bar.
//! - **`precision=None` by default**, the directory's precision: f32 for a plain checkpoint,
//!   and a directory saved by `qkv quantize` loads at its own precision instead of failing.
//! - **`extension-module` is a cargo feature** that maturin turns on: plain `cargo test`
//!   links libpython, so the binding's Rust parts are unit-tested (and run under ASan).

mod arrays;
mod backend;
mod batching;
mod compute;
mod cross;
mod encoder;
mod errors;
mod input;
mod model_args;
mod progress;
mod resolve;
mod threads;

use pyo3::prelude::*;

/// Panics inside qkv on purpose, to test that a panic reaches Python as a `RuntimeError`
/// (through the same wall every method uses) and the interpreter keeps running. Not API.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>, message: String) -> PyResult<()> {
    py.allow_threads(|| errors::guarded(|| -> PyResult<()> { panic!("{message}") }))
}

/// Fast, exact transformer-encoder inference on the CPU: sentence embeddings and
/// cross-encoder scores from a Rust core.
#[pymodule]
fn qkv(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("PRECISIONS", backend::precision_names())?;
    m.add_class::<encoder::SentenceEncoder>()?;
    m.add_class::<cross::CrossEncoder>()?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    Ok(())
}
