//! `qkv embed`: sentence embeddings from a model directory, streamed in batches.

use crate::embed_input::Source;
use crate::embed_output::{Format, Writer};
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use qkv_encoder::{EmbedOptions, LoadOptions, Pooling, Precision, SentenceEncoder};
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
}

/// `qkv embed` arguments.
#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// Model directory (config.json, model.safetensors, tokenizer.json, …).
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
    let load = LoadOptions {
        precision: a.precision,
        plan: None,
    };
    let model = SentenceEncoder::open_with(&a.model, &load)
        .with_context(|| format!("cannot load model {}", a.model.display()))?;
    crate::precision::warn_if_slow(model.precision());
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
        }),
        normalize: if a.no_normalize { Some(false) } else { None },
        batch_size: a.batch_size,
    };
    let mut out = Writer::create(a.output.as_deref(), a.format, model.dim())?;
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
        let e = model
            .embed_with(&texts, &opts)
            .with_context(|| format!("inputs {}..{}", n + 1, n + texts.len()))?;
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
