//! Text in, sentence embeddings out: tokenizer → BERT → pooling → optional L2 normalization,
//! with sentence-transformers' settings read from the model directory.
//!
//! ```no_run
//! use qkv_encoder::embedder::SentenceEncoder;
//! let model = SentenceEncoder::open("all-MiniLM-L6-v2".as_ref())?;
//! let emb = model.embed(&["The cat sits on the mat.", "A feline rests on a rug."])?;
//! let cos: f32 = emb.row(0).iter().zip(emb.row(1)).map(|(a, b)| a * b).sum();
//! println!("cosine similarity {cos:.3}");
//! # Ok::<(), qkv_encoder::Error>(())
//! ```

use crate::bert::{BertModel, TokenSeq};
use crate::encoder::Workspace;
use crate::error::{input_err, Result};
use crate::pooling::{l2_normalize, pool, Pooling};
use crate::sentence::ModelDir;
use crate::tokenize::{Encoding, Tokenizer};
use std::path::Path;
use std::sync::Mutex;

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

/// A sentence-transformers model ready to embed text.
pub struct SentenceEncoder {
    dir: ModelDir,
    model: BertModel,
    tokenizer: Tokenizer,
    ws: Mutex<(Workspace, Vec<f32>)>,
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
    /// sentence-transformers files when present).
    pub fn open(dir: &Path) -> Result<Self> {
        let dir = ModelDir::open(dir)?;
        let model = BertModel::load(&dir.weights()?, &dir.config)?;
        let tokenizer = dir.tokenizer()?;
        Ok(SentenceEncoder {
            dir,
            model,
            tokenizer,
            ws: Mutex::new((Workspace::default(), Vec::new())),
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

    /// Embeds texts with the directory's pooling and normalization.
    pub fn embed(&self, texts: &[&str]) -> Result<Embeddings> {
        self.embed_with(texts, &EmbedOptions::default())
    }

    /// Embeds texts with options.
    pub fn embed_with(&self, texts: &[&str], opts: &EmbedOptions) -> Result<Embeddings> {
        let enc = self.tokenizer.encode_batch(texts)?;
        self.embed_encodings(&enc, opts)
    }

    /// Embeds already tokenized inputs (e.g. to time the model without the tokenizer).
    /// Inputs are sorted by length and cut into batches of `batch_size` so each batch has
    /// similar lengths; results come back in input order.
    pub fn embed_encodings(&self, enc: &[Encoding], opts: &EmbedOptions) -> Result<Embeddings> {
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
        let mut guard = self
            .ws
            .lock()
            .map_err(|_| input_err("SentenceEncoder", "a previous call panicked"))?;
        let (ws, hidden) = &mut *guard;
        let mut pooled = Vec::new();
        for chunk in order.chunks(bs) {
            let seqs: Vec<TokenSeq> = chunk
                .iter()
                .map(|&i| TokenSeq {
                    ids: &enc[i].ids,
                    type_ids: Some(&enc[i].type_ids),
                })
                .collect();
            self.model.forward(&seqs, ws, hidden, None)?;
            pooled.clear();
            pooled.resize(chunk.len() * d, 0.0);
            pool(hidden, &BertModel::offsets(&seqs), d, pooling, &mut pooled)?;
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
