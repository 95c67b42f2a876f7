//! `attention` with arbitrary heads, widths, sequences (overlapping and out of range
//! included), strides, masks, scales and ISAs: rows outside the sequences untouched, and on
//! tame data the output and the probabilities compared with the f64 reference.

use super::input::Input;
use super::{reached, MAX_BUF, MAX_WORK};
use qkv_core::ops::attention::{attention, AttentionParams, Mask, QkvView, Seq};
use qkv_core::reference::attention::attention_f64;

pub(super) fn fuzz_attention(u: &mut Input) {
    let heads = u.size(4);
    let d_head = u.size(9);
    let width = heads.saturating_mul(d_head);
    let n_seqs = u.below(5);
    let mut seqs = Vec::new();
    let mut rows = 0usize;
    for _ in 0..n_seqs {
        let start = if u.bool() { rows } else { u.size(40) };
        let len = u.size(40);
        rows = rows.max(start.saturating_add(len));
        seqs.push(Seq { start, len });
    }
    let packed = u.bool();
    let row_stride = match u.byte() % 3 {
        0 if packed => width.saturating_mul(3),
        0 | 1 => width.saturating_add(u.size(3)),
        _ => u.size(16),
    };
    let need = |stride: usize, w: usize| {
        if rows == 0 {
            Some(0)
        } else {
            (rows - 1).checked_mul(stride)?.checked_add(w)
        }
    };
    // Q, K, V: one packed [T, 3·width] buffer, or three buffers of their own lengths.
    let w3 = width.saturating_mul(3);
    let n_qkv = u.len_near(if packed {
        need(w3, w3)
    } else {
        need(row_stride, width)
    });
    let (qkv_buf, tame_a) = u.buffer(n_qkv);
    let n_kv = u.len_near(need(row_stride, width));
    let (k_buf, tame_k) = u.buffer(n_kv);
    let n_kv = u.len_near(need(row_stride, width));
    let (v_buf, tame_v) = u.buffer(n_kv);
    let out_stride = if u.bool() { width } else { u.size(40) };
    let out_len = u.len_near(need(out_stride, width));
    let mut out = vec![12345.0f32; out_len.min(MAX_BUF)];
    let smax = seqs.iter().map(|s| s.len).max().unwrap_or(0);
    let (mask_data, mask_tame) = {
        let need_m = smax
            .checked_mul(smax)
            .and_then(|s| s.checked_mul(n_seqs.max(1)));
        let len = u.len_near(need_m);
        let (mut v, t) = u.buffer(len);
        for x in v.iter_mut() {
            if u.byte().is_multiple_of(5) {
                *x = f32::NEG_INFINITY;
            }
        }
        (v, t)
    };
    let mask = match u.byte() % 3 {
        0 => Mask::None,
        1 => Mask::Causal,
        _ => {
            let row_stride = if u.bool() { smax } else { u.size(40) };
            let batch_stride = match u.byte() % 3 {
                0 => 0,
                1 => smax.saturating_mul(row_stride),
                _ => u.size(40),
            };
            Mask::Additive {
                data: &mask_data,
                row_stride,
                batch_stride,
            }
        }
    };
    let probs_len = u.len_near(
        n_seqs
            .checked_mul(heads)
            .and_then(|x| x.checked_mul(smax))
            .and_then(|x| x.checked_mul(smax)),
    );
    let mut probs = u.bool().then(|| vec![0.0f32; probs_len.min(MAX_BUF)]);
    let scale = match u.byte() % 4 {
        0 => Some(u.value().0),
        _ => None,
    };
    let params = AttentionParams {
        heads,
        d_head,
        scale,
        isa: Some(u.isa()),
        parallel: u.bool(),
    };
    let work: usize = seqs
        .iter()
        .map(|s| s.len.saturating_mul(s.len).saturating_mul(width))
        .fold(0, usize::saturating_add);
    if work > MAX_WORK {
        return;
    }
    let view = if packed {
        QkvView::packed(&qkv_buf, width)
    } else {
        QkvView {
            q: &qkv_buf,
            k: &k_buf,
            v: &v_buf,
            row_stride,
        }
    };
    let r = attention(
        view,
        &seqs,
        &params,
        mask,
        &mut out,
        out_stride,
        probs.as_deref_mut(),
    );
    if r.is_err() {
        return;
    }
    // Rows and columns outside the sequences' heads are untouched.
    let covered = |idx: usize| {
        out_stride > 0 && idx % out_stride < width && {
            let row = idx / out_stride;
            seqs.iter()
                .any(|s| (s.start..s.start + s.len).contains(&row))
        }
    };
    for (idx, &x) in out.iter().enumerate() {
        if !covered(idx) {
            assert_eq!(x, 12345.0, "attention wrote outside its rows at {idx}");
        }
    }
    // Against the f64 reference on tame data.
    let tame = tame_a && (packed || tame_k && tame_v) && mask_tame;
    let scale_tame = scale.is_none_or(|s| s.is_finite() && s.abs() <= 4.0);
    let overlapping = {
        let mut s: Vec<_> = seqs.iter().filter(|s| s.len > 0).collect();
        s.sort_by_key(|s| s.start);
        s.windows(2).any(|w| w[0].start + w[0].len > w[1].start)
    };
    if !tame || !scale_tame || overlapping || width == 0 || out_stride < width {
        return;
    }
    // Rows the reference materializes: up to the last token of a non-empty sequence (an empty
    // one may start anywhere).
    let rows = seqs
        .iter()
        .filter(|s| s.len > 0)
        .map(|s| s.start + s.len)
        .max()
        .unwrap_or(0);
    let probs_elems = seqs
        .len()
        .saturating_mul(heads)
        .saturating_mul(smax.saturating_mul(smax));
    // The reference loops over every head of every sequence, empty ones included.
    let loops = seqs.len().saturating_mul(heads);
    if rows.saturating_mul(width) > MAX_BUF || probs_elems > 16 * MAX_BUF || loops > MAX_BUF {
        return;
    }
    let sc = f64::from(scale.unwrap_or(1.0 / (d_head as f32).sqrt()));
    reached::hit(&reached::ATTENTION_REF);
    let (want, want_p) = attention_f64(&view, &seqs, heads, d_head, sc, &mask, rows);
    for s in &seqs {
        for t in s.start..s.start + s.len {
            for c in 0..width {
                let (got, w) = (f64::from(out[t * out_stride + c]), want[t * width + c]);
                assert!(
                    (got - w).abs() <= 1e-3 * (1.0 + w.abs()),
                    "attention row {t} col {c}: {got} vs {w}"
                );
            }
        }
    }
    if let Some(p) = &probs {
        for (i, (&got, &w)) in p.iter().zip(&want_p).enumerate() {
            assert!(
                (f64::from(got) - w).abs() <= 1e-4,
                "probs[{i}]: {got} vs {w}"
            );
        }
    }
}
