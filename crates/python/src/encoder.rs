//! `qkv.SentenceEncoder`: the Python class, shaped like sentence-transformers'
//! `SentenceTransformer` so that switching is one line.
//!
//! `encode` holds the GIL only to read its arguments and to build the result: tokenization
//! and the model run with the GIL released, on the encoder's own thread pool (`compute`),
//! in chunks of whole batches sorted by length (`batching`). Prompts, truncation, Matryoshka
//! `dimensions` and normalization are the library's (`qkv_encoder::EmbedOptions`), so the
//! result is the same bits as `qkv embed` with the same options.

use crate::arrays::{f32_array, i64_array};
use crate::backend::{EncodeOptions, Model};
use crate::compute::Compute;
use crate::errors::to_py;
use crate::input::{dimensions, positive, texts};
use crate::model_args::{open_model, ModelArgs};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A sentence-embedding model loaded from a sentence-transformers directory (config.json,
/// model.safetensors, tokenizer.json and, when present, modules.json, 1_Pooling/config.json,
/// sentence_bert_config.json, config_sentence_transformers.json), of any family qkv runs
/// (BERT, RoBERTa/XLM-R, MPNet, DistilBERT, ModernBERT).
///
/// Args:
///     model_name_or_path: the model directory, or a Hugging Face id (`org/name`): looked up
///         in the local Hugging Face cache, downloaded into it when missing (unless
///         `HF_HUB_OFFLINE` is set).
///     threads: compute threads; default `OMP_NUM_THREADS` when set, else the CPUs this
///         process may use (affinity mask and cgroup quota).
///     precision: "f32" (exact), "bf16" or "int8" for the linear layers; `None` (the
///         default) is the directory's: f32 for a plain checkpoint, the saved precision for a
///         directory written by `qkv quantize`.
///
/// Raises:
///     FileNotFoundError: the directory, one of its required files, or the hub id does not
///         exist.
///     NotADirectoryError: the path is a file.
///     ValueError: an invalid `threads` or `precision`.
///     RuntimeError: a malformed model file (the message names the file and the problem).
#[pyclass(module = "qkv", name = "SentenceEncoder", frozen)]
pub struct SentenceEncoder {
    model: Model,
    compute: Compute,
    /// The constructor's arguments, for `__reduce__` (pickling reloads the model).
    args: ModelArgs,
}

#[pymethods]
impl SentenceEncoder {
    #[new]
    #[pyo3(signature = (model_name_or_path, threads=None, precision=None))]
    fn new(
        py: Python<'_>,
        model_name_or_path: PathBuf,
        threads: Option<i64>,
        precision: Option<&str>,
    ) -> PyResult<Self> {
        let (model, compute, args) =
            open_model(py, model_name_or_path, threads, precision, Model::open)?;
        Ok(SentenceEncoder {
            model,
            compute,
            args,
        })
    }

    /// Embeds sentences.
    ///
    /// Args:
    ///     sentences: a `str`, or a list (or any iterable) of `str`.
    ///     batch_size: texts per forward pass.
    ///     normalize_embeddings: L2-normalize each embedding; `None` follows the model
    ///         directory (a `Normalize` module in modules.json).
    ///     prompt_name: a prompt from config_sentence_transformers.json to put before each
    ///         text; `None` uses the directory's `default_prompt_name`, if any.
    ///     prompt: a prompt text to put before each text instead (`""` for none); not
    ///         together with `prompt_name`.
    ///     dimensions: keep only the first `dimensions` values of each embedding (Matryoshka
    ///         truncation), normalized after truncation when normalization is on.
    ///     truncate: cut texts longer than `max_seq_length` tokens (as sentence-transformers
    ///         does); `False` makes such a text a `ValueError` naming it.
    ///     show_progress_bar: print progress to `sys.stderr`.
    ///
    /// Returns:
    ///     `numpy.ndarray` of float32: `(len(sentences), dim)` in input order, or `(dim,)`
    ///     for a single `str` (`dim` = `dimensions` when given).
    ///
    /// Raises:
    ///     TypeError: `sentences` is not a str or an iterable of str, or an argument has the
    ///         wrong type.
    ///     ValueError: an argument is out of range, an unknown prompt name, both `prompt`
    ///         and `prompt_name`, a text that is not valid Unicode (a lone surrogate), or a
    ///         text too long with `truncate=False`.
    #[pyo3(signature = (sentences, batch_size=32, normalize_embeddings=None, prompt_name=None,
        prompt=None, dimensions=None, truncate=true, show_progress_bar=false))]
    #[allow(clippy::too_many_arguments)]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        sentences: &Bound<'py, PyAny>,
        batch_size: i64,
        normalize_embeddings: Option<bool>,
        prompt_name: Option<String>,
        prompt: Option<String>,
        dimensions: Option<i64>,
        truncate: bool,
        show_progress_bar: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let input = texts(sentences, "sentences")?;
        let opts = EncodeOptions {
            batch_size: positive("batch_size", batch_size)?,
            normalize: normalize_embeddings,
            prompt_name,
            prompt,
            dimensions: self::dimensions(dimensions, self.model.dim())?,
            truncate,
        };
        self.model.check(&opts).map_err(to_py)?;
        let width = self.model.width(&opts);
        let n = input.texts.len();

        // Tokenize everything (GIL released): a text too long without `truncate` fails here,
        // before any embedding work.
        let tokens = self.compute.run(py, || {
            let refs: Vec<&str> = input.texts.iter().map(String::as_str).collect();
            self.model.tokenize(&refs, &opts).map_err(to_py)
        })?;
        drop(input.texts);
        let out = self.compute.rows(
            py,
            tokens,
            |t| t.ids.len(),
            opts.batch_size,
            width,
            show_progress_bar.unwrap_or(false).then_some("sentences"),
            |chunk, out| self.model.embed(chunk, &opts, out).map_err(to_py),
        )?;
        if input.single {
            f32_array(py, &out, &[width])
        } else {
            f32_array(py, &out, &[n, width])
        }
    }

    /// Tokenizes texts as `encode` does (the prompt put before each text, truncated at
    /// `max_seq_length`), padded with 0 to the longest.
    ///
    /// Args:
    ///     texts: a `str`, or a list (or any iterable) of `str`.
    ///     prompt_name: as in `encode`.
    ///     prompt: as in `encode`.
    ///
    /// Returns:
    ///     dict of int64 arrays `(n, longest)`: `input_ids`, `token_type_ids`,
    ///     `attention_mask` (1 for real tokens, 0 for padding).
    #[pyo3(signature = (texts, prompt_name=None, prompt=None))]
    fn tokenize<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        prompt_name: Option<String>,
        prompt: Option<String>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let input = self::texts(texts, "texts")?;
        let opts = EncodeOptions {
            prompt_name,
            prompt,
            truncate: true,
            ..EncodeOptions::default()
        };
        self.model.check(&opts).map_err(to_py)?;
        let tokens = self.compute.run(py, || {
            let refs: Vec<&str> = input.texts.iter().map(String::as_str).collect();
            self.model.tokenize(&refs, &opts).map_err(to_py)
        })?;
        let n = tokens.len();
        let width = tokens.iter().map(|t| t.ids.len()).max().unwrap_or(0);
        let mut ids = vec![0i64; n * width];
        let mut types = vec![0i64; n * width];
        let mut mask = vec![0i64; n * width];
        for (r, t) in tokens.iter().enumerate() {
            for (c, (&id, &ty)) in t.ids.iter().zip(&t.type_ids).enumerate() {
                ids[r * width + c] = i64::from(id);
                types[r * width + c] = i64::from(ty);
                mask[r * width + c] = 1;
            }
        }
        let shape = [n, width];
        let dict = PyDict::new(py);
        dict.set_item("input_ids", i64_array(py, &ids, &shape)?)?;
        dict.set_item("token_type_ids", i64_array(py, &types, &shape)?)?;
        dict.set_item("attention_mask", i64_array(py, &mask, &shape)?)?;
        Ok(dict)
    }

    /// Embedding width (384 for all-MiniLM-L6-v2).
    #[getter]
    fn dim(&self) -> usize {
        self.model.dim()
    }

    /// Texts are truncated at this many tokens, special tokens included.
    #[getter]
    fn max_seq_length(&self) -> usize {
        self.model.max_seq_length()
    }

    /// Compute threads of this encoder.
    #[getter]
    fn threads(&self) -> usize {
        self.compute.threads()
    }

    /// The precision the model was loaded at: "f32", "bf16" or "int8".
    #[getter]
    fn precision(&self) -> &'static str {
        self.model.precision()
    }

    /// The model's prompts (name → text), from config_sentence_transformers.json.
    #[getter]
    fn prompts(&self) -> BTreeMap<String, String> {
        self.model.prompts().clone()
    }

    /// The prompt used when a call names none (`default_prompt_name`), or `None`.
    #[getter]
    fn default_prompt_name(&self) -> Option<&str> {
        self.model.default_prompt_name()
    }

    /// Embedding width, under sentence-transformers' name for it.
    fn get_sentence_embedding_dimension(&self) -> usize {
        self.model.dim()
    }

    /// Pickling stores the constructor's arguments; unpickling loads the model again from
    /// the same path (which must exist where it is unpickled, e.g. on every worker).
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        slf.get().args.reduce(slf)
    }

    fn __repr__(&self) -> String {
        format!(
            "SentenceEncoder({:?}, dim={}, max_seq_length={}, precision={:?}, threads={})",
            self.model.root().display().to_string(),
            self.model.dim(),
            self.model.max_seq_length(),
            self.model.precision(),
            self.compute.threads()
        )
    }
}
