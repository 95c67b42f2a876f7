//! The one file of the Python package that uses `qkv_encoder`: a model handle with the few
//! operations the bindings need, in types of this crate. When the encoder's API moves, only
//! the `use` lines and calls here change.

use qkv_encoder::embedder::{EmbedOptions, SentenceEncoder};
use qkv_encoder::pooling::l2_normalize;
use qkv_encoder::tokenize::Encoding;
use qkv_encoder::Error;
use std::path::Path;

/// What kind of failure an encoder error is, for choosing the Python exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A file or directory that does not exist.
    NotFound,
    /// Any other operating-system error while reading a file.
    Os,
    /// The caller's input was rejected.
    Input,
    /// A malformed model file or any other failure.
    Other,
}

/// An encoder error: its kind and its message (the Rust error's `Display`).
#[derive(Debug)]
pub struct BackendError {
    /// The kind.
    pub kind: Kind,
    /// The message, with the file, tensor or operation it concerns.
    pub msg: String,
}

impl From<Error> for BackendError {
    fn from(e: Error) -> Self {
        let kind = match &e {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Kind::NotFound
            }
            Error::Io { .. } => Kind::Os,
            Error::Input { .. } => Kind::Input,
            _ => Kind::Other,
        };
        BackendError {
            kind,
            msg: e.to_string(),
        }
    }
}

/// Result of this module.
pub type Result<T> = std::result::Result<T, BackendError>;

/// One tokenized text: token ids and segment ids, special tokens included.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    /// Token ids.
    pub ids: Vec<u32>,
    /// Segment (token-type) ids, one per token.
    pub type_ids: Vec<u32>,
}

/// A loaded sentence-embedding model.
pub struct Model {
    inner: SentenceEncoder,
}

impl Model {
    /// Loads a model directory.
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(Model {
            inner: SentenceEncoder::open(dir)?,
        })
    }

    /// Embedding width.
    pub fn dim(&self) -> usize {
        self.inner.dim()
    }

    /// Truncation length in tokens (special tokens included).
    pub fn max_seq_length(&self) -> usize {
        self.inner.model_dir().max_seq_length
    }

    /// Whether the directory's pipeline L2-normalizes embeddings.
    pub fn normalizes(&self) -> bool {
        self.inner.model_dir().normalize
    }

    /// The model directory.
    pub fn root(&self) -> &Path {
        &self.inner.model_dir().root
    }

    /// Tokenizes texts (truncated at [`Model::max_seq_length`], not padded).
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Tokens>> {
        let enc = self.inner.tokenizer().encode_batch(texts)?;
        Ok(enc
            .into_iter()
            .map(|e| Tokens {
                ids: e.ids,
                type_ids: e.type_ids,
            })
            .collect())
    }

    /// Embeds tokenized texts, `batch_size` per forward pass, into `out` (`[n, dim]`, input
    /// order). `normalize` overrides the directory's choice.
    pub fn embed_tokens(
        &self,
        tokens: Vec<Tokens>,
        batch_size: usize,
        normalize: Option<bool>,
        out: &mut [f32],
    ) -> Result<()> {
        let n = tokens.len();
        let enc: Vec<Encoding> = tokens
            .into_iter()
            .map(|t| Encoding {
                ids: t.ids,
                type_ids: t.type_ids,
                tokens: Vec::new(),
                truncated: false,
            })
            .collect();
        let opts = EmbedOptions {
            normalize,
            batch_size,
            ..EmbedOptions::default()
        };
        let e = self.inner.embed_encodings(&enc, &opts)?;
        if e.data.len() != out.len() {
            return Err(BackendError {
                kind: Kind::Other,
                msg: format!(
                    "embed: {} values for {} texts of width {}, expected {}",
                    e.data.len(),
                    n,
                    e.dim,
                    out.len()
                ),
            });
        }
        out.copy_from_slice(&e.data);
        Ok(())
    }
}

/// L2-normalizes each `d`-wide row in place, exactly as the model's own normalization does.
pub fn normalize_rows(rows: &mut [f32], d: usize) -> Result<()> {
    Ok(l2_normalize(rows, d)?)
}
