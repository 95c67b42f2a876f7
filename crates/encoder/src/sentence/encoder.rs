//! Text in, sentence embeddings out: prompt → tokenizer → BERT → pooling → Matryoshka
//! truncation → optional L2 normalization, with sentence-transformers' settings read from the
//! model directory.
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

use crate::error::{input_err, Error, Result};
use crate::io::tokenizer::{Encoding, Tokenizer};
use crate::models::Model;
use crate::nn::batch::{Batch, TokenSeq};
use crate::nn::precision::Precision;
use crate::sentence::load::LoadOptions;
use crate::sentence::model_dir::ModelDir;
use crate::sentence::pooling::{l2_normalize, pool_excluding, Pooling};
use crate::sentence::scratch::{Scratch, ScratchPool};
use std::path::Path;

/// Embeddings of a batch, rows in input order.
#[derive(Clone, Debug, PartialEq)]
pub struct Embeddings {
    /// `[n, dim]` row-major.
    pub data: Vec<f32>,
    /// Width of one embedding.
    pub dim: usize,
    /// Number of real tokens processed (special tokens and prompts included).
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

/// Options that override the model directory's settings. `Default` keeps every setting of
/// the directory and truncates long inputs.
#[derive(Clone, Debug)]
pub struct EmbedOptions {
    /// Pooling instead of the directory's.
    pub pooling: Option<Pooling>,
    /// Normalize (or not) instead of the directory's choice.
    pub normalize: Option<bool>,
    /// Sentences per forward pass (0 = all at once).
    pub batch_size: usize,
    /// The prompt of this name from `config_sentence_transformers.json` instead of the default
    /// prompt (an unknown name is an error listing the known ones).
    pub prompt_name: Option<String>,
    /// This prompt text instead of the default prompt (`Some("")` for none at all). Giving it
    /// together with `prompt_name` is an error.
    pub prompt: Option<String>,
    /// Matryoshka: keep the first `dimensions` values of each embedding, then normalize when
    /// normalizing (1 ≤ `dimensions` ≤ the model's width).
    pub dimensions: Option<usize>,
    /// Cut inputs longer than the model's limit (counted in [`Embeddings::truncated`]); when
    /// false, such an input is an [`Error::TooLong`] naming it and its length.
    pub truncate: bool,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions {
            pooling: None,
            normalize: None,
            batch_size: 0,
            prompt_name: None,
            prompt: None,
            dimensions: None,
            truncate: true,
        }
    }
}

/// A sentence-transformers model ready to embed text.
pub struct SentenceEncoder {
    dir: ModelDir,
    model: Model,
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
    /// let opts = LoadOptions::precision(Precision::Int8);
    /// let model = SentenceEncoder::open_with("all-MiniLM-L6-v2", &opts)?;
    /// assert_eq!(model.precision(), Precision::Int8);
    /// # Ok::<(), qkv_encoder::Error>(())
    /// ```
    pub fn open_with(dir: impl AsRef<Path>, opts: &LoadOptions) -> Result<Self> {
        let dir = ModelDir::open(dir)?;
        let plan = opts.plan_for(&dir.root, dir.quantized.as_ref())?;
        let model = Model::load_with(&dir.weights()?, &dir.config, &plan)?;
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
    /// The encoder (any family).
    pub fn model(&self) -> &Model {
        &self.model
    }
    /// The tokenizer (truncating at the directory's `max_seq_length`).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }
    /// Embedding width (before any Matryoshka truncation).
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
        let enc = self.tokenize(texts, opts)?;
        self.embed_encodings(&enc, opts)
    }

    /// The prompt text the options select (the directory's default prompt unless told
    /// otherwise; `None` for no prompt).
    pub fn prompt<'a>(&'a self, opts: &'a EmbedOptions) -> Result<Option<&'a str>> {
        self.dir
            .prompts
            .resolve(opts.prompt_name.as_deref(), opts.prompt.as_deref())
    }

    /// Tokenizes texts as sentence-transformers does before the model: the selected prompt
    /// put before each text, lowercased when the directory says `do_lower_case`, and cut at
    /// the sequence limit (or, with `truncate: false`, an [`Error::TooLong`] for the first
    /// input that would be cut).
    pub fn tokenize(&self, texts: &[&str], opts: &EmbedOptions) -> Result<Vec<Encoding>> {
        let prompt = self.prompt(opts)?.unwrap_or("");
        let prepared: Vec<String> = texts.iter().map(|t| self.prepare(prompt, t)).collect();
        let refs: Vec<&str> = prepared.iter().map(String::as_str).collect();
        // One text (a single request): encoded on this thread; the batch call would hand it
        // to the tokenizer's parallel iterator, a fork/join for a few microseconds of work.
        let enc = match refs[..] {
            [one] => vec![self.tokenizer.encode(one)?],
            _ => self.tokenizer.encode_batch(&refs)?,
        };
        if !opts.truncate {
            if let Some(index) = enc.iter().position(|e| e.truncated) {
                // Only on this error path: the length the input would have uncut.
                let whole = Tokenizer::from_file(self.tokenizer.path(), u32::MAX as usize)?;
                return Err(Error::TooLong {
                    index,
                    tokens: whole.encode(refs[index])?.ids.len(),
                    max: self.tokenizer.max_len(),
                });
            }
        }
        Ok(enc)
    }

    /// `prompt + text`, lowercased as sentence-transformers' `do_lower_case` does (a
    /// `Lowercase` normalizer: each character's lowercase mapping).
    fn prepare(&self, prompt: &str, text: &str) -> String {
        let joined = [prompt, text].concat();
        if self.dir.do_lower_case {
            joined.chars().flat_map(char::to_lowercase).collect()
        } else {
            joined
        }
    }

    /// How many leading tokens pooling leaves out: none unless the pooling config says
    /// `include_prompt: false` and there is a prompt; then the prompt's own token count, with
    /// its leading special token and without a trailing one, as sentence-transformers counts
    /// it (a trailing token is special when the post-processor adds it to every input).
    fn prompt_skip(&self, opts: &EmbedOptions) -> Result<usize> {
        let prompt = match self.prompt(opts)? {
            Some(p) if !p.is_empty() && !self.dir.include_prompt => p,
            _ => return Ok(0),
        };
        let ids = self.tokenizer.encode(&self.prepare(prompt, ""))?.ids;
        let specials = self.tokenizer.encode("")?.ids;
        let trailing_special = ids.last().is_some_and(|id| specials.contains(id));
        Ok(ids.len() - usize::from(trailing_special))
    }

    /// Embeds already tokenized inputs: the entry for a caller that tokenizes and batches on
    /// its own (a server), or times the model without the tokenizer. Inputs are sorted by
    /// length and cut into batches of `batch_size` so each batch has similar lengths; results
    /// come back in input order. The encodings should come from [`SentenceEncoder::tokenize`]
    /// with the same options: with `include_prompt: false`, pooling leaves out the selected
    /// prompt's tokens.
    pub fn embed_encodings(&self, enc: &[Encoding], opts: &EmbedOptions) -> Result<Embeddings> {
        let d = self.dim();
        let dim = match opts.dimensions {
            None => d,
            Some(n) if n == 0 || n > d => {
                return Err(input_err(
                    "embed",
                    format!("dimensions = {n} must be in 1..={d} (the model's width)"),
                ))
            }
            Some(n) => n,
        };
        let skip = self.prompt_skip(opts)?;
        let mut scratch = self.scratch.take();
        let r = self.embed_in(enc, opts, dim, skip, &mut scratch);
        self.scratch.give(scratch);
        r
    }

    /// [`SentenceEncoder::embed_encodings`] in the given scratch buffers.
    fn embed_in(
        &self,
        enc: &[Encoding],
        opts: &EmbedOptions,
        dim: usize,
        skip: usize,
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
        let mut data = vec![0.0f32; enc.len() * dim];
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
            self.model.forward_with(&seqs, ws, hidden)?;
            pooled.clear();
            pooled.resize(chunk.len() * d, 0.0);
            let offsets = Batch::from_tokens(&seqs)?.offsets();
            pool_excluding(hidden, &offsets, d, pooling, skip, &mut pooled)?;
            // Matryoshka: the first `dim` values of each row.
            for (k, &i) in chunk.iter().enumerate() {
                data[i * dim..(i + 1) * dim].copy_from_slice(&pooled[k * d..k * d + dim]);
            }
        }
        // Normalized after truncation, so every row has unit length. sentence-transformers
        // normalizes in its Normalize module, before `truncate_dim`, and again only with
        // `normalize_embeddings=True`; this is that last form (the same up to rounding).
        if normalize {
            l2_normalize(&mut data, dim)?;
        }
        Ok(Embeddings {
            data,
            dim,
            tokens: enc.iter().map(|e| e.ids.len()).sum(),
            truncated: enc.iter().filter(|e| e.truncated).count(),
        })
    }
}
