//! What the two model classes (`SentenceEncoder`, `CrossEncoder`) share about being made and
//! pickled: the constructor's arguments checked, the model directory resolved and opened with
//! the GIL released (a panic becomes `RuntimeError`), the thread pool made, and the arguments
//! kept as given so that `__reduce__` loads the model again from them.

use crate::backend;
use crate::compute::Compute;
use crate::errors::{guarded, to_py};
use crate::input::{positive, precision as check_precision};
use crate::resolve::model_dir;
use crate::threads::threads_or_default;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pyo3::PyClass;
use std::path::{Path, PathBuf};

/// A model class's constructor arguments, as given (`threads` checked), for `__reduce__`.
pub struct ModelArgs {
    path: PathBuf,
    threads: Option<usize>,
    precision: Option<String>,
}

/// The model opened by `open(dir, precision)` from the constructor's arguments, the pool of
/// `threads` threads (default: `threads_or_default`), and the arguments. `precision` and
/// `threads` are checked first (`ValueError`); `open` runs with the GIL released.
pub fn open_model<M: Send>(
    py: Python<'_>,
    path: PathBuf,
    threads: Option<i64>,
    precision: Option<&str>,
    open: impl FnOnce(&Path, Option<&str>) -> backend::Result<M> + Send,
) -> PyResult<(M, Compute, ModelArgs)> {
    let precision = check_precision(precision)?;
    let threads = threads.map(|t| positive("threads", t)).transpose()?;
    let n = threads_or_default(threads).map_err(PyValueError::new_err)?;
    let model = py.allow_threads(|| {
        guarded(|| {
            let dir = model_dir(&path)?;
            open(&dir, precision).map_err(to_py)
        })
    })?;
    let args = ModelArgs {
        path,
        threads,
        precision: precision.map(str::to_string),
    };
    Ok((model, Compute::new(n)?, args))
}

impl ModelArgs {
    /// `(type(slf), (path, threads, precision))`, what the class's `__reduce__` returns:
    /// unpickling calls the constructor again with the same arguments.
    pub fn reduce<'py, T: PyClass>(
        &self,
        slf: &Bound<'py, T>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let args = PyTuple::new(
            py,
            [
                self.path.clone().into_pyobject(py)?.into_any(),
                self.threads.into_pyobject(py)?.into_any(),
                self.precision.clone().into_pyobject(py)?.into_any(),
            ],
        )?;
        Ok((slf.as_any().get_type().into_any(), args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Model;

    const TINY: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../encoder/tests/fixtures/tiny_bert"
    );

    /// The exception's type name and message.
    fn err(py: Python<'_>, e: PyErr) -> (String, String) {
        let ty = e.get_type(py).name().unwrap().to_string();
        (ty, e.value(py).to_string())
    }

    #[test]
    fn arguments_are_checked_then_the_model_opened() {
        pyo3::prepare_freethreaded_python();
        Python::with_gil(|py| {
            let open = |threads, precision| {
                open_model(py, TINY.into(), threads, precision, Model::open).map(|(m, c, a)| {
                    assert_eq!(c.threads(), a.threads.unwrap_or(c.threads()));
                    (m.dim(), a.threads, a.precision)
                })
            };
            assert_eq!(open(Some(2), None).unwrap(), (32, Some(2), None));
            let (_, threads, precision) = open(None, Some("f32")).unwrap();
            assert_eq!((threads, precision.as_deref()), (None, Some("f32")));
            let (ty, msg) = err(py, open(Some(0), None).unwrap_err());
            assert_eq!(ty, "ValueError", "{msg}");
            let (ty, msg) = err(py, open(None, Some("fp16")).unwrap_err());
            assert_eq!(ty, "ValueError", "{msg}");
            let missing = open_model(py, "/nonexistent/qkv".into(), None, None, Model::open);
            let (ty, msg) = err(py, missing.err().unwrap());
            assert_eq!(ty, "FileNotFoundError", "{msg}");
        });
    }

    #[pyclass(frozen)]
    struct Holder {
        args: ModelArgs,
    }

    #[test]
    fn reduce_gives_the_type_and_the_arguments_as_given() {
        pyo3::prepare_freethreaded_python();
        Python::with_gil(|py| {
            let args = ModelArgs {
                path: "some/model".into(),
                threads: Some(3),
                precision: None,
            };
            let h = Bound::new(py, Holder { args }).unwrap();
            let (ty, args) = h.get().args.reduce(&h).unwrap();
            assert!(ty.is(py.get_type::<Holder>()));
            let (path, threads, precision): (PathBuf, Option<usize>, Option<String>) =
                args.extract().unwrap();
            assert_eq!(
                (path, threads, precision),
                ("some/model".into(), Some(3), None)
            );
        });
    }
}
