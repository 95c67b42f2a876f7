//! Weights quantized once: symmetric int8 per output channel, packed for one int8 kernel, with
//! the column sums the activation zero point needs.

use super::isa::Int8Isa;
use super::kernel::{kernel, Kernel};
use super::pack::{pack_b, unpack_b_at};
use super::tile::MAX_K;
use crate::error::{invalid, shape_mismatch, Error, Result};
use crate::mat::MatRef;

/// The packed weight panels: i8 for the VNNI and scalar kernels, widened i16 for AVX2.
#[derive(Clone, Debug)]
pub(crate) enum PackedB {
    Bytes(Vec<i8>),
    Wide(Vec<i16>),
}

/// A PyTorch `Linear` weight `W: [N, K]` (y = x·Wᵀ) quantized to int8 for [`super::gemm_int8`].
///
/// Per output channel j: `sw[j] = max_k |W'[j,k]| / 127` and `q[j,k] = round(W'[j,k] / sw[j])`
/// (ties to even, |q| ≤ 127), where `W' = W·diag(s)` with the optional per-input-channel
/// smoothing factors `s` (SmoothQuant's migration: the activations are divided by `s` when they
/// are quantized, so `x·Wᵀ = (x/s)·(W·s)ᵀ` up to rounding). A row of zeros gets `sw = 0`.
///
/// ```
/// use qkv_core::{gemm_int8, Int8Options, MatMut, MatRef, QuantizedMatrix};
/// let w = [1.0, -2.0, 0.5, 0.25, 0.0, 4.0]; // [out = 2, in = 3]
/// let q = QuantizedMatrix::from_weight(MatRef::new(&w, 2, 3)?)?;
/// let x = [1.0, 1.0, 1.0];
/// let mut y = [0.0; 2];
/// gemm_int8(MatRef::new(&x, 1, 3)?, &q, MatMut::new(&mut y, 1, 2)?, &Int8Options::default())?;
/// assert!((y[0] - -0.5).abs() < 0.02 && (y[1] - 4.25).abs() < 0.05);
/// # Ok::<(), qkv_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct QuantizedMatrix {
    pub(crate) isa: Int8Isa,
    pub(crate) n: usize,
    pub(crate) k: usize,
    pub(crate) nr: usize,
    pub(crate) kg: usize,
    pub(crate) b: PackedB,
    /// Scale per output channel, padded with zeros to whole NR panels.
    pub(crate) sw: Vec<f32>,
    /// `Σ_k q[j,k]` per output channel, padded with zeros to whole NR panels.
    pub(crate) colsum: Vec<i32>,
    /// The smoothing factors `s` and their reciprocals (applied to the activations).
    pub(crate) smooth: Option<(Vec<f32>, Vec<f32>)>,
}

impl QuantizedMatrix {
    /// Quantizes a PyTorch-layout weight `[N, K]` for the active int8 kernel.
    pub fn from_weight(w: MatRef) -> Result<Self> {
        Self::from_weight_for(w, None, Int8Isa::active())
    }

    /// Quantizes `w: [N, K]` with optional smoothing factors `s` (length K, finite, > 0) for a
    /// given int8 kernel (which must be available).
    pub fn from_weight_for(w: MatRef, smooth: Option<&[f32]>, isa: Int8Isa) -> Result<Self> {
        let (n, k) = (w.rows(), w.cols());
        check_smooth(smooth, k)?;
        let mut q = vec![0i8; n * k];
        let mut sw = vec![0f32; n];
        let mut row = vec![0f32; k];
        for j in 0..n {
            for (p, x) in row.iter_mut().enumerate() {
                let v = w.at(j, p);
                *x = match smooth {
                    Some(s) => v * s[p],
                    None => v,
                };
                if !x.is_finite() {
                    return Err(invalid(
                        "QuantizedMatrix",
                        format!("weight element ({j}, {p}) is {v}: weights must be finite"),
                    ));
                }
            }
            let absmax = row.iter().fold(0f32, |m, x| m.max(x.abs()));
            if absmax > 0.0 {
                let s = absmax / 127.0;
                sw[j] = s;
                for (d, x) in q[j * k..(j + 1) * k].iter_mut().zip(&row) {
                    *d = (x / s).round_ties_even().clamp(-127.0, 127.0) as i8;
                }
            }
        }
        Self::from_int8(&q, &sw, n, k, smooth, isa)
    }

    /// Builds the matrix from weights quantized already (`q: [N, K]` row-major, `|q| ≤ 127`,
    /// scales `sw` of length N, finite and ≥ 0): how a saved int8 model loads without
    /// requantizing.
    pub fn from_int8(
        q: &[i8],
        sw: &[f32],
        n: usize,
        k: usize,
        smooth: Option<&[f32]>,
        isa: Int8Isa,
    ) -> Result<Self> {
        let Some(kern) = kernel(isa) else {
            return Err(Error::IsaUnavailable(isa.name().to_string()));
        };
        if k > MAX_K {
            return Err(invalid(
                "QuantizedMatrix",
                format!("K = {k} exceeds {MAX_K}: the i32 sums could overflow"),
            ));
        }
        if q.len() != n.saturating_mul(k) {
            return Err(shape_mismatch(
                "QuantizedMatrix",
                format!("{n}×{k} = {} int8 values", n.saturating_mul(k)),
                format!("{}", q.len()),
            ));
        }
        if sw.len() != n {
            return Err(shape_mismatch(
                "QuantizedMatrix",
                format!("{n} scales"),
                format!("{}", sw.len()),
            ));
        }
        if let Some(j) = sw.iter().position(|s| !s.is_finite() || *s < 0.0) {
            return Err(invalid(
                "QuantizedMatrix",
                format!("scale {j} is {}: scales must be finite and ≥ 0", sw[j]),
            ));
        }
        if let Some(i) = q.iter().position(|&x| x == i8::MIN) {
            return Err(invalid(
                "QuantizedMatrix",
                format!("int8 value {i} is −128: symmetric weights lie in −127..=127"),
            ));
        }
        check_smooth(smooth, k)?;
        Ok(Self::build(&kern, q, sw, n, k, smooth))
    }

    fn build(
        kern: &Kernel,
        q: &[i8],
        sw: &[f32],
        n: usize,
        k: usize,
        smooth: Option<&[f32]>,
    ) -> Self {
        let npad = n.div_ceil(kern.nr) * kern.nr;
        let mut colsum = vec![0i32; npad];
        for (j, c) in colsum.iter_mut().enumerate().take(n) {
            *c = q[j * k..(j + 1) * k].iter().map(|&x| x as i32).sum();
        }
        let mut swp = vec![0f32; npad];
        swp[..n].copy_from_slice(sw);
        let b = if kern.wide {
            PackedB::Wide(pack_b::<i16>(q, n, k, kern.nr, kern.kg))
        } else {
            PackedB::Bytes(pack_b::<i8>(q, n, k, kern.nr, kern.kg))
        };
        QuantizedMatrix {
            isa: kern.isa,
            n,
            k,
            nr: kern.nr,
            kg: kern.kg,
            b,
            sw: swp,
            colsum,
            smooth: smooth.map(|s| (s.to_vec(), s.iter().map(|x| 1.0 / x).collect())),
        }
    }

    /// K (input features).
    pub fn k(&self) -> usize {
        self.k
    }
    /// N (output features).
    pub fn n(&self) -> usize {
        self.n
    }
    /// The int8 kernel this packing is for.
    pub fn isa(&self) -> Int8Isa {
        self.isa
    }
    /// Scale per output channel (length N).
    pub fn scales(&self) -> &[f32] {
        &self.sw[..self.n]
    }
    /// The smoothing factors `s` (length K), if any.
    pub fn smoothing(&self) -> Option<&[f32]> {
        self.smooth.as_ref().map(|(s, _)| s.as_slice())
    }
    /// The reciprocals `1/s` the activations are multiplied by.
    pub(crate) fn inv_smooth(&self) -> Option<&[f32]> {
        self.smooth.as_ref().map(|(_, r)| r.as_slice())
    }
    /// The quantized weight `q: [N, K]` (row-major), read back from the packed panels (for
    /// saving a model, and for tests).
    pub fn int8_weight(&self) -> Vec<i8> {
        let mut q = vec![0i8; self.n * self.k];
        for j in 0..self.n {
            for p in 0..self.k {
                q[j * self.k + p] = match &self.b {
                    PackedB::Bytes(b) => unpack_b_at(b, self.k, self.nr, self.kg, j, p),
                    // Values were widened from i8, so narrowing back is exact.
                    PackedB::Wide(b) => unpack_b_at(b, self.k, self.nr, self.kg, j, p) as i8,
                };
            }
        }
        q
    }
    /// Bytes held by the packed weights and their per-channel data.
    pub fn memory_bytes(&self) -> usize {
        let b = match &self.b {
            PackedB::Bytes(b) => b.len(),
            PackedB::Wide(b) => 2 * b.len(),
        };
        b + 8 * self.sw.len() + self.smooth.as_ref().map_or(0, |(s, _)| 8 * s.len())
    }
}

fn check_smooth(smooth: Option<&[f32]>, k: usize) -> Result<()> {
    let Some(s) = smooth else { return Ok(()) };
    if s.len() != k {
        return Err(shape_mismatch(
            "QuantizedMatrix",
            format!("{k} smoothing factors"),
            format!("{}", s.len()),
        ));
    }
    if let Some(p) = s
        .iter()
        .position(|x| !(x.is_finite() && *x > 0.0 && (1.0 / x).is_finite()))
    {
        return Err(invalid(
            "QuantizedMatrix",
            format!(
                "smoothing factor {p} is {}: factors must be finite and > 0",
                s[p]
            ),
        ));
    }
    Ok(())
}

/// SmoothQuant's factors `s_k = a_k^α / w_k^(1−α)` from an estimate of each input channel's
/// activation range `a_k = max |x_k|` (for a projection after LayerNorm, `|γ_k| + |β_k|` is
/// one read off the weights alone) and the weight's column maxima `w_k = max_j |W[j,k]|`.
/// α = 0.5 balances the two; a channel with `a_k = 0` or `w_k = 0` gets `s_k = 1`.
/// (Xiao et al., "SmoothQuant", ICML 2023, eq. 4.)
pub fn smoothing_factors(w: MatRef, act_absmax: &[f32], alpha: f32) -> Result<Vec<f32>> {
    let (n, k) = (w.rows(), w.cols());
    if act_absmax.len() != k {
        return Err(shape_mismatch(
            "smoothing_factors",
            format!("{k} activation maxima"),
            format!("{}", act_absmax.len()),
        ));
    }
    if !(0.0..=1.0).contains(&alpha) {
        return Err(invalid(
            "smoothing_factors",
            format!("α = {alpha} is not in [0, 1]"),
        ));
    }
    let mut s = vec![1f32; k];
    for (p, sp) in s.iter_mut().enumerate() {
        let wmax = (0..n).fold(0f32, |m, j| m.max(w.at(j, p).abs()));
        let a = act_absmax[p].abs();
        if !(a.is_finite() && wmax.is_finite()) {
            return Err(invalid(
                "smoothing_factors",
                format!("channel {p}: activation max {a}, weight max {wmax} must be finite"),
            ));
        }
        if a > 0.0 && wmax > 0.0 {
            let v = (a.powf(alpha) / wmax.powf(1.0 - alpha)).clamp(1e-5, 1e5);
            *sp = v;
        }
    }
    Ok(s)
}
