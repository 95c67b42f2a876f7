//! Gated feed-forward (GLU family; ModernBERT's GeGLU, Shazeer 2020):
//! `[a | g] = x·Wiᵀ`, `y = (act(a) ⊙ g)·Woᵀ`, with optional biases, the residual added into
//! the second GEMM's output (β = 1).

use crate::error::Result;
use crate::nn::buffers::{check_len, grow, rows_of, rows_ref};
use qkv_core::ops::activation::{apply, Activation};
use qkv_core::{gemm_packed, GemmOptions, MatMut, MatRef, PackedMatrix};

/// A gated feed-forward block with pre-packed weights.
#[derive(Clone, Debug)]
pub struct GatedFeedForward {
    d_model: usize,
    d_ff: usize,
    wi: PackedMatrix,
    bi: Option<Vec<f32>>,
    wo: PackedMatrix,
    bo: Option<Vec<f32>>,
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
    /// splits it), `wo: [d_model, d_ff]`.
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
        Ok(GatedFeedForward {
            d_model,
            d_ff,
            wi: PackedMatrix::from_weight(MatRef::new(wi, 2 * d_ff, d_model)?)?,
            bi: bi.map(<[f32]>::to_vec),
            wo: PackedMatrix::from_weight(MatRef::new(wo, d_model, d_ff)?)?,
            bo: bo.map(<[f32]>::to_vec),
            act,
        })
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
        let opts = GemmOptions {
            bias: self.bi.as_deref(),
            ..Default::default()
        };
        gemm_packed(
            MatRef::new(rows_ref(x, tokens, d, OP)?, tokens, d)?,
            &self.wi,
            MatMut::new(wide, tokens, 2 * f)?,
            &opts,
        )?;
        let gated = grow(&mut buf.gated, tokens * f);
        for (row, g) in wide.chunks_exact_mut(2 * f).zip(gated.chunks_exact_mut(f)) {
            let (a, gate) = row.split_at_mut(f);
            apply(a, self.act);
            for ((o, &a), &b) in g.iter_mut().zip(a.iter()).zip(gate.iter()) {
                *o = a * b;
            }
        }
        let opts = GemmOptions {
            bias: self.bo.as_deref(),
            beta: 1.0,
            ..Default::default()
        };
        gemm_packed(
            MatRef::new(gated, tokens, f)?,
            &self.wo,
            MatMut::new(rows_of(out, tokens, d, OP)?, tokens, d)?,
            &opts,
        )?;
        Ok(())
    }
}
