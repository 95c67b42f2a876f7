//! `qkv bench all`: every qkv benchmark in one run (gemm, attention, encoder, and embed when a
//! model is given), each row tagged with what it ran on: the bench, the ISA, the CPU model and
//! the qkv version. This is the entry point `benches/peers/run_peers.py` interleaves with
//! PyTorch and ONNX Runtime.
//!
//! Two sweeps feed the plots of `docs/benchmarks.md` and run only when asked (`--only`):
//! `attention_seq` (one 12-head, d_head 64 sequence at lengths 32…4096, fused and unfused) and
//! `embed_batch` (the 32-sentence MiniLM batch embedded in forward passes of 1…32 sentences).

use super::options::Common;
use super::report::{self, r3, Row};
use super::{attention, embed, encoder, gemm};
use anyhow::{bail, Context, Result};
use qkv_core::ops::attention::{attention, AttentionParams, Mask, QkvView, Seq};
use qkv_core::perf::interleaved;
use qkv_core::{with_threads, Isa};
use qkv_encoder::{EmbedOptions, SentenceEncoder};
use qkv_testkit::rng::rand_vec;
use qkv_testkit::unfused::unfused_attention;
use serde_json::Value;
use std::path::PathBuf;

/// The benchmark batch shipped with qkv (the one `qkv bench embed` uses).
const BATCH32: &str = include_str!("../../../encoder/tests/fixtures/bench/minilm_batch32.json");

/// Every bench `--only` accepts; the default runs the first four (embed only with `--model`).
const BENCHES: [&str; 6] = [
    "gemm",
    "attention",
    "encoder",
    "embed",
    "attention_seq",
    "embed_batch",
];

/// Sequence lengths of the `attention_seq` sweep (batch 1, 12 heads, d_head 64: BERT-base).
const SEQ_SWEEP: [usize; 8] = [32, 64, 128, 256, 512, 1024, 2048, 4096];

/// Forward-pass sizes of the `embed_batch` sweep.
const BATCH_SWEEP: [usize; 6] = [1, 2, 4, 8, 16, 32];

/// `qkv bench all` arguments.
#[derive(clap::Args, Clone, Debug)]
pub struct AllArgs {
    /// Model directory for the embed benches (skipped without it).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Comma-separated subset: gemm, attention, encoder, embed, attention_seq, embed_batch
    /// (default: gemm,attention,encoder,embed).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    #[command(flatten)]
    pub common: Common,
}

/// Runs the chosen benches and prints their rows (JSON lines, or a table per bench).
pub fn run(a: &AllArgs) -> Result<()> {
    let chosen = chosen(a)?;
    let ctx = Tags::new();
    for bench in chosen {
        let rows = match bench {
            "gemm" => gemm::measure(&a.common)?,
            "attention" => attention::measure(&a.common)?,
            "encoder" => encoder::measure(&a.common)?,
            "embed" => embed::measure(&embed_args(a)?)?,
            "attention_seq" => attention_seq(&a.common)?,
            "embed_batch" => embed_batch(a)?,
            other => unreachable!("validated bench name {other}"),
        };
        if a.common.json {
            let rows: Vec<Row> = rows.into_iter().map(|r| ctx.tag(bench, r)).collect();
            report::print(&rows, true);
        } else {
            // For people: the tags once, in the table's heading.
            println!("== {bench} ({}, {}, qkv {})", ctx.isa, ctx.cpu, ctx.version);
            report::print(&rows, false);
            println!();
        }
    }
    Ok(())
}

/// The benches to run, in the canonical order, after checking the names.
fn chosen(a: &AllArgs) -> Result<Vec<&'static str>> {
    for name in &a.only {
        if !BENCHES.contains(&name.as_str()) {
            bail!(
                "--only {name:?}: not a bench (expected one of {})",
                BENCHES.join(", ")
            );
        }
    }
    let wants_model = |b: &str| b == "embed" || b == "embed_batch";
    if a.model.is_none() && a.only.iter().any(|b| wants_model(b)) {
        bail!("--only embed / embed_batch need --model DIR");
    }
    Ok(BENCHES
        .iter()
        .copied()
        .filter(|b| {
            if a.only.is_empty() {
                matches!(*b, "gemm" | "attention" | "encoder")
                    || (*b == "embed" && a.model.is_some())
            } else {
                a.only.iter().any(|o| o == b)
            }
        })
        .collect())
}

fn embed_args(a: &AllArgs) -> Result<embed::EmbedBenchArgs> {
    Ok(embed::EmbedBenchArgs {
        model: a.model.clone().context("embed needs --model DIR")?,
        common: a.common.clone(),
        precision: vec![qkv_encoder::Precision::F32],
        expected: None,
        per_pass: Vec::new(),
        latency: false,
        no_long: false,
    })
}

/// What every row is tagged with.
struct Tags {
    isa: &'static str,
    cpu: String,
    version: &'static str,
}

impl Tags {
    fn new() -> Self {
        Tags {
            isa: Isa::active().name(),
            cpu: cpu_model(),
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// `bench` first, the bench's own keys, then `isa cpu qkv_version` (a bench's own `isa`
    /// key, as gemm has, is kept where it is).
    fn tag(&self, bench: &str, row: Row) -> Row {
        let mut kv = vec![("bench", Value::from(bench))];
        kv.extend(row.0);
        if !kv.iter().any(|(k, _)| *k == "isa") {
            kv.push(("isa", Value::from(self.isa)));
        }
        kv.push(("cpu", Value::from(self.cpu.as_str())));
        kv.push(("qkv_version", Value::from(self.version)));
        Row(kv)
    }
}

/// The CPU's `model name` from /proc/cpuinfo ("unknown" where there is none).
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// Fused attention on one sequence of growing length (batch 1, 12 heads, d_head 64), beside
/// the unfused GEMM + softmax + GEMM path: the data of the time-vs-length plot.
fn attention_seq(c: &Common) -> Result<Vec<Row>> {
    let threads = c.threads();
    let (heads, d) = (12, 64);
    let w = heads * d;
    let mut rows = Vec::new();
    for &seq in &SEQ_SWEEP {
        let qkv = rand_vec(seq * 3 * w, seq as u64);
        let seqs = [Seq { start: 0, len: seq }];
        let params = AttentionParams::new(heads, d);
        let mut out1 = vec![0.0f32; seq * w];
        let mut out2 = out1.clone();
        let mut scores = Vec::new();
        let flops = 4.0 * (heads * seq * seq * d) as f64;
        let reps = if flops > 1e10 {
            c.reps.max(5)
        } else {
            c.reps.max(5) * 3
        };
        let t = with_threads(threads, || {
            let mut fused = || {
                attention(
                    QkvView::packed(&qkv, w),
                    &seqs,
                    &params,
                    Mask::None,
                    &mut out1,
                    w,
                    None,
                )
                .expect("shapes were built to fit")
            };
            let mut naive = || {
                unfused_attention(&qkv, &seqs, heads, d, false, &mut out2, &mut scores)
                    .expect("shapes were built to fit")
            };
            interleaved(2, reps, &mut [&mut fused, &mut naive])
        })?;
        rows.push(Row(vec![
            ("batch", Value::from(1)),
            ("heads", Value::from(heads)),
            ("seq", Value::from(seq)),
            ("d_head", Value::from(d)),
            ("causal", Value::from(false)),
            ("threads", Value::from(threads)),
            ("qkv_ms", r3(t[0].median * 1e3)),
            ("naive_ms", r3(t[1].median * 1e3)),
            ("gflops", r3(flops / t[0].median / 1e9)),
        ]));
    }
    Ok(rows)
}

#[derive(serde::Deserialize)]
struct Batch {
    sentences: Vec<String>,
}

/// The 32-sentence batch embedded in forward passes of 1…32 sentences (sorted by length, as
/// sentence-transformers does), tokenization excluded: the data of the batch-size plot.
fn embed_batch(a: &AllArgs) -> Result<Vec<Row>> {
    let threads = a.common.threads();
    let dir = a.model.as_ref().context("embed_batch needs --model DIR")?;
    let batch: Batch = serde_json::from_str(BATCH32).context("built-in benchmark batch")?;
    let model = SentenceEncoder::open(dir)
        .with_context(|| format!("cannot load model {}", dir.display()))?;
    let texts: Vec<&str> = batch.sentences.iter().map(String::as_str).collect();
    let enc = model.tokenizer().encode_batch(&texts)?;
    let tokens: usize = enc.iter().map(|e| e.ids.len()).sum();
    let mut rows = Vec::new();
    for &bs in &BATCH_SWEEP {
        let opts = EmbedOptions {
            batch_size: bs,
            ..Default::default()
        };
        let reps = a.common.reps.max(9);
        let t = with_threads(threads, || {
            let mut run = || {
                model
                    .embed_encodings(&enc, &opts)
                    .expect("embedding the built-in batch");
            };
            interleaved(2, reps, &mut [&mut run])
        })?;
        rows.push(Row(vec![
            ("threads", Value::from(threads)),
            ("sentences", Value::from(texts.len())),
            ("batch_size", Value::from(bs)),
            ("tokens", Value::from(tokens)),
            ("sent_per_s", r3(texts.len() as f64 / t[0].median)),
        ]));
    }
    Ok(rows)
}
