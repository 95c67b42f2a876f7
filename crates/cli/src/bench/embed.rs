//! `qkv bench embed`: sentence-embedding throughput of a model directory on the MiniLM
//! benchmark batch (32 sentences), excluding and including tokenization, and on a long-input
//! batch (24 inputs truncated at the model's maximum length), at one or more precisions timed
//! in the same run. Embeddings are checked against the batch's expected ones before anything
//! is timed (f32: max abs ≤ 1e-4; bf16: cosine ≥ 0.9999; int8: cosine ≥ 0.99): all-MiniLM-L6-v2's
//! ship with qkv; for another model, `--expected FILE` gives them (written by a peer, e.g.
//! `benches/peers/families.py`).
//!
//! `--per-pass 1,2,4,8` and `--latency` measure small passes and single requests instead
//! (`embed_small`), at the first precision given.

use super::embed_small;
use super::options::Common;
use super::report::{self, r3, Row};
use anyhow::{bail, Context, Result};
use qkv_core::perf::interleaved;
use qkv_core::with_threads;
use qkv_encoder::{EmbedOptions, LoadOptions, Precision, SentenceEncoder};
use serde_json::Value;
use std::path::PathBuf;

/// The benchmark batch shipped with qkv (32 English sentences of 12–20 words).
const BATCH32: &str = include_str!("../../../encoder/tests/fixtures/bench/minilm_batch32.json");

#[derive(serde::Deserialize)]
struct Batch {
    sentences: Vec<String>,
    expected_embeddings: Vec<Vec<f32>>,
}

/// `qkv bench embed` arguments.
#[derive(clap::Args, Clone, Debug)]
pub struct EmbedBenchArgs {
    /// Model directory (e.g. the one `scripts/fetch_model.sh` prints).
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub common: Common,
    /// Precisions to time side by side, comma-separated: f32, bf16, int8.
    #[arg(long, value_parser = crate::precision::parse, value_delimiter = ',', default_value = "f32")]
    pub precision: Vec<Precision>,
    /// Small passes instead: the batch sorted by length and cut into passes of these many
    /// sentences (comma-separated), one row each `{threads, per_pass, sent_per_s}`.
    #[arg(long, value_delimiter = ',')]
    pub per_pass: Vec<usize>,
    /// Single requests instead: text to embedding for one sentence, ≥ 200 calls after a
    /// warm-up, one row `{threads, tokens, p50_ms, p99_ms}`.
    #[arg(long)]
    pub latency: bool,
    /// The batch's expected embeddings for a model other than all-MiniLM-L6-v2: a JSON file
    /// `{"expected_embeddings": [[f32; dim]; 32]}` (rows in the batch's order).
    #[arg(long)]
    pub expected: Option<PathBuf>,
    /// Skip the long-input batch (24 inputs cut at the model's limit): on base-sized models
    /// with a 384–512-token limit it takes minutes per thread count.
    #[arg(long)]
    pub no_long: bool,
}

#[derive(serde::Deserialize)]
struct Expected {
    expected_embeddings: Vec<Vec<f32>>,
}

/// Runs the benchmark.
pub fn run(a: &EmbedBenchArgs) -> Result<()> {
    if !a.per_pass.is_empty() || a.latency {
        report::print(&measure_small(a)?, a.common.json);
    } else {
        report::print(&measure(a)?, a.common.json);
    }
    Ok(())
}

/// The rows of `--per-pass` (first) and `--latency`, at the first precision given.
pub fn measure_small(a: &EmbedBenchArgs) -> Result<Vec<Row>> {
    if let Some(&bad) = a.per_pass.iter().find(|&&p| p == 0) {
        bail!("--per-pass {bad}: a pass holds at least one sentence");
    }
    let threads = a.common.threads();
    let batch = load_batch(a)?;
    let Some(&p) = a.precision.first() else {
        bail!("--precision: give at least one of f32, bf16, int8");
    };
    let model = load_checked(a, p, &batch)?;
    let mut rows = Vec::new();
    if !a.per_pass.is_empty() {
        rows.extend(embed_small::per_pass(
            &model,
            &batch.sentences,
            &a.per_pass,
            threads,
            a.common.reps,
        )?);
    }
    if a.latency {
        rows.push(embed_small::latency(&model, threads)?);
    }
    Ok(rows)
}

/// The built-in batch, with `--expected`'s embeddings in place of MiniLM's when given.
fn load_batch(a: &EmbedBenchArgs) -> Result<Batch> {
    let mut batch: Batch = serde_json::from_str(BATCH32).context("built-in benchmark batch")?;
    if let Some(path) = &a.expected {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --expected {}", path.display()))?;
        let e: Expected = serde_json::from_str(&text).with_context(|| {
            format!(
                "--expected {}: not an expected-embeddings file",
                path.display()
            )
        })?;
        if e.expected_embeddings.len() != batch.sentences.len()
            || e.expected_embeddings
                .iter()
                .any(|r| r.len() != e.expected_embeddings[0].len())
        {
            bail!(
                "--expected {}: needs {} rows of one width",
                path.display(),
                batch.sentences.len()
            );
        }
        batch.expected_embeddings = e.expected_embeddings;
    }
    Ok(batch)
}

/// 24 inputs long enough to be truncated at 256 tokens.
fn long_inputs(sentences: &[String]) -> Vec<String> {
    (0..24)
        .map(|i| {
            (0..20)
                .map(|j| sentences[(i + j) % sentences.len()].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Loads `a.model` at `p` and checks the batch's embeddings against the expected ones.
fn load_checked(a: &EmbedBenchArgs, p: Precision, batch: &Batch) -> Result<SentenceEncoder> {
    let model = SentenceEncoder::open_with(&a.model, &LoadOptions::precision(p))
        .with_context(|| format!("cannot load model {} at {p}", a.model.display()))?;
    crate::precision::warn_if_slow(p);
    let texts: Vec<&str> = batch.sentences.iter().map(String::as_str).collect();
    let got = model.embed(&texts)?;
    if got.dim != batch.expected_embeddings[0].len() {
        bail!(
            "embedding width {} is not the expected {}: is this all-MiniLM-L6-v2 (or give --expected)?",
            got.dim,
            batch.expected_embeddings[0].len()
        );
    }
    let (mut worst_abs, mut worst_cos) = (0.0f32, 1.0f64);
    for (i, e) in batch.expected_embeddings.iter().enumerate() {
        let g = got.row(i);
        let m = g
            .iter()
            .zip(e)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        let dot: f64 = g.iter().zip(e).map(|(x, y)| *x as f64 * *y as f64).sum();
        let n = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
        worst_abs = worst_abs.max(m);
        worst_cos = worst_cos.min(dot / (n(g) * n(e)));
    }
    let ok = match p {
        Precision::F32 => worst_abs <= 1e-4,
        Precision::Bf16 => worst_cos >= 0.9999,
        Precision::Int8 => worst_cos >= 0.99,
    };
    if !ok {
        bail!("{p} embeddings differ from the batch's expected ones (max abs {worst_abs:e}, worst cosine {worst_cos:.6}): is this all-MiniLM-L6-v2?");
    }
    Ok(model)
}

/// The measurements behind `qkv bench embed`.
pub fn measure(a: &EmbedBenchArgs) -> Result<Vec<Row>> {
    let threads = a.common.threads();
    let batch = load_batch(a)?;
    // Correctness first: the batch's embeddings must match before timing means anything.
    let models = a
        .precision
        .iter()
        .map(|&p| Ok((p, load_checked(a, p, &batch)?)))
        .collect::<Result<Vec<_>>>()?;
    let Some((_, first)) = models.first() else {
        bail!("--precision: give at least one of f32, bf16, int8");
    };
    let mut sets = vec![batch.sentences.clone()];
    if !a.no_long {
        sets.push(long_inputs(&batch.sentences));
    }
    let mut rows = Vec::new();
    for set in sets {
        let texts: Vec<&str> = set.iter().map(String::as_str).collect();
        let enc = first.tokenizer().encode_batch(&texts)?;
        let tokens: usize = enc.iter().map(|e| e.ids.len()).sum();
        let opts = EmbedOptions::default();
        let reps = a.common.reps.max(9);
        // Every precision's two calls interleaved in one run, so load bursts hit all alike.
        let t = with_threads(threads, || -> Result<_> {
            let mut calls: Vec<Box<dyn FnMut() + '_>> = Vec::new();
            for (_, model) in &models {
                calls.push(Box::new(|| {
                    model
                        .embed_encodings(&enc, &opts)
                        .expect("embedding a checked batch");
                }));
                calls.push(Box::new(|| {
                    model
                        .embed_with(&texts, &opts)
                        .expect("embedding a checked batch");
                }));
            }
            let mut refs: Vec<&mut dyn FnMut()> = calls.iter_mut().map(|c| &mut **c as _).collect();
            Ok(interleaved(2, reps, &mut refs))
        })??;
        let n = texts.len() as f64;
        for (i, (p, _)) in models.iter().enumerate() {
            rows.push(Row(vec![
                ("threads", Value::from(threads)),
                ("precision", Value::from(p.name())),
                ("batch", Value::from(texts.len())),
                ("tokens", Value::from(tokens)),
                ("sent_per_s", r3(n / t[2 * i].median)),
                ("sent_per_s_with_tokenization", r3(n / t[2 * i + 1].median)),
            ]));
        }
    }
    Ok(rows)
}
