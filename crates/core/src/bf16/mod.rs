//! bf16 GEMM: weights stored as bf16 (half the memory of f32), `C ← bf16(A)·bf16(W)ᵀ + β·C
//! (+ bias, ReLU, hook)` with f32 accumulation.
//!
//! Both operands are rounded to bf16 (nearest, ties to even); their products are exact in f32,
//! so what differs between kernels is only the order of the f32 sums:
//!
//! - **AVX-512 BF16** ([`Bf16Isa::Avx512Bf16`]): `vdpbf16ps`, 32 multiply-adds per instruction
//!   (2× the f32 FMA). bf16 denormals (|x| < 1.2e-38) count as zero there.
//! - **Widened** ([`Bf16Isa::Widened`]): elsewhere, the bf16 weights are widened to f32 once and
//!   the f32 GEMM of the active ISA runs on the bf16-rounded activations: correct, as fast as
//!   f32, without the memory saving.
//!
//! Each kernel is bit-identical across thread counts; the error against the exact product of
//! the rounded operands is that of an f32 GEMM (tested with a K-aware bound).

mod convert;
#[cfg(target_arch = "x86_64")]
mod kernel_avx512;
#[cfg(target_arch = "x86_64")]
mod loops;

pub use convert::{from_bf16, to_bf16};

use crate::error::{invalid, shape_mismatch, Error, Result};
use crate::gemm::{gemm_packed, GemmOptions, PackedMatrix};
use crate::mat::{MatMut, MatRef};
use crate::quant::Int8Options;
use std::fmt;
use std::sync::OnceLock;

/// Options of a bf16 product: the same as the int8 GEMM's (β, bias, ReLU, hook, parallel).
pub type Bf16Options<'a> = Int8Options<'a>;

/// How a bf16 product runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bf16Isa {
    /// `vdpbf16ps` (AVX-512 BF16: Zen 4, Cooper Lake, Sapphire Rapids).
    Avx512Bf16,
    /// Weights widened to f32, the f32 GEMM of [`crate::Isa::active`].
    Widened,
}

impl Bf16Isa {
    /// Both, fastest first.
    pub const ALL: [Bf16Isa; 2] = [Bf16Isa::Avx512Bf16, Bf16Isa::Widened];

    /// The short name (`avx512bf16`, `widened`).
    pub fn name(self) -> &'static str {
        match self {
            Bf16Isa::Avx512Bf16 => "avx512bf16",
            Bf16Isa::Widened => "widened",
        }
    }

    /// Whether this CPU runs it (the feature list matches `kernel_avx512.rs`).
    pub fn is_available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Bf16Isa::Avx512Bf16 => {
                use std::arch::is_x86_feature_detected as has;
                has!("avx512f")
                    && has!("avx512bw")
                    && has!("avx512vl")
                    && has!("avx512bf16")
                    && has!("avx2")
                    && has!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Bf16Isa::Avx512Bf16 => false,
            Bf16Isa::Widened => true,
        }
    }

    /// The default: `QKV_BF16_ISA=avx512bf16|widened` if set and available, else AVX-512 BF16
    /// when the CPU has it and [`crate::Isa::active`] is AVX-512, else widened. Cached.
    pub fn active() -> Bf16Isa {
        static ACTIVE: OnceLock<Bf16Isa> = OnceLock::new();
        *ACTIVE.get_or_init(|| {
            let best = if crate::Isa::active() == crate::Isa::Avx512
                && Bf16Isa::Avx512Bf16.is_available()
            {
                Bf16Isa::Avx512Bf16
            } else {
                Bf16Isa::Widened
            };
            match std::env::var("QKV_BF16_ISA").as_deref() {
                Ok("avx512bf16") if Bf16Isa::Avx512Bf16.is_available() => Bf16Isa::Avx512Bf16,
                Ok("widened") => Bf16Isa::Widened,
                Ok(v) if !v.is_empty() => {
                    eprintln!(
                        "qkv: QKV_BF16_ISA={v} is not available here; using {}",
                        best.name()
                    );
                    best
                }
                _ => best,
            }
        })
    }
}

impl fmt::Display for Bf16Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Debug)]
enum Data {
    /// bf16 panels of the `vdpbf16ps` kernel.
    Panels(Vec<u16>),
    /// bf16-rounded values widened to f32, packed for the f32 GEMM.
    Widened(PackedMatrix),
}

/// A PyTorch `Linear` weight `[N, K]` rounded to bf16 for [`gemm_bf16`].
///
/// ```
/// use qkv_core::bf16::{gemm_bf16, Bf16Matrix, Bf16Options};
/// use qkv_core::{MatMut, MatRef};
/// let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // [out = 2, in = 3], exact in bf16
/// let m = Bf16Matrix::from_weight(MatRef::new(&w, 2, 3)?)?;
/// let mut y = [0.0; 2];
/// gemm_bf16(MatRef::new(&[1.0, 1.0, 1.0], 1, 3)?, &m, MatMut::new(&mut y, 1, 2)?,
///           &Bf16Options::default())?;
/// assert_eq!(y, [6.0, 15.0]);
/// # Ok::<(), qkv_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Bf16Matrix {
    isa: Bf16Isa,
    n: usize,
    k: usize,
    data: Data,
}

impl Bf16Matrix {
    /// Rounds `w: [N, K]` to bf16 for [`Bf16Isa::active`].
    pub fn from_weight(w: MatRef) -> Result<Self> {
        Self::from_weight_for(w, Bf16Isa::active())
    }

    /// Rounds `w: [N, K]` to bf16 for a given kernel (which must be available).
    pub fn from_weight_for(w: MatRef, isa: Bf16Isa) -> Result<Self> {
        if !isa.is_available() {
            return Err(Error::IsaUnavailable(isa.name().to_string()));
        }
        let (n, k) = (w.rows(), w.cols());
        if n.checked_mul(k).and_then(|x| x.checked_mul(4)).is_none() {
            return Err(invalid("Bf16Matrix", format!("{n}×{k} is too large")));
        }
        let data = match isa {
            #[cfg(target_arch = "x86_64")]
            Bf16Isa::Avx512Bf16 => Data::Panels(convert::pack_weight(
                |j, p| w.at(j, p),
                n,
                k,
                kernel_avx512::NR,
            )),
            _ => {
                let mut f = vec![0f32; n * k];
                for (x, j) in f.iter_mut().zip(0..) {
                    let (r, c) = (j / k.max(1), j % k.max(1));
                    *x = from_bf16(to_bf16(w.at(r, c)));
                }
                Data::Widened(PackedMatrix::from_kn_for(
                    MatRef::new(&f, n, k)?.t(),
                    crate::Isa::active(),
                )?)
            }
        };
        Ok(Bf16Matrix { isa, n, k, data })
    }

    /// K (input features).
    pub fn k(&self) -> usize {
        self.k
    }
    /// N (output features).
    pub fn n(&self) -> usize {
        self.n
    }
    /// The kernel this matrix is laid out for.
    pub fn isa(&self) -> Bf16Isa {
        self.isa
    }
    /// Bytes held by the weight.
    pub fn memory_bytes(&self) -> usize {
        match &self.data {
            Data::Panels(b) => 2 * b.len(),
            Data::Widened(_) => 4 * self.n * self.k,
        }
    }
}

/// `C ← bf16(A)·bf16(W)ᵀ + β·C (+ bias, ReLU, hook)`, `A: M×K`, `w: [N, K]`, `C: M×N`.
pub fn gemm_bf16(a: MatRef, w: &Bf16Matrix, mut c: MatMut, opts: &Bf16Options) -> Result<()> {
    let (m, k, n) = (a.rows(), a.cols(), w.n);
    if k != w.k || c.rows() != m || c.cols() != n {
        return Err(shape_mismatch(
            "gemm_bf16",
            format!("A M×{} and C M×{n} (W is {n}×{})", w.k, w.k),
            format!("A {}, C {}", a.shape_str(), c.shape_str()),
        ));
    }
    if let Some(b) = opts.bias {
        if b.len() != n {
            return Err(shape_mismatch(
                "gemm_bf16",
                format!("bias of length {n}"),
                format!("bias of length {}", b.len()),
            ));
        }
    }
    if !opts.beta.is_finite() {
        return Err(invalid(
            "gemm_bf16",
            format!("β = {} must be finite", opts.beta),
        ));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    match &w.data {
        #[cfg(target_arch = "x86_64")]
        Data::Panels(b) => {
            loops::run(loops::Problem {
                a,
                b,
                n,
                rsc: c.row_stride(),
                c: c.data_mut().as_mut_ptr(),
                beta: opts.beta,
                bias: opts.bias,
                relu: opts.relu,
                hook: opts.hook,
                parallel: opts.parallel,
            });
            Ok(())
        }
        #[cfg(not(target_arch = "x86_64"))]
        Data::Panels(_) => Err(Error::IsaUnavailable("avx512bf16".into())),
        Data::Widened(p) => {
            // Round the activations like the bf16 kernel does, then the f32 GEMM.
            let mut ar = vec![0f32; m * k];
            let mut h16 = vec![0u16; k];
            for (i, row) in ar.chunks_mut(k.max(1)).enumerate().take(m) {
                for (q, x) in row.iter_mut().enumerate() {
                    *x = a.at(i, q);
                }
                convert::convert_row(row, &mut h16);
                for (x, &h) in row.iter_mut().zip(&h16) {
                    *x = from_bf16(h);
                }
            }
            let go = GemmOptions {
                beta: opts.beta,
                bias: opts.bias,
                relu: opts.relu,
                parallel: opts.parallel,
                ..Default::default()
            };
            let rsc = c.row_stride();
            gemm_packed(
                MatRef::new(&ar, m, k)?,
                p,
                MatMut::with_row_stride(c.data_mut(), m, n, rsc)?,
                &go,
            )?;
            if let Some(h) = opts.hook {
                for i in 0..m {
                    h(&mut c.data_mut()[i * rsc..i * rsc + n]);
                }
            }
            Ok(())
        }
    }
}

/// Measured `vdpbf16ps` peak of `threads` cores at once, in G multiply-adds per second (two
/// bf16 products added to an f32 count as two), best of 5. `None` without AVX-512 BF16.
pub fn bf16_peak_gmacs(threads: usize) -> Option<f64> {
    if !Bf16Isa::Avx512Bf16.is_available() {
        return None;
    }
    let one = || {
        #[cfg(target_arch = "x86_64")]
        {
            let iters = 200_000;
            let mut best = f64::INFINITY;
            let mut sink = 0f32;
            for s in 0..5 {
                let t = std::time::Instant::now();
                // SAFETY: AVX-512 BF16 is available (checked above).
                sink += unsafe { kernel_avx512::peak_loop(iters, std::hint::black_box(s as f32)) };
                best = best.min(t.elapsed().as_secs_f64());
            }
            std::hint::black_box(sink);
            (iters * 16 * 32) as f64 / best / 1e9
        }
        #[cfg(not(target_arch = "x86_64"))]
        0.0
    };
    if threads <= 1 {
        return Some(one());
    }
    std::thread::scope(|sc| {
        let hs: Vec<_> = (0..threads).map(|_| sc.spawn(one)).collect();
        hs.into_iter().map(|h| h.join().ok()).sum::<Option<f64>>()
    })
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::convert::{convert_row, to_bf16};

    #[test]
    fn simd_conversion_equals_scalar_rounding() {
        if !super::Bf16Isa::Avx512Bf16.is_available() {
            eprintln!("simd_conversion: skipped (no AVX-512 BF16)");
            return;
        }
        let mut x: Vec<f32> = (0..1000u32)
            .map(|i| f32::from_bits(i.wrapping_mul(2_654_435_761)))
            .collect();
        x.extend([
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MAX,
            1.0 + 1.0 / 256.0,
        ]);
        x.extend([1.0 + 3.0 / 256.0, f32::MIN_POSITIVE, 1e-40, -3.3895e38]);
        let mut want = vec![0u16; x.len()];
        convert_row(&x, &mut want);
        let mut got = vec![0u16; x.len()];
        // SAFETY: AVX-512 BF16 (and so F, BW) is available; equal lengths.
        unsafe { super::kernel_avx512::convert_row(&x, &mut got) };
        assert_eq!(got, want);
        // Ties to even: 1 + 2⁻⁸ is halfway between 1 and 1 + 2⁻⁷ → 1; 1 + 3·2⁻⁸ → 1 + 2⁻⁶.
        assert_eq!(to_bf16(1.0 + 1.0 / 256.0), 0x3f80);
        assert_eq!(to_bf16(1.0 + 3.0 / 256.0), 0x3f82);
        assert_eq!(to_bf16(f32::MAX), 0x7f80); // rounds past the largest bf16: +∞
        assert!(super::from_bf16(to_bf16(f32::NAN)).is_nan());
    }
}
