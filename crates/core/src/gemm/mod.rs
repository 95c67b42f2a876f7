//! GEMM, `C ← α·A·B + β·C`, in the BLIS shape: packed panels, cache blocking, and a
//! register-blocked SIMD microkernel chosen at run time.
//!
//! - [`gemm`]: B is any `K × N` view (use [`MatRef::t`] for an `[N, K]` weight).
//! - [`gemm_packed`]: B packed once by [`PackedMatrix`]; the path every model layer takes.
//! - [`GemmOptions`]: α, β, an optional bias per column and an activation (ReLU, GELU) fused into the write-out,
//!   the ISA, and whether rayon may split the work.
//!
//! With β = 0, C is never read (it may hold NaN). Zero-sized dimensions are valid: with K = 0
//! the result is β·C (plus bias). Results are bit-identical for any thread count.
//!
//! Files: `loops` (the five loops and the thread split), `kernel` (tile shapes per ISA and the
//! microkernel), `pack` / `pack_x86` (packing from any stride), `packed` (weights packed once),
//! `blocking` (KC, NC, and MC from the L2 the CPU reports, `crate::cache`), `scratch` (packing
//! buffers kept per thread).

mod blocking;
pub(crate) mod kernel;
mod loops;
pub(crate) mod pack;
#[cfg(target_arch = "x86_64")]
mod pack_x86;
mod packed;
#[cfg(all(test, feature = "internals"))]
mod probe;
mod scratch;

/// The cache-blocking constants and this CPU's MC (`internals` feature: for qkv's tests and
/// benches, not API).
#[cfg(feature = "internals")]
pub use blocking::{mc, A_IN_PLACE_MAX_M, KC, MC, NC};
pub use packed::PackedMatrix;

use crate::error::{invalid, shape_mismatch, Result};
use crate::isa::Isa;
use crate::mat::{MatMut, MatRef};
use crate::ops::activation::Activation;
use kernel::Epilogue;
use loops::{BSource, Problem};

/// Options of one product. `Default` is `C ← A·B` on the active ISA, parallel when worth it.
#[derive(Clone, Debug)]
pub struct GemmOptions<'a> {
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of the existing C; with 0, C is write-only.
    pub beta: f32,
    /// Added to every row of the result after scaling (length N).
    pub bias: Option<&'a [f32]>,
    /// Apply `max(0, x)` after the bias (the same as `act: Activation::Relu`).
    pub relu: bool,
    /// The activation after the bias, applied by each parallel task to its block of C right
    /// after computing it, while it is in cache (bit for bit what
    /// [`crate::ops::activation::apply`] gives afterwards, without a serial pass).
    /// With `relu` it must be `Identity` or `Relu`.
    pub act: Activation,
    /// Instruction set; `None` = [`Isa::active`]. Ignored by [`gemm_packed`], which uses the
    /// ISA the matrix was packed for.
    pub isa: Option<Isa>,
    /// Allow rayon to split large products over the current pool's threads.
    pub parallel: bool,
}

impl Default for GemmOptions<'_> {
    fn default() -> Self {
        GemmOptions {
            alpha: 1.0,
            beta: 0.0,
            bias: None,
            relu: false,
            act: Activation::Identity,
            isa: None,
            parallel: true,
        }
    }
}

/// `C ← act(α·A·B + β·C + bias)` with `A: M×K`, `B: K×N`, `C: M×N`.
///
/// ```
/// use qkv_core::{gemm, GemmOptions, MatMut, MatRef};
/// let a = [1.0, 2.0, 3.0, 4.0]; // 2×2
/// let b = [5.0, 6.0, 7.0, 8.0]; // 2×2
/// let mut c = [f32::NAN; 4];    // never read with β = 0
/// gemm(MatRef::new(&a, 2, 2)?, MatRef::new(&b, 2, 2)?, MatMut::new(&mut c, 2, 2)?,
///      &GemmOptions::default())?;
/// assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
/// # Ok::<(), qkv_core::Error>(())
/// ```
pub fn gemm(a: MatRef, b: MatRef, mut c: MatMut, opts: &GemmOptions) -> Result<()> {
    check_shapes(&a, b.rows(), b.cols(), &c, opts, || b.shape_str())?;
    let isa = opts.isa.unwrap_or_else(Isa::active).check()?;
    loops::run(problem(isa, a, BSource::View(b), &mut c, opts));
    Ok(())
}

/// `C ← act(α·A·B + β·C + bias)` with B packed once ([`PackedMatrix`]).
pub fn gemm_packed(a: MatRef, b: &PackedMatrix, mut c: MatMut, opts: &GemmOptions) -> Result<()> {
    check_shapes(&a, b.k(), b.n(), &c, opts, || {
        format!("{}×{} (packed)", b.k(), b.n())
    })?;
    loops::run(problem(b.isa(), a, BSource::Packed(b), &mut c, opts));
    Ok(())
}

fn problem<'a>(
    isa: Isa,
    a: MatRef<'a>,
    b: BSource<'a>,
    c: &mut MatMut,
    opts: &GemmOptions<'a>,
) -> Problem<'a> {
    Problem {
        isa,
        m: a.rows(),
        n: c.cols(),
        k: a.cols(),
        alpha: opts.alpha,
        beta: opts.beta,
        a,
        b,
        rsc: c.row_stride(),
        c: c.data_mut().as_mut_ptr(),
        bias: opts.bias,
        epi: Epilogue {
            act: match opts.relu {
                true => Activation::Relu,
                false => opts.act,
            },
        },
        parallel: opts.parallel,
    }
}

fn check_shapes(
    a: &MatRef,
    bk: usize,
    bn: usize,
    c: &MatMut,
    opts: &GemmOptions,
    b_shape: impl Fn() -> String,
) -> Result<()> {
    let (m, k) = (a.rows(), a.cols());
    if bk != k {
        return Err(shape_mismatch(
            "gemm",
            format!("B with {k} rows (A is {})", a.shape_str()),
            format!("B {}", b_shape()),
        ));
    }
    if c.rows() != m || c.cols() != bn {
        return Err(shape_mismatch(
            "gemm",
            format!("C {m}×{bn} (A {} · B {})", a.shape_str(), b_shape()),
            format!("C {}", c.shape_str()),
        ));
    }
    if let Some(bias) = opts.bias {
        if bias.len() != bn {
            return Err(shape_mismatch(
                "gemm",
                format!("bias of length {bn}"),
                format!("bias of length {}", bias.len()),
            ));
        }
    }
    if opts.relu && !matches!(opts.act, Activation::Identity | Activation::Relu) {
        return Err(invalid(
            "gemm",
            format!(
                "relu and act = {:?} both set: give one activation",
                opts.act
            ),
        ));
    }
    if !opts.alpha.is_finite() || !opts.beta.is_finite() {
        return Err(invalid(
            "gemm",
            format!("α = {}, β = {} must be finite", opts.alpha, opts.beta),
        ));
    }
    Ok(())
}
