//! `qkv bench embed --per-pass` and `--latency`: small forward passes and single requests, as
//! a server or an interactive user sends them.
//!
//! - per pass: the 32-sentence batch (tokenized once, outside the timing) sorted by length and
//!   cut into passes of `per_pass` sentences, as `EmbedOptions::batch_size` cuts it; one row
//!   `{threads, per_pass, sent_per_s}` per size.
//! - latency: text to embedding for [`LATENCY_TEXT`] (tokenizer included), at least 200 timed
//!   calls after a warm-up; one row `{threads, tokens, p50_ms, p99_ms}`.

use super::report::{r3, Row};
use anyhow::Result;
use qkv_core::perf::interleaved;
use qkv_core::with_threads;
use qkv_encoder::{EmbedOptions, SentenceEncoder};
use serde_json::Value;
use std::time::Instant;

/// The sentence of the latency bench (the same in `benches/peers/latency.py`).
pub const LATENCY_TEXT: &str = "A quick brown fox jumps over the lazy dog by the river.";

/// Timed calls of the latency bench (after [`LATENCY_WARMUP`] untimed ones).
const LATENCY_CALLS: usize = 300;
/// Untimed calls before the latency bench: weights, caches and the thread pool warm.
const LATENCY_WARMUP: usize = 30;

/// Sentences per second of `sentences` embedded in passes of each size of `per_pass`.
pub fn per_pass(
    model: &SentenceEncoder,
    sentences: &[String],
    sizes: &[usize],
    threads: usize,
    reps: usize,
) -> Result<Vec<Row>> {
    let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let enc = model.tokenizer().encode_batch(&texts)?;
    let opts: Vec<EmbedOptions> = sizes
        .iter()
        .map(|&bs| EmbedOptions {
            batch_size: bs,
            ..EmbedOptions::default()
        })
        .collect();
    let t = with_threads(threads, || {
        let mut calls: Vec<Box<dyn FnMut() + '_>> = opts
            .iter()
            .map(|o| {
                let enc = &enc;
                Box::new(move || {
                    model
                        .embed_encodings(enc, o)
                        .expect("embedding a checked batch");
                }) as Box<dyn FnMut()>
            })
            .collect();
        let mut refs: Vec<&mut dyn FnMut()> = calls.iter_mut().map(|c| &mut **c as _).collect();
        interleaved(2, reps.max(9), &mut refs)
    })?;
    let n = texts.len() as f64;
    Ok(sizes
        .iter()
        .zip(t)
        .map(|(&bs, t)| {
            Row(vec![
                ("threads", Value::from(threads)),
                ("per_pass", Value::from(bs)),
                ("sent_per_s", r3(n / t.median)),
            ])
        })
        .collect())
}

/// p50 and p99 latency of embedding [`LATENCY_TEXT`] from text.
pub fn latency(model: &SentenceEncoder, threads: usize) -> Result<Row> {
    let texts = [LATENCY_TEXT];
    let tokens = model.tokenizer().encode(LATENCY_TEXT)?.ids.len();
    let mut ms = with_threads(threads, || -> Result<Vec<f64>> {
        for _ in 0..LATENCY_WARMUP {
            model.embed(&texts)?;
        }
        let mut ms = Vec::with_capacity(LATENCY_CALLS);
        for _ in 0..LATENCY_CALLS {
            let t = Instant::now();
            std::hint::black_box(model.embed(&texts)?);
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        Ok(ms)
    })??;
    ms.sort_by(f64::total_cmp);
    Ok(Row(vec![
        ("threads", Value::from(threads)),
        ("tokens", Value::from(tokens)),
        ("p50_ms", r3(percentile(&ms, 50.0))),
        ("p99_ms", r3(percentile(&ms, 99.0))),
    ]))
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 100.0);
        assert_eq!(percentile(&v, 99.0), 198.0);
        assert_eq!(percentile(&v[..1], 99.0), 1.0);
        assert!(percentile(&[], 50.0).is_nan());
    }
}
