//! `qkv embed`: sentence embeddings from a model directory, streamed in batches.

use crate::embed_input::Source;
use crate::embed_output::{Format, Writer};
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use qkv_encoder::{
    resolve_model, EmbedOptions, Error, LoadOptions, Pooling, Precision, SentenceEncoder,
};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

/// Pooling as a command-line value.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum PoolingArg {
    /// Mean of the token vectors.
    Mean,
    /// The `[CLS]` vector.
    Cls,
    /// Elementwise max.
    Max,
    /// Mean divided by √length.
    MeanSqrtLen,
    /// Mean weighted by position.
    Weightedmean,
    /// The last token.
    Lasttoken,
}

/// `qkv embed` arguments.
#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// Model directory (config.json, model.safetensors, tokenizer.json, …), or a Hugging Face
    /// id (`sentence-transformers/all-MiniLM-L6-v2`) found in the local Hugging Face cache or
    /// downloaded into it.
    #[arg(long)]
    pub model: PathBuf,
    /// Texts to embed (or use --input).
    pub text: Vec<String>,
    /// Input file: one text per line, or JSONL with a "text" field; `-` for stdin.
    #[arg(long)]
    pub input: Option<String>,
    /// Output file (default: stdout, JSONL only).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Sentences per forward pass.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Pooling (default: the model directory's).
    #[arg(long, value_enum)]
    pub pooling: Option<PoolingArg>,
    /// Do not L2-normalize (default: the model directory's choice).
    #[arg(long)]
    pub no_normalize: bool,
    /// Put the model's prompt of this name before each text (default: the model's default
    /// prompt, if any).
    #[arg(long, conflicts_with = "prompt")]
    pub prompt_name: Option<String>,
    /// Put this text before each text instead of the model's prompt (`--prompt ""` for none).
    #[arg(long)]
    pub prompt: Option<String>,
    /// Matryoshka: keep the first N values of each embedding, then normalize (when the model
    /// normalizes).
    #[arg(long, value_name = "N")]
    pub dimensions: Option<usize>,
    /// Cut texts longer than the model's limit (the default; counted in the summary).
    #[arg(long, overrides_with = "no_truncate")]
    pub truncate: bool,
    /// Fail on a text longer than the model's limit, naming it and its token count.
    #[arg(long, overrides_with = "truncate")]
    pub no_truncate: bool,
    /// Precision of the linear layers: f32 (exact), bf16 or int8 (default: the directory's,
    /// f32 for a plain checkpoint).
    #[arg(long, value_parser = crate::precision::parse)]
    pub precision: Option<Precision>,
}

/// Runs `qkv embed`.
pub fn run(a: EmbedArgs) -> Result<()> {
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    qkv_core::with_threads(threads, || run_inner(&a))?
}

fn run_inner(a: &EmbedArgs) -> Result<()> {
    if a.batch_size == 0 {
        anyhow::bail!("--batch-size must be at least 1");
    }
    if a.dimensions == Some(0) {
        anyhow::bail!("--dimensions must be at least 1");
    }
    let dir = resolve_model(&a.model)
        .with_context(|| format!("cannot load model {}", a.model.display()))?;
    let model = SentenceEncoder::open_with(&dir, &LoadOptions::with_precision(a.precision))
        .with_context(|| format!("cannot load model {}", dir.display()))?;
    crate::precision::warn_if_slow(model.precision());
    warn_if_classifier(&model);
    let mut src = match (&a.input, a.text.is_empty()) {
        (Some(_), false) => anyhow::bail!("give texts as arguments or --input, not both"),
        (Some(p), true) => Source::open(p)?,
        (None, false) => Source::Args(a.text.clone().into_iter()),
        (None, true) => anyhow::bail!("nothing to embed: give texts or --input FILE"),
    };
    let opts = EmbedOptions {
        pooling: a.pooling.map(|p| match p {
            PoolingArg::Mean => Pooling::Mean,
            PoolingArg::Cls => Pooling::Cls,
            PoolingArg::Max => Pooling::Max,
            PoolingArg::MeanSqrtLen => Pooling::MeanSqrtLen,
            PoolingArg::Weightedmean => Pooling::WeightedMean,
            PoolingArg::Lasttoken => Pooling::LastToken,
        }),
        normalize: if a.no_normalize { Some(false) } else { None },
        batch_size: a.batch_size,
        prompt_name: a.prompt_name.clone(),
        prompt: a.prompt.clone(),
        dimensions: a.dimensions,
        truncate: !a.no_truncate,
    };
    // Option errors (an unknown prompt name, too many dimensions) before any output exists.
    model.prompt(&opts)?;
    if let Some(n) = a.dimensions.filter(|&n| n > model.dim()) {
        anyhow::bail!(
            "--dimensions {n} is larger than the model's embedding width {}",
            model.dim()
        );
    }
    let mut out = Writer::create(
        a.output.as_deref(),
        a.format,
        a.dimensions.unwrap_or(model.dim()),
    )?;
    let start = Instant::now();
    let (mut n, mut tokens, mut truncated) = (0usize, 0usize, 0usize);
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template("{spinner} {pos} sentences {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b
    });
    let result: Result<()> = (|| loop {
        let chunk = src.next_chunk(a.batch_size)?;
        if chunk.is_empty() {
            return Ok(());
        }
        let texts: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let e = match model.embed_with(&texts, &opts) {
            Ok(e) => e,
            // The index counts from 0 over the whole run, as the output's "index" does.
            Err(Error::TooLong { index, tokens, max }) => anyhow::bail!(
                "input {} (index from 0) has {tokens} tokens, more than the model's limit of \
                 {max} (--no-truncate is set; drop it to cut long inputs)",
                n + index
            ),
            Err(e) => {
                return Err(e).with_context(|| format!("inputs {}..{}", n + 1, n + texts.len()))
            }
        };
        out.rows(n, &e.data)?;
        n += texts.len();
        tokens += e.tokens;
        truncated += e.truncated;
        if let Some(b) = &bar {
            if n > a.batch_size {
                b.set_position(n as u64);
            }
        }
    })();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Err(e) = result {
        out.abandon();
        return Err(e);
    }
    out.finish()?;
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "qkv embed: {n} sentences, {tokens} tokens, {secs:.3} s, {:.1} sentences/s, {truncated} truncated at {} tokens",
        n as f64 / secs.max(1e-9),
        model.model_dir().max_seq_length
    );
    Ok(())
}

/// A reranker checkpoint embeds as sentence-transformers embeds it (the encoder's last hidden
/// state, pooled; the classification head unused), which is rarely what was meant: say so once.
fn warn_if_classifier(model: &SentenceEncoder) {
    let dir = model.model_dir();
    if dir.config.is_classifier() {
        eprintln!(
            "qkv embed: note: {} is a sequence-classification checkpoint ({}); embedding its \
             encoder with {:?} pooling and no head, as sentence-transformers does. For relevance \
             scores use `qkv rerank`.",
            dir.root.display(),
            dir.config.architectures.join(", "),
            dir.pooling
        );
    }
}
