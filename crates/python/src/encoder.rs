//! `qkv.SentenceEncoder`: the Python class, shaped like sentence-transformers'
//! `SentenceTransformer` so that switching is one line.
//!
//! `encode` holds the GIL only to read its arguments and to build the result: tokenization
//! and the model run with the GIL released (`Python::allow_threads`), on the encoder's own
//! thread pool. The whole input is tokenized first and sorted by length (longest first, ties
//! in input order) so that each batch holds texts of similar length; the batches then run in
//! chunks, and between chunks the GIL is taken back briefly to deliver Ctrl-C and to update
//! the progress bar. Results do not depend on the batching: a text's embedding is the same
//! bits alone, in any batch, with any thread count (the library's contract).

use crate::arrays::{f32_array, i64_array};
use crate::backend::{normalize_rows, Model, Tokens};
use crate::errors::{guarded, to_py};
use crate::input::{dimensions, positive, precision, sentences};
use crate::progress::Progress;
use crate::prompts::Prompts;
use crate::resolve::model_dir;
use crate::threads::{default_threads, Pool};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::path::PathBuf;
use std::sync::Mutex;

/// Batches per chunk between two GIL re-acquisitions.
const CHUNK_BATCHES: usize = 16;

/// A sentence-embedding model loaded from a local sentence-transformers directory
/// (config.json, model.safetensors, tokenizer.json and, when present, modules.json,
/// 1_Pooling/config.json, sentence_bert_config.json, config_sentence_transformers.json).
///
/// Args:
///     model_name_or_path: the model directory, or a Hugging Face id (`org/name`) already in
///         the local Hugging Face cache. Nothing is downloaded.
///     threads: compute threads; default `OMP_NUM_THREADS` when set, else the CPUs this
///         process may use (affinity mask and cgroup quota).
///     precision: numeric precision of the weights and activations; only "f32" for now.
///
/// Raises:
///     FileNotFoundError: the directory or one of its required files does not exist.
///     ValueError: an invalid `threads` or `precision`.
///     RuntimeError: a malformed model file (the message names the file and the problem).
#[pyclass(module = "qkv", name = "SentenceEncoder", frozen)]
pub struct SentenceEncoder {
    model: Model,
    prompts: Prompts,
    pool: Mutex<Pool>,
    /// The constructor's arguments, for `__reduce__` (pickling reloads the model).
    path: PathBuf,
    threads_arg: Option<usize>,
    threads: usize,
}

#[pymethods]
impl SentenceEncoder {
    #[new]
    #[pyo3(signature = (model_name_or_path, threads=None, precision="f32"))]
    fn new(
        py: Python<'_>,
        model_name_or_path: PathBuf,
        threads: Option<i64>,
        precision: &str,
    ) -> PyResult<Self> {
        self::precision(precision)?;
        let threads_arg = threads.map(|t| positive("threads", t)).transpose()?;
        let n = match threads_arg {
            Some(n) => n,
            None => default_threads().map_err(PyValueError::new_err)?,
        };
        let dir = model_dir(&model_name_or_path)?;
        py.allow_threads(|| {
            guarded(|| {
                let model = Model::open(&dir).map_err(to_py)?;
                let prompts = Prompts::load(&dir).map_err(PyRuntimeError::new_err)?;
                let pool = Pool::new(n).map_err(PyRuntimeError::new_err)?;
                Ok(SentenceEncoder {
                    model,
                    prompts,
                    pool: Mutex::new(pool),
                    path: model_name_or_path,
                    threads_arg,
                    threads: n,
                })
            })
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
    ///     dimensions: keep only the first `dimensions` values of each embedding (Matryoshka
    ///         truncation), re-normalized when normalization is on.
    ///     show_progress_bar: print progress to `sys.stderr`.
    ///
    /// Returns:
    ///     `numpy.ndarray` of float32: `(len(sentences), dim)` in input order, or `(dim,)`
    ///     for a single `str`.
    ///
    /// Raises:
    ///     TypeError: `sentences` is not a str or an iterable of str, or an argument has the
    ///         wrong type.
    ///     ValueError: an argument is out of range, an unknown prompt, or a text that is not
    ///         valid Unicode (a lone surrogate).
    #[pyo3(signature = (sentences, batch_size=32, normalize_embeddings=None, prompt_name=None,
        dimensions=None, show_progress_bar=false))]
    #[allow(clippy::too_many_arguments)]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        sentences: &Bound<'py, PyAny>,
        batch_size: i64,
        normalize_embeddings: Option<bool>,
        prompt_name: Option<&str>,
        dimensions: Option<i64>,
        show_progress_bar: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let input = self::sentences(sentences)?;
        let bs = positive("batch_size", batch_size)?;
        let d = self.model.dim();
        let keep = self::dimensions(dimensions, d)?.unwrap_or(d);
        let mut texts = input.texts;
        if let Some(p) = self
            .prompts
            .prefix(prompt_name)
            .map_err(PyValueError::new_err)?
        {
            for t in &mut texts {
                t.insert_str(0, p);
            }
        }
        let n = texts.len();
        let mut out = vec![0.0f32; n * d];
        let mut bar = Progress::new(py, show_progress_bar.unwrap_or(false), n)?;

        // Tokenize everything (GIL released), then sort by length, longest first.
        let mut tokens: Vec<Tokens> = py.allow_threads(|| {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            self.run(|| self.model.tokenize(&refs).map_err(to_py))
        })?;
        drop(texts);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(tokens[i].ids.len()));

        let mut chunk_out = Vec::new();
        for chunk in order.chunks(bs.saturating_mul(CHUNK_BATCHES)) {
            let part: Vec<Tokens> = chunk
                .iter()
                .map(|&i| std::mem::take(&mut tokens[i]))
                .collect();
            chunk_out.clear();
            chunk_out.resize(chunk.len() * d, 0.0);
            py.allow_threads(|| {
                self.run(|| {
                    self.model
                        .embed_tokens(part, bs, normalize_embeddings, &mut chunk_out)
                        .map_err(to_py)
                })
            })?;
            for (k, &i) in chunk.iter().enumerate() {
                out[i * d..(i + 1) * d].copy_from_slice(&chunk_out[k * d..(k + 1) * d]);
            }
            py.check_signals()?;
            bar.advance(py, chunk.len())?;
        }
        bar.finish(py)?;

        if keep < d {
            out = truncate(&out, d, keep);
            if normalize_embeddings.unwrap_or(self.model.normalizes()) {
                normalize_rows(&mut out, keep).map_err(to_py)?;
            }
        }
        if input.single {
            f32_array(py, &out, &[keep])
        } else {
            f32_array(py, &out, &[n, keep])
        }
    }

    /// Tokenizes texts as `encode` does (truncated at `max_seq_length`), padded with 0 to
    /// the longest.
    ///
    /// Returns:
    ///     dict of int64 arrays `(n, longest)`: `input_ids`, `token_type_ids`,
    ///     `attention_mask` (1 for real tokens, 0 for padding).
    #[pyo3(signature = (texts))]
    fn tokenize<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let input = self::sentences(texts)?;
        let tokens = py.allow_threads(|| {
            let refs: Vec<&str> = input.texts.iter().map(String::as_str).collect();
            self.run(|| self.model.tokenize(&refs).map_err(to_py))
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
        self.threads
    }

    /// The model's prompts (name → prefix), from config_sentence_transformers.json.
    #[getter]
    fn prompts(&self) -> std::collections::BTreeMap<String, String> {
        self.prompts.all().clone()
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
        let py = slf.py();
        let me = slf.get();
        let args = PyTuple::new(
            py,
            [
                me.path.clone().into_pyobject(py)?.into_any(),
                me.threads_arg.into_pyobject(py)?.into_any(),
            ],
        )?;
        Ok((slf.get_type().into_any(), args))
    }

    fn __repr__(&self) -> String {
        format!(
            "SentenceEncoder({:?}, dim={}, max_seq_length={}, threads={})",
            self.model.root().display().to_string(),
            self.model.dim(),
            self.model.max_seq_length(),
            self.threads
        )
    }
}

impl SentenceEncoder {
    /// Runs `f` on this encoder's thread pool (rebuilt first if the process was forked),
    /// with panics turned into `RuntimeError`. Call it with the GIL released.
    fn run<T: Send>(&self, f: impl FnOnce() -> PyResult<T> + Send) -> PyResult<T> {
        guarded(|| {
            let mut pool = self
                .pool
                .lock()
                .map_err(|_| PyRuntimeError::new_err("a previous call panicked"))?;
            pool.refresh_after_fork().map_err(PyRuntimeError::new_err)?;
            pool.install(f)
        })
    }
}

/// The first `keep` values of each `d`-wide row.
fn truncate(rows: &[f32], d: usize, keep: usize) -> Vec<f32> {
    rows.chunks_exact(d)
        .flat_map(|r| r[..keep].iter().copied())
        .collect()
}
