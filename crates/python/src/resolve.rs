//! Where a model is: a local directory, or a Hugging Face id (`org/name`) that the library
//! finds in the local Hugging Face cache (or downloads into it, unless `HF_HUB_OFFLINE` is
//! set). This file only gives the two commonest mistakes a clear Python exception: a file
//! instead of a directory, and a path that exists nowhere.

use crate::backend::resolve;
use crate::errors::to_py;
use pyo3::exceptions::{PyFileNotFoundError, PyNotADirectoryError};
use pyo3::PyResult;
use std::path::{Path, PathBuf};

/// The model directory for `arg`. Call it with the GIL released (it may download).
pub fn model_dir(arg: &Path) -> PyResult<PathBuf> {
    if arg.is_file() {
        return Err(PyNotADirectoryError::new_err(format!(
            "{} is a file; give the model directory (with config.json, model.safetensors, \
             tokenizer.json)",
            arg.display()
        )));
    }
    let dir = resolve(arg).map_err(to_py)?;
    if !dir.exists() {
        // The library returns a path that is not shaped as a hub id unchanged.
        return Err(PyFileNotFoundError::new_err(format!(
            "no model directory at {} (and it is not a Hugging Face id `org/name`)",
            arg.display()
        )));
    }
    Ok(dir)
}
