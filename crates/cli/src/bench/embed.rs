//! `qkv bench embed`: sentence-embedding throughput of a model directory on the MiniLM
//! benchmark batch (32 sentences), excluding and including tokenization, and on a long-input
//! batch (24 inputs truncated at the model's maximum length). Embeddings are checked against
//! the batch's expected ones before anything is timed.

use super::options::Common;
use super::report::{self, r3, Row};
use anyhow::{bail, Context, Result};
use qkv_core::perf::interleaved;
use qkv_core::with_threads;
use qkv_encoder::{EmbedOptions, SentenceEncoder};
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
}

/// Runs the benchmark.
pub fn run(a: &EmbedBenchArgs) -> Result<()> {
    report::print(&measure(a)?, a.common.json);
    Ok(())
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

/// The measurements behind `qkv bench embed`.
pub fn measure(a: &EmbedBenchArgs) -> Result<Vec<Row>> {
    let threads = a.common.threads();
    let batch: Batch = serde_json::from_str(BATCH32).context("built-in benchmark batch")?;
    let model = SentenceEncoder::open(&a.model)
        .with_context(|| format!("cannot load model {}", a.model.display()))?;
    // Correctness first: the batch's embeddings must match before timing means anything.
    let texts: Vec<&str> = batch.sentences.iter().map(String::as_str).collect();
    let got = model.embed(&texts)?;
    let worst = batch
        .expected_embeddings
        .iter()
        .enumerate()
        .map(|(i, e)| {
            got.row(i)
                .iter()
                .zip(e)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max)
        })
        .fold(0.0f32, f32::max);
    if got.dim != batch.expected_embeddings[0].len() || worst > 1e-4 {
        bail!("embeddings differ from the batch's expected ones (max abs {worst:e}): is this all-MiniLM-L6-v2?");
    }
    let long = long_inputs(&batch.sentences);
    let mut rows = Vec::new();
    for set in [batch.sentences.clone(), long] {
        let texts: Vec<&str> = set.iter().map(String::as_str).collect();
        let enc = model.tokenizer().encode_batch(&texts)?;
        let tokens: usize = enc.iter().map(|e| e.ids.len()).sum();
        let opts = EmbedOptions::default();
        let reps = a.common.reps.max(9);
        let t = with_threads(threads, || -> Result<_> {
            let mut model_only = || {
                model
                    .embed_encodings(&enc, &opts)
                    .expect("embedding a checked batch");
            };
            let mut with_tok = || {
                model
                    .embed_with(&texts, &opts)
                    .expect("embedding a checked batch");
            };
            Ok(interleaved(2, reps, &mut [&mut model_only, &mut with_tok]))
        })??;
        let n = texts.len() as f64;
        rows.push(Row(vec![
            ("threads", Value::from(threads)),
            ("batch", Value::from(texts.len())),
            ("tokens", Value::from(tokens)),
            ("sent_per_s", r3(n / t[0].median)),
            ("sent_per_s_with_tokenization", r3(n / t[1].median)),
        ]));
    }
    Ok(rows)
}
