//! A stack of encoder layers with an optional final LayerNorm, over packed variable-length
//! batches: the token-wise work (projections, FFN, LayerNorm) runs only on real tokens, and
//! attention runs per sequence on its own length.

use crate::error::{input_err, Error, Result};
use crate::io::view::WeightsView;
use crate::nn::batch::Batch;
use crate::nn::layer::{EncoderLayer, LayerBuffers, LayerConfig, LayerWeights};
use crate::nn::mask::lengths_from_key_padding;
use crate::nn::norm::LayerNorm;
use crate::nn::precision::PrecisionPlan;
use qkv_core::ops::attention::Mask;

/// Reusable buffers for [`Encoder`] calls (grown on demand, never shrunk).
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    layer: LayerBuffers,
    packed: Vec<f32>,
    mask: Vec<f32>,
}

/// An encoder: `layers` then, if present, a final LayerNorm.
#[derive(Clone, Debug)]
pub struct Encoder {
    layers: Vec<EncoderLayer>,
    final_norm: Option<LayerNorm>,
    d_model: usize,
}

impl Encoder {
    /// Stacks layers of one width.
    pub fn new(layers: Vec<EncoderLayer>, final_norm: Option<LayerNorm>) -> Result<Self> {
        let d_model = layers.first().map_or(0, |l| l.config().d_model);
        if let Some(l) = layers.iter().find(|l| l.config().d_model != d_model) {
            return Err(Error::Config(format!(
                "layer widths differ: {d_model} and {}",
                l.config().d_model
            )));
        }
        if let Some(n) = &final_norm {
            if n.gamma.len() != d_model || n.beta.len() != d_model {
                return Err(Error::Config(format!(
                    "final norm has width {}, layers {d_model}",
                    n.gamma.len()
                )));
            }
        }
        Ok(Encoder {
            layers,
            final_norm,
            d_model,
        })
    }

    /// Loads `n_layers` layers from `layers.pp(i)` (e.g. `weights.pp("layers")` for
    /// `layers.0.self_attn.in_proj_weight`, …) and, if given, the final LayerNorm from
    /// `final_norm` (e.g. `weights.pp("norm")`), in f32.
    pub fn load(
        layers: &WeightsView,
        n_layers: usize,
        cfg: LayerConfig,
        final_norm: Option<&WeightsView>,
    ) -> Result<Self> {
        Encoder::load_with(layers, n_layers, cfg, final_norm, &PrecisionPlan::default())
    }

    /// [`Encoder::load`] with the projections prepared as `plan` says (a post-norm layer's
    /// input norm, for smoothing, is the previous layer's `norm2`).
    pub fn load_with(
        layers: &WeightsView,
        n_layers: usize,
        cfg: LayerConfig,
        final_norm: Option<&WeightsView>,
        plan: &PrecisionPlan,
    ) -> Result<Self> {
        cfg.validate()?;
        let mut stack: Vec<EncoderLayer> = Vec::with_capacity(n_layers);
        for i in 0..n_layers {
            let w = LayerWeights::load(&layers.pp(i), &cfg)?;
            let prev = stack.last().map(|l| l.norms().1);
            stack.push(EncoderLayer::with_precision(cfg, &w, plan, prev)?);
        }
        let norm = match final_norm {
            Some(w) => Some(LayerNorm::load(w, cfg.d_model, cfg.eps)?),
            None => None,
        };
        Encoder::new(stack, norm)
    }

    /// Model width.
    pub fn d_model(&self) -> usize {
        self.d_model
    }

    /// The layers.
    pub fn layers(&self) -> &[EncoderLayer] {
        &self.layers
    }

    /// `x ← encoder(x)` in place on the packed tokens of `batch` (`x: [batch.tokens(), d]`),
    /// under the batch's mask. Allocates its buffers; [`Encoder::forward_with`] reuses them.
    pub fn forward(&self, x: &mut [f32], batch: &Batch) -> Result<()> {
        self.forward_with(x, batch, &mut Workspace::default(), None)
    }

    /// [`Encoder::forward`] with a reused workspace. With `probs`, one buffer per layer
    /// receives that layer's attention weights `[batch.len(), heads, S, S]` (`S` =
    /// `batch.max_len()`).
    pub fn forward_with(
        &self,
        x: &mut [f32],
        batch: &Batch,
        ws: &mut Workspace,
        mut probs: Option<&mut [Vec<f32>]>,
    ) -> Result<()> {
        let d = self.d_model;
        let tokens = batch.tokens();
        if tokens.checked_mul(d) != Some(x.len()) {
            return Err(input_err(
                "Encoder::forward",
                format!("x has {} values, expected {tokens} tokens × {d}", x.len()),
            ));
        }
        let smax = batch.max_len();
        if let Some(p) = &probs {
            if p.len() != self.layers.len() {
                return Err(input_err(
                    "Encoder::forward",
                    format!("{} probs buffers for {} layers", p.len(), self.layers.len()),
                ));
            }
        }
        for (i, layer) in self.layers.iter().enumerate() {
            let p = match probs.as_deref_mut() {
                Some(all) => {
                    let heads = layer.config().heads;
                    let buf = &mut all[i];
                    buf.resize(batch.len() * heads * smax * smax, 0.0);
                    Some(&mut buf[..])
                }
                None => None,
            };
            layer.forward_with(x, batch, &mut ws.layer, p)?;
        }
        if let Some(n) = &self.final_norm {
            n.apply(x, tokens)?;
        }
        Ok(())
    }

    /// Runs on a padded batch `x: [batch, seq, d]`; `key_padding` (`[batch, seq]`, `true` =
    /// padding) says which tokens are real, and `mask` (rows `seq` wide) which keys each query
    /// may see besides. Padded output rows are exactly 0. Right-padded batches are packed
    /// first so no work is spent on padding.
    pub fn forward_padded(
        &self,
        x: &[f32],
        batch: usize,
        seq: usize,
        key_padding: Option<&[bool]>,
        mask: Mask,
        ws: &mut Workspace,
    ) -> Result<Vec<f32>> {
        let d = self.d_model;
        if batch.checked_mul(seq).and_then(|x| x.checked_mul(d)) != Some(x.len()) {
            return Err(input_err(
                "Encoder::forward_padded",
                format!("x has {} values, expected [{batch}, {seq}, {d}]", x.len()),
            ));
        }
        let lengths = match key_padding {
            None => Some(vec![seq; batch]),
            Some(p) => lengths_from_key_padding(p, batch, seq)?,
        };
        let mut y = vec![0.0f32; x.len()];
        match lengths {
            Some(lengths) => {
                // Pack the real tokens, run, scatter back; padding rows stay 0.
                let packed_batch = Batch::from_lengths(&lengths)?.with_mask(mask)?;
                let mut packed = std::mem::take(&mut ws.packed);
                packed.clear();
                for (b, &len) in lengths.iter().enumerate() {
                    packed.extend_from_slice(&x[b * seq * d..(b * seq + len) * d]);
                }
                debug_assert_eq!(packed.len(), packed_batch.tokens() * d);
                let r = self.forward_with(&mut packed, &packed_batch, ws, None);
                let mut at = 0;
                for (b, &len) in lengths.iter().enumerate() {
                    y[b * seq * d..(b * seq + len) * d].copy_from_slice(&packed[at..at + len * d]);
                    at += len * d;
                }
                ws.packed = packed;
                r?;
            }
            None => {
                // Padding in the middle of a sequence: run the padded layout with the padded keys
                // hidden by an additive mask, then zero the padded rows.
                let pad = key_padding.unwrap_or(&[]);
                let uniform = Batch::uniform(batch, seq)?;
                let user = uniform.clone().with_mask(mask)?.mask();
                if user.per_head() {
                    return Err(input_err(
                        "forward_padded",
                        "a per-head mask cannot be combined with padding inside sequences",
                    ));
                }
                let add = combined_mask(user, pad, batch, seq, &mut ws.mask);
                y.copy_from_slice(x);
                let padded = uniform.with_mask(Mask::Additive {
                    data: add,
                    row_stride: seq,
                    batch_stride: seq * seq,
                })?;
                for layer in &self.layers {
                    layer.forward_with(&mut y, &padded, &mut ws.layer, None)?;
                }
                if let Some(n) = &self.final_norm {
                    n.apply(&mut y, batch * seq)?;
                }
                for (row, &p) in y.chunks_mut(d).zip(pad) {
                    if p {
                        row.fill(0.0);
                    }
                }
            }
        }
        Ok(y)
    }
}

/// `[batch, seq, seq]` additive mask: the user's mask (checked to cover `[batch, seq, seq]`)
/// plus −∞ on padded keys.
fn combined_mask<'a>(
    user: Mask,
    pad: &[bool],
    batch: usize,
    seq: usize,
    buf: &'a mut Vec<f32>,
) -> &'a [f32] {
    buf.clear();
    buf.resize(batch * seq * seq, 0.0);
    for b in 0..batch {
        for i in 0..seq {
            for j in 0..seq {
                let mut v = user.value(b, 0, i, j);
                if pad[b * seq + j] {
                    v = f32::NEG_INFINITY;
                }
                buf[(b * seq + i) * seq + j] = v;
            }
        }
    }
    &buf[..]
}
