//! One linear projection `y = act(x·Wᵀ + b (+ y))` at a chosen [`Precision`]: the type every
//! layer's projections are made of, so every model family runs at every precision.
//!
//! The weight is prepared once, at construction: packed for the f32 GEMM, rounded to bf16, or
//! quantized to int8 per output channel (with optional SmoothQuant factors). The bias, the
//! residual (`accumulate`) and ReLU are fused into every GEMM's write-out; GELU too in f32 (per
//! task, on its block of C), and in one pass over whole rows after the product in bf16 and int8.

use crate::error::{Error, Result};
use crate::io::view::WeightsView;
use crate::nn::buffers::{check_len, rows_of, rows_ref};
use crate::nn::precision::{LinearSpec, Precision};
use qkv_core::bf16::{gemm_bf16, Bf16Matrix};
use qkv_core::ops::activation::{apply, Activation};
use qkv_core::quant::smoothing_factors;
use qkv_core::{gemm_int8, gemm_packed, GemmOptions, Int8Options, MatMut, MatRef};
use qkv_core::{PackedMatrix, QuantizedMatrix};

/// The prepared weight.
#[derive(Clone, Debug)]
enum Weight {
    F32(PackedMatrix),
    Bf16(Bf16Matrix),
    Int8(QuantizedMatrix),
}

/// A linear layer `[N, K]` (PyTorch layout, `y = x·Wᵀ + b`) with its weight prepared for one
/// precision.
///
/// ```
/// use qkv_encoder::{Activation, Linear, LinearSpec, Precision};
/// let w = [1.0, 0.0, 0.0, 1.0, 2.0, 0.0]; // [out = 3, in = 2]
/// for p in Precision::ALL {
///     let lin = Linear::new(&w, 3, 2, Some(&[0.0, 0.0, 1.0]), &LinearSpec::new(p))?;
///     let mut y = [0.0; 3];
///     lin.forward(&[0.5, -1.0], 1, &mut y, false, Activation::Identity)?;
///     assert!((y[0] - 0.5).abs() < 0.01 && (y[1] + 1.0).abs() < 0.01 && (y[2] - 2.0).abs() < 0.01);
/// }
/// # Ok::<(), qkv_encoder::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Linear {
    n: usize,
    k: usize,
    weight: Weight,
    bias: Option<Vec<f32>>,
    sources: Vec<(String, usize)>,
}

impl Linear {
    /// Prepares `w: [n, k]` (row-major) and an optional bias `[n]` as `spec` says.
    pub fn new(
        w: &[f32],
        n: usize,
        k: usize,
        bias: Option<&[f32]>,
        spec: &LinearSpec,
    ) -> Result<Self> {
        check_len("linear weight", w, &[n, k])?;
        if let Some(b) = bias {
            check_len("linear bias", b, &[n])?;
        }
        let view = MatRef::new(w, n, k)?;
        let weight = match spec.precision {
            Precision::F32 => Weight::F32(PackedMatrix::from_weight(view)?),
            Precision::Bf16 => Weight::Bf16(Bf16Matrix::from_weight(view)?),
            Precision::Int8 => {
                let smooth = match &spec.smooth {
                    Some(s) => Some(smoothing_factors(view, &s.act_range, s.alpha)?),
                    None => None,
                };
                Weight::Int8(QuantizedMatrix::from_weight_for(
                    view,
                    smooth.as_deref(),
                    qkv_core::Int8Isa::active(),
                )?)
            }
        };
        Ok(Linear {
            n,
            k,
            weight,
            bias: bias.map(<[f32]>::to_vec),
            sources: Vec::new(),
        })
    }

    /// An int8 layer from weights quantized already (`q: [n, k]`, scales `[n]`, optional
    /// smoothing factors `[k]`): how a saved int8 model loads without requantizing.
    pub fn from_int8(
        q: &[i8],
        scales: &[f32],
        smooth: Option<&[f32]>,
        n: usize,
        k: usize,
        bias: Option<&[f32]>,
    ) -> Result<Self> {
        if let Some(b) = bias {
            check_len("linear bias", b, &[n])?;
        }
        let m = QuantizedMatrix::from_int8(q, scales, n, k, smooth, qkv_core::Int8Isa::active())?;
        Ok(Linear {
            n,
            k,
            weight: Weight::Int8(m),
            bias: bias.map(<[f32]>::to_vec),
            sources: Vec::new(),
        })
    }

    /// Loads the row blocks `blocks` (`(name, rows)`: `{name}.weight [rows, k]` and, with
    /// `bias`, `{name}.bias [rows]`, under `w`) stacked into one `[Σ rows, k]` layer. F32, F16
    /// and BF16 weights are prepared as `spec` says; int8 weights saved by `qkv quantize`
    /// (`{name}.weight` I8, `{name}.weight_scale` F32 `[rows]`, `{name}.weight_smooth` F32
    /// `[k]` when smoothed) load as they are, and only when `spec` asks for int8. A missing or
    /// mis-shaped tensor is an error naming it.
    pub fn load(
        w: &WeightsView,
        blocks: &[(&str, usize)],
        k: usize,
        bias: bool,
        spec: &LinearSpec,
    ) -> Result<Self> {
        let n: usize = blocks.iter().map(|b| b.1).sum();
        let b = if bias {
            let mut b = Vec::with_capacity(n);
            for (name, rows) in blocks {
                b.extend(w.tensor(&format!("{name}.bias"), &[*rows])?);
            }
            Some(b)
        } else {
            None
        };
        let stored_int8 = blocks
            .iter()
            .map(|(name, _)| w.dtype(&format!("{name}.weight")).as_deref() == Some("I8"))
            .collect::<Vec<_>>();
        let mut lin = if stored_int8.iter().any(|&x| x) {
            if spec.precision != Precision::Int8 {
                return Err(Error::Config(format!(
                    "`{}` is int8 (quantized by qkv quantize): load the model at precision int8, \
                     not {}",
                    w.full(&format!("{}.weight", blocks[0].0)),
                    spec.precision
                )));
            }
            load_int8(w, blocks, k, &stored_int8, b.as_deref())?
        } else {
            let mut wt = Vec::with_capacity(n * k);
            for (name, rows) in blocks {
                wt.extend(w.tensor(&format!("{name}.weight"), &[*rows, k])?);
            }
            Linear::new(&wt, n, k, b.as_deref(), spec)?
        };
        lin.sources = blocks
            .iter()
            .map(|(name, rows)| (w.full(name), *rows))
            .collect();
        Ok(lin)
    }

    /// Output features N.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Input features K.
    pub fn k(&self) -> usize {
        self.k
    }
    /// The bias, if any.
    pub fn bias(&self) -> Option<&[f32]> {
        self.bias.as_deref()
    }
    /// The precision the weight is prepared for.
    pub fn precision(&self) -> Precision {
        match self.weight {
            Weight::F32(_) => Precision::F32,
            Weight::Bf16(_) => Precision::Bf16,
            Weight::Int8(_) => Precision::Int8,
        }
    }
    /// The quantized weight, for an int8 layer.
    pub fn int8(&self) -> Option<&QuantizedMatrix> {
        match &self.weight {
            Weight::Int8(q) => Some(q),
            _ => None,
        }
    }
    /// The tensors the layer was loaded from by [`Linear::load`] (full name prefix and rows of
    /// each block, in order); empty for a layer built from slices.
    pub fn sources(&self) -> &[(String, usize)] {
        &self.sources
    }
    /// Bytes held by the prepared weight and the bias.
    pub fn memory_bytes(&self) -> usize {
        let w = match &self.weight {
            Weight::F32(_) => 4 * self.n * self.k,
            Weight::Bf16(m) => m.memory_bytes(),
            Weight::Int8(q) => q.memory_bytes(),
        };
        w + 4 * self.bias.as_ref().map_or(0, Vec::len)
    }

    /// `out ← act(x·Wᵀ + b)` (`accumulate`: `out ← act(x·Wᵀ + b + out)`) for `x: [rows, K]`,
    /// `out: [rows, N]` (the first `rows` rows of each buffer).
    pub fn forward(
        &self,
        x: &[f32],
        rows: usize,
        out: &mut [f32],
        accumulate: bool,
        act: Activation,
    ) -> Result<()> {
        const OP: &str = "Linear::forward";
        let (n, k) = (self.n, self.k);
        let a = MatRef::new(rows_ref(x, rows, k, OP)?, rows, k)?;
        let out = rows_of(out, rows, n, OP)?;
        let beta = if accumulate { 1.0 } else { 0.0 };
        let relu = act == Activation::Relu;
        let elementwise = !matches!(act, Activation::Relu | Activation::Identity);
        let opts = Int8Options {
            beta,
            bias: self.bias.as_deref(),
            relu,
            // GELU runs after the product, over whole rows, not as the tile hook: per 48-column
            // segment its dispatch and constants cost more than the L1 reuse saves (int8
            // 689–706 → 712–742 sentences/s, bf16 +3–7 %, MiniLM, one thread, Zen 4).
            hook: None,
            parallel: true,
        };
        let c = MatMut::new(out, rows, n)?;
        let after = match &self.weight {
            Weight::F32(p) => {
                // Every activation inside the product's parallel tasks (same bits as a pass
                // afterwards; MiniLM 15 tokens, 2 threads: no serial GELU pass after it).
                let go = GemmOptions {
                    beta,
                    bias: self.bias.as_deref(),
                    act,
                    ..Default::default()
                };
                gemm_packed(a, p, c, &go)?;
                false
            }
            Weight::Bf16(m) => gemm_bf16(a, m, c, &opts).map(|_| elementwise)?,
            Weight::Int8(q) => gemm_int8(a, q, c, &opts).map(|_| elementwise)?,
        };
        if after {
            apply(out, act);
        }
        Ok(())
    }
}

/// The int8 path of [`Linear::load`]: every block int8 with its scales, one smoothing vector.
fn load_int8(
    w: &WeightsView,
    blocks: &[(&str, usize)],
    k: usize,
    stored_int8: &[bool],
    bias: Option<&[f32]>,
) -> Result<Linear> {
    let n: usize = blocks.iter().map(|b| b.1).sum();
    let mut q = Vec::with_capacity(n * k);
    let mut scales = Vec::with_capacity(n);
    let mut smooth: Option<(String, Vec<f32>)> = None;
    for (i, (name, rows)) in blocks.iter().enumerate() {
        let wname = format!("{name}.weight");
        if !stored_int8[i] {
            return Err(Error::Config(format!(
                "`{}` is {} while `{}` is int8: a layer's blocks must all be int8",
                w.full(&wname),
                w.dtype(&wname).unwrap_or_else(|| "missing".into()),
                w.full(&format!("{}.weight", blocks[0].0)),
            )));
        }
        q.extend(w.tensor_i8(&wname, &[*rows, k])?);
        scales.extend(w.tensor(&format!("{name}.weight_scale"), &[*rows])?);
        let sname = format!("{name}.weight_smooth");
        let s = if w.contains(&sname) {
            Some(w.tensor(&sname, &[k])?)
        } else {
            None
        };
        match (i, &smooth, s) {
            (0, _, Some(s)) => smooth = Some((w.full(&sname), s)),
            (0, _, None) => {}
            (_, Some((first, s0)), Some(s)) if s != *s0 => {
                return Err(Error::Config(format!(
                    "`{}` differs from `{first}`: blocks of one layer share their smoothing",
                    w.full(&sname)
                )))
            }
            (_, Some(_), Some(_)) | (_, None, None) => {}
            (_, Some((first, _)), None) => {
                return Err(Error::MissingTensor {
                    path: w.weights().path().to_path_buf(),
                    name: format!("{} (as `{first}` is present)", w.full(&sname)),
                })
            }
            (_, None, Some(_)) => {
                return Err(Error::Config(format!(
                    "`{}` is present but the layer's first block has no smoothing",
                    w.full(&sname)
                )))
            }
        }
    }
    Linear::from_int8(
        &q,
        &scales,
        smooth.as_ref().map(|(_, s)| s.as_slice()),
        n,
        k,
        bias,
    )
    .map_err(|e| match e {
        Error::Core(c) => Error::Config(format!(
            "int8 layer `{}`: {c}",
            w.full(&format!("{}.weight", blocks[0].0))
        )),
        other => other,
    })
}
