//! Text in, sentence embeddings out: tokenizer → BERT → pooling → optional L2 normalization,
//! with sentence-transformers' settings read from the model directory.
//!
//! Thread-safe: `&SentenceEncoder` is `Sync`, and concurrent calls run at the same time, each
//! with its own scratch buffers taken from a small pool.
//!
//! ```no_run
//! use qkv_encoder::SentenceEncoder;
//! let model = SentenceEncoder::open("all-MiniLM-L6-v2")?;
//! let emb = model.embed(&["The cat sits on the mat.", "A feline rests on a rug."])?;
//! let cos: f32 = emb.row(0).iter().zip(emb.row(1)).map(|(a, b)| a * b).sum();
//! println!("cosine similarity {cos:.3}");
//! # Ok::<(), qkv_encoder::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::io::tokenizer::{Encoding, Tokenizer};
use crate::models::bert::model::BertModel;
use crate::nn::batch::{Batch, TokenSeq};
use crate::nn::precision::{Precision, PrecisionPlan};
use crate::sentence::model_dir::ModelDir;
use crate::sentence::pooling::{l2_normalize, pool, Pooling};
use crate::sentence::scratch::{Scratch, ScratchPool};
use std::path::Path;

/// Embeddings of a batch, rows in input order.
#[derive(Clone, Debug, PartialEq)]
pub struct Embeddings {
    /// `[n, dim]` row-major.
    pub data: Vec<f32>,
    /// Width of one embedding.
    pub dim: usize,
    /// Number of real tokens processed (special tokens included).
    pub tokens: usize,
    /// How many inputs were cut at the model's maximum length.
    pub truncated: usize,
}

impl Embeddings {
    /// Number of embeddings.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    /// Embedding `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

/// Options that override the model directory's settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct EmbedOptions {
    /// Pooling instead of the directory's.
    pub pooling: Option<Pooling>,
    /// Normalize (or not) instead of the directory's choice.
    pub normalize: Option<bool>,
    /// Sentences per forward pass (0 = all at once).
    pub batch_size: usize,
}

/// How a model is loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LoadOptions {
    /// Precision of the linear layers; `None`: the directory's (f32 for a plain checkpoint,
    /// the saved precision for a directory written by `qkv quantize`, which loads only at it).
    pub precision: Option<Precision>,
    /// A plan to use instead of [`PrecisionPlan::recommended`] (for measuring choices); it
    /// wins over `precision`. Ignored for a quantized directory, which loads with its own.
    pub plan: Option<PrecisionPlan>,
}

impl LoadOptions {
    /// Load at `p`.
    pub fn precision(p: Precision) -> Self {
        LoadOptions {
            precision: Some(p),
            plan: None,
        }
    }

    /// The plan to load `dir` with, or an error when a quantized directory is asked for
    /// another precision.
    pub fn plan_for(&self, dir: &ModelDir) -> Result<PrecisionPlan> {
        match (&dir.quantized, self.precision) {
            (Some(saved), Some(p)) if p != saved.precision => Err(Error::Config(format!(
                "{} holds {} weights (qkv_quantization.json) and loads only at {}, not {p}; \
                 load the original checkpoint for {p}",
                dir.root.display(),
                saved.precision,
                saved.precision
            ))),
            (Some(saved), _) => Ok(*saved),
            (None, p) => Ok(self
                .plan
                .unwrap_or_else(|| PrecisionPlan::recommended(p.unwrap_or_default()))),
        }
    }
}

/// A sentence-transformers model ready to embed text.
pub struct SentenceEncoder {
    dir: ModelDir,
    model: BertModel,
    tokenizer: Tokenizer,
    scratch: ScratchPool,
}

impl std::fmt::Debug for SentenceEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceEncoder")
            .field("dir", &self.dir.root)
            .finish_non_exhaustive()
    }
}

impl SentenceEncoder {
    /// Loads a model directory (config.json, model.safetensors, tokenizer.json, and the
    /// sentence-transformers files when present) at the directory's precision (f32 for a
    /// plain checkpoint).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        SentenceEncoder::open_with(dir, &LoadOptions::default())
    }

    /// [`SentenceEncoder::open`] with options: the precision of the linear layers.
    ///
    /// ```no_run
    /// use qkv_encoder::{LoadOptions, Precision, SentenceEncoder};
    /// let model = SentenceEncoder::open_with("all-MiniLM-L6-v2", &LoadOptions::precision(Precision::Int8))?;
    /// assert_eq!(model.precision(), Precision::Int8);
    /// # Ok::<(), qkv_encoder::Error>(())
    /// ```
    pub fn open_with(dir: impl AsRef<Path>, opts: &LoadOptions) -> Result<Self> {
        let dir = ModelDir::open(dir)?;
        let plan = opts.plan_for(&dir)?;
        let model = BertModel::load_with(&dir.weights()?, &dir.config, &plan)?;
        let tokenizer = dir.tokenizer()?;
        Ok(SentenceEncoder {
            dir,
            model,
            tokenizer,
            scratch: ScratchPool::new(std::thread::available_parallelism().map_or(4, usize::from)),
        })
    }

    /// The model directory's settings.
    pub fn model_dir(&self) -> &ModelDir {
        &self.dir
    }
    /// The BERT encoder.
    pub fn model(&self) -> &BertModel {
        &self.model
    }
    /// The tokenizer (truncating at the directory's `max_seq_length`).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }
    /// Embedding width.
    pub fn dim(&self) -> usize {
        self.model.hidden_size()
    }
    /// The precision the model was loaded at.
    pub fn precision(&self) -> Precision {
        self.model.precision_plan().precision
    }

    /// Embeds texts with the directory's pooling and normalization.
    pub fn embed(&self, texts: &[&str]) -> Result<Embeddings> {
        self.embed_with(texts, &EmbedOptions::default())
    }

    /// Embeds texts with options.
    pub fn embed_with(&self, texts: &[&str], opts: &EmbedOptions) -> Result<Embeddings> {
        let enc = self.tokenizer.encode_batch(texts)?;
        self.embed_encodings(&enc, opts)
    }

    /// Embeds already tokenized inputs: the entry for a caller that tokenizes and batches on
    /// its own (a server), or times the model without the tokenizer. Inputs are sorted by
    /// length and cut into batches of `batch_size` so each batch has similar lengths; results
    /// come back in input order.
    pub fn embed_encodings(&self, enc: &[Encoding], opts: &EmbedOptions) -> Result<Embeddings> {
        let mut scratch = self.scratch.take();
        let r = self.embed_in(enc, opts, &mut scratch);
        self.scratch.give(scratch);
        r
    }

    /// [`SentenceEncoder::embed_encodings`] in the given scratch buffers.
    fn embed_in(
        &self,
        enc: &[Encoding],
        opts: &EmbedOptions,
        scratch: &mut Scratch,
    ) -> Result<Embeddings> {
        let d = self.dim();
        let pooling = opts.pooling.unwrap_or(self.dir.pooling);
        let normalize = opts.normalize.unwrap_or(self.dir.normalize);
        let mut order: Vec<usize> = (0..enc.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(enc[i].ids.len()));
        let bs = if opts.batch_size == 0 {
            enc.len().max(1)
        } else {
            opts.batch_size
        };
        let mut data = vec![0.0f32; enc.len() * d];
        let Scratch { ws, hidden } = scratch;
        let mut pooled = Vec::new();
        for chunk in order.chunks(bs) {
            let seqs: Vec<TokenSeq> = chunk
                .iter()
                .map(|&i| TokenSeq {
                    ids: &enc[i].ids,
                    type_ids: Some(&enc[i].type_ids),
                })
                .collect();
            self.model.forward_with(&seqs, ws, hidden, None)?;
            pooled.clear();
            pooled.resize(chunk.len() * d, 0.0);
            let offsets = Batch::from_tokens(&seqs)?.offsets();
            pool(hidden, &offsets, d, pooling, &mut pooled)?;
            if normalize {
                l2_normalize(&mut pooled, d)?;
            }
            for (k, &i) in chunk.iter().enumerate() {
                data[i * d..(i + 1) * d].copy_from_slice(&pooled[k * d..(k + 1) * d]);
            }
        }
        Ok(Embeddings {
            data,
            dim: d,
            tokens: enc.iter().map(|e| e.ids.len()).sum(),
            truncated: enc.iter().filter(|e| e.truncated).count(),
        })
    }
}
