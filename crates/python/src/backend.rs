//! The one file of the Python package that uses `qkv_encoder`: the two model handles with the
//! few operations the bindings need, in types of this crate. When the encoder's API moves, only
//! the `use` lines and calls here change.
//!
//! Everything a call does to the text — the prompt, lowercasing, truncation (or the
//! `TooLong` error), pooling, Matryoshka `dimensions`, normalization, the cross-encoder's
//! sigmoid or softmax — is the library's; this file only passes the options through.

use qkv_encoder::{
    resolve_model, CrossEncoder, EmbedOptions, Encoding, Error, LoadOptions, Precision,
    ScoreOptions, SentenceEncoder,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What kind of failure an encoder error is, for choosing the Python exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A file, directory or Hugging Face model that does not exist.
    NotFound,
    /// Any other operating-system error while reading a file.
    Os,
    /// The caller's input or options were rejected.
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
        BackendError {
            kind: kind_of(&e),
            msg: e.to_string(),
        }
    }
}

/// The kind of an encoder error.
fn kind_of(e: &Error) -> Kind {
    match e {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => Kind::NotFound,
        Error::ModelNotFound { .. } => Kind::NotFound,
        Error::Io { .. } => Kind::Os,
        Error::Input { .. } | Error::TooLong { .. } => Kind::Input,
        _ => Kind::Other,
    }
}

/// Result of this module.
pub type Result<T> = std::result::Result<T, BackendError>;

/// One tokenized text or pair: token ids and segment ids, special tokens included.
pub type Tokens = Encoding;

/// The precision names the package accepts, widest first (`f32`, `bf16`, `int8`).
pub fn precision_names() -> Vec<&'static str> {
    Precision::ALL.iter().map(|p| p.name()).collect()
}

/// The precision named `name` exactly (one of [`precision_names`]), `None` for anything else.
fn precision(name: &str) -> Option<Precision> {
    Precision::ALL.into_iter().find(|p| p.name() == name)
}

/// How to load a model: `None` is the directory's precision (f32 for a plain checkpoint,
/// the saved one for a directory written by `qkv quantize`). The name must be one of
/// [`precision_names`] (the caller checks).
fn load_options(precision_name: Option<&str>) -> Result<LoadOptions> {
    match precision_name {
        None => Ok(LoadOptions::default()),
        Some(n) => precision(n)
            .map(LoadOptions::precision)
            .ok_or_else(|| BackendError {
                kind: Kind::Input,
                msg: format!(
                    "unsupported precision {n:?}; supported: {}",
                    precision_names().join(", ")
                ),
            }),
    }
}

/// A model directory for a path or a Hugging Face id (the local cache first; a download when
/// the cache lacks it and `HF_HUB_OFFLINE` is not set).
pub fn resolve(path_or_id: &Path) -> Result<PathBuf> {
    Ok(resolve_model(path_or_id)?)
}

/// Options of one `encode` call, in the package's terms.
#[derive(Clone, Debug, Default)]
pub struct EncodeOptions {
    /// Texts per forward pass.
    pub batch_size: usize,
    /// Normalize (or not) instead of the directory's choice.
    pub normalize: Option<bool>,
    /// A prompt of the directory's, by name.
    pub prompt_name: Option<String>,
    /// A prompt text.
    pub prompt: Option<String>,
    /// Matryoshka width.
    pub dimensions: Option<usize>,
    /// Cut long texts (else an error naming the first one).
    pub truncate: bool,
}

impl EncodeOptions {
    fn library(&self) -> EmbedOptions {
        EmbedOptions {
            normalize: self.normalize,
            batch_size: self.batch_size,
            prompt_name: self.prompt_name.clone(),
            prompt: self.prompt.clone(),
            dimensions: self.dimensions,
            truncate: self.truncate,
            ..EmbedOptions::default()
        }
    }
}

/// A loaded sentence-embedding model.
pub struct Model {
    inner: SentenceEncoder,
}

impl Model {
    /// Loads a model directory at `precision` (`None`: the directory's).
    pub fn open(dir: &Path, precision: Option<&str>) -> Result<Self> {
        let opts = load_options(precision)?;
        Ok(Model {
            inner: SentenceEncoder::open_with(dir, &opts)?,
        })
    }

    /// Embedding width (before any Matryoshka truncation).
    pub fn dim(&self) -> usize {
        self.inner.dim()
    }

    /// Truncation length in tokens (special tokens included).
    pub fn max_seq_length(&self) -> usize {
        self.inner.model_dir().max_seq_length
    }

    /// The precision the model was loaded at (`f32`, `bf16`, `int8`).
    pub fn precision(&self) -> &'static str {
        self.inner.precision().name()
    }

    /// The directory's prompts, by name.
    pub fn prompts(&self) -> &BTreeMap<String, String> {
        &self.inner.model_dir().prompts.prompts
    }

    /// The directory's default prompt name, if any.
    pub fn default_prompt_name(&self) -> Option<&str> {
        self.inner.model_dir().prompts.default_name.as_deref()
    }

    /// The model directory.
    pub fn root(&self) -> &Path {
        &self.inner.model_dir().root
    }

    /// Checks the options that do not need the texts (the prompt, `dimensions`), so that a
    /// bad one fails before any work.
    pub fn check(&self, opts: &EncodeOptions) -> Result<()> {
        let lib = opts.library();
        self.inner.prompt(&lib)?;
        if let Some(n) = opts.dimensions {
            let d = self.dim();
            if n == 0 || n > d {
                return Err(BackendError {
                    kind: Kind::Input,
                    msg: format!("dimensions = {n} must be in 1..={d} (the model's width)"),
                });
            }
        }
        Ok(())
    }

    /// Tokenizes texts as `encode` does: prompt, lowercasing, truncation (or an error for a
    /// text that would be cut, without `truncate`). Display strings are dropped.
    pub fn tokenize(&self, texts: &[&str], opts: &EncodeOptions) -> Result<Vec<Tokens>> {
        let mut enc = self.inner.tokenize(texts, &opts.library())?;
        for e in &mut enc {
            e.tokens = Vec::new();
        }
        Ok(enc)
    }

    /// Width of each embedding with these options.
    pub fn width(&self, opts: &EncodeOptions) -> usize {
        opts.dimensions.unwrap_or(self.dim())
    }

    /// Embeds tokenized texts into `out` (`[n, width]`, input order).
    pub fn embed(&self, tokens: &[Tokens], opts: &EncodeOptions, out: &mut [f32]) -> Result<()> {
        let e = self.inner.embed_encodings(tokens, &opts.library())?;
        copy_checked("embed", &e.data, out)
    }
}

/// A loaded cross-encoder (reranker or pair classifier).
pub struct Reranker {
    inner: CrossEncoder,
    root: PathBuf,
}

impl Reranker {
    /// Loads a sequence-classification directory at `precision` (`None`: the directory's).
    pub fn open(dir: &Path, precision: Option<&str>) -> Result<Self> {
        let opts = load_options(precision)?;
        Ok(Reranker {
            inner: CrossEncoder::open_with(dir, &opts)?,
            root: dir.to_path_buf(),
        })
    }

    /// Scores per pair.
    pub fn labels(&self) -> usize {
        self.inner.labels()
    }

    /// Pairs are truncated together at this many tokens.
    pub fn max_length(&self) -> usize {
        self.inner.tokenizer().max_len()
    }

    /// The precision the encoder was loaded at.
    pub fn precision(&self) -> &'static str {
        self.inner.precision().name()
    }

    /// The model directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Tokenizes (query, document) pairs as scoring does. Display strings are dropped.
    pub fn tokenize(&self, pairs: &[(&str, &str)]) -> Result<Vec<Tokens>> {
        let mut enc = self.inner.tokenize(pairs)?;
        for e in &mut enc {
            e.tokens = Vec::new();
        }
        Ok(enc)
    }

    /// Scores tokenized pairs into `out` (`[n, labels]`, input order): sigmoid for one label,
    /// softmax rows for several, or the logits when `raw`.
    pub fn score(
        &self,
        tokens: &[Tokens],
        batch_size: usize,
        raw: bool,
        out: &mut [f32],
    ) -> Result<()> {
        let opts = ScoreOptions { raw, batch_size };
        let s = self.inner.score_encodings(tokens, &opts)?;
        copy_checked("score", &s.data, out)
    }
}

/// Copies a result into the caller's buffer, checking the length (a mismatch is a bug, reported
/// as an error rather than a panic).
fn copy_checked(op: &str, data: &[f32], out: &mut [f32]) -> Result<()> {
    if data.len() != out.len() {
        return Err(BackendError {
            kind: Kind::Other,
            msg: format!("{op}: {} values, expected {}", data.len(), out.len()),
        });
    }
    out.copy_from_slice(data);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The encoder crate's fixtures: a tiny sentence-transformers BERT, a one-label BERT
    // reranker and a three-label XLM-RoBERTa classifier.
    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../encoder/tests/fixtures");
    const TINY: &str = "tiny_bert";
    const RERANKER: &str = "families/bert_reranker";
    const CLASSIFIER3: &str = "families/xlm_roberta_classifier3";

    fn fixture(name: &str) -> PathBuf {
        Path::new(FIXTURES).join(name)
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn precision_names_round_trip() {
        assert_eq!(precision_names(), ["f32", "bf16", "int8"]);
        for n in precision_names() {
            assert_eq!(precision(n).map(Precision::name), Some(n));
        }
        for bad in ["F32", "fp32", "float32", "int4", ""] {
            assert!(precision(bad).is_none(), "{bad}");
        }
        let e = load_options(Some("fp16")).expect_err("fp16 is not supported");
        assert_eq!(e.kind, Kind::Input);
        assert!(e.msg.contains("supported: f32, bf16, int8"), "{}", e.msg);
    }

    #[test]
    fn error_kinds() {
        let e = Model::open(Path::new("/nonexistent/qkv-model"), None)
            .err()
            .expect("a missing directory fails");
        assert_eq!(e.kind, Kind::NotFound, "{}", e.msg);
        let too_long = Error::TooLong {
            index: 3,
            tokens: 900,
            max: 512,
        };
        assert_eq!(kind_of(&too_long), Kind::Input);
        assert_eq!(kind_of(&Error::Config("x".into())), Kind::Other);
    }

    #[test]
    fn embeddings_in_chunks_equal_one_library_call() {
        let m = Model::open(&fixture(TINY), None).unwrap();
        assert_eq!(m.precision(), "f32");
        let texts = ["a cat", "the dog sat on the mat", "", "café naïve", "x y z"];
        let opts = EncodeOptions {
            batch_size: 2,
            truncate: true,
            dimensions: Some(8),
            ..EncodeOptions::default()
        };
        m.check(&opts).unwrap();
        let tokens = m.tokenize(&texts, &opts).unwrap();
        let w = m.width(&opts);
        let mut all = vec![0.0; texts.len() * w];
        m.embed(&tokens, &opts, &mut all).unwrap();
        // One text at a time gives the same bits.
        for (i, t) in tokens.iter().enumerate() {
            let mut one = vec![0.0; w];
            m.embed(std::slice::from_ref(t), &opts, &mut one).unwrap();
            assert_eq!(bits(&one), bits(&all[i * w..(i + 1) * w]), "text {i}");
        }
        let mut short = vec![0.0; w];
        assert!(m.embed(&tokens, &opts, &mut short).is_err());
        let bad = EncodeOptions {
            dimensions: Some(m.dim() + 1),
            ..opts.clone()
        };
        assert_eq!(m.check(&bad).unwrap_err().kind, Kind::Input);
        let named = EncodeOptions {
            prompt_name: Some("query".into()),
            ..opts
        };
        assert_eq!(m.check(&named).unwrap_err().kind, Kind::Input);
    }

    #[test]
    fn reranker_scores_one_and_several_labels() {
        let r = Reranker::open(&fixture(RERANKER), None).unwrap();
        assert_eq!(r.labels(), 1);
        let pairs = [("what does the cat do?", "the cat sat"), ("fox", "a dog")];
        let tokens = r.tokenize(&pairs).unwrap();
        let mut s = vec![0.0; 2];
        r.score(&tokens, 1, false, &mut s).unwrap();
        let mut logits = vec![0.0; 2];
        r.score(&tokens, 32, true, &mut logits).unwrap();
        for (p, l) in s.iter().zip(&logits) {
            assert!((p - 1.0 / (1.0 + (-l).exp())).abs() < 1e-6, "{p} {l}");
        }
        let c = Reranker::open(&fixture(CLASSIFIER3), None).unwrap();
        assert_eq!(c.labels(), 3);
        let tokens = c.tokenize(&pairs).unwrap();
        let mut rows = vec![0.0; 6];
        c.score(&tokens, 32, false, &mut rows).unwrap();
        for row in rows.chunks(3) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{row:?}");
        }
    }
}
