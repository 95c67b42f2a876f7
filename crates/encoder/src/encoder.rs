//! A stack of encoder layers with an optional final LayerNorm, over packed variable-length
//! batches: the token-wise work (projections, FFN, LayerNorm) runs only on real tokens, and
//! attention runs per sequence on its own length.

use crate::error::{input_err, Error, Result};
use crate::layer::{EncoderLayer, LayerBuffers, LayerConfig, LayerNorm, LayerWeights};
use crate::mask::{lengths_from_key_padding, AttentionMask};
use crate::weights::Weights;
use qkv_core::ops::attention::{Mask, Seq};

/// Reusable buffers for [`Encoder`] calls (grown on demand, never shrunk).
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    layer: LayerBuffers,
    packed: Vec<f32>,
    mask: Vec<f32>,
}

/// Consecutive sequences of the given lengths packed back to back.
pub fn packed_seqs(lengths: &[usize]) -> Vec<Seq> {
    let mut start = 0;
    lengths
        .iter()
        .map(|&len| {
            let s = Seq { start, len };
            start += len;
            s
        })
        .collect()
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

    /// Loads `n_layers` layers named `{prefix}{i}.` (e.g. `layers.0.self_attn.in_proj_weight`)
    /// and, if `final_norm` names one (e.g. `"norm."`), the final LayerNorm.
    pub fn from_safetensors(
        w: &Weights,
        prefix: &str,
        n_layers: usize,
        cfg: LayerConfig,
        final_norm: Option<&str>,
    ) -> Result<Self> {
        cfg.validate()?;
        let layers = (0..n_layers)
            .map(|i| {
                EncoderLayer::new(
                    cfg,
                    &LayerWeights::from_safetensors(w, &format!("{prefix}{i}."), &cfg)?,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let norm = match final_norm {
            Some(p) => Some(LayerNorm {
                gamma: w.tensor(&format!("{p}weight"), &[cfg.d_model])?,
                beta: w.tensor(&format!("{p}bias"), &[cfg.d_model])?,
                eps: cfg.eps,
            }),
            None => None,
        };
        Encoder::new(layers, norm)
    }

    /// Model width.
    pub fn d_model(&self) -> usize {
        self.d_model
    }

    /// The layers.
    pub fn layers(&self) -> &[EncoderLayer] {
        &self.layers
    }

    /// Runs in place on packed tokens `x: [Σ lengths, d]`. With `probs`, one buffer per layer
    /// receives that layer's attention weights `[n_seqs, heads, S, S]`.
    pub fn forward_packed(
        &self,
        x: &mut [f32],
        lengths: &[usize],
        mask: &AttentionMask,
        ws: &mut Workspace,
        mut probs: Option<&mut [Vec<f32>]>,
    ) -> Result<()> {
        let d = self.d_model;
        let tokens = lengths
            .iter()
            .try_fold(0usize, |a, &l| a.checked_add(l))
            .ok_or_else(|| input_err("Encoder::forward_packed", "lengths overflow usize"))?;
        if tokens.checked_mul(d) != Some(x.len()) {
            return Err(input_err(
                "Encoder::forward_packed",
                format!("x has {} values, expected {tokens} tokens × {d}", x.len()),
            ));
        }
        let seqs = packed_seqs(lengths);
        let smax = lengths.iter().copied().max().unwrap_or(0);
        let core_mask = core_mask(mask, lengths.len(), smax)?;
        if let Some(p) = &probs {
            if p.len() != self.layers.len() {
                return Err(input_err(
                    "Encoder::forward_packed",
                    format!("{} probs buffers for {} layers", p.len(), self.layers.len()),
                ));
            }
        }
        for (i, layer) in self.layers.iter().enumerate() {
            let p = match probs.as_deref_mut() {
                Some(all) => {
                    let heads = layer.config().heads;
                    let buf = &mut all[i];
                    buf.resize(lengths.len() * heads * smax * smax, 0.0);
                    Some(&mut buf[..])
                }
                None => None,
            };
            layer.forward(x, tokens, &seqs, core_mask, &mut ws.layer, p)?;
        }
        if let Some(n) = &self.final_norm {
            n.apply(x, tokens)?;
        }
        Ok(())
    }

    /// Runs on a padded batch `x: [batch, seq, d]`; `key_padding` (`[batch, seq]`, `true` =
    /// padding) says which tokens are real. Padded output rows are exactly 0. Right-padded
    /// batches are packed first so no work is spent on padding.
    pub fn forward_padded(
        &self,
        x: &[f32],
        batch: usize,
        seq: usize,
        key_padding: Option<&[bool]>,
        mask: &AttentionMask,
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
                let tokens: usize = lengths.iter().sum();
                let mut packed = std::mem::take(&mut ws.packed);
                packed.clear();
                for (b, &len) in lengths.iter().enumerate() {
                    packed.extend_from_slice(&x[b * seq * d..(b * seq + len) * d]);
                }
                debug_assert_eq!(packed.len(), tokens * d);
                let r = self.forward_packed(&mut packed, &lengths, mask, ws, None);
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
                let add = combined_mask(mask, pad, batch, seq, &mut ws.mask)?;
                y.copy_from_slice(x);
                let seqs: Vec<Seq> = (0..batch)
                    .map(|b| Seq {
                        start: b * seq,
                        len: seq,
                    })
                    .collect();
                let m = Mask::Additive {
                    data: add,
                    row_stride: seq,
                    batch_stride: seq * seq,
                };
                for layer in &self.layers {
                    layer.forward(&mut y, batch * seq, &seqs, m, &mut ws.layer, None)?;
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

/// The kernel's view of a user mask for `n` sequences of at most `smax` tokens.
fn core_mask(mask: &AttentionMask, n: usize, smax: usize) -> Result<Mask<'_>> {
    Ok(match mask {
        AttentionMask::None => Mask::None,
        AttentionMask::Causal => Mask::Causal,
        AttentionMask::Additive { data, per_sequence } => {
            let per = if *per_sequence { n.max(1) } else { 1 };
            let s2 = data.len() / per;
            let s = (s2 as f64).sqrt().round() as usize;
            if s * s * per != data.len() || s < smax {
                return Err(input_err("attention mask", format!("{} values is not [{}{smax}+, {smax}+] for {n} sequences of up to {smax} tokens", data.len(), if *per_sequence { format!("{n}, ") } else { String::new() })));
            }
            Mask::Additive {
                data,
                row_stride: s,
                batch_stride: if *per_sequence { s * s } else { 0 },
            }
        }
    })
}

/// `[batch, seq, seq]` additive mask: the user's mask plus −∞ on padded keys.
fn combined_mask<'a>(
    mask: &AttentionMask,
    pad: &[bool],
    batch: usize,
    seq: usize,
    buf: &'a mut Vec<f32>,
) -> Result<&'a [f32]> {
    buf.clear();
    buf.resize(batch * seq * seq, 0.0);
    let user = core_mask(mask, batch, seq)?;
    for b in 0..batch {
        for i in 0..seq {
            for j in 0..seq {
                let mut v = match user {
                    Mask::None => 0.0,
                    Mask::Causal => {
                        if j > i {
                            f32::NEG_INFINITY
                        } else {
                            0.0
                        }
                    }
                    Mask::Additive {
                        data,
                        row_stride,
                        batch_stride,
                    } => data[b * batch_stride + i * row_stride + j],
                };
                if pad[b * seq + j] {
                    v = f32::NEG_INFINITY;
                }
                buf[(b * seq + i) * seq + j] = v;
            }
        }
    }
    Ok(&buf[..])
}
