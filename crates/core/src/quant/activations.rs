//! Activations quantized at run time, one scale and zero point per row (per token), straight
//! into the packed panels the microkernel reads.
//!
//! Per row, with `x' = x·(1/s)` when the weight carries smoothing factors `s`:
//!
//! ```text
//! pass 1: lo = min(min_k x'_k, 0), hi = max(max_k x'_k, 0)      (0 stays exactly representable)
//! scale  = max(hi/255 − lo/255, f32::MIN_POSITIVE), inv = 1/scale (divided first: no overflow)
//! zp     = clamp(round_ties_even(−lo·inv), 0, 255)
//! pass 2: u_k = clamp(round_ties_even(x'_k·inv) + zp, 0, 255)     (u8)
//! ```
//!
//! so `x'_k ≈ scale·(u_k − zp)` with an error of at most scale/2, or one step at the very ends
//! of the range. A row of zeros gets scale 0 and all `u = zp = 0`. A row with NaN or ±∞ is an
//! error (an int8 result for it would be silently wrong).

use super::kernel::Kernel;
use super::pack::{k_padded, pack_a_row, Elem};
use crate::error::{invalid, Result};
use crate::mat::MatRef;
use crate::par;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Below this many activations a matrix is quantized on one thread.
const PARALLEL_MIN_ELEMS: usize = 1 << 14;

/// The packed activation panels.
pub(crate) enum PackedA {
    Bytes(Vec<u8>),
    Wide(Vec<i16>),
}

/// A quantized A: panels of MR rows, and per row (padded to whole panels) the zero point and
/// scale.
pub(crate) struct QuantizedRows {
    pub a: PackedA,
    pub zp: Vec<i32>,
    pub sa: Vec<f32>,
}

impl QuantizedRows {
    /// The packed panels as bytes (i16 panels viewed as their bytes).
    pub fn bytes(&self) -> &[u8] {
        match &self.a {
            PackedA::Bytes(v) => v,
            PackedA::Wide(v) => bytemuck::cast_slice(v),
        }
    }
}

/// `(scale, inv, zp)` of a row whose values lie in `[lo, hi]` (see the module docs).
pub fn row_params(lo: f32, hi: f32) -> (f32, f32, i32) {
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let s = hi / 255.0 - lo / 255.0;
    if s == 0.0 {
        return (0.0, 0.0, 0);
    }
    let s = s.max(f32::MIN_POSITIVE);
    let inv = 1.0 / s;
    let zp = (-lo * inv).round_ties_even().clamp(0.0, 255.0) as i32;
    (s, inv, zp)
}

/// Quantizes every row of `a` (M × K) with the kernel's quantizer and packs it for the kernel.
/// Rows are split over the pool's threads when `parallel` and the matrix is large enough; each row
/// is quantized on its own, so the result does not depend on the split.
pub(crate) fn quantize_rows(
    kern: &Kernel,
    a: &MatRef,
    inv_smooth: Option<&[f32]>,
    parallel: bool,
) -> Result<QuantizedRows> {
    let (m, k) = (a.rows(), a.cols());
    let panels = m.div_ceil(kern.mr);
    let mpad = panels * kern.mr;
    let mut zp = vec![0i32; mpad];
    let mut sa = vec![0f32; mpad];
    let parallel = parallel && m * k >= PARALLEL_MIN_ELEMS && rayon::current_num_threads() > 1;
    let packed = if kern.wide {
        let mut d = vec![0i16; mpad * k_padded(k)];
        fill(kern, a, inv_smooth, &mut d, &mut zp, &mut sa, parallel)?;
        PackedA::Wide(d)
    } else {
        // Reuse this thread's buffer from the last call: zeroing (and page-faulting) a fresh
        // M·K buffer per call costs a few percent of a MiniLM-sized product. Stale bytes are
        // harmless: every byte of a real row is rewritten, bytes past K in the last k group
        // meet zero weights, and rows past M are never written out.
        let need = mpad * k_padded(k);
        let mut d = SPARE.take();
        if d.capacity() >= need {
            d.resize(need, 0); // zero-fills only a growth within the capacity
        } else {
            d = vec![0u8; need];
        }
        let r = fill(kern, a, inv_smooth, &mut d, &mut zp, &mut sa, parallel);
        if let Err(e) = r {
            SPARE.set(d);
            return Err(e);
        }
        PackedA::Bytes(d)
    };
    Ok(QuantizedRows { a: packed, zp, sa })
}

thread_local! {
    /// The u8 panel buffer of this thread's last product (taken while in use, so a nested call
    /// from a hook simply allocates its own).
    static SPARE: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

impl QuantizedRows {
    /// Hands the panel buffer back for the next product on this thread.
    pub fn recycle(self) {
        if let PackedA::Bytes(d) = self.a {
            SPARE.set(d);
        }
    }
}

/// Fills the panels, zero points and scales; the error names the first non-finite row.
fn fill<T: Elem + From<u8>>(
    kern: &Kernel,
    a: &MatRef,
    inv_smooth: Option<&[f32]>,
    dst: &mut [T],
    zp: &mut [i32],
    sa: &mut [f32],
    parallel: bool,
) -> Result<()> {
    let (m, k, mr) = (a.rows(), a.cols(), kern.mr);
    let panel_len = mr * k_padded(k);
    if m == 0 || panel_len == 0 {
        return Ok(());
    }
    // One panel of MR rows; returns the first row that is not finite, if any.
    type Item<'s, T> = (usize, ((&'s mut [T], &'s mut [i32]), &'s mut [f32]));
    let panel = |bufs: &mut (Vec<f32>, Vec<u8>), (p, ((d, z), s)): Item<T>| -> Option<usize> {
        let (row_buf, u) = bufs;
        for r in 0..mr.min(m - p * mr) {
            let i = p * mr + r;
            let x: &[f32] = if a.col_stride() == 1 {
                &a.data()[i * a.row_stride()..i * a.row_stride() + k]
            } else {
                for (q, v) in row_buf.iter_mut().enumerate() {
                    *v = a.at(i, q);
                }
                row_buf
            };
            // SAFETY: `kern` was made by `kernel::kernel`, which checked that the CPU runs its
            // quantizer; `inv_smooth` has K values (checked when the weight was built) and
            // `u` has K bytes.
            let (lo, hi, finite) = unsafe { (kern.minmax)(x, inv_smooth) };
            if !finite {
                return Some(i);
            }
            let (scale, inv, zero) = row_params(lo, hi);
            match kern.quant_pack {
                // SAFETY: as above; the panel `d` holds mr·k_padded(K) one-byte elements (the
                // fused path exists only for u8 panels) and r < mr.
                Some(qp) if std::mem::size_of::<T>() == 1 => unsafe {
                    qp(x, inv_smooth, inv, zero, d.as_mut_ptr().cast(), r, mr)
                },
                _ => {
                    // SAFETY: as above.
                    unsafe { (kern.quant)(x, inv_smooth, inv, zero, u) };
                    pack_a_row(u, r, mr, kern.kg, d);
                }
            }
            z[r] = zero;
            s[r] = scale;
        }
        None
    };
    let init = || (vec![0f32; k], vec![0u8; k]);
    let bad = if parallel {
        // One panel per task; each lock is taken once (it only moves the borrows to a task).
        let items: Vec<Mutex<Option<Item<T>>>> = dst
            .chunks_mut(panel_len)
            .zip(zp.chunks_mut(mr))
            .zip(sa.chunks_mut(mr))
            .enumerate()
            .map(|item| Mutex::new(Some(item)))
            .collect();
        let first_bad = AtomicUsize::new(usize::MAX);
        par::for_each(items.len(), |t| {
            let item = items[t].lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(i) = item.and_then(|item| panel(&mut init(), item)) {
                first_bad.fetch_min(i, Ordering::Relaxed);
            }
        });
        Some(first_bad.into_inner()).filter(|&i| i != usize::MAX)
    } else {
        let mut bufs = init();
        dst.chunks_mut(panel_len)
            .zip(zp.chunks_mut(mr))
            .zip(sa.chunks_mut(mr))
            .enumerate()
            .filter_map(|item| panel(&mut bufs, item))
            .min()
    };
    match bad {
        Some(i) => Err(invalid(
            "gemm_int8",
            format!("row {i} of A holds NaN or ±∞: int8 quantization needs finite activations"),
        )),
        None => Ok(()),
    }
}

/// Time of the activation quantization alone (`cargo test --profile bench -p qkv-core --lib
/// probe_quantize -- --ignored --nocapture`).
#[cfg(test)]
mod probe {
    #[test]
    #[ignore]
    fn probe_quantize() {
        let isa = super::super::isa::Int8Isa::active();
        let kern = super::super::kernel::kernel(isa).unwrap();
        for (m, k) in [(128, 384), (128, 1536), (512, 768), (2048, 2048)] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 7919) % 1000) as f32 * 1e-3 - 0.4)
                .collect();
            let av = crate::mat::MatRef::new(&a, m, k).unwrap();
            let mut best = f64::INFINITY;
            for _ in 0..200 {
                let t = std::time::Instant::now();
                let q = super::quantize_rows(&kern, &av, None, false).unwrap();
                std::hint::black_box(&q.zp);
                q.recycle();
                best = best.min(t.elapsed().as_secs_f64());
            }
            eprintln!(
                "{isa} {m}×{k}: {:.1} µs, {:.2} ns/value",
                best * 1e6,
                best * 1e9 / (m * k) as f64
            );
        }
    }
}
