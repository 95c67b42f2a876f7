//! The adapter: the only file of the server that uses `qkv_encoder`. Everything else sees
//! [`Model`], [`Seq`] and plain `f32` rows, so a move of the encoder's modules is fixed here.
//!
//! Three things live here for now that belong in the library later (each marked `LIBRARY:`):
//! Matryoshka truncation (`dimensions`: cut, then L2-normalize), sentence-transformers prompts
//! (`config_sentence_transformers.json`: `prompts`, `default_prompt_name`), and the cross-encoder
//! hook [`Model::score`].

use crate::error::Error;
use qkv_encoder::sentence::l2_normalize;
use qkv_encoder::{EmbedOptions, Encoding, Pooling, SentenceEncoder, Tokenizer};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One tokenized input, ready to be batched.
#[derive(Debug)]
pub struct Seq(Encoding);

impl Seq {
    /// Tokens, special tokens included.
    pub fn len(&self) -> usize {
        self.0.ids.len()
    }
}

/// What the model is, for `/info` and for validating requests.
#[derive(Clone, Debug)]
pub struct ModelInfo {
    /// Embedding width.
    pub dim: usize,
    /// The model's own input limit (`max_seq_length`), in tokens.
    pub max_seq_length: usize,
    /// The server's input limit (`--max-input-tokens`), at most `max_seq_length`.
    pub max_input_tokens: usize,
    /// Pooling mode.
    pub pooling: &'static str,
    /// Whether the model directory L2-normalizes its embeddings.
    pub normalize: bool,
    /// Token ids must be below this.
    pub vocab_size: usize,
    /// The prompt names the model directory defines.
    pub prompts: Vec<String>,
}

/// Why an input cannot be embedded (a client mistake: 422).
#[derive(Debug)]
pub struct InputError(pub String);

/// Why a rerank cannot run (LIBRARY: add the cross-encoder's input and model errors here).
#[derive(Debug)]
pub enum ScoreError {
    /// The model is an embedding model, not a cross-encoder.
    NotReranker,
}

/// `config_sentence_transformers.json` (only the prompt fields).
#[derive(Deserialize, Default)]
struct StConfig {
    #[serde(default)]
    prompts: BTreeMap<String, String>,
    #[serde(default)]
    default_prompt_name: Option<String>,
}

/// A loaded sentence-transformers model with the server's tokenizer.
pub struct Model {
    enc: SentenceEncoder,
    tok: Tokenizer,
    prompts: BTreeMap<String, String>,
    default_prompt: Option<String>,
    info: ModelInfo,
}

impl Model {
    /// Loads the directory. `max_input` picks the input limit from the model's own
    /// `max_seq_length` (it is given that and returns the limit or an error).
    pub fn open(
        dir: &Path,
        max_input: impl FnOnce(usize) -> Result<usize, Error>,
    ) -> Result<Model, Error> {
        let load_err = |e: Box<dyn std::error::Error + Send + Sync>| Error::Model {
            path: dir.to_path_buf(),
            source: e,
        };
        let enc = SentenceEncoder::open(dir).map_err(|e| load_err(e.into()))?;
        let md = enc.model_dir();
        let max_input_tokens = max_input(md.max_seq_length)?;
        // The library's tokenizer cuts at max_seq_length; the server's cuts at its own limit,
        // with the same settings, so an input within both is tokenized identically.
        let tok = Tokenizer::from_file(enc.tokenizer().path(), max_input_tokens)
            .map_err(|e| load_err(e.into()))?;
        // LIBRARY: prompts belong in SentenceEncoder.
        let st_path = md.root.join("config_sentence_transformers.json");
        let st: StConfig = match std::fs::read(&st_path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| load_err(format!("{}: {e}", st_path.display()).into()))?,
            Err(_) => StConfig::default(),
        };
        let default_prompt = match st.default_prompt_name {
            Some(n) if !st.prompts.contains_key(&n) => {
                return Err(load_err(
                    format!(
                        "{}: default_prompt_name `{n}` is not in prompts",
                        st_path.display()
                    )
                    .into(),
                ))
            }
            other => other,
        };
        let info = ModelInfo {
            dim: enc.dim(),
            max_seq_length: md.max_seq_length,
            max_input_tokens,
            pooling: match md.pooling {
                Pooling::Mean => "mean",
                Pooling::Cls => "cls",
                Pooling::Max => "max",
                Pooling::MeanSqrtLen => "mean_sqrt_len",
                Pooling::WeightedMean => "weightedmean",
                Pooling::LastToken => "lasttoken",
            },
            normalize: md.normalize,
            vocab_size: enc.model_dir().config.vocab_size(),
            prompts: st.prompts.keys().cloned().collect(),
        };
        Ok(Model {
            enc,
            tok,
            prompts: st.prompts,
            default_prompt,
            info,
        })
    }

    /// What the model is.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The text of prompt `name`, or of the directory's default prompt when `name` is `None`.
    pub fn prompt(&self, name: Option<&str>) -> Result<Option<&str>, InputError> {
        match name.or(self.default_prompt.as_deref()) {
            None => Ok(None),
            Some(n) => self
                .prompts
                .get(n)
                .map(|p| Some(p.as_str()))
                .ok_or_else(|| InputError(format!("model has no prompt `{n}`"))),
        }
    }

    /// Tokenizes `prompt + text`; an input longer than the limit is cut when `truncate`,
    /// refused otherwise.
    pub fn tokenize(
        &self,
        text: &str,
        prompt: Option<&str>,
        truncate: bool,
    ) -> Result<Seq, InputError> {
        let joined;
        let text = match prompt {
            Some(p) => {
                joined = format!("{p}{text}");
                joined.as_str()
            }
            None => text,
        };
        let mut enc = self
            .tok
            .encode(text)
            .map_err(|e| InputError(format!("cannot tokenize: {e}")))?;
        if enc.truncated && !truncate {
            return Err(self.too_long());
        }
        enc.tokens = Vec::new(); // display strings: not needed, and the queue holds many
        Ok(Seq(enc))
    }

    /// An input given as token ids, used as they are (no special tokens are added); the ids
    /// must be below the vocabulary size.
    pub fn seq_from_ids(&self, mut ids: Vec<u32>, truncate: bool) -> Result<Seq, InputError> {
        if ids.is_empty() {
            return Err(InputError("an input has no tokens".into()));
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= self.info.vocab_size) {
            return Err(InputError(format!(
                "token id {id} is out of range (vocabulary size {})",
                self.info.vocab_size
            )));
        }
        let truncated = ids.len() > self.info.max_input_tokens;
        if truncated {
            if !truncate {
                return Err(self.too_long());
            }
            ids.truncate(self.info.max_input_tokens);
        }
        let type_ids = vec![0; ids.len()];
        Ok(Seq(Encoding {
            ids,
            type_ids,
            tokens: Vec::new(),
            truncated,
        }))
    }

    fn too_long(&self) -> InputError {
        InputError(format!(
            "an input is longer than {} tokens: shorten it, or send \"truncate\": true",
            self.info.max_input_tokens
        ))
    }

    /// One packed forward pass over `seqs`: pooled, not normalized, `[n, dim]` in input order.
    pub fn embed(&self, seqs: Vec<Seq>) -> Result<Vec<f32>, String> {
        let encs: Vec<Encoding> = seqs.into_iter().map(|s| s.0).collect();
        let opts = EmbedOptions {
            pooling: None,
            normalize: Some(false),
            batch_size: 0,
            ..Default::default()
        };
        self.enc
            .embed_encodings(&encs, &opts)
            .map(|e| e.data)
            .map_err(|e| e.to_string())
    }

    /// Finishes one pooled row: keeps its first `dims` values (LIBRARY: Matryoshka), then
    /// L2-normalizes when asked, with the library's normalization (so a full-width row equals
    /// `SentenceEncoder::embed`'s bit for bit).
    pub fn finish_row(row: &mut Vec<f32>, dims: usize, normalize: bool) {
        row.truncate(dims);
        if normalize && !row.is_empty() {
            // Cannot fail: one row of width row.len().
            let width = row.len();
            let _ = l2_normalize(row, width);
        }
    }

    /// Runs one input through the model to fault in its weights and buffers.
    pub fn warm_up(&self) -> Result<(), Error> {
        let seq = self
            .tokenize("warm up", None, true)
            .map_err(|e| Error::Model {
                path: self.enc.model_dir().root.clone(),
                source: e.0.into(),
            })?;
        self.embed(vec![seq]).map(|_| ()).map_err(|e| Error::Model {
            path: self.enc.model_dir().root.clone(),
            source: e.into(),
        })
    }

    /// Cross-encoder scores (raw logits) of `(query, text)` pairs, pairs over the input limit
    /// cut when `truncate`. LIBRARY: wire `CrossEncoder::score(pairs)` in here when it lands;
    /// an embedding model has none.
    pub fn score(
        &self,
        _query: &str,
        _texts: &[String],
        _truncate: bool,
    ) -> Result<Vec<f32>, ScoreError> {
        Err(ScoreError::NotReranker)
    }

    /// Whether [`Model::score`] can answer.
    pub fn is_reranker(&self) -> bool {
        false
    }
}

/// Thread pool for the forward passes: runs `f` inside a pool of `threads` threads (the global
/// pool when `None`).
pub fn with_threads<R: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> R + Send,
) -> Result<R, Error> {
    match threads {
        None => Ok(f()),
        Some(n) => qkv_core::with_threads(n, f).map_err(|e| Error::Config(e.to_string())),
    }
}
