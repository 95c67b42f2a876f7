//! Gated feed-forward (GLU family; ModernBERT's GeGLU, Shazeer 2020):
//! `[a | g] = x·Wiᵀ`, `y = (act(a) ⊙ g)·Woᵀ`, with optional biases, the residual added into
//! the second GEMM's output (β = 1).

use crate::error::{Error, Result};
use crate::nn::buffers::{check_len, grow, rows_ref};
use crate::nn::linear::Linear;
use crate::nn::precision::LinearSpec;
use qkv_core::ops::activation::{apply, Activation};

/// A gated feed-forward block; its two projections are [`Linear`] layers (any precision).
#[derive(Clone, Debug)]
pub struct GatedFeedForward {
    d_model: usize,
    d_ff: usize,
    wi: Linear,
    wo: Linear,
    act: Activation,
}

/// Scratch of one call: `[T, 2·d_ff]` projections and `[T, d_ff]` gated values.
#[derive(Clone, Debug, Default)]
pub struct GluBuffers {
    wide: Vec<f32>,
    gated: Vec<f32>,
}

impl GatedFeedForward {
    /// `wi: [2·d_ff, d_model]` (the activated half first, then the gate, as `chunk(2, -1)`
    /// splits it), `wo: [d_model, d_ff]`, in f32.
    pub fn new(
        d_model: usize,
        d_ff: usize,
        (wi, bi): (&[f32], Option<&[f32]>),
        (wo, bo): (&[f32], Option<&[f32]>),
        act: Activation,
    ) -> Result<Self> {
        check_len("mlp.Wi.weight", wi, &[2 * d_ff, d_model])?;
        check_len("mlp.Wo.weight", wo, &[d_model, d_ff])?;
        if let Some(b) = bi {
            check_len("mlp.Wi.bias", b, &[2 * d_ff])?;
        }
        if let Some(b) = bo {
            check_len("mlp.Wo.bias", b, &[d_model])?;
        }
        let f32 = LinearSpec::default();
        GatedFeedForward::from_linears(
            Linear::new(wi, 2 * d_ff, d_model, bi, &f32)?,
            Linear::new(wo, d_model, d_ff, bo, &f32)?,
            act,
        )
    }

    /// From prepared projections `wi: [2·d_ff, d]` and `wo: [d, d_ff]`, at any precision.
    pub fn from_linears(wi: Linear, wo: Linear, act: Activation) -> Result<Self> {
        let d_model = wi.k();
        let d_ff = wi.n() / 2;
        if !wi.n().is_multiple_of(2) || (wo.n(), wo.k()) != (d_model, d_ff) {
            return Err(Error::TensorShape {
                name: "gated feed-forward projections".into(),
                expected: vec![d_model, d_ff],
                found: vec![wo.n(), wo.k()],
            });
        }
        Ok(GatedFeedForward {
            d_model,
            d_ff,
            wi,
            wo,
            act,
        })
    }

    /// The two projections (`Wi`, `Wo`).
    pub fn linears(&self) -> [&Linear; 2] {
        [&self.wi, &self.wo]
    }

    /// `out += FFN(x)` for `tokens` rows (`x`, `out`: `[tokens, d_model]`).
    pub fn forward_add(
        &self,
        x: &[f32],
        tokens: usize,
        buf: &mut GluBuffers,
        out: &mut [f32],
    ) -> Result<()> {
        const OP: &str = "GatedFeedForward::forward";
        let (d, f) = (self.d_model, self.d_ff);
        let wide = grow(&mut buf.wide, tokens * 2 * f);
        let x = rows_ref(x, tokens, d, OP)?;
        self.wi
            .forward(x, tokens, wide, false, Activation::Identity)?;
        let gated = grow(&mut buf.gated, tokens * f);
        for (row, g) in wide.chunks_exact_mut(2 * f).zip(gated.chunks_exact_mut(f)) {
            let (a, gate) = row.split_at_mut(f);
            apply(a, self.act);
            for ((o, &a), &b) in g.iter_mut().zip(a.iter()).zip(gate.iter()) {
                *o = a * b;
            }
        }
        self.wo
            .forward(gated, tokens, out, true, Activation::Identity)
    }
}
