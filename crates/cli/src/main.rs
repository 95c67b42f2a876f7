//! `qkv`: the command-line face of the qkv library. Every command is a thin layer over a public
//! API of `qkv-core` / `qkv-encoder`.

mod bench;
mod demo;
mod embed;
mod embed_input;
mod embed_output;
mod precision;
mod quantize;
mod rerank;
mod serve;
mod viz;

use clap::{Parser, Subcommand};

/// Counts live heap bytes, so `qkv bench attention` reports the memory a kernel really
/// allocates.
#[global_allocator]
static ALLOC: qkv_testkit::alloc::Counting = qkv_testkit::alloc::Counting;

/// Fast, exact transformer-encoder inference on the CPU.
#[derive(Parser)]
#[command(name = "qkv", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure qkv beside its comparison on this machine.
    Bench(bench::BenchArgs),
    /// The seed notebook's story on qkv's kernels: its numbers and its six-panel figure.
    Demo(demo::DemoArgs),
    /// Attention heatmaps of a real model on a text, with its WordPiece tokens as labels.
    Viz(viz::VizArgs),
    /// Sentence embeddings from a model directory (sentence-transformers layout).
    Embed(embed::EmbedArgs),
    /// Documents ranked against a query by a cross-encoder (reranker).
    Rerank(rerank::RerankArgs),
    /// Save a model directory with bf16 or int8 weights (loads without requantizing).
    Quantize(quantize::QuantizeArgs),
    /// An OpenAI- and TEI-compatible embeddings server (`qkv-server`).
    Serve(serve::ServeArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(args) => bench::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Viz(args) => viz::run(args),
        Command::Embed(args) => embed::run(args),
        Command::Rerank(args) => rerank::run(args),
        Command::Quantize(args) => quantize::run(args),
        Command::Serve(args) => serve::run(args),
    };
    if let Err(e) = result {
        eprintln!("qkv: error: {e}");
        for cause in e.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(1);
    }
}
