//! Rust failures as Python exceptions, and the wall that keeps a panic from crossing into
//! Python.
//!
//! | Rust | Python |
//! |---|---|
//! | a missing file or directory | `FileNotFoundError` |
//! | another I/O error | `OSError` |
//! | input the encoder rejects | `ValueError` |
//! | a malformed model file, anything else | `RuntimeError` |
//! | a panic (a bug) | `RuntimeError("qkv internal error: …")` |
//!
//! Every message is the Rust error's own text, with the file, tensor or operation it concerns.

use crate::backend::{BackendError, Kind};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::PyErr;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The Python exception for an encoder error.
pub fn to_py(e: BackendError) -> PyErr {
    match e.kind {
        Kind::NotFound => PyFileNotFoundError::new_err(e.msg),
        Kind::Os => PyOSError::new_err(e.msg),
        Kind::Input => PyValueError::new_err(e.msg),
        Kind::Other => PyRuntimeError::new_err(e.msg),
    }
}

/// Runs `f`, turning a panic into a `RuntimeError` that names it as a qkv bug. PyO3 also
/// catches panics, but raises `PanicException`, a `BaseException` that `except Exception`
/// does not catch and that Ray and Spark treat as a crash; a `RuntimeError` is an ordinary,
/// catchable failure of one call, and the interpreter keeps running.
pub fn guarded<T>(f: impl FnOnce() -> Result<T, PyErr>) -> Result<T, PyErr> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(PyRuntimeError::new_err(format!(
                "qkv internal error (please report it): {what}"
            )))
        }
    }
}
