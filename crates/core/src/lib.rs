//! # qkv-core
//!
//! The compute core of qkv: a packed, cache-blocked GEMM with register-blocked SIMD
//! microkernels chosen at run time, fused multi-head attention, and the softmax, LayerNorm and
//! activation kernels a transformer encoder needs. Every kernel takes shaped borrowed views and
//! returns [`Result`]; results are bit-identical for any thread count.
//!
//! ## What is here
//! | task | call | options and types |
//! |---|---|---|
//! | `C ← α·A·B + β·C` | [`gemm()`], [`gemm_packed`] | [`GemmOptions`], [`PackedMatrix`], [`MatRef`], [`MatMut`] |
//! | fused multi-head attention | [`attention`] | [`AttentionParams`], [`QkvView`], [`Seq`], [`Mask`] |
//! | softmax of rows | [`softmax_rows`] | |
//! | LayerNorm, plain and after a residual add | [`layer_norm`], [`add_layer_norm`] | |
//! | bias + activation, activation | [`bias_act`], [`ops::activation::apply`] | [`Activation`] |
//! | run on `n` threads | [`with_threads`] | |
//! | choose the instruction set | [`Isa::active`], `QKV_ISA` | [`Isa`] |
//! | errors | | [`Error`], [`Result`] |
//!
//! Each op also has a `*_with_isa` form in its module under [`ops`] (e.g.
//! [`ops::softmax::softmax_rows_with_isa`]) that runs on a given instruction set.
//!
//! ## Instruction sets
//! AVX-512F and AVX2+FMA through `std::arch` behind run-time detection, a portable path through
//! `wide` (NEON on aarch64, SSE2 on baseline x86-64) and scalar Rust. The choice is made once
//! ([`Isa::active`]); `QKV_ISA=avx512|avx2|portable|scalar` forces one. No build flag is needed:
//! a binary built for baseline x86-64 uses AVX-512 where the CPU has it.
//!
//! ## Safety model
//! `unsafe` lives only in kernels and SIMD wrappers. The public API takes shaped views
//! ([`MatRef`], [`MatMut`]) that are validated against their buffers, and returns
//! [`Result`] with a typed [`Error`] for bad shapes. The SIMD layer is private: its tokens can
//! only be made on a CPU that has their instructions, and its `Simd` trait cannot be
//! implemented (or even named) outside this crate:
//!
//! ```compile_fail,E0603
//! use qkv_core::simd::Simd; // error[E0603]: module `simd` is private
//! ```
//!
//! ## Cargo feature `internals`
//! For qkv's own tests, benches and CLI bench; **not a stable API**. It makes public the naive
//! f64 `reference` kernels the tests compare against, the `perf` timing helpers, the blocking
//! constants (`gemm::KC`, `MC`, `NC`; `ops::attention::BLOCK_Q`, …) and
//! `isa::require_tested`, the per-ISA test loop that honours `QKV_REQUIRE_ISAS`.
//!
//! ## Example
//! One attention block of a post-norm encoder, `x ← LN(x + softmax(QKᵀ/√d)·V·Woᵀ)`, with
//! the QKV projection left out:
//! ```
//! use qkv_core::{add_layer_norm, attention, gemm, AttentionParams, GemmOptions, Mask, MatMut,
//!                MatRef, QkvView, Seq};
//! let (tokens, d_model, heads) = (5, 8, 2);
//! let x = vec![0.5f32; tokens * d_model];
//! let qkv: Vec<f32> = (0..tokens * 3 * d_model).map(|i| (i % 7) as f32 * 0.1).collect();
//! let w_o = vec![0.25f32; d_model * d_model]; // [out, in], as PyTorch stores it
//!
//! let mut ctx = vec![0.0f32; tokens * d_model];
//! let params = AttentionParams::new(heads, d_model / heads);
//! attention(QkvView::packed(&qkv, d_model), &[Seq { start: 0, len: tokens }], &params,
//!           Mask::None, &mut ctx, d_model, None)?;
//!
//! let mut y = vec![0.0f32; tokens * d_model];
//! gemm(MatRef::new(&ctx, tokens, d_model)?, MatRef::new(&w_o, d_model, d_model)?.t(),
//!      MatMut::new(&mut y, tokens, d_model)?, &GemmOptions::default())?;
//! add_layer_norm(&mut y, &x, tokens, d_model, &[1.0; 8], &[0.0; 8], 1e-12)?;
//! let mean = y[..d_model].iter().sum::<f32>() / d_model as f32;
//! assert!(mean.abs() < 1e-5);
//! # Ok::<(), qkv_core::Error>(())
//! ```

pub mod bf16;
mod cache;
pub mod error;
pub mod gemm;
pub mod isa;
pub mod mat;
pub mod ops;
mod par;
#[cfg(feature = "internals")]
pub mod perf;
pub mod quant;
#[cfg(feature = "internals")]
pub mod reference;
mod simd;

pub use bf16::{gemm_bf16, Bf16Matrix};
pub use error::{Error, Result};
pub use gemm::{gemm, gemm_packed, GemmOptions, PackedMatrix};
pub use isa::Isa;
pub use mat::{MatMut, MatRef};
pub use ops::activation::{bias_act, Activation};
pub use ops::attention::{attention, AttentionParams, Mask, QkvView, Seq};
pub use ops::layernorm::{add_layer_norm, layer_norm};
pub use ops::softmax::softmax_rows;
pub use quant::{gemm_int8, Int8Isa, Int8Options, QuantizedMatrix};

/// Runs `f` on a rayon pool of `threads` threads: every qkv kernel called inside splits its
/// work over that many threads (the calling one and a spinning team of `threads − 1`).
///
/// ```
/// let sum: usize = qkv_core::with_threads(2, || rayon::current_num_threads())?;
/// assert_eq!(sum, 2);
/// # Ok::<(), qkv_core::Error>(())
/// ```
pub fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> Result<R> {
    if threads == 0 {
        return Err(error::invalid(
            "with_threads",
            "thread count must be at least 1",
        ));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| error::invalid("with_threads", e.to_string()))?;
    Ok(pool.install(f))
}
