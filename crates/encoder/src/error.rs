//! Typed errors of the encoder crate. Every variant carries what a person needs to fix the
//! problem: the file, the tensor name, the shapes expected and found, the config field.

use std::path::PathBuf;
use thiserror::Error;

/// Everything that can go wrong when building or running an encoder or a model.
#[derive(Debug, Error)]
pub enum Error {
    /// A kernel rejected its inputs.
    #[error(transparent)]
    Core(#[from] qkv_core::Error),

    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// A JSON file (config, tokenizer settings, pooling) is malformed, or a field is missing
    /// or of the wrong type (the message names it, with line and column).
    #[error("{}: {}: {source}", path.display(), json_problem(source))]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's complaint (with line and column).
        #[source]
        source: serde_json::Error,
    },

    /// A safetensors file is malformed (header, offsets, dtype/length disagreement).
    #[error("{path}: invalid safetensors file: {msg}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },

    /// A tensor the model needs is not in the weights file.
    #[error("{path}: missing tensor `{name}`")]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The tensor name looked for (first candidate).
        name: String,
    },

    /// A tensor has the wrong shape.
    #[error("tensor `{name}`: expected shape {expected:?}, found {found:?}")]
    TensorShape {
        /// The tensor.
        name: String,
        /// The shape the config implies.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },

    /// A tensor has a dtype qkv cannot use.
    #[error("tensor `{name}`: unsupported dtype {dtype} (expected F32, F16 or BF16)")]
    Dtype {
        /// The tensor.
        name: String,
        /// The dtype in the file.
        dtype: String,
    },

    /// A weight holds NaN or ±Inf.
    #[error("tensor `{name}`: non-finite value {value} at flat index {index}")]
    NonFinite {
        /// The tensor.
        name: String,
        /// Flat index of the first bad value.
        index: usize,
        /// The value.
        value: f32,
    },

    /// A configuration is invalid (zero heads, sizes that do not divide, absurd sizes, …).
    #[error("invalid config: {0}")]
    Config(String),

    /// The tokenizer could not be loaded or failed on an input.
    #[error("tokenizer {path}: {msg}")]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },

    /// Input data does not fit the model (wrong width, bad lengths, token id out of range, …).
    #[error("{op}: {msg}")]
    Input {
        /// The operation that rejected the input.
        op: &'static str,
        /// What is wrong.
        msg: String,
    },

    /// An input is longer than the model's sequence limit and truncation is off.
    #[error(
        "input {index} has {tokens} tokens, more than the model's limit of {max} \
         (truncate it, or allow truncation)"
    )]
    TooLong {
        /// The input's index in the call.
        index: usize,
        /// Its length in tokens, special tokens (and prompt) included.
        tokens: usize,
        /// The sequence limit.
        max: usize,
    },

    /// A Hugging Face model id that is neither in the local cache nor downloadable.
    #[error("model {model}: {msg}")]
    ModelNotFound {
        /// The id asked for (or the cached repository folder, for a broken cache).
        model: String,
        /// Where it was looked for and how to get it.
        msg: String,
    },
}

/// Result alias used throughout `qkv-encoder`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether a JSON file is not JSON at all or is JSON with a field missing or mistyped.
fn json_problem(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Data => "missing or invalid field",
        _ => "invalid JSON",
    }
}

/// Shorthand for an [`Error::Input`].
pub fn input_err(op: &'static str, msg: impl Into<String>) -> Error {
    Error::Input {
        op,
        msg: msg.into(),
    }
}
