//! `qkv`: the command-line face of the qkv library. Every command is a thin layer over a public
//! API of `qkv-core` / `qkv-encoder`.

mod alloc_count;
mod bench;
mod bench_all;
mod bench_attention;
mod bench_embed;
mod bench_encoder;
mod bench_gemm;
mod demo;
mod embed;
mod embed_input;
mod embed_output;
mod precision;
mod quantize;
mod report;
mod viz;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOC: alloc_count::Counting = alloc_count::Counting;

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
    /// Save a model directory with bf16 or int8 weights (loads without requantizing).
    Quantize(quantize::QuantizeArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(args) => bench::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Viz(args) => viz::run(args),
        Command::Embed(args) => embed::run(args),
        Command::Quantize(args) => quantize::run(args),
    };
    if let Err(e) = result {
        eprintln!("qkv: error: {e}");
        for cause in e.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(1);
    }
}
