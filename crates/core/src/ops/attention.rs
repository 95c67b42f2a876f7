//! Fused multi-head attention: for each (sequence, head, block of queries)
//! `O = softmax(Q·Kᵀ·scale + mask)·V`, written straight into the concatenated-heads output.
//!
//! Shapes (per sequence of `len` tokens starting at row `start`):
//! - q, k, v: token `t`, head `h`, element `j` at `x[t·row_stride + h·d_head + j]`, so the
//!   packed output of a fused QKV projection (`[T, 3·d_model]`) is read in place, no transposes;
//! - out: `[T, heads·d_head]` at `out[t·out_stride + h·d_head + j]`;
//! - probs (optional): `[n_seqs, heads, S, S]` with `S` the longest sequence.
//!
//! Algorithm (FlashAttention, Dao et al. 2022, without the GPU-specific parts): queries in
//! blocks of [`BLOCK_Q`]; keys in blocks of `Bk` with an online softmax (running max `m`,
//! running sum `l`, accumulator rescaled by `exp(m_old − m_new)`), so memory per thread is
//! O(len·d), never O(len²). Sequences up to [`SINGLE_BLOCK_MAX`] keys use one key block (the
//! scores of a query block stay in L2). Both products run on the GEMM microkernel.

use crate::error::{invalid, shape_mismatch, Result};
use crate::gemm::pack::{pack_a, pack_b};
use crate::gemm::{TileArgs, TileOp, TileShape};
use crate::isa::{dispatch_tile, Isa};
use crate::mat::MatRef;
use crate::simd::math::exp;
use crate::simd::Simd;
use rayon::prelude::*;
use std::cell::RefCell;
use std::ops::Range;

/// Queries per block (a multiple of every MR: 8, 6, 4 → 48).
pub const BLOCK_Q: usize = 48;
/// Sequences with at most this many keys are processed in one key block.
pub const SINGLE_BLOCK_MAX: usize = 1024;
/// Key block size above [`SINGLE_BLOCK_MAX`] (a multiple of every NR: 48, 16, 8, 4).
pub const BLOCK_K: usize = 384;
/// Below this many flops a call runs on one thread.
const PARALLEL_MIN_FLOPS: usize = 1 << 20;

/// Where Q, K and V live (see the module docs for the layout).
#[derive(Clone, Copy, Debug)]
pub struct QkvView<'a> {
    /// Queries.
    pub q: &'a [f32],
    /// Keys.
    pub k: &'a [f32],
    /// Values.
    pub v: &'a [f32],
    /// Elements between consecutive tokens (e.g. `3·d_model` for a packed QKV buffer).
    pub row_stride: usize,
}

impl<'a> QkvView<'a> {
    /// A view of the output of a fused QKV projection: rows of `[q | k | v]`, each `d_model`
    /// wide, as PyTorch's `in_proj_weight` produces them.
    pub fn packed(qkv: &'a [f32], d_model: usize) -> Self {
        // Checked: an absurd width gives empty views, which `attention` then rejects.
        let at = |i: usize| {
            i.checked_mul(d_model)
                .and_then(|o| qkv.get(o..))
                .unwrap_or(&[])
        };
        QkvView {
            q: at(0),
            k: at(1),
            v: at(2),
            row_stride: d_model.saturating_mul(3),
        }
    }
}

/// One sequence: its tokens are rows `start..start + len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seq {
    /// First row.
    pub start: usize,
    /// Number of tokens (queries and keys: self-attention).
    pub len: usize,
}

/// Which scores are hidden. Key padding is expressed by each [`Seq`]'s own length.
#[derive(Clone, Copy, Debug, Default)]
pub enum Mask<'a> {
    /// Every query sees every key of its sequence.
    #[default]
    None,
    /// Query `i` sees keys `0..=i`.
    Causal,
    /// Added to the scores: element `(i, j)` of sequence `b` at
    /// `data[b·batch_stride + i·row_stride + j]` (`batch_stride` = 0 shares one mask).
    /// Use `-inf` to hide a key.
    Additive {
        /// The mask values.
        data: &'a [f32],
        /// Elements between rows (the mask's width, ≥ every sequence length).
        row_stride: usize,
        /// Elements between sequences' masks (0: one mask for all).
        batch_stride: usize,
    },
}

/// Shape and options of one attention call.
#[derive(Clone, Copy, Debug)]
pub struct AttentionParams {
    /// Number of heads.
    pub heads: usize,
    /// Width of one head.
    pub d_head: usize,
    /// Score scale; `None` = `1/√d_head`.
    pub scale: Option<f32>,
    /// Instruction set; `None` = [`Isa::active`].
    pub isa: Option<Isa>,
    /// Allow rayon to split the work over (sequence, head, query block).
    pub parallel: bool,
}

impl AttentionParams {
    /// `heads` heads of width `d_head`, default scale, active ISA, parallel.
    pub fn new(heads: usize, d_head: usize) -> Self {
        AttentionParams {
            heads,
            d_head,
            scale: None,
            isa: None,
            parallel: true,
        }
    }
}

/// Fused attention over a batch of sequences. Rows of `out` not covered by `seqs` are left
/// untouched. With `probs`, the attention weights are also written (`[n_seqs, heads, S, S]`,
/// `S` = longest sequence, entries outside a sequence set to 0); that path uses one key block
/// per sequence, so its memory is O(len²) per thread.
///
/// ```
/// use qkv_core::ops::attention::{attention, AttentionParams, Mask, QkvView, Seq};
/// // One sequence of 3 tokens, 1 head of width 2, Q = K = V stacked as [q | k | v] rows.
/// let d = 2;
/// let qkv = [1.0, 0.0, 1.0, 0.0, 1.0, 2.0,
///            0.0, 1.0, 0.0, 1.0, 3.0, 4.0,
///            1.0, 1.0, 1.0, 1.0, 5.0, 6.0];
/// let mut out = [0.0f32; 6];
/// let mut probs = [0.0f32; 9];
/// attention(QkvView::packed(&qkv, d), &[Seq { start: 0, len: 3 }], &AttentionParams::new(1, d),
///           Mask::Causal, &mut out, d, Some(&mut probs))?;
/// assert_eq!(&out[..2], &[1.0, 2.0]);           // query 0 sees only key 0
/// assert_eq!(&probs[..3], &[1.0, 0.0, 0.0]);
/// # Ok::<(), qkv_core::Error>(())
/// ```
pub fn attention(
    qkv: QkvView,
    seqs: &[Seq],
    params: &AttentionParams,
    mask: Mask,
    out: &mut [f32],
    out_stride: usize,
    probs: Option<&mut [f32]>,
) -> Result<()> {
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
        if out.len() < need_out {
            return Err(shape_mismatch(
                "attention",
                format!("out with ≥ {need_out} elements"),
                format!("out with {} elements", out.len()),
            ));
        }
        if let Mask::Additive {
            data,
            row_stride,
            batch_stride,
        } = mask
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
    // Sequences must not overlap in `out` (tasks write their rows concurrently).
    let mut sorted: Vec<Seq> = seqs.iter().copied().filter(|s| s.len > 0).collect();
    sorted.sort_by_key(|s| s.start);
    if sorted
        .windows(2)
        .any(|w| w[0].start + w[0].len > w[1].start)
    {
        return Err(invalid("attention", "sequences overlap"));
    }
    let probs_len = seqs
        .len()
        .checked_mul(h)
        .and_then(|x| x.checked_mul(smax))
        .and_then(|x| x.checked_mul(smax))
        .ok_or_else(|| invalid("attention", "probs size overflows usize"))?;
    if let Some(p) = &probs {
        if p.len() != probs_len {
            return Err(shape_mismatch(
                "attention",
                format!(
                    "probs [{}, {h}, {smax}, {smax}] = {probs_len} elements",
                    seqs.len()
                ),
                format!("{} elements", p.len()),
            ));
        }
    }
    let scale = params.scale.unwrap_or(1.0 / (d as f32).sqrt());
    if !scale.is_finite() {
        return Err(invalid("attention", format!("scale {scale} is not finite")));
    }
    let isa = params.isa.unwrap_or_else(Isa::active).check()?;
    if width == 0 || smax == 0 {
        return Ok(());
    }
    let want_probs = probs.is_some();
    let probs_ptr = probs.map(|p| {
        p.fill(0.0);
        SendPtr(p.as_mut_ptr())
    });

    // Tasks: (sequence, head, range of query blocks). Split queries only when there are too
    // few (sequence, head) pairs to keep every thread busy.
    let flops: usize = seqs.iter().map(|s| 4 * s.len * s.len * d * h).sum();
    let threads = if params.parallel && flops >= PARALLEL_MIN_FLOPS {
        rayon::current_num_threads()
    } else {
        1
    };
    let pairs = seqs.iter().filter(|s| s.len > 0).count() * h;
    let mut tasks = Vec::new();
    for (b, s) in seqs.iter().enumerate().filter(|(_, s)| s.len > 0) {
        let blocks = s.len.div_ceil(BLOCK_Q);
        let split = if threads > 1 && pairs < 2 * threads {
            blocks.min((2 * threads).div_ceil(pairs))
        } else {
            1
        };
        let per = blocks.div_ceil(split);
        for head in 0..h {
            for c in (0..blocks).step_by(per) {
                tasks.push(Task {
                    b,
                    seq: *s,
                    head,
                    q_blocks: c..(c + per).min(blocks),
                });
            }
        }
    }
    let shared = Shared {
        qkv,
        d,
        scale,
        mask,
        out: SendPtr(out.as_mut_ptr()),
        out_stride,
        probs: probs_ptr,
        smax,
        heads: h,
        single_block: want_probs,
    };
    let run = |t: &Task| {
        dispatch_tile(
            isa,
            AttnOp {
                sh: &shared,
                t: t.clone(),
            },
        )
    };
    if threads > 1 {
        tasks.par_iter().for_each(run);
    } else {
        tasks.iter().for_each(run);
    }
    Ok(())
}

/// A raw output pointer shared by tasks that write disjoint rows / heads.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: every task writes only its own (rows of one sequence) × (columns of one head) of
// `out` and its own (sequence, head) slab of `probs`; `attention` checked that sequences do
// not overlap and the buffers are long enough, and the parallel region joins before return.
unsafe impl Send for SendPtr {}
// SAFETY: as above.
unsafe impl Sync for SendPtr {}

/// What every task shares.
struct Shared<'a> {
    qkv: QkvView<'a>,
    d: usize,
    scale: f32,
    mask: Mask<'a>,
    out: SendPtr,
    out_stride: usize,
    probs: Option<SendPtr>,
    smax: usize,
    heads: usize,
    single_block: bool,
}

#[derive(Clone)]
struct Task {
    b: usize,
    seq: Seq,
    head: usize,
    q_blocks: Range<usize>,
}

thread_local! {
    /// Per-thread scratch, grown on demand and reused: no allocation per call in steady state.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

struct AttnOp<'a, 'b> {
    sh: &'b Shared<'a>,
    t: Task,
}

impl TileOp for AttnOp<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn run<S: TileShape>(self, s: S) {
        SCRATCH.with(|cell| {
            let mut buf = cell.borrow_mut();
            run_task(s, self.sh, &self.t, &mut buf);
        })
    }
}

/// Offsets of the scratch regions of one task.
struct Layout {
    kp: Range<usize>,
    vp: Range<usize>,
    qp: Range<usize>,
    sc: Range<usize>,
    pp: Range<usize>,
    o: Range<usize>,
    total: usize,
}

impl Layout {
    fn new(len: usize, d: usize, bk: usize, mr: usize, nr: usize) -> Layout {
        let mut at = 0;
        let mut take = |n: usize| {
            let r = at..at + n;
            at += n;
            r
        };
        let bq_pad = BLOCK_Q.div_ceil(mr) * mr;
        let kp = take(len.div_ceil(nr) * nr * d);
        let vp = take(d.div_ceil(nr) * nr * len);
        let qp = take(bq_pad * d);
        let sc = take(BLOCK_Q * bk);
        let pp = take(bq_pad * bk);
        let o = take(BLOCK_Q * d);
        Layout {
            kp,
            vp,
            qp,
            sc,
            pp,
            o,
            total: at,
        }
    }
}

#[inline(always)]
fn run_task<'a, S: TileShape>(s: S, sh: &Shared<'a>, t: &Task, buf: &mut Vec<f32>) {
    let (mr, nr) = (S::MR, S::NR);
    let (d, len) = (sh.d, t.seq.len);
    let bk = if sh.single_block || len <= SINGLE_BLOCK_MAX {
        len
    } else {
        BLOCK_K
    };
    let lay = Layout::new(len, d, bk, mr, nr);
    if buf.len() < lay.total {
        buf.resize(lay.total, 0.0);
    }
    let rs = sh.qkv.row_stride;
    let base = t.seq.start * rs + t.head * d;
    let view = |x: &'a [f32]| MatRef::new_unchecked(&x[base..], len, d, rs, 1);
    let (q, k, v) = (view(sh.qkv.q), view(sh.qkv.k), view(sh.qkv.v));

    // Pack Kᵀ (d × len, panels of NR keys) and V (len × d, panels of NR columns) once.
    pack_b(&k.t(), 0, len, 0, d, nr, &mut buf[lay.kp.clone()]);
    pack_b(&v, 0, d, 0, len, nr, &mut buf[lay.vp.clone()]);

    let mut m = [0.0f32; BLOCK_Q];
    let mut l = [0.0f32; BLOCK_Q];
    for qb in t.q_blocks.clone() {
        let q0 = qb * BLOCK_Q;
        let bq = BLOCK_Q.min(len - q0);
        // Pass 0: Q block packed and pre-scaled (the scale folded into Q, not the scores).
        {
            let qp = &mut buf[lay.qp.clone()];
            pack_a(&q, q0, bq, 0, d, mr, qp);
            let n = bq.div_ceil(mr) * mr * d;
            scale_in_place(s, &mut qp[..n], sh.scale);
        }
        m[..bq].fill(f32::NEG_INFINITY);
        l[..bq].fill(0.0);
        buf[lay.o.clone()][..bq * d].fill(0.0);

        let k_end = if matches!(sh.mask, Mask::Causal) {
            (q0 + bq).min(len)
        } else {
            len
        };
        for k0 in (0..k_end).step_by(bk) {
            let kb = bk.min(k_end - k0);
            // Pass 1: S = Q·Kᵀ for this block, rows of width kb.
            for jp in 0..kb.div_ceil(nr) {
                for ip in 0..bq.div_ceil(mr) {
                    let args = TileArgs {
                        kc: d,
                        alpha: 1.0,
                        beta: 0.0,
                        rsc: kb,
                        epi: Default::default(),
                        a: buf[lay.qp.start + ip * mr * d..].as_ptr(),
                        b: buf[lay.kp.start + (k0 / nr + jp) * nr * d..].as_ptr(),
                    };
                    let c = &mut buf[lay.sc.start + ip * mr * kb + jp * nr..];
                    debug_assert!(
                        c.len() >= (mr.min(bq - ip * mr) - 1) * kb + nr.min(kb - jp * nr)
                    );
                    // SAFETY: Ã holds MR·d values at this panel (qp was packed for bq rows
                    // padded to MR); B̃ holds NR·d at panel k0/NR + jp < ⌈len/NR⌉ (kp packed
                    // for len keys); the C tile is min(MR, bq−i)×min(NR, kb−j) inside the
                    // bq × kb score block, which `c` covers (asserted in debug builds).
                    unsafe {
                        s.tile(
                            &args,
                            c.as_mut_ptr(),
                            mr.min(bq - ip * mr),
                            nr.min(kb - jp * nr),
                            std::ptr::null(),
                        )
                    };
                }
            }
            // Pass 2: mask, online softmax, rescale the accumulator.
            for i in 0..bq {
                let qi = q0 + i;
                let row = &mut buf[lay.sc.start + i * kb..lay.sc.start + (i + 1) * kb];
                apply_mask(s, sh, t, qi, k0, row);
                let mut mb = row_max(s, row);
                if mb == f32::NEG_INFINITY && row.iter().any(|x| x.is_nan()) {
                    mb = f32::NAN; // max skips NaN; a NaN score must still poison its row
                }
                let m_new = if mb.is_nan() || m[i].is_nan() {
                    f32::NAN // poison the row: NaN in, NaN out
                } else if mb > m[i] {
                    mb
                } else {
                    m[i]
                };
                let o = lay.o.start + i * d;
                if m_new == f32::NEG_INFINITY {
                    // Every key so far is masked: weights 0, nothing to rescale.
                    row.fill(0.0);
                    continue;
                }
                let sum = exp_sub_sum(s, row, m_new);
                let corr = if m[i] == f32::NEG_INFINITY {
                    0.0
                } else {
                    (m[i] - m_new).exp()
                };
                l[i] = l[i] * corr + sum;
                m[i] = m_new;
                if corr != 1.0 {
                    scale_in_place(s, &mut buf[o..o + d], corr);
                }
            }
            // Pass 3: O += P·V for this key block.
            {
                let (lo, hi) = buf.split_at_mut(lay.pp.start); // sc lies before pp
                let scores = MatRef::new_unchecked(&lo[lay.sc.clone()], bq, kb, kb, 1);
                pack_a(&scores, 0, bq, 0, kb, mr, &mut hi[..lay.pp.len()]);
            }
            for jp in 0..d.div_ceil(nr) {
                for ip in 0..bq.div_ceil(mr) {
                    let args = TileArgs {
                        kc: kb,
                        alpha: 1.0,
                        beta: 1.0,
                        rsc: d,
                        epi: Default::default(),
                        a: buf[lay.pp.start + ip * mr * kb..].as_ptr(),
                        b: buf[lay.vp.start + (jp * len + k0) * nr..].as_ptr(),
                    };
                    let c = &mut buf[lay.o.start + ip * mr * d + jp * nr..];
                    // SAFETY: Ã holds MR·kb values at this panel (pp packed for bq rows padded
                    // to MR); B̃ panel jp holds len·NR values and we read kb steps from k0;
                    // the C tile lies inside the bq × d accumulator.
                    unsafe {
                        s.tile(
                            &args,
                            c.as_mut_ptr(),
                            mr.min(bq - ip * mr),
                            nr.min(d - jp * nr),
                            std::ptr::null(),
                        )
                    };
                }
            }
            if let Some(p) = sh.probs {
                // Single key block here: P is complete; probs = P / l.
                write_probs(sh, t, q0, bq, &buf[lay.sc.clone()], kb, &l, p);
            }
        }
        // Pass 4: normalize and write the head's columns of the output rows.
        for i in 0..bq {
            let inv = if l[i] > 0.0 { 1.0 / l[i] } else { 0.0 };
            let src = &buf[lay.o.start + i * d..lay.o.start + (i + 1) * d];
            let row = (t.seq.start + q0 + i) * sh.out_stride + t.head * d;
            // SAFETY: `attention` checked out holds every row of every sequence up to
            // heads·d_head columns; this task alone writes this row's head columns.
            let dst = unsafe { std::slice::from_raw_parts_mut(sh.out.0.add(row), d) };
            if l[i] > 0.0 {
                for (o, &x) in dst.iter_mut().zip(src) {
                    *o = x * inv;
                }
            } else if l[i].is_nan() || m[i].is_nan() {
                dst.fill(f32::NAN);
            } else {
                dst.fill(0.0);
            }
        }
    }
}

/// Adds the mask to one score row (query `qi`, keys `k0..k0 + row.len()`).
#[inline(always)]
fn apply_mask<S: Simd>(s: S, sh: &Shared, t: &Task, qi: usize, k0: usize, row: &mut [f32]) {
    match sh.mask {
        Mask::None => {}
        Mask::Causal => {
            let visible = (qi + 1).saturating_sub(k0).min(row.len());
            row[visible..].fill(f32::NEG_INFINITY);
        }
        Mask::Additive {
            data,
            row_stride,
            batch_stride,
        } => {
            let off = t.b * batch_stride + qi * row_stride + k0;
            add_in_place(s, row, &data[off..off + row.len()]);
        }
    }
}

#[inline(always)]
fn scale_in_place<S: Simd>(s: S, x: &mut [f32], a: f32) {
    let va = s.splat(a);
    let l = S::LANES;
    let mut ch = x.chunks_exact_mut(l);
    for c in &mut ch {
        // SAFETY: c has exactly LANES elements.
        unsafe { s.store(c.as_mut_ptr(), s.mul(s.load(c.as_ptr()), va)) };
    }
    for v in ch.into_remainder() {
        *v *= a;
    }
}

#[inline(always)]
fn add_in_place<S: Simd>(s: S, x: &mut [f32], y: &[f32]) {
    let l = S::LANES;
    let n = x.len().min(y.len());
    let mut i = 0;
    while i + l <= n {
        // SAFETY: i + LANES ≤ n ≤ both lengths.
        unsafe {
            let v = s.add(s.load(x.as_ptr().add(i)), s.load(y.as_ptr().add(i)));
            s.store(x.as_mut_ptr().add(i), v);
        }
        i += l;
    }
    for j in i..n {
        x[j] += y[j];
    }
}

/// Maximum of a row, starting from −∞. NaN may be skipped here: a NaN score then turns into a
/// NaN weight in `exp_sub_sum` (or is caught by the caller when the max is −∞).
#[inline(always)]
fn row_max<S: Simd>(s: S, x: &[f32]) -> f32 {
    let l = S::LANES;
    let mut acc = s.splat(f32::NEG_INFINITY);
    let mut ch = x.chunks_exact(l);
    for c in &mut ch {
        // SAFETY: c has exactly LANES elements.
        acc = s.max(acc, unsafe { s.load(c.as_ptr()) });
    }
    let mut m = s.reduce_max(acc);
    for &v in ch.remainder() {
        if v > m {
            m = v;
        }
    }
    m
}

/// `x ← exp(x − m)` in place; returns the sum (lanes summed in a fixed order).
#[inline(always)]
fn exp_sub_sum<S: Simd>(s: S, x: &mut [f32], m: f32) -> f32 {
    let l = S::LANES;
    let vm = s.splat(m);
    let mut acc = s.zero();
    let n = x.len();
    let mut i = 0;
    while i + l <= n {
        // SAFETY: i + LANES ≤ n.
        unsafe {
            let e = exp(s, s.sub(s.load(x.as_ptr().add(i)), vm));
            s.store(x.as_mut_ptr().add(i), e);
            acc = s.add(acc, e);
        }
        i += l;
    }
    if i < n {
        // SAFETY: n − i < LANES values remain; partial load pads with −∞ → exp gives 0.
        unsafe {
            let e = exp(
                s,
                s.sub(
                    s.load_partial(x.as_ptr().add(i), n - i, f32::NEG_INFINITY),
                    vm,
                ),
            );
            s.store_partial(x.as_mut_ptr().add(i), n - i, e);
            acc = s.add(acc, e);
        }
    }
    s.reduce_sum(acc)
}

/// Writes normalized weights of one query block into the probs slab of (sequence, head).
#[allow(clippy::too_many_arguments)]
fn write_probs(
    sh: &Shared,
    t: &Task,
    q0: usize,
    bq: usize,
    p: &[f32],
    kb: usize,
    l: &[f32],
    dst: SendPtr,
) {
    let smax = sh.smax;
    let slab = (t.b * sh.heads + t.head) * smax * smax;
    for i in 0..bq {
        let inv = if l[i] > 0.0 { 1.0 / l[i] } else { 0.0 };
        // SAFETY: `attention` checked probs has n_seqs·heads·S·S elements; row q0+i < len ≤ S
        // of this task's own (sequence, head) slab, and kb ≤ S columns.
        let row = unsafe { std::slice::from_raw_parts_mut(dst.0.add(slab + (q0 + i) * smax), kb) };
        for (o, &x) in row.iter_mut().zip(&p[i * kb..(i + 1) * kb]) {
            *o = x * inv;
        }
    }
}
