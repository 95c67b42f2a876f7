//! Python arguments checked and converted: texts (a `str`, or any iterable of `str`), pairs
//! (a list of two-`str` lists or tuples), the numeric options and the precision. Wrong types
//! raise `TypeError`, wrong values `ValueError`, each naming the argument (and the index of a
//! bad text or pair). Every item is checked before any work starts.

use crate::backend::precision_names;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyString, PyTuple};

/// The texts of one call, and whether a single `str` was given (then the result is one
/// vector, as in sentence-transformers).
pub struct Texts {
    /// The texts, in input order.
    pub texts: Vec<String>,
    /// True when the argument was a single `str`.
    pub single: bool,
}

/// Reads `obj`, the argument named `what` (`sentences`, `documents`): a `str`, or a list,
/// tuple or other iterable of `str`.
pub fn texts(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Texts> {
    if let Ok(s) = obj.downcast::<PyString>() {
        return Ok(Texts {
            texts: vec![text(s, what, &[])?],
            single: true,
        });
    }
    let wrong = || {
        PyTypeError::new_err(format!(
            "{what} must be a str or a list of str, not {}",
            type_name(obj)
        ))
    };
    if obj.is_none()
        || obj.is_instance_of::<PyBytes>()
        || obj.is_instance_of::<PyByteArray>()
        || obj.is_instance_of::<PyDict>()
    {
        return Err(wrong());
    }
    let iter = obj.try_iter().map_err(|_| wrong())?;
    let mut texts = Vec::with_capacity(obj.len().unwrap_or(0));
    for (i, item) in iter.enumerate() {
        let item = item?;
        let s = item.downcast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!("{what}[{i}] is {}, expected str", type_name(&item)))
        })?;
        texts.push(text(s, what, &[i])?);
    }
    Ok(Texts {
        texts,
        single: false,
    })
}

/// The (query, document) pairs of one call, and whether a single pair was given.
pub struct Pairs {
    /// The pairs, in input order.
    pub pairs: Vec<(String, String)>,
    /// True when the argument was one pair (a list or tuple of two `str`), as
    /// sentence-transformers' `CrossEncoder.predict` accepts it.
    pub single: bool,
}

/// Reads `sentences` for `CrossEncoder.predict`: a list (or other iterable) of pairs, each a
/// list or tuple of two `str`; or one such pair.
pub fn pairs(obj: &Bound<'_, PyAny>) -> PyResult<Pairs> {
    let what = "sentences";
    let wrong = || {
        PyTypeError::new_err(format!(
            "{what} must be a list of (query, document) pairs, not {}",
            type_name(obj)
        ))
    };
    if obj.is_none()
        || obj.is_instance_of::<PyString>()
        || obj.is_instance_of::<PyBytes>()
        || obj.is_instance_of::<PyByteArray>()
        || obj.is_instance_of::<PyDict>()
    {
        return Err(wrong());
    }
    // One pair: a list or tuple whose first item is a str.
    let is_seq = obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>();
    if is_seq && obj.len()? > 0 && obj.get_item(0)?.is_instance_of::<PyString>() {
        if obj.len()? != 2 {
            return Err(PyTypeError::new_err(format!(
                "{what} is a {} of {} str: expected a list of (query, document) pairs (one \
                 pair is a list or tuple of exactly two str)",
                type_name(obj),
                obj.len()?
            )));
        }
        return Ok(Pairs {
            pairs: vec![pair(obj, &[])?],
            single: true,
        });
    }
    let iter = obj.try_iter().map_err(|_| wrong())?;
    let mut pairs = Vec::with_capacity(obj.len().unwrap_or(0));
    for (i, item) in iter.enumerate() {
        pairs.push(pair(&item?, &[i])?);
    }
    Ok(Pairs {
        pairs,
        single: false,
    })
}

/// One pair: a list or tuple of exactly two `str` (`at`: its index, for messages).
fn pair(obj: &Bound<'_, PyAny>, at: &[usize]) -> PyResult<(String, String)> {
    let name = path("sentences", at);
    if !(obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>()) {
        return Err(PyTypeError::new_err(format!(
            "{name} is {}, expected a (query, document) pair (a list or tuple of two str)",
            type_name(obj)
        )));
    }
    if obj.len()? != 2 {
        return Err(PyValueError::new_err(format!(
            "{name} has {} items, expected a (query, document) pair of two",
            obj.len()?
        )));
    }
    let get = |k: usize| -> PyResult<String> {
        let item = obj.get_item(k)?;
        let at: Vec<usize> = at.iter().copied().chain([k]).collect();
        let s = item.downcast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "{} is {}, expected str",
                path("sentences", &at),
                type_name(&item)
            ))
        })?;
        text(s, "sentences", &at)
    };
    Ok((get(0)?, get(1)?))
}

/// `what[i][j]…` for messages.
fn path(what: &str, at: &[usize]) -> String {
    at.iter().fold(what.to_string(), |s, i| format!("{s}[{i}]"))
}

/// A Python `str` as UTF-8 (`what` and `at` name it in messages). A lone surrogate
/// (`"\udc80"`, from `surrogateescape` decoding) has no UTF-8 form: a `ValueError` names the
/// text rather than guessing a replacement. NUL characters are ordinary text here (the
/// tokenizer treats them as it treats any other control character).
pub fn text(s: &Bound<'_, PyString>, what: &str, at: &[usize]) -> PyResult<String> {
    match s.to_cow() {
        Ok(c) => Ok(c.into_owned()),
        Err(e) => {
            let which = if at.is_empty() {
                format!("the {}", what.trim_end_matches('s'))
            } else {
                path(what, at)
            };
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

/// A count that may be 0 (`top_k`).
pub fn non_negative(name: &str, v: i64) -> PyResult<usize> {
    usize::try_from(v)
        .map_err(|_| PyValueError::new_err(format!("{name} must be at least 0, got {v}")))
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

/// Checks `precision`: `None` (the directory's) or one of [`precision_names`].
pub fn precision(p: Option<&str>) -> PyResult<Option<&str>> {
    match p {
        Some(name) if !precision_names().contains(&name) => Err(PyValueError::new_err(format!(
            "unsupported precision {name:?}; supported: {}",
            precision_names().join(", ")
        ))),
        _ => Ok(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    /// Runs `f` on an embedded interpreter (the test binary links libpython).
    fn with_py<R>(f: impl FnOnce(Python<'_>) -> R) -> R {
        pyo3::prepare_freethreaded_python();
        Python::with_gil(f)
    }

    fn eval<'py>(py: Python<'py>, code: &str) -> Bound<'py, PyAny> {
        let code = CString::new(code).unwrap();
        py.eval(&code, None, None).unwrap()
    }

    /// The exception's type name and message.
    fn err(py: Python<'_>, e: PyErr) -> (String, String) {
        let ty = e.get_type(py).name().unwrap().to_string();
        (ty, e.value(py).to_string())
    }

    #[test]
    fn texts_from_str_and_iterables() {
        with_py(|py| {
            let one = texts(&eval(py, "'a cat'"), "sentences").unwrap();
            assert!(one.single);
            assert_eq!(one.texts, ["a cat"]);
            for code in [
                "['a', 'b\\x00c']",
                "('a', 'b\\x00c')",
                "iter(['a', 'b\\x00c'])",
            ] {
                let t = texts(&eval(py, code), "sentences").unwrap();
                assert!(!t.single);
                assert_eq!(t.texts, ["a", "b\0c"], "{code}");
            }
            assert!(texts(&eval(py, "[]"), "sentences")
                .unwrap()
                .texts
                .is_empty());
            let non_bmp = texts(&eval(py, "['\\U0001F642é']"), "sentences").unwrap();
            assert_eq!(non_bmp.texts, ["🙂é"]);
        });
    }

    #[test]
    fn texts_of_wrong_types_name_the_argument_and_index() {
        with_py(|py| {
            for code in ["None", "42", "b'x'", "bytearray(b'x')", "{'a': 1}", "3.5"] {
                let (ty, msg) = err(py, texts(&eval(py, code), "documents").err().unwrap());
                assert_eq!(ty, "TypeError", "{code}");
                assert!(
                    msg.starts_with("documents must be a str or a list of str"),
                    "{msg}"
                );
            }
            let (ty, msg) = err(
                py,
                texts(&eval(py, "['ok', None]"), "sentences").err().unwrap(),
            );
            assert_eq!(
                (ty.as_str(), msg.as_str()),
                ("TypeError", "sentences[1] is NoneType, expected str")
            );
            let (ty, msg) = err(
                py,
                texts(&eval(py, "['ok', '\\udc80']"), "sentences")
                    .err()
                    .unwrap(),
            );
            assert_eq!(ty, "ValueError");
            assert!(
                msg.starts_with("sentences[1] is not valid Unicode"),
                "{msg}"
            );
            let (_, msg) = err(
                py,
                texts(&eval(py, "'\\ud800'"), "sentences").err().unwrap(),
            );
            assert!(
                msg.starts_with("the sentence is not valid Unicode"),
                "{msg}"
            );
        });
    }

    #[test]
    fn pairs_one_or_many() {
        with_py(|py| {
            let one = pairs(&eval(py, "('q', 'd')")).unwrap();
            assert!(one.single);
            assert_eq!(one.pairs, [("q".to_string(), "d".to_string())]);
            let many = pairs(&eval(py, "[['q', 'd'], ('q2', '')]")).unwrap();
            assert!(!many.single);
            assert_eq!(many.pairs.len(), 2);
            assert_eq!(many.pairs[1], ("q2".to_string(), String::new()));
            assert!(pairs(&eval(py, "[]")).unwrap().pairs.is_empty());
            assert_eq!(
                pairs(&eval(py, "iter([('a', 'b')])")).unwrap().pairs.len(),
                1
            );
        });
    }

    #[test]
    fn bad_pairs() {
        with_py(|py| {
            let cases = [
                (
                    "None",
                    "TypeError",
                    "sentences must be a list of (query, document) pairs",
                ),
                (
                    "'q'",
                    "TypeError",
                    "sentences must be a list of (query, document) pairs",
                ),
                (
                    "['a', 'b', 'c']",
                    "TypeError",
                    "sentences is a list of 3 str",
                ),
                ("['a']", "TypeError", "sentences is a list of 1 str"),
                (
                    "[('a', 'b'), 'cd']",
                    "TypeError",
                    "sentences[1] is str, expected a (query",
                ),
                (
                    "[('a', 'b', 'c')]",
                    "ValueError",
                    "sentences[0] has 3 items",
                ),
                (
                    "[('a', None)]",
                    "TypeError",
                    "sentences[0][1] is NoneType, expected str",
                ),
                (
                    "[('a', 'b'), (1, 'b')]",
                    "TypeError",
                    "sentences[1][0] is int, expected str",
                ),
                (
                    "[('a', '\\udc80')]",
                    "ValueError",
                    "sentences[0][1] is not valid Unicode",
                ),
                ("[None]", "TypeError", "sentences[0] is NoneType"),
            ];
            for (code, want_ty, want_msg) in cases {
                let (ty, msg) = err(py, pairs(&eval(py, code)).err().unwrap());
                assert_eq!(ty, want_ty, "{code}: {msg}");
                assert!(msg.starts_with(want_msg), "{code}: {msg}");
            }
        });
    }

    #[test]
    fn numbers_and_precision() {
        with_py(|py| {
            assert_eq!(positive("batch_size", 1).unwrap(), 1);
            for bad in [0, -1, i64::MIN] {
                let (ty, msg) = err(py, positive("batch_size", bad).err().unwrap());
                assert_eq!(ty, "ValueError");
                assert_eq!(msg, format!("batch_size must be at least 1, got {bad}"));
            }
            assert_eq!(non_negative("top_k", 0).unwrap(), 0);
            assert!(non_negative("top_k", -1).is_err());
            assert_eq!(dimensions(None, 32).unwrap(), None);
            assert_eq!(dimensions(Some(32), 32).unwrap(), Some(32));
            for bad in [0, 33, -5] {
                assert!(dimensions(Some(bad), 32).is_err(), "{bad}");
            }
            for p in ["f32", "bf16", "int8"] {
                assert_eq!(precision(Some(p)).unwrap(), Some(p));
            }
            assert_eq!(precision(None).unwrap(), None);
            let (ty, msg) = err(py, precision(Some("fp16")).err().unwrap());
            assert_eq!(ty, "ValueError");
            assert_eq!(
                msg,
                "unsupported precision \"fp16\"; supported: f32, bf16, int8"
            );
        });
    }
}
