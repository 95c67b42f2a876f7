//! `qkv bench …`: each subcommand measures qkv beside its comparison in the same run.

use crate::{bench_all, bench_attention, bench_embed, bench_encoder, bench_gemm};
use clap::{Args, Subcommand};

/// Arguments common to every benchmark.
#[derive(Args, Clone, Debug)]
pub struct Common {
    /// Threads for qkv and its comparison (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Timed repetitions per measurement (median reported).
    #[arg(long, default_value_t = 7)]
    pub reps: usize,
    /// Measure one shape instead of the built-in list (`MxKxN` for gemm).
    #[arg(long)]
    pub shape: Option<String>,
}

impl Common {
    /// The thread count to use.
    pub fn threads(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    }
}

/// `qkv bench`.
#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// GEMM: qkv (weights pre-packed) beside matrixmultiply, with the measured FMA peak.
    Gemm(Common),
    /// Attention: qkv's fused kernel beside an unfused GEMM + softmax + GEMM version.
    Attention(Common),
    /// One encoder layer (post-norm, ReLU) on encoder shapes, incl. a half-padded batch.
    Encoder(Common),
    /// Sentence embeddings of a model directory on the MiniLM benchmark batch.
    Embed(bench_embed::EmbedBenchArgs),
    /// Every bench above in one run (embed with --model), each row tagged with its ISA, CPU
    /// and qkv version.
    All(bench_all::AllArgs),
}

/// Runs the chosen benchmark.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        What::Gemm(c) => bench_gemm::run(&c),
        What::Attention(c) => bench_attention::run(&c),
        What::Encoder(c) => bench_encoder::run(&c),
        What::Embed(a) => bench_embed::run(&a),
        What::All(a) => bench_all::run(&a),
    }
}
