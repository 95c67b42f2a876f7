//! Argument checks of [`attention`](super::attention): every extent is computed with checked
//! arithmetic and compared with its buffer before any kernel runs, so the kernels may index
//! without bounds checks and a bad call is an error, never a panic or a wrong answer.

use super::params::{AttentionParams, Mask, QkvView, Seq};
use crate::error::{invalid, shape_mismatch, Result};
use crate::isa::Isa;

/// What the checks derived from a valid call.
pub(super) struct Checked {
    /// `heads·d_head`, the columns of Q, K, V and the output that the call touches.
    pub width: usize,
    /// The longest sequence (the side of each `probs` slab).
    pub smax: usize,
    /// The score scale.
    pub scale: f32,
    /// The ISA to run on (available on this CPU).
    pub isa: Isa,
}

/// Checks shapes, strides, buffer lengths, sequence overlap, the mask, `probs` (its length
/// when present) and the scale.
pub(super) fn check(
    qkv: &QkvView,
    seqs: &[Seq],
    params: &AttentionParams,
    mask: &Mask,
    out_len: usize,
    out_stride: usize,
    probs_len: Option<usize>,
) -> Result<Checked> {
    let (h, d) = (params.heads, params.d_head);
    let width = h
        .checked_mul(d)
        .ok_or_else(|| invalid("attention", "heads·d_head overflows"))?;
    if qkv.row_stride < width || out_stride < width {
        return Err(shape_mismatch(
            "attention",
            format!("row strides ≥ heads·d_head = {width}"),
            format!("qkv row stride {}, out stride {out_stride}", qkv.row_stride),
        ));
    }
    let smax = seqs.iter().map(|s| s.len).max().unwrap_or(0);
    for (b, s) in seqs.iter().enumerate() {
        let rows = s
            .start
            .checked_add(s.len)
            .ok_or_else(|| invalid("attention", "sequence end overflows"))?;
        if s.len == 0 || width == 0 {
            continue;
        }
        let overflow = || invalid("attention", "buffer extents overflow usize");
        let need = (rows - 1)
            .checked_mul(qkv.row_stride)
            .and_then(|x| x.checked_add(width))
            .ok_or_else(overflow)?;
        for (name, buf) in [("q", qkv.q), ("k", qkv.k), ("v", qkv.v)] {
            if buf.len() < need {
                return Err(shape_mismatch(
                    "attention",
                    format!(
                        "{name} with ≥ {need} elements for sequence {b} (rows {}..{rows})",
                        s.start
                    ),
                    format!("{name} with {} elements", buf.len()),
                ));
            }
        }
        let need_out = (rows - 1)
            .checked_mul(out_stride)
            .and_then(|x| x.checked_add(width))
            .ok_or_else(overflow)?;
        if out_len < need_out {
            return Err(shape_mismatch(
                "attention",
                format!("out with ≥ {need_out} elements"),
                format!("out with {out_len} elements"),
            ));
        }
        if let Mask::Additive {
            data,
            row_stride,
            batch_stride,
        } = *mask
        {
            if row_stride < smax {
                return Err(shape_mismatch(
                    "attention",
                    format!("additive mask rows ≥ {smax} wide"),
                    format!("row stride {row_stride}"),
                ));
            }
            let need_m = b
                .checked_mul(batch_stride)
                .and_then(|x| x.checked_add((s.len - 1).checked_mul(row_stride)?))
                .and_then(|x| x.checked_add(s.len))
                .ok_or_else(overflow)?;
            if data.len() < need_m {
                return Err(shape_mismatch(
                    "attention",
                    format!("additive mask with ≥ {need_m} elements"),
                    format!("{} elements", data.len()),
                ));
            }
        }
    }
    if let Mask::RelativeBias { table, span } = *mask {
        if span < smax {
            return Err(shape_mismatch(
                "attention",
                format!("relative bias span ≥ the longest sequence ({smax})"),
                format!("span {span}"),
            ));
        }
        let need = span
            .checked_mul(2)
            .and_then(|x| x.checked_sub(1))
            .and_then(|x| x.checked_mul(h))
            .ok_or_else(|| invalid("attention", "relative bias size overflows usize"))?;
        if table.len() < need {
            return Err(shape_mismatch(
                "attention",
                format!("relative bias table [{h}, 2·{span} − 1] = {need} elements"),
                format!("{} elements", table.len()),
            ));
        }
    }
    // Sequences must not overlap in `out` (tasks write their rows concurrently).
    let mut sorted: Vec<Seq> = seqs.iter().copied().filter(|s| s.len > 0).collect();
    sorted.sort_by_key(|s| s.start);
    if sorted
        .windows(2)
        .any(|w| w[0].start + w[0].len > w[1].start)
    {
        return Err(invalid("attention", "sequences overlap"));
    }
    let want_probs = seqs
        .len()
        .checked_mul(h)
        .and_then(|x| x.checked_mul(smax))
        .and_then(|x| x.checked_mul(smax))
        .ok_or_else(|| invalid("attention", "probs size overflows usize"))?;
    if let Some(len) = probs_len {
        if len != want_probs {
            return Err(shape_mismatch(
                "attention",
                format!(
                    "probs [{}, {h}, {smax}, {smax}] = {want_probs} elements",
                    seqs.len()
                ),
                format!("{len} elements"),
            ));
        }
    }
    let scale = params.scale.unwrap_or(1.0 / (d as f32).sqrt());
    if !scale.is_finite() {
        return Err(invalid("attention", format!("scale {scale} is not finite")));
    }
    let isa = params.isa.unwrap_or_else(Isa::active).check()?;
    Ok(Checked {
        width,
        smax,
        scale,
        isa,
    })
}
