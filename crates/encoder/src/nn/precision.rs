//! The precision of a model's linear layers, chosen when the model is loaded: f32 (exact, the
//! default), bf16 weights, or int8 weights with per-token int8 activations.
//!
//! A [`PrecisionPlan`] says which precision each projection of a layer runs at and whether
//! int8 projections after a LayerNorm use SmoothQuant factors; [`PrecisionPlan::recommended`]
//! is the measured choice for each [`Precision`] (see `docs/numerics_int8.md`, "Whole
//! models"). Attention, softmax, LayerNorm and the activations always run in f32.

use crate::error::{Error, Result};
use crate::nn::norm::LayerNorm;
use qkv_core::bf16::Bf16Isa;
use qkv_core::Int8Isa;
use std::fmt;
use std::str::FromStr;

/// Numeric format of a linear layer's weights (and, for int8, of its inputs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Precision {
    /// f32 weights and products: qkv's exact path.
    #[default]
    F32,
    /// Weights rounded to bf16 (half the memory), inputs rounded to bf16, f32 sums
    /// (`vdpbf16ps` where the CPU has AVX-512 BF16, else widened to f32).
    Bf16,
    /// Weights int8 per output channel, inputs u8 per row (token), exact i32 sums, dequantized
    /// in f32 (`vpdpbusd` with VNNI, else AVX2 or scalar).
    Int8,
}

impl Precision {
    /// Every precision, widest first.
    pub const ALL: [Precision; 3] = [Precision::F32, Precision::Bf16, Precision::Int8];

    /// The lower-case name (`f32`, `bf16`, `int8`) used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::Int8 => "int8",
        }
    }

    /// The kernel this precision runs on here (`avx512vnni`, `avx512bf16`, `widened`, …;
    /// `f32` for f32).
    pub fn kernel(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => Bf16Isa::active().name(),
            Precision::Int8 => Int8Isa::active().name(),
        }
    }

    /// Whether this CPU runs the precision on its fast kernel: `vdpbf16ps` for bf16, a VNNI
    /// kernel (`vpdpbusd`) for int8. Otherwise the results are the same (bf16) or equally
    /// exact (int8: every int8 kernel gives the same bits), only slower.
    pub fn is_fast_here(self) -> bool {
        match self {
            Precision::F32 => true,
            Precision::Bf16 => Bf16Isa::active() == Bf16Isa::Avx512Bf16,
            Precision::Int8 => matches!(Int8Isa::active(), Int8Isa::Avx512Vnni | Int8Isa::AvxVnni),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Precision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Precision> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "fp32" | "float32" => Ok(Precision::F32),
            "bf16" | "bfloat16" => Ok(Precision::Bf16),
            "int8" | "i8" | "q8" => Ok(Precision::Int8),
            _ => Err(Error::Config(format!(
                "unknown precision `{s}` (expected f32, bf16 or int8)"
            ))),
        }
    }
}

/// The four projections of an encoder layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Projection {
    /// The fused Q, K, V projection (its input follows a LayerNorm).
    Qkv,
    /// The attention output projection (input: the attention context).
    AttnOut,
    /// The first feed-forward projection (its input follows a LayerNorm).
    FfnIn,
    /// The second feed-forward projection (input: the activation's output).
    FfnOut,
}

/// Which precision each projection runs at, and how int8 projections are quantized.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PrecisionPlan {
    /// The precision asked for (what a model reports it runs at).
    pub precision: Precision,
    /// Fused Q, K, V projection.
    pub qkv: Precision,
    /// Attention output projection.
    pub attn_out: Precision,
    /// Feed-forward in.
    pub ffn_in: Precision,
    /// Feed-forward out.
    pub ffn_out: Precision,
    /// SmoothQuant α for int8 projections that follow a LayerNorm, the activation range
    /// estimated from the weights alone as `|γ_k| + |β_k|`; `None`: no smoothing.
    pub smooth_alpha: Option<f32>,
}

impl PrecisionPlan {
    /// Every projection at `p`, no smoothing.
    pub fn uniform(p: Precision) -> Self {
        PrecisionPlan {
            precision: p,
            qkv: p,
            attn_out: p,
            ffn_in: p,
            ffn_out: p,
            smooth_alpha: None,
        }
    }

    /// The measured choice for `p` (`docs/numerics_int8.md`, "Whole models"): f32 and bf16
    /// everywhere; for int8, every projection int8, with SmoothQuant factors (α = 0.75) on the
    /// two that follow a LayerNorm (QKV, FFN in). On all-MiniLM-L6-v2 against
    /// sentence-transformers (600 varied sentences) smoothing lifts the worst cosine from
    /// 0.9876 to 0.9924 at the same mean (0.9987) and speed.
    pub fn recommended(p: Precision) -> Self {
        let mut plan = PrecisionPlan::uniform(p);
        if p == Precision::Int8 {
            plan.smooth_alpha = Some(0.75);
        }
        plan
    }

    /// Whether some projection is smoothed (int8 with an α), so loaders need the LayerNorms
    /// that feed the projections before the projections themselves.
    pub fn smooths(&self) -> bool {
        self.smooth_alpha.is_some()
            && [self.qkv, self.attn_out, self.ffn_in, self.ffn_out].contains(&Precision::Int8)
    }

    /// The precision of one projection.
    pub fn of(&self, proj: Projection) -> Precision {
        match proj {
            Projection::Qkv => self.qkv,
            Projection::AttnOut => self.attn_out,
            Projection::FfnIn => self.ffn_in,
            Projection::FfnOut => self.ffn_out,
        }
    }

    /// How to build projection `proj` whose input is the output of `input_norm` (when known).
    pub fn spec(&self, proj: Projection, input_norm: Option<&LayerNorm>) -> LinearSpec {
        let precision = self.of(proj);
        let smooth = match (precision, self.smooth_alpha, input_norm) {
            (Precision::Int8, Some(alpha), Some(ln)) => Some(Smoothing {
                act_range: ln
                    .gamma
                    .iter()
                    .zip(&ln.beta)
                    .map(|(g, b)| g.abs() + b.abs())
                    .collect(),
                alpha,
            }),
            _ => None,
        };
        LinearSpec { precision, smooth }
    }
}

impl Default for PrecisionPlan {
    fn default() -> Self {
        PrecisionPlan::uniform(Precision::F32)
    }
}

/// SmoothQuant factors to compute from an activation-range estimate and the weight.
#[derive(Clone, Debug, PartialEq)]
pub struct Smoothing {
    /// Estimated `max |x_k|` per input channel (length K).
    pub act_range: Vec<f32>,
    /// Migration strength α in [0, 1].
    pub alpha: f32,
}

/// How one linear layer is built from its f32 weights.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinearSpec {
    /// Storage and product format.
    pub precision: Precision,
    /// SmoothQuant factors (int8 only; ignored otherwise).
    pub smooth: Option<Smoothing>,
}

impl LinearSpec {
    /// `precision`, no smoothing.
    pub fn new(precision: Precision) -> Self {
        LinearSpec {
            precision,
            smooth: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_an_error() {
        for p in Precision::ALL {
            assert_eq!(p.name().parse::<Precision>().unwrap(), p);
            assert_eq!(p.to_string(), p.name());
        }
        assert_eq!("BF16".parse::<Precision>().unwrap(), Precision::Bf16);
        let e = "int4".parse::<Precision>().unwrap_err().to_string();
        assert!(e.contains("int4") && e.contains("int8"), "{e}");
        assert_eq!(Precision::default(), Precision::F32);
    }

    #[test]
    fn plan_specs() {
        let ln = LayerNorm {
            gamma: vec![1.0, -2.0],
            beta: vec![0.5, 0.0],
            eps: 1e-5,
        };
        let mut plan = PrecisionPlan::uniform(Precision::Int8);
        assert_eq!(plan.spec(Projection::Qkv, Some(&ln)).smooth, None);
        plan.smooth_alpha = Some(0.5);
        plan.ffn_out = Precision::Bf16;
        let s = plan.spec(Projection::Qkv, Some(&ln)).smooth.unwrap();
        assert_eq!((s.act_range, s.alpha), (vec![1.5, 2.0], 0.5));
        assert_eq!(plan.spec(Projection::AttnOut, None).smooth, None);
        assert_eq!(
            plan.spec(Projection::FfnOut, Some(&ln)),
            LinearSpec::new(Precision::Bf16)
        );
        assert_eq!(
            PrecisionPlan::default().of(Projection::FfnIn),
            Precision::F32
        );
    }
}
