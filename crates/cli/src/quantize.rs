//! `qkv quantize`: a model directory saved at bf16 or int8 (see
//! `qkv_encoder::sentence::quantize`).

use anyhow::{Context, Result};
use clap::Args;
use qkv_encoder::{quantize_dir, Precision, QuantizeOptions};
use std::path::PathBuf;

/// `qkv quantize` arguments.
#[derive(Args, Debug)]
pub struct QuantizeArgs {
    /// The original model directory (f32 weights).
    #[arg(long)]
    pub model: PathBuf,
    /// Directory to write (must not exist, unless --force).
    #[arg(long)]
    pub out: PathBuf,
    /// bf16 or int8.
    #[arg(long, value_parser = crate::precision::parse)]
    pub precision: Precision,
    /// Replace an existing output directory.
    #[arg(long)]
    pub force: bool,
}

/// Runs `qkv quantize`.
pub fn run(a: QuantizeArgs) -> Result<()> {
    let opts = QuantizeOptions {
        precision: a.precision,
        force: a.force,
    };
    let r = quantize_dir(&a.model, &a.out, &opts)
        .with_context(|| format!("cannot quantize {}", a.model.display()))?;
    eprintln!(
        "qkv quantize: {} projection weights at {}, {} tensors copied; model.safetensors {:.1} MB -> {:.1} MB in {}",
        r.converted,
        r.plan.precision,
        r.copied,
        r.bytes_in as f64 / 1e6,
        r.bytes_out as f64 / 1e6,
        r.out.display()
    );
    Ok(())
}
