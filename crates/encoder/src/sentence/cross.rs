//! Cross-encoders: a (query, document) pair in, a relevance score out — rerankers and
//! sentence-pair classifiers (`*ForSequenceClassification` checkpoints of every family).
//!
//! Scores as sentence-transformers' `CrossEncoder.predict` gives them: `sigmoid(logit)` for a
//! one-label model, the softmax row for several labels; [`ScoreOptions::raw`] returns the
//! logits. Pairs are tokenized with the tokenizer's pair template and truncated together
//! (`longest_first`) at `tokenizer_config.json`'s `model_max_length` (capped by the model's
//! position limit). Token-type ids are fed only when the tokenizer class feeds them
//! (`model_input_names`), as transformers does.
//!
//! ```no_run
//! use qkv_encoder::CrossEncoder;
//! let model = CrossEncoder::open("ms-marco-MiniLM-L-6-v2")?;
//! let ranked = model.rank("How do cats rest?", &["Cats nap for hours.", "Stock prices fell."])?;
//! println!("best: document {} ({:.3})", ranked[0].index, ranked[0].score);
//! # Ok::<(), qkv_encoder::Error>(())
//! ```

use crate::error::{input_err, Error, Result};
use crate::io::tokenizer::{Encoding, Tokenizer};
use crate::models::heads::ClassifierHead;
use crate::models::{Model, ModelConfig};
use crate::nn::batch::{Batch, TokenSeq};
use crate::nn::precision::Precision;
use crate::sentence::load::{saved_plan, LoadOptions};
use crate::sentence::scratch::{Scratch, ScratchPool};
use crate::sentence::tokenizer_config::TokenizerConfig;
use std::path::{Path, PathBuf};

/// Options of one scoring call.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScoreOptions {
    /// Logits instead of sigmoid / softmax scores.
    pub raw: bool,
    /// Pairs per forward pass (0 = all at once).
    pub batch_size: usize,
}

/// Scores of a batch of pairs: `labels` values per pair, pairs in input order.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    /// `[n, labels]` row-major.
    pub data: Vec<f32>,
    /// Values per pair.
    pub labels: usize,
    /// Pairs cut at the maximum length.
    pub truncated: usize,
}

impl Scores {
    /// Scores of pair `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.labels..(i + 1) * self.labels]
    }
    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.labels).unwrap_or(0)
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// One document of a ranking.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ranked {
    /// Its index in the input.
    pub index: usize,
    /// Its score (sigmoid of the logit).
    pub score: f32,
}

/// A sequence-classification model ready to score pairs.
pub struct CrossEncoder {
    root: PathBuf,
    config: ModelConfig,
    model: Model,
    head: ClassifierHead,
    tokenizer: Tokenizer,
    type_ids: bool,
    scratch: ScratchPool,
}

impl std::fmt::Debug for CrossEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrossEncoder")
            .field("dir", &self.root)
            .finish_non_exhaustive()
    }
}

impl CrossEncoder {
    /// Loads a classification checkpoint (`config.json` naming a `*ForSequenceClassification`
    /// architecture, `model.safetensors`, `tokenizer.json`).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        CrossEncoder::open_with(dir, &LoadOptions::default())
    }

    /// [`CrossEncoder::open`] with options: the precision of the encoder's linear layers (the
    /// classification head stays f32).
    pub fn open_with(dir: impl AsRef<Path>, opts: &LoadOptions) -> Result<Self> {
        let dir = dir.as_ref();
        let cfg_path = dir.join("config.json");
        let config = ModelConfig::from_file(&cfg_path)?;
        if !config.is_classifier() {
            return Err(Error::Config(format!(
                "{}: architectures {:?} name no sequence-classification model; a cross-encoder \
                 needs e.g. BertForSequenceClassification",
                cfg_path.display(),
                config.architectures
            )));
        }
        let weights = crate::io::weights::Weights::open(dir.join("model.safetensors"))?;
        let plan = opts.plan_for(dir, saved_plan(dir)?.as_ref())?;
        let model = Model::load_with(&weights, &config, &plan)?;
        let head = ClassifierHead::load(&weights, &config)?;
        let tc = TokenizerConfig::read(dir)?;
        let max_len = tc
            .model_max_length
            .map_or(config.max_tokens(), |m| m.min(config.max_tokens()));
        let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"), max_len)?;
        if tokenizer
            .max_id()
            .is_some_and(|id| id as usize >= config.vocab_size())
        {
            return Err(Error::Config(format!(
                "{}: token ids reach past config.json's vocab_size = {}",
                tokenizer.path().display(),
                config.vocab_size()
            )));
        }
        Ok(CrossEncoder {
            root: dir.to_path_buf(),
            type_ids: tc.uses_token_types(),
            config,
            model,
            head,
            tokenizer,
            scratch: ScratchPool::new(std::thread::available_parallelism().map_or(4, usize::from)),
        })
    }

    /// The precision the encoder was loaded at.
    pub fn precision(&self) -> Precision {
        self.model.precision_plan().precision
    }

    /// The parsed `config.json`.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }
    /// The encoder under the head.
    pub fn model(&self) -> &Model {
        &self.model
    }
    /// The tokenizer (pair truncation at the model's maximum length).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }
    /// Values per pair.
    pub fn labels(&self) -> usize {
        self.head.labels()
    }

    /// Tokenizes pairs as [`CrossEncoder::score`] does.
    pub fn tokenize(&self, pairs: &[(&str, &str)]) -> Result<Vec<Encoding>> {
        pairs
            .iter()
            .map(|(a, b)| {
                let mut e = self.tokenizer.encode_pair(a, b)?;
                if !self.type_ids {
                    e.type_ids.iter_mut().for_each(|t| *t = 0);
                }
                Ok(e)
            })
            .collect()
    }

    /// Scores of pairs (sigmoid for one label, softmax rows for several).
    pub fn score(&self, pairs: &[(&str, &str)]) -> Result<Scores> {
        self.score_with(pairs, &ScoreOptions::default())
    }

    /// Scores with options.
    pub fn score_with(&self, pairs: &[(&str, &str)], opts: &ScoreOptions) -> Result<Scores> {
        let enc = self.tokenize(pairs)?;
        self.score_encodings(&enc, opts)
    }

    /// Scores already tokenized pairs (a server's entry).
    pub fn score_encodings(&self, enc: &[Encoding], opts: &ScoreOptions) -> Result<Scores> {
        let mut scratch = self.scratch.take();
        let r = self.logits_in(enc, opts, &mut scratch);
        self.scratch.give(scratch);
        let mut data = r?;
        let labels = self.labels();
        if !opts.raw {
            for row in data.chunks_exact_mut(labels) {
                activate(row);
            }
        }
        Ok(Scores {
            data,
            labels,
            truncated: enc.iter().filter(|e| e.truncated).count(),
        })
    }

    /// Documents ranked by relevance to `query`, best first (one-label models).
    pub fn rank(&self, query: &str, docs: &[&str]) -> Result<Vec<Ranked>> {
        if self.labels() != 1 {
            return Err(input_err(
                "CrossEncoder::rank",
                format!(
                    "the model has {} labels; ranking needs a one-label reranker (use score)",
                    self.labels()
                ),
            ));
        }
        let pairs: Vec<(&str, &str)> = docs.iter().map(|d| (query, *d)).collect();
        let s = self.score(&pairs)?;
        let mut ranked: Vec<Ranked> = s
            .data
            .iter()
            .enumerate()
            .map(|(index, &score)| Ranked { index, score })
            .collect();
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
        Ok(ranked)
    }

    fn logits_in(
        &self,
        enc: &[Encoding],
        opts: &ScoreOptions,
        s: &mut Scratch,
    ) -> Result<Vec<f32>> {
        let labels = self.labels();
        let mut out = vec![0.0f32; enc.len() * labels];
        let mut order: Vec<usize> = (0..enc.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(enc[i].ids.len()));
        let bs = if opts.batch_size == 0 {
            enc.len().max(1)
        } else {
            opts.batch_size
        };
        for chunk in order.chunks(bs) {
            let seqs: Vec<TokenSeq> = chunk
                .iter()
                .map(|&i| TokenSeq {
                    ids: &enc[i].ids,
                    type_ids: Some(&enc[i].type_ids),
                })
                .collect();
            self.model.forward_with(&seqs, &mut s.ws, &mut s.hidden)?;
            let offsets = Batch::from_tokens(&seqs)?.offsets();
            let logits = self.head.logits(&s.hidden, &offsets)?;
            for (k, &i) in chunk.iter().enumerate() {
                out[i * labels..(i + 1) * labels]
                    .copy_from_slice(&logits[k * labels..(k + 1) * labels]);
            }
        }
        Ok(out)
    }
}

/// Sigmoid of a single logit, softmax of a row.
fn activate(row: &mut [f32]) {
    if let [x] = row {
        *x = 1.0 / (1.0 + (-*x).exp());
        return;
    }
    let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let mut z = 0.0f32;
    for x in row.iter_mut() {
        *x = (*x - m).exp();
        z += *x;
    }
    row.iter_mut().for_each(|x| *x /= z);
}
