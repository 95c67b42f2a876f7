//! # qkv-core
//!
//! The compute core of qkv: a packed, cache-blocked GEMM with register-blocked SIMD
//! microkernels chosen at run time, and (in later modules) the fused attention, softmax,
//! LayerNorm and activation kernels a transformer encoder needs.
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
//! [`Result`] with a typed [`Error`] for bad shapes.
//!
//! ## Example
//! ```
//! use qkv_core::{gemm, GemmOptions, MatMut, MatRef};
//! let a = vec![1.0f32; 64 * 32];
//! let b = vec![0.5f32; 32 * 16];
//! let mut c = vec![0.0f32; 64 * 16];
//! gemm(MatRef::new(&a, 64, 32)?, MatRef::new(&b, 32, 16)?, MatMut::new(&mut c, 64, 16)?,
//!      &GemmOptions::default())?;
//! assert!(c.iter().all(|&x| x == 16.0));
//! # Ok::<(), qkv_core::Error>(())
//! ```

pub mod bf16;
pub mod error;
pub mod gemm;
pub mod isa;
pub mod mat;
pub mod ops;
pub mod perf;
pub mod quant;
pub mod reference;
pub mod simd;

pub use bf16::{gemm_bf16, Bf16Matrix};
pub use error::{Error, Result};
pub use gemm::{gemm, gemm_packed, GemmOptions, PackedMatrix};
pub use isa::Isa;
pub use mat::{MatMut, MatRef};
pub use quant::{gemm_int8, Int8Isa, Int8Options, QuantizedMatrix};

/// Runs `f` on a rayon pool of `threads` threads (all qkv kernels called inside use it).
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
