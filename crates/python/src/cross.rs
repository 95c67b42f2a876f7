//! `qkv.CrossEncoder`: rerankers and sentence-pair classifiers, shaped like
//! sentence-transformers' `CrossEncoder` (`predict`, `rank`).
//!
//! Scores are the library's (`qkv_encoder::CrossEncoder`): `sigmoid(logit)` for a one-label
//! model, the softmax row for several labels, the logits with `raw=True`; the same bits as
//! `qkv rerank` and the Rust API. Pairs are tokenized first (GIL released), then scored in
//! chunks of whole batches sorted by length on the encoder's own thread pool (`compute`).

use crate::arrays::f32_array;
use crate::backend::Reranker;
use crate::batching::rank_order;
use crate::compute::Compute;
use crate::errors::to_py;
use crate::input::{non_negative, pairs, positive, texts};
use crate::model_args::{open_model, ModelArgs};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use std::path::PathBuf;

/// A cross-encoder: a `*ForSequenceClassification` checkpoint (config.json, model.safetensors,
/// tokenizer.json, tokenizer_config.json) of any family qkv runs, scoring (query, document)
/// pairs.
///
/// Args:
///     model_name_or_path: the model directory, or a Hugging Face id (`org/name`) as for
///         `SentenceEncoder`.
///     threads: compute threads; default `OMP_NUM_THREADS` when set, else the CPUs this
///         process may use.
///     precision: "f32" (exact), "bf16" or "int8" for the encoder's linear layers (the
///         classification head stays f32); `None` (the default) is the directory's.
///
/// Raises:
///     FileNotFoundError: the directory, a required file or the hub id does not exist.
///     NotADirectoryError: the path is a file.
///     ValueError: an invalid `threads` or `precision`.
///     RuntimeError: a malformed model file, or a checkpoint that is not a sequence
///         classifier.
#[pyclass(module = "qkv", name = "CrossEncoder", frozen)]
pub struct CrossEncoder {
    model: Reranker,
    compute: Compute,
    /// The constructor's arguments, for `__reduce__` (pickling reloads the model).
    args: ModelArgs,
}

#[pymethods]
impl CrossEncoder {
    #[new]
    #[pyo3(signature = (model_name_or_path, threads=None, precision=None))]
    fn new(
        py: Python<'_>,
        model_name_or_path: PathBuf,
        threads: Option<i64>,
        precision: Option<&str>,
    ) -> PyResult<Self> {
        let (model, compute, args) =
            open_model(py, model_name_or_path, threads, precision, Reranker::open)?;
        Ok(CrossEncoder {
            model,
            compute,
            args,
        })
    }

    /// Scores (query, document) pairs.
    ///
    /// Args:
    ///     sentences: a list of pairs, each a list or tuple of two `str`; or one such pair.
    ///     batch_size: pairs per forward pass.
    ///     show_progress_bar: print progress to `sys.stderr`.
    ///     apply_softmax: accepted for sentence-transformers compatibility: several-label
    ///         scores are softmax rows already (one-label scores stay sigmoids).
    ///     raw: the logits instead of sigmoid / softmax scores.
    ///
    /// Returns:
    ///     `numpy.ndarray` of float32: `(n,)` for a one-label model, `(n, num_labels)` for
    ///     several, pairs in input order. For one pair: a `numpy.float32` (one label) or
    ///     `(num_labels,)`.
    ///
    /// Raises:
    ///     TypeError: `sentences` is not a list of pairs, or a pair holds a non-`str`.
    ///     ValueError: a pair without exactly two items, a text with a lone surrogate,
    ///         `batch_size` < 1, or `raw` together with `apply_softmax`.
    #[pyo3(signature = (sentences, batch_size=32, show_progress_bar=false, apply_softmax=false,
        raw=false))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        sentences: &Bound<'py, PyAny>,
        batch_size: i64,
        show_progress_bar: Option<bool>,
        apply_softmax: bool,
        raw: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        if raw && apply_softmax {
            return Err(PyValueError::new_err(
                "raw=True returns logits; apply_softmax=True asks for probabilities: choose one",
            ));
        }
        let input = pairs(sentences)?;
        let bs = positive("batch_size", batch_size)?;
        let scores = self.scores(py, &input.pairs, bs, raw, show_progress_bar)?;
        let labels = self.model.labels();
        match (input.single, labels) {
            (true, 1) => f32_array(py, &scores, &[1])?.get_item(0),
            (true, _) => f32_array(py, &scores, &[labels]),
            (false, 1) => f32_array(py, &scores, &[input.pairs.len()]),
            (false, _) => f32_array(py, &scores, &[input.pairs.len(), labels]),
        }
    }

    /// Documents ranked by their score against `query`, best first (one-label models).
    ///
    /// Args:
    ///     query: the query.
    ///     documents: a list (or any iterable) of `str`.
    ///     top_k: keep only the best `top_k`; `None` keeps all.
    ///     return_documents: add each document's text under "text".
    ///     batch_size: pairs per forward pass.
    ///     show_progress_bar: print progress to `sys.stderr`.
    ///
    /// Returns:
    ///     a list of dicts `{"corpus_id": int, "score": numpy.float32}` (and `"text": str`),
    ///     best first, ties in input order, as sentence-transformers' `CrossEncoder.rank`.
    ///
    /// Raises:
    ///     TypeError: `query` is not a `str`, or `documents` is not a list of `str`.
    ///     ValueError: a model with several labels (use `predict`), `top_k` < 0,
    ///         `batch_size` < 1, a text with a lone surrogate.
    #[pyo3(signature = (query, documents, top_k=None, return_documents=false, batch_size=32,
        show_progress_bar=false))]
    #[allow(clippy::too_many_arguments)]
    fn rank<'py>(
        &self,
        py: Python<'py>,
        query: &Bound<'py, PyAny>,
        documents: &Bound<'py, PyAny>,
        top_k: Option<i64>,
        return_documents: bool,
        batch_size: i64,
        show_progress_bar: Option<bool>,
    ) -> PyResult<Bound<'py, PyList>> {
        let query = query.downcast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "query must be a str, not {}",
                crate::input::type_name(query)
            ))
        })?;
        let query = crate::input::text(query, "query", &[])?;
        if documents.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "documents must be a list of str, not a single str",
            ));
        }
        let docs = texts(documents, "documents")?.texts;
        let keep = top_k
            .map(|k| non_negative("top_k", k))
            .transpose()?
            .unwrap_or(docs.len());
        let bs = positive("batch_size", batch_size)?;
        if self.model.labels() != 1 {
            return Err(PyValueError::new_err(format!(
                "rank needs a one-label reranker; this model has {} labels (use predict)",
                self.model.labels()
            )));
        }
        let pairs: Vec<(String, String)> =
            docs.iter().map(|d| (query.clone(), d.clone())).collect();
        let scores = self.scores(py, &pairs, bs, false, show_progress_bar)?;
        let array = f32_array(py, &scores, &[scores.len()])?;
        let out = PyList::empty(py);
        for i in rank_order(&scores).into_iter().take(keep) {
            let d = PyDict::new(py);
            d.set_item("corpus_id", i)?;
            d.set_item("score", array.get_item(i)?)?;
            if return_documents {
                d.set_item("text", &docs[i])?;
            }
            out.append(d)?;
        }
        Ok(out)
    }

    /// Scores per pair (1 for a reranker).
    #[getter]
    fn num_labels(&self) -> usize {
        self.model.labels()
    }

    /// Pairs are truncated together at this many tokens, special tokens included.
    #[getter]
    fn max_length(&self) -> usize {
        self.model.max_length()
    }

    /// The precision the encoder was loaded at: "f32", "bf16" or "int8".
    #[getter]
    fn precision(&self) -> &'static str {
        self.model.precision()
    }

    /// Compute threads of this cross-encoder.
    #[getter]
    fn threads(&self) -> usize {
        self.compute.threads()
    }

    /// Pickling stores the constructor's arguments; unpickling loads the model again.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        slf.get().args.reduce(slf)
    }

    fn __repr__(&self) -> String {
        format!(
            "CrossEncoder({:?}, num_labels={}, max_length={}, precision={:?}, threads={})",
            self.model.root().display().to_string(),
            self.model.labels(),
            self.model.max_length(),
            self.model.precision(),
            self.compute.threads()
        )
    }
}

impl CrossEncoder {
    /// `[n, labels]` scores of `pairs` in input order.
    fn scores(
        &self,
        py: Python<'_>,
        pairs: &[(String, String)],
        batch_size: usize,
        raw: bool,
        progress: Option<bool>,
    ) -> PyResult<Vec<f32>> {
        let tokens = self.compute.run(py, || {
            let refs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            self.model.tokenize(&refs).map_err(to_py)
        })?;
        self.compute.rows(
            py,
            tokens,
            |t| t.ids.len(),
            batch_size,
            self.model.labels(),
            progress.unwrap_or(false).then_some("pairs"),
            |chunk, out| self.model.score(chunk, batch_size, raw, out).map_err(to_py),
        )
    }
}
