//! The adapter, the server's one user of `qkv_encoder`'s pipelines: the rest sees [`Model`],
//! [`Task`], [`Seq`] and plain `f32` rows.
//!
//! The model directory decides what the server is: a `config.json` whose `architectures` names
//! a `*ForSequenceClassification` model with one label is a reranker
//! ([`qkv_encoder::CrossEncoder`], `/rerank`); anything else is an embedding model
//! ([`qkv_encoder::SentenceEncoder`], `/embed` and `/v1/embeddings`). Prompts, Matryoshka
//! `dimensions`, normalization, pair tokenization and scores are the library's: a request's
//! [`Task`] is turned into its `EmbedOptions` or `ScoreOptions`, so a served row equals the
//! library's bit for bit.

use crate::error::Error;
use crate::input_cut::Cutter;
use qkv_encoder::{
    CrossEncoder, EmbedOptions, Encoding, LoadOptions, ModelConfig, Pooling, Precision,
    ScoreOptions, SentenceEncoder,
};
use std::path::{Path, PathBuf};

/// One tokenized input, ready to be batched.
#[derive(Debug)]
pub struct Seq(Encoding);

impl Seq {
    /// Tokens, special tokens included.
    pub fn len(&self) -> usize {
        self.0.ids.len()
    }
}

/// What a request asks of the model: the library options its inputs run with. Inputs of
/// requests with equal tasks share forward passes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Task {
    /// Sentence embeddings (`EmbedOptions`).
    Embed {
        /// A prompt of the model directory, by name.
        prompt_name: Option<String>,
        /// A prompt text (`Some("")`: none, not even the default; used for token ids).
        prompt: Option<String>,
        /// Matryoshka: keep the first `dimensions` values.
        dimensions: Option<usize>,
        /// L2-normalize each row (after the cut).
        normalize: bool,
    },
    /// Cross-encoder scores (`ScoreOptions`): sigmoid of the logit, or the logit when `raw`.
    Score {
        /// Logits instead of sigmoid scores.
        raw: bool,
    },
}

/// Which routes the model serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A sentence-embedding model: `/embed`, `/v1/embeddings`.
    Embedding,
    /// A one-label cross-encoder: `/rerank`.
    Reranker,
}

impl Kind {
    /// `embedding` or `reranker` (`/info`'s `model_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Embedding => "embedding",
            Kind::Reranker => "reranker",
        }
    }
}

/// What the model is, for `/info` and for validating requests.
#[derive(Clone, Debug)]
pub struct ModelInfo {
    /// Embedding model or reranker.
    pub kind: Kind,
    /// The precision the linear layers were loaded at.
    pub precision: Precision,
    /// Embedding width (a reranker's: the encoder's hidden size).
    pub dim: usize,
    /// The model's own input limit, in tokens (`max_seq_length`; a reranker's pair limit).
    pub max_seq_length: usize,
    /// The server's input limit (`--max-input-tokens`), at most `max_seq_length`.
    pub max_input_tokens: usize,
    /// Pooling mode (`None` for a reranker, whose head reads the first token).
    pub pooling: Option<&'static str>,
    /// Whether the model directory L2-normalizes its embeddings.
    pub normalize: bool,
    /// Token ids must be below this.
    pub vocab_size: usize,
    /// The prompt names the model directory defines.
    pub prompts: Vec<String>,
}

/// Why an input cannot be run (a client mistake: 422), and the field at fault.
#[derive(Debug)]
pub struct InputError {
    /// The request field, when one is at fault.
    pub param: Option<&'static str>,
    /// A sentence for a person.
    pub msg: String,
}

impl InputError {
    fn new(msg: impl Into<String>) -> Self {
        InputError {
            param: None,
            msg: msg.into(),
        }
    }
}

enum Pipeline {
    Embed(SentenceEncoder),
    Score(CrossEncoder),
}

/// A loaded embedding model or reranker.
pub struct Model {
    root: PathBuf,
    pipe: Pipeline,
    info: ModelInfo,
    /// Cuts inputs at the server's limit as the tokenizer would.
    cutter: Cutter,
}

impl Model {
    /// Loads the directory at the precision `load` asks for. `max_input` picks the input
    /// limit from the model's own (it is given that and returns the limit or an error).
    pub fn open(
        dir: &Path,
        load: &LoadOptions,
        max_input: impl FnOnce(usize) -> Result<usize, Error>,
    ) -> Result<Model, Error> {
        let load_err = |e: qkv_encoder::Error| Error::Model {
            path: dir.to_path_buf(),
            source: e.into(),
        };
        let config = ModelConfig::from_file(dir.join("config.json")).map_err(load_err)?;
        if config.is_classifier() {
            return Model::open_reranker(dir, load, &config, max_input);
        }
        let enc = SentenceEncoder::open_with(dir, load).map_err(load_err)?;
        let md = enc.model_dir();
        let max_input_tokens = max_input(md.max_seq_length)?;
        let cutter = Cutter::probe(enc.tokenizer());
        cutter
            .check(max_input_tokens, md.max_seq_length)
            .map_err(Error::Config)?;
        let info = ModelInfo {
            kind: Kind::Embedding,
            precision: enc.precision(),
            dim: enc.dim(),
            max_seq_length: md.max_seq_length,
            max_input_tokens,
            pooling: Some(pooling_name(md.pooling)),
            normalize: md.normalize,
            vocab_size: md.config.vocab_size(),
            prompts: md.prompts.prompts.keys().cloned().collect(),
        };
        Ok(Model {
            root: dir.to_path_buf(),
            pipe: Pipeline::Embed(enc),
            info,
            cutter,
        })
    }

    fn open_reranker(
        dir: &Path,
        load: &LoadOptions,
        config: &ModelConfig,
        max_input: impl FnOnce(usize) -> Result<usize, Error>,
    ) -> Result<Model, Error> {
        if config.num_labels != 1 {
            return Err(Error::Model {
                path: dir.to_path_buf(),
                source: format!(
                    "a sequence classifier with {} labels: qkv serve takes embedding models \
                     and one-label cross-encoders (rerankers)",
                    config.num_labels
                )
                .into(),
            });
        }
        let ce = CrossEncoder::open_with(dir, load).map_err(|e| Error::Model {
            path: dir.to_path_buf(),
            source: e.into(),
        })?;
        let limit = ce.tokenizer().max_len();
        let max_input_tokens = max_input(limit)?;
        if max_input_tokens != limit {
            // Pairs are cut together (longest first) by the library's tokenizer, at its limit.
            return Err(Error::Config(format!(
                "a cross-encoder takes pairs of up to {limit} tokens and cuts longer ones \
                 itself: leave --max-input-tokens unset (or {limit}) and --max-batch-tokens \
                 at least {limit}"
            )));
        }
        let info = ModelInfo {
            kind: Kind::Reranker,
            precision: ce.precision(),
            dim: ce.config().hidden_size(),
            max_seq_length: limit,
            max_input_tokens,
            pooling: None,
            normalize: false,
            vocab_size: ce.config().vocab_size(),
            prompts: Vec::new(),
        };
        Ok(Model {
            root: dir.to_path_buf(),
            pipe: Pipeline::Score(ce),
            info,
            cutter: Cutter {
                specials: 0,
                trailing: None,
            },
        })
    }

    /// What the model is.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Values per row of `task`'s results.
    pub fn width(&self, task: &Task) -> usize {
        match (task, &self.pipe) {
            (Task::Embed { dimensions, .. }, _) => dimensions.unwrap_or(self.info.dim),
            (Task::Score { .. }, Pipeline::Score(ce)) => ce.labels(),
            (Task::Score { .. }, Pipeline::Embed(_)) => 1,
        }
    }

    /// Tokenizes texts as the library does for `task` (its prompt put before each, lowercased
    /// when the directory says so); an input longer than the limit is cut when `truncate`,
    /// refused otherwise.
    pub fn tokenize(
        &self,
        texts: &[&str],
        task: &Task,
        truncate: bool,
    ) -> Result<Vec<Seq>, InputError> {
        let enc = self.embedder()?;
        // Cut at the model's limit here and refused below when the request says so: the
        // library's own refusal re-reads the tokenizer to report the full length, which a
        // server should not do per request.
        let encs = enc
            .tokenize(texts, &embed_options(task))
            .map_err(|e| match e {
                qkv_encoder::Error::Input { msg, .. } => InputError {
                    param: Some("prompt_name"),
                    msg,
                },
                other => InputError::new(format!("cannot tokenize: {other}")),
            })?;
        encs.into_iter()
            .enumerate()
            .map(|(i, e)| self.limit(i, e, truncate))
            .collect()
    }

    /// (query, text) pairs tokenized as the cross-encoder does; a pair longer than the limit
    /// is cut (longest side first) when `truncate`, refused otherwise.
    pub fn tokenize_pairs(
        &self,
        query: &str,
        texts: &[&str],
        truncate: bool,
    ) -> Result<Vec<Seq>, InputError> {
        let Pipeline::Score(ce) = &self.pipe else {
            return Err(InputError::new("the model is not a cross-encoder"));
        };
        let pairs: Vec<(&str, &str)> = texts.iter().map(|t| (query, *t)).collect();
        let encs = ce
            .tokenize(&pairs)
            .map_err(|e| InputError::new(format!("cannot tokenize: {e}")))?;
        encs.into_iter()
            .enumerate()
            .map(|(i, mut e)| {
                if e.truncated && !truncate {
                    return Err(self.too_long(i));
                }
                e.tokens = Vec::new();
                Ok(Seq(e))
            })
            .collect()
    }

    /// An input given as token ids, used as they are (no special tokens are added); the ids
    /// must be below the vocabulary size.
    pub fn seq_from_ids(&self, mut ids: Vec<u32>, truncate: bool) -> Result<Seq, InputError> {
        if ids.is_empty() {
            return Err(InputError::new("an input has no tokens"));
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= self.info.vocab_size) {
            return Err(InputError::new(format!(
                "token id {id} is out of range (vocabulary size {})",
                self.info.vocab_size
            )));
        }
        let truncated = ids.len() > self.info.max_input_tokens;
        if truncated {
            if !truncate {
                return Err(InputError::new(format!(
                    "an input is longer than {} tokens: shorten it, or send \"truncate\": true",
                    self.info.max_input_tokens
                )));
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

    /// One packed forward pass over `seqs`, all of one task: `[n, width(task)]` in input order.
    pub fn run(&self, task: &Task, seqs: Vec<Seq>) -> Result<Vec<f32>, String> {
        let encs: Vec<Encoding> = seqs.into_iter().map(|s| s.0).collect();
        match (task, &self.pipe) {
            (Task::Embed { .. }, Pipeline::Embed(enc)) => enc
                .embed_encodings(&encs, &embed_options(task))
                .map(|e| e.data),
            (Task::Score { raw }, Pipeline::Score(ce)) => {
                let opts = ScoreOptions {
                    raw: *raw,
                    batch_size: 0,
                };
                ce.score_encodings(&encs, &opts).map(|s| s.data)
            }
            _ => {
                return Err(format!(
                    "the {} model cannot run {task:?}",
                    self.info.kind.as_str()
                ))
            }
        }
        .map_err(|e| e.to_string())
    }

    /// Runs one input through the model to fault in its weights and buffers.
    pub fn warm_up(&self) -> Result<(), Error> {
        let (task, seqs) = match self.info.kind {
            Kind::Embedding => {
                let task = Task::Embed {
                    prompt_name: None,
                    prompt: None,
                    dimensions: None,
                    normalize: false,
                };
                let seqs = self.tokenize(&["warm up"], &task, true);
                (task, seqs)
            }
            Kind::Reranker => (
                Task::Score { raw: true },
                self.tokenize_pairs("warm up", &["the model"], true),
            ),
        };
        let err = |msg: String| Error::Model {
            path: self.root.clone(),
            source: msg.into(),
        };
        let seqs = seqs.map_err(|e| err(e.msg))?;
        self.run(&task, seqs).map(|_| ()).map_err(err)
    }

    fn embedder(&self) -> Result<&SentenceEncoder, InputError> {
        match &self.pipe {
            Pipeline::Embed(enc) => Ok(enc),
            Pipeline::Score(_) => Err(InputError::new("the model is not an embedding model")),
        }
    }

    /// Applies the server's input limit to a library encoding (already cut at the model's):
    /// refused over it unless `truncate`, else cut as the tokenizer cuts, keeping the
    /// trailing special tokens.
    fn limit(&self, index: usize, mut e: Encoding, truncate: bool) -> Result<Seq, InputError> {
        let max = self.info.max_input_tokens;
        e.tokens = Vec::new(); // display strings: not needed, and the queue holds many
        if e.truncated && !truncate {
            return Err(self.too_long(index));
        }
        if e.ids.len() > max {
            if !truncate {
                return Err(self.too_long(index));
            }
            self.cutter.cut(&mut e, max);
        }
        Ok(Seq(e))
    }

    fn too_long(&self, index: usize) -> InputError {
        InputError::new(format!(
            "input {index} is longer than {} tokens: shorten it, or send \"truncate\": true",
            self.info.max_input_tokens
        ))
    }
}

/// The library options of an embedding task (inputs cut at the model's limit: the server
/// refuses them itself when a request does not ask for the cut).
fn embed_options(task: &Task) -> EmbedOptions {
    match task {
        Task::Embed {
            prompt_name,
            prompt,
            dimensions,
            normalize,
        } => EmbedOptions {
            prompt_name: prompt_name.clone(),
            prompt: prompt.clone(),
            dimensions: *dimensions,
            normalize: Some(*normalize),
            ..EmbedOptions::default()
        },
        Task::Score { .. } => EmbedOptions::default(),
    }
}

fn pooling_name(p: Pooling) -> &'static str {
    match p {
        Pooling::Mean => "mean",
        Pooling::Cls => "cls",
        Pooling::Max => "max",
        Pooling::MeanSqrtLen => "mean_sqrt_len",
        Pooling::WeightedMean => "weightedmean",
        Pooling::LastToken => "lasttoken",
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

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
