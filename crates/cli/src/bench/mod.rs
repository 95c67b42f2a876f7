//! `qkv bench …`: each subcommand measures qkv beside its comparison in the same run.
//!
//! One file per bench (`gemm` with `gemm_general` for the sweep of plain views and `gemm_int8`
//! for the int8 kernels, `peak`, `attention`, `encoder`, `embed` with `embed_small` for small
//! passes and latency), `all` running them together, `report` printing rows, `options` the arguments they share. Imports
//! run one way: this file dispatches to the benches, `all` calls the others' `measure`, a bench
//! may use its helper file, and every bench uses only `options` and `report` besides (no file
//! imports one that imports it back). The shapes and random layers come from
//! `qkv_testkit::shapes` / `qkv_testkit::layers`, the same table the criterion benches in
//! `benches/` measure.

mod all;
mod attention;
mod embed;
mod embed_small;
mod encoder;
mod gemm;
mod gemm_general;
mod gemm_int8;
mod options;
mod peak;
mod report;

use clap::{Args, Subcommand};

/// `qkv bench`.
#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// GEMM: qkv (weights pre-packed) beside matrixmultiply, with the measured FMA peak;
    /// `--general`: B a plain view (both storage orders) on a sweep of shapes.
    Gemm(gemm::GemmBenchArgs),
    /// The measured multiply-add peak of every probe (f32 FMA per ISA, int8, bf16).
    Peak(options::Common),
    /// Attention: qkv's fused kernel beside an unfused GEMM + softmax + GEMM version.
    Attention(attention::AttentionArgs),
    /// One encoder layer (post-norm, ReLU) on encoder shapes, incl. a half-padded batch.
    Encoder(options::Common),
    /// Sentence embeddings of a model directory on the MiniLM benchmark batch.
    Embed(embed::EmbedBenchArgs),
    /// Every bench above in one run (embed with --model), each row tagged with its ISA, CPU
    /// and qkv version.
    All(all::AllArgs),
}

/// Runs the chosen benchmark.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        What::Gemm(g) => gemm::run(&g),
        What::Peak(c) => peak::run(&c),
        What::Attention(a) => attention::run(&a),
        What::Encoder(c) => encoder::run(&c),
        What::Embed(a) => embed::run(&a),
        What::All(a) => all::run(&a),
    }
}
