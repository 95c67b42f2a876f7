//! int8 GEMM: `C ← dequant(quant(A)·quant(W)ᵀ) + β·C + bias`, with weights quantized once and
//! activations quantized per row at run time.
//!
//! - [`QuantizedMatrix`]: a PyTorch `[N, K]` weight, symmetric int8 per output channel, packed
//!   for one microkernel, with its column sums; optional SmoothQuant factors
//!   ([`smoothing_factors`]).
//! - [`gemm_int8`]: quantizes each row of A to u8 with its own scale and zero point (the part of
//!   a layer's cost that scales with the tokens), sums `u8 × i8` products exactly in i32, and
//!   writes C in one fused pass (dequantize, β·C, bias, ReLU, an optional hook such as GELU).
//! - Microkernels, chosen at run time ([`Int8Isa`]): AVX-512 VNNI (`vpdpbusd` zmm), AVX-VNNI
//!   (`vpdpbusd` ymm), AVX2 (`vpmaddwd` on operands widened to i16: exact, unlike
//!   `vpmaddubsw`), and a portable scalar kernel. `QKV_INT8_ISA` forces one.
//! - `reference` (the `internals` feature): the definition in plain loops; every kernel equals it
//!   bit for bit.
//!
//! Results are bit-identical for every kernel, tiling and thread count: the i32 sums are exact
//! and the write-out performs the same f32 operations everywhere (`tile.rs` states them).
//! The quantization error against the f32 product is bounded in `docs/numerics_int8.md`.

mod activations;
mod isa;
mod kernel;
#[cfg(target_arch = "x86_64")]
mod kernel_avx2;
#[cfg(target_arch = "x86_64")]
mod kernel_avx512;
mod kernel_scalar;
mod loops;
mod pack;
mod peak;
#[cfg(feature = "internals")]
pub mod reference;
mod tile;
mod weights;

pub use activations::row_params;
pub use isa::Int8Isa;
pub(crate) use loops::Grid;
pub use peak::{int8_peak_gmacs, int8_peak_gmacs_threads, int8_probe_chains};
pub use tile::{RowHook, MAX_K};
pub use weights::{smoothing_factors, QuantizedMatrix};

use crate::error::{invalid, shape_mismatch, Error, Result};
use crate::mat::{MatMut, MatRef};
use std::fmt;

/// Options of one int8 product. `Default` is `C ← A·Wᵀ`, parallel when worth it.
#[derive(Clone, Copy)]
pub struct Int8Options<'a> {
    /// Scale of the existing C (a residual is β = 1); with 0, C is write-only.
    pub beta: f32,
    /// Added to every row of the result (length N).
    pub bias: Option<&'a [f32]>,
    /// Apply `max(0, x)` after the bias.
    pub relu: bool,
    /// Run on each finished row segment of a tile after bias and ReLU, while it is in L1
    /// (e.g. the model's GELU). It must be element-wise: segments are cut by the tiling.
    pub hook: Option<RowHook<'a>>,
    /// Allow rayon to split large products over the current pool's threads.
    pub parallel: bool,
}

impl Default for Int8Options<'_> {
    fn default() -> Self {
        Int8Options {
            beta: 0.0,
            bias: None,
            relu: false,
            hook: None,
            parallel: true,
        }
    }
}

impl fmt::Debug for Int8Options<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Int8Options")
            .field("beta", &self.beta)
            .field("bias", &self.bias.map(|b| b.len()))
            .field("relu", &self.relu)
            .field("hook", &self.hook.is_some())
            .field("parallel", &self.parallel)
            .finish()
    }
}

/// `C ← dequant(A_q · W_qᵀ) + β·C (+ bias, ReLU, hook)` with `A: M×K` (f32, quantized here per
/// row), `w` the quantized `[N, K]` weight and `C: M×N`, on the kernel `w` was packed for.
///
/// Errors: shapes that do not fit, a bias of the wrong length, a non-finite β, or a row of A
/// holding NaN or ±∞ (detected before C is written: nothing is half-written).
pub fn gemm_int8(a: MatRef, w: &QuantizedMatrix, mut c: MatMut, opts: &Int8Options) -> Result<()> {
    let (m, k, n) = (a.rows(), a.cols(), w.n());
    if k != w.k() {
        return Err(shape_mismatch(
            "gemm_int8",
            format!("A with {} columns (W is {n}×{})", w.k(), w.k()),
            format!("A {}", a.shape_str()),
        ));
    }
    if c.rows() != m || c.cols() != n {
        return Err(shape_mismatch(
            "gemm_int8",
            format!("C {m}×{n} (A {} · Wᵀ {}×{n})", a.shape_str(), w.k()),
            format!("C {}", c.shape_str()),
        ));
    }
    if let Some(b) = opts.bias {
        if b.len() != n {
            return Err(shape_mismatch(
                "gemm_int8",
                format!("bias of length {n}"),
                format!("bias of length {}", b.len()),
            ));
        }
    }
    if !opts.beta.is_finite() {
        return Err(invalid(
            "gemm_int8",
            format!("β = {} must be finite", opts.beta),
        ));
    }
    let Some(kern) = kernel::kernel(w.isa()) else {
        return Err(Error::IsaUnavailable(w.isa().name().to_string()));
    };
    loops::run(loops::Problem {
        kern,
        a,
        w,
        rsc: c.row_stride(),
        c: c.data_mut().as_mut_ptr(),
        beta: opts.beta,
        bias: opts.bias,
        relu: opts.relu,
        hook: opts.hook,
        parallel: opts.parallel,
    })
}

/// `(MR, NR)` of the register tile of `isa` (for tests that pick tile-breaking sizes).
pub fn int8_tile(isa: Int8Isa) -> (usize, usize) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Int8Isa::Avx512Vnni => (kernel_avx512::MR, kernel_avx512::NR),
        #[cfg(target_arch = "x86_64")]
        Int8Isa::AvxVnni | Int8Isa::Avx2 => (kernel_avx2::MR, kernel_avx2::NR),
        _ => (kernel_scalar::MR, kernel_scalar::NR),
    }
}
