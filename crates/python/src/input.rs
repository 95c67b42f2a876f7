//! Python arguments checked and converted: the sentences (a `str`, or any iterable of `str`)
//! and the numeric options. Wrong types raise `TypeError`, wrong values `ValueError`, each
//! naming the argument (and the index of a bad sentence).

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyString};

/// The sentences of one call, and whether a single `str` was given (then the result is one
/// vector, as in sentence-transformers).
pub struct Sentences {
    /// The texts, in input order.
    pub texts: Vec<String>,
    /// True when the argument was a single `str`.
    pub single: bool,
}

/// Reads `sentences`: a `str`, or a list, tuple or other iterable of `str`.
pub fn sentences(obj: &Bound<'_, PyAny>) -> PyResult<Sentences> {
    if let Ok(s) = obj.downcast::<PyString>() {
        return Ok(Sentences {
            texts: vec![text(s, None)?],
            single: true,
        });
    }
    if obj.is_none()
        || obj.is_instance_of::<PyBytes>()
        || obj.is_instance_of::<PyByteArray>()
        || obj.is_instance_of::<PyDict>()
    {
        return Err(PyTypeError::new_err(format!(
            "sentences must be a str or a list of str, not {}",
            type_name(obj)
        )));
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "sentences must be a str or a list of str, not {}",
            type_name(obj)
        ))
    })?;
    let mut texts = Vec::with_capacity(obj.len().unwrap_or(0));
    for (i, item) in iter.enumerate() {
        let item = item?;
        let s = item.downcast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "sentences[{i}] is {}, expected str",
                type_name(&item)
            ))
        })?;
        texts.push(text(s, Some(i))?);
    }
    Ok(Sentences {
        texts,
        single: false,
    })
}

/// A Python `str` as UTF-8. A lone surrogate (`"\udc80"`, from `surrogateescape` decoding)
/// has no UTF-8 form: a `ValueError` names the sentence rather than guessing a replacement.
/// NUL characters are ordinary text here (the tokenizer treats them as it treats any other
/// control character).
fn text(s: &Bound<'_, PyString>, index: Option<usize>) -> PyResult<String> {
    match s.to_cow() {
        Ok(c) => Ok(c.into_owned()),
        Err(e) => {
            let which = index.map_or("the sentence".to_string(), |i| format!("sentences[{i}]"));
            Err(PyValueError::new_err(format!(
                "{which} is not valid Unicode text (a lone surrogate cannot be encoded as \
                 UTF-8; decode with errors='replace' first): {e}"
            )))
        }
    }
}

/// The name of an object's type, for messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "an unknown type".to_string())
}

/// A count that must be at least 1 (`batch_size`, `threads`).
pub fn positive(name: &str, v: i64) -> PyResult<usize> {
    usize::try_from(v)
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| PyValueError::new_err(format!("{name} must be at least 1, got {v}")))
}

/// `dimensions`: the width to truncate to, in `1..=dim`.
pub fn dimensions(v: Option<i64>, dim: usize) -> PyResult<Option<usize>> {
    match v {
        None => Ok(None),
        Some(k) => usize::try_from(k)
            .ok()
            .filter(|&k| (1..=dim).contains(&k))
            .map(Some)
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "dimensions must be in 1..={dim} (the model's width), got {k}"
                ))
            }),
    }
}

/// The numeric precisions the package supports.
pub const PRECISIONS: &[&str] = &["f32"];

/// Checks `precision`.
pub fn precision(p: &str) -> PyResult<()> {
    if PRECISIONS.contains(&p) {
        Ok(())
    } else {
        Err(PyValueError::new_err(format!(
            "unsupported precision {p:?}; supported: {}",
            PRECISIONS.join(", ")
        )))
    }
}
