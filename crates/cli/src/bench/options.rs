//! The options every `qkv bench` subcommand shares.

use clap::Args;

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
