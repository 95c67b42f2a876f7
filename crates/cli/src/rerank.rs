//! `qkv rerank`: documents scored against a query by a cross-encoder, best first, one JSON line
//! per document (`{"index", "score", "text"}`).

use crate::embed_input::Source;
use anyhow::{bail, Result};
use clap::Args;
use qkv_encoder::{CrossEncoder, LoadOptions, Precision, ScoreOptions};
use std::io::Write;
use std::path::PathBuf;

/// `qkv rerank` arguments.
#[derive(Args, Debug)]
pub struct RerankArgs {
    /// Model directory of a sequence-classification checkpoint (a reranker).
    #[arg(long)]
    pub model: PathBuf,
    /// The query.
    #[arg(long)]
    pub query: String,
    /// Documents (or use --input).
    pub doc: Vec<String>,
    /// Input file of documents: one per line, or JSONL with a "text" field; `-` for stdin.
    #[arg(long)]
    pub input: Option<String>,
    /// Raw logits instead of sigmoid / softmax scores.
    #[arg(long)]
    pub raw: bool,
    /// Pairs per forward pass.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Precision of the encoder's linear layers: f32 (exact), bf16 or int8 (default: the
    /// directory's).
    #[arg(long, value_parser = crate::precision::parse)]
    pub precision: Option<Precision>,
}

/// Runs `qkv rerank`.
pub fn run(a: RerankArgs) -> Result<()> {
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    qkv_core::with_threads(threads, || run_inner(&a))?
}

fn run_inner(a: &RerankArgs) -> Result<()> {
    let mut docs = a.doc.clone();
    if let Some(path) = &a.input {
        if !docs.is_empty() {
            bail!("give documents as arguments or with --input, not both");
        }
        let mut src = Source::open(path)?;
        loop {
            let chunk = src.next_chunk(4096)?;
            if chunk.is_empty() {
                break;
            }
            docs.extend(chunk);
        }
    }
    if docs.is_empty() {
        bail!("no documents: give them as arguments or with --input");
    }
    if a.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let model = CrossEncoder::open_with(&a.model, &LoadOptions::with_precision(a.precision))?;
    crate::precision::warn_if_slow(model.precision());
    let pairs: Vec<(&str, &str)> = docs
        .iter()
        .map(|d| (a.query.as_str(), d.as_str()))
        .collect();
    let opts = ScoreOptions {
        raw: a.raw,
        batch_size: a.batch_size,
    };
    let scores = model.score_with(&pairs, &opts)?;
    let lines = ranked_lines(&scores.data, scores.labels, &docs);
    let mut out = std::io::stdout().lock();
    for l in lines {
        writeln!(out, "{l}")?;
    }
    eprintln!(
        "qkv rerank: {} documents, {} truncated",
        docs.len(),
        scores.truncated
    );
    Ok(())
}

/// JSON lines sorted by score, best first. One label: `score` is a number; several labels:
/// `score` is the row, documents sorted by the last label's value (the "relevant" class of
/// two-label rerankers). Ties keep input order.
fn ranked_lines(data: &[f32], labels: usize, docs: &[String]) -> Vec<String> {
    let key = |i: usize| data[i * labels + labels - 1];
    let mut order: Vec<usize> = (0..docs.len()).collect();
    order.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
    order
        .into_iter()
        .map(|i| {
            let row = &data[i * labels..(i + 1) * labels];
            let score = if labels == 1 {
                serde_json::json!(row[0])
            } else {
                serde_json::json!(row)
            };
            serde_json::json!({"index": i, "score": score, "text": docs[i]}).to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_best_first_with_stable_ties() {
        let docs: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let l = ranked_lines(&[0.1, 0.9, 0.1], 1, &docs);
        assert!(l[0].contains("\"index\":1"), "{l:?}");
        assert!(l[1].contains("\"index\":0") && l[2].contains("\"index\":2"));
        let l = ranked_lines(&[0.2, 0.8, 0.9, 0.1], 2, &docs[..2]);
        assert!(
            l[0].contains("\"index\":0") && l[0].contains("[0.2"),
            "{l:?}"
        );
    }
}
