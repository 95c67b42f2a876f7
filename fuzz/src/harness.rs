//! Fuzz harnesses, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`) and the stable
//! test that replays `fuzz/regressions/` (`crates/encoder/tests/fuzz_regressions.rs`, which
//! includes this file by path so `cargo test` needs neither nightly nor libFuzzer).
//!
//! Each harness takes arbitrary bytes and drives a public API with them. A panic is a finding:
//! the APIs must answer hostile arguments with `Err`, and where they answer `Ok` the result is
//! checked (exactly for integer GEMMs, against the f64 reference for attention, by invariants
//! for softmax and LayerNorm), and memory outside the output view must be left untouched.

use qkv_core::ops::activation::{apply_with_isa, bias_act_with_isa, Activation};
use qkv_core::ops::attention::{attention, AttentionParams, Mask, QkvView, Seq};
use qkv_core::ops::layernorm::{add_layer_norm_with_isa, layer_norm_with_isa};
use qkv_core::ops::softmax::softmax_rows_with_isa;
use qkv_core::reference::attention::attention_f64;
use qkv_core::{gemm, gemm_packed, GemmOptions, Isa, MatMut, MatRef, PackedMatrix};
use qkv_encoder::{BertConfig, BertModel, TokenSeq, Weights, Workspace};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Largest buffer (elements) a harness allocates; shapes may claim far more.
const MAX_BUF: usize = 1 << 14;
/// Largest amount of multiply-adds a harness lets one call do (valid but huge work is not a bug).
const MAX_WORK: usize = 1 << 22;

/// How often each kind of result check ran (for tests that want to know a run reached deep
/// paths, not just argument validation).
pub mod reached {
    use std::sync::atomic::{AtomicUsize, Ordering};
    /// An integer GEMM (plain or packed B) checked exactly.
    pub static GEMM_EXACT: AtomicUsize = AtomicUsize::new(0);
    /// A softmax row checked for sum 1 or zeros.
    pub static SOFTMAX_ROW: AtomicUsize = AtomicUsize::new(0);
    /// A LayerNorm call that succeeded on finite data.
    pub static LAYER_NORM: AtomicUsize = AtomicUsize::new(0);
    /// An activation call that succeeded.
    pub static ACTIVATION: AtomicUsize = AtomicUsize::new(0);
    /// An attention call compared with the f64 reference.
    pub static ATTENTION_REF: AtomicUsize = AtomicUsize::new(0);
    /// A model that loaded and ran a forward pass.
    pub static MODEL_FORWARD: AtomicUsize = AtomicUsize::new(0);

    pub(crate) fn hit(c: &AtomicUsize) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sizes that stress overflow checks: claimed by a shape, never allocated.
const EXTREMES: [usize; 8] = [
    usize::MAX,
    usize::MAX / 2 + 1,
    usize::MAX / 3,
    1 << 32,
    (1 << 32) + 1,
    1 << 31,
    65_537,
    4097,
];

/// Fuzz bytes read as a stream of small decisions; runs dry as zeros.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Wraps the fuzzer's bytes.
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let v = u16::from_le_bytes([self.byte(), self.byte()]) as usize;
        v % n
    }
    fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }
    /// Mostly `0..=max`; one time in 16 an extreme value that overflows naive arithmetic.
    fn size(&mut self, max: usize) -> usize {
        let b = self.byte();
        if b >= 240 {
            EXTREMES[(b - 240) as usize % EXTREMES.len()]
        } else {
            self.below(max + 1)
        }
    }
    /// A value: mostly a small integer (so integer products are exact in f32), sometimes a
    /// special one. Returns the value and whether it is "tame" (a small integer).
    fn value(&mut self) -> (f32, bool) {
        let b = self.byte();
        if b < 232 {
            ((b % 9) as f32 - 4.0, true)
        } else {
            let special = [
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                1e30,
                -1e30,
                f32::MIN_POSITIVE / 2.0,
                -0.0,
                f32::MAX,
            ];
            (special[(b - 232) as usize % special.len()], false)
        }
    }
    fn isa(&mut self) -> Isa {
        Isa::ALL[self.below(Isa::ALL.len())]
    }
    /// A buffer of `n` values (capped) and whether every value is tame.
    fn buffer(&mut self, n: usize) -> (Vec<f32>, bool) {
        let mut tame = true;
        let v = (0..n.min(MAX_BUF))
            .map(|_| {
                let (x, t) = self.value();
                tame &= t;
                x
            })
            .collect();
        (v, tame)
    }
    /// A buffer length near `needed` (exact, one short, a little long) or arbitrary when
    /// `needed` is not allocatable.
    fn len_near(&mut self, needed: Option<usize>) -> usize {
        match needed {
            Some(n) if n <= MAX_BUF => match self.byte() % 4 {
                0 => n.saturating_sub(1),
                1 => n + self.below(8),
                _ => n,
            },
            _ => self.below(64),
        }
    }
}

/// Elements a `rows × cols` view with strides `(rs, cs)` spans (as `MatRef` defines it).
fn span(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<usize> {
    if rows == 0 || cols == 0 {
        return Some(0);
    }
    (rows - 1)
        .checked_mul(rs)?
        .checked_add((cols - 1).checked_mul(cs)?)?
        .checked_add(1)
}

// ---------------------------------------------------------------------------------------------
// Kernels
// ---------------------------------------------------------------------------------------------

/// Arbitrary shapes, strides, lengths, α/β and ISAs into the kernels' public APIs. No input is
/// steered around: the bugs fuzzing found are fixed (docs/hardening.md), and their inputs are
/// replayed from `fuzz/regressions/kernels/`.
pub fn kernels(data: &[u8]) {
    let mut u = Input::new(data);
    for _ in 0..4 {
        match u.byte() % 6 {
            0 => fuzz_gemm(&mut u, false),
            1 => fuzz_gemm(&mut u, true),
            2 => fuzz_softmax(&mut u),
            3 => fuzz_layer_norm(&mut u),
            4 => fuzz_attention(&mut u),
            _ => fuzz_activation(&mut u),
        }
        if u.data.is_empty() {
            break;
        }
    }
}

/// A matrix view with arbitrary strides over a buffer of near-needed length; returns the
/// buffer, its tameness and the view's parameters. Asserts `MatRef` accepts iff it fits.
struct View {
    buf: Vec<f32>,
    tame: bool,
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl View {
    fn new(u: &mut Input, rows: usize, cols: usize) -> View {
        let (rs, cs) = match u.byte() % 4 {
            0 => (cols, 1),                                        // row-major
            1 => (1, rows),                                        // column-major
            2 => (cols.saturating_add(u.size(3)), 1 + u.below(2)), // padded / strided
            _ => (u.size(8), u.size(8)), // anything, broadcasting included
        };
        let len = u.len_near(span(rows, cols, rs, cs));
        let (buf, tame) = u.buffer(len);
        View {
            buf,
            tame,
            rows,
            cols,
            rs,
            cs,
        }
    }
    fn mat(&self) -> Option<MatRef<'_>> {
        let r = MatRef::with_strides(&self.buf, self.rows, self.cols, self.rs, self.cs);
        let fits =
            span(self.rows, self.cols, self.rs, self.cs).is_some_and(|n| n <= self.buf.len());
        assert_eq!(r.is_ok(), fits, "MatRef accepted iff the view fits");
        r.ok()
    }
    fn at(&self, i: usize, j: usize) -> f64 {
        f64::from(self.buf[i * self.rs + j * self.cs])
    }
}

fn fuzz_gemm(u: &mut Input, packed: bool) {
    let big = u.byte().is_multiple_of(8);
    let lim = if big { 300 } else { 40 };
    let (m, n, k) = (u.size(lim), u.size(lim), u.size(lim));
    let a = View::new(u, m, k);
    let b = View::new(u, k, n);
    // C: row stride ≥ n (MatMut requires it for more than one row), sometimes padded.
    let rsc = match u.byte() % 4 {
        0 => n.saturating_add(u.size(4)),
        1 => u.size(8),
        _ => n,
    };
    let c_len = u.len_near(span(m, n, rsc, 1));
    let (alpha, alpha_tame) = u.value();
    let (beta, beta_tame) = u.value();
    let beta = if u.bool() { 0.0 } else { beta };
    let (c_init, c_tame) = u.buffer(c_len);
    // With β = 0 C must not be read: fill it with NaN.
    let mut c = if beta == 0.0 {
        vec![f32::NAN; c_init.len()]
    } else {
        c_init
    };
    let bias_len = if u.bool() { n } else { u.size(8) };
    let (bias, bias_tame) = u.buffer(bias_len);
    let use_bias = u.bool();
    let relu = u.bool();
    let isa = u.isa();
    let parallel = u.bool();

    let (Some(am), Some(bm)) = (a.mat(), b.mat()) else {
        return;
    };
    // Valid but huge work (a stride-0 view can claim any size) is not a bug. Packing B costs
    // K·N.
    let pack_work = if packed { k.saturating_mul(n) } else { 0 };
    if m.saturating_mul(n).saturating_mul(k) > MAX_WORK || pack_work > MAX_WORK {
        return;
    }
    let opts = GemmOptions {
        alpha,
        beta,
        bias: use_bias.then_some(&bias[..]),
        relu,
        isa: Some(isa),
        parallel,
    };
    let before = c.clone();
    let r = {
        let Ok(cm) = MatMut::with_row_stride(&mut c, m, n, rsc) else {
            return;
        };
        if packed {
            match PackedMatrix::from_kn_for(bm, isa) {
                Ok(p) => gemm_packed(am, &p, cm, &opts),
                Err(e) => {
                    // Unavailable ISA, or a packed size that overflows usize (a clean error).
                    let too_large = matches!(e, qkv_core::Error::InvalidArgument { .. });
                    assert!(!isa.is_available() || too_large, "packing failed: {e}");
                    return;
                }
            }
        } else {
            gemm(am, bm, cm, &opts)
        }
    };
    let valid = isa.is_available()
        && alpha.is_finite()
        && beta.is_finite()
        && (!use_bias || bias.len() == n);
    assert_eq!(
        r.is_ok(),
        valid,
        "gemm: Ok iff the arguments are valid: {r:?}"
    );
    if r.is_err() {
        assert!(
            before
                .iter()
                .zip(&c)
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "gemm wrote C and then failed"
        );
        return;
    }
    // Elements of C outside the view are untouched.
    if m == 0 || n == 0 {
        return; // nothing to write, and m or n may be a huge claim
    }
    let mut in_view = vec![false; c.len()];
    for i in 0..m {
        for j in 0..n {
            in_view[i * rsc + j] = true;
        }
    }
    for (idx, (x, y)) in before.iter().zip(&c).enumerate() {
        if !in_view[idx] {
            assert_eq!(x.to_bits(), y.to_bits(), "gemm wrote outside C at {idx}");
        }
    }
    // Exact check on integer data (every product and partial sum is an exact f32 integer).
    let tame = a.tame && b.tame && alpha_tame && beta_tame && (c_tame || beta == 0.0);
    if tame && (!use_bias || bias_tame) && k <= 300 && (m <= 1 || rsc >= n) {
        reached::hit(&reached::GEMM_EXACT);
        for i in 0..m {
            for j in 0..n {
                let dot: f64 = (0..k).map(|p| a.at(i, p) * b.at(p, j)).sum();
                let prev = if beta == 0.0 {
                    0.0
                } else {
                    f64::from(beta) * f64::from(before[i * rsc + j])
                };
                let mut want = f64::from(alpha) * dot + prev;
                if use_bias {
                    want += f64::from(bias[j]);
                }
                if relu {
                    want = want.max(0.0);
                }
                let got = c[i * rsc + j];
                assert_eq!(
                    f64::from(got),
                    want,
                    "gemm {m}×{n}×{k} ({isa:?}, packed {packed}) at ({i}, {j})"
                );
            }
        }
    }
}

fn fuzz_softmax(u: &mut Input) {
    let (rows, cols) = (u.size(64), u.size(300));
    let len = u.len_near(rows.checked_mul(cols));
    let (mut x, _) = u.buffer(len);
    // Mask some entries (fully masked rows included).
    for v in x.iter_mut() {
        if u.byte().is_multiple_of(4) {
            *v = f32::NEG_INFINITY;
        }
    }
    let isa = u.isa();
    let before = x.clone();
    let r = softmax_rows_with_isa(&mut x, rows, cols, isa);
    let valid = rows.checked_mul(cols) == Some(before.len()) && isa.is_available();
    assert_eq!(r.is_ok(), valid, "softmax: Ok iff valid: {r:?}");
    if r.is_err() || cols == 0 {
        return;
    }
    for (row, src) in x.chunks_exact(cols).zip(before.chunks_exact(cols)) {
        if src.iter().any(|v| v.is_nan() || *v == f32::INFINITY) {
            continue; // NaN poisons the row; +inf gives inf − inf
        }
        if src.iter().all(|&v| v == f32::NEG_INFINITY) {
            assert!(row.iter().all(|&p| p == 0.0), "fully masked row not zero");
            continue;
        }
        reached::hit(&reached::SOFTMAX_ROW);
        let sum: f64 = row.iter().map(|&p| f64::from(p)).sum();
        assert!(
            row.iter().all(|&p| (0.0..=1.0).contains(&p)),
            "probability outside [0, 1]: {row:?}"
        );
        assert!((sum - 1.0).abs() < 1e-4, "row sums to {sum}");
    }
}

fn fuzz_layer_norm(u: &mut Input) {
    let (rows, cols) = (u.size(32), u.size(300));
    let len = u.len_near(rows.checked_mul(cols));
    let (mut x, x_tame) = u.buffer(len);
    let g_len = if u.bool() { cols } else { u.size(8) };
    let b_len = if u.bool() { cols } else { u.size(8) };
    let (gamma, g_tame) = u.buffer(g_len);
    let (beta, b_tame) = u.buffer(b_len);
    let eps = match u.byte() % 5 {
        0 => 1e-12,
        1 => 1e-5,
        2 => 0.0,
        3 => -1e-5,
        _ => u.value().0,
    };
    let with_residual = u.bool();
    let res_len = u.len_near(rows.checked_mul(cols));
    let (residual, r_tame) = u.buffer(res_len);
    let isa = u.isa();
    let n_x = x.len();
    let r = if with_residual {
        add_layer_norm_with_isa(&mut x, &residual, rows, cols, &gamma, &beta, eps, isa)
    } else {
        layer_norm_with_isa(&mut x, rows, cols, &gamma, &beta, eps, isa)
    };
    let shapes = rows.checked_mul(cols) == Some(n_x)
        && gamma.len() == cols
        && beta.len() == cols
        && (!with_residual || residual.len() == n_x);
    let valid = shapes && eps.is_finite() && eps >= 0.0 && isa.is_available();
    assert_eq!(r.is_ok(), valid, "layer_norm: Ok iff valid: {r:?}");
    if r.is_ok() && x_tame && g_tame && b_tame && (r_tame || !with_residual) && eps >= 1e-5 {
        reached::hit(&reached::LAYER_NORM);
        assert!(
            x.iter().all(|v| v.is_finite()),
            "finite input, non-finite LayerNorm"
        );
    }
}

fn fuzz_activation(u: &mut Input) {
    let (rows, cols) = (u.size(32), u.size(200));
    let len = u.len_near(rows.checked_mul(cols));
    let (mut x, _) = u.buffer(len);
    let bias_len = if u.bool() { cols } else { u.size(8) };
    let (bias, _) = u.buffer(bias_len);
    let act = [
        Activation::Identity,
        Activation::Relu,
        Activation::Gelu,
        Activation::GeluTanh,
    ][u.below(4)];
    let isa = u.isa();
    let nan_in = x.iter().filter(|v| v.is_nan()).count();
    if u.bool() {
        let r = apply_with_isa(&mut x, act, isa);
        assert_eq!(r.is_ok(), isa.is_available());
        if r.is_ok() {
            reached::hit(&reached::ACTIVATION);
            let nan_out = x.iter().filter(|v| v.is_nan()).count();
            assert!(nan_out >= nan_in, "{act:?} swallowed a NaN");
        }
    } else {
        let r = bias_act_with_isa(&mut x, rows, cols, &bias, act, isa);
        let valid = rows.checked_mul(cols) == Some(x.len()) && bias.len() == cols;
        assert_eq!(r.is_ok(), valid && isa.is_available(), "bias_act: {r:?}");
    }
}

fn fuzz_attention(u: &mut Input) {
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

// ---------------------------------------------------------------------------------------------
// Model files
// ---------------------------------------------------------------------------------------------

/// A scratch directory for this process (files are rewritten per input).
fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let n = N.fetch_add(1, Ordering::Relaxed);
    base.join(format!("qkv-fuzz-{}-{n}-{name}", std::process::id()))
}

/// `[u16 LE n][n bytes of config.json][rest: model.safetensors]` through `BertConfig`,
/// `Weights` and, when both load, `BertModel::load` and a forward pass.
pub fn load_model_files(data: &[u8]) {
    let n = match data {
        [a, b, ..] => u16::from_le_bytes([*a, *b]) as usize,
        _ => 0,
    };
    let rest = data.get(2..).unwrap_or(&[]);
    let (cfg_bytes, st_bytes) = rest.split_at(n.min(rest.len()));

    let cfg_path = scratch("config.json");
    let st_path = scratch("model.safetensors");
    std::fs::write(&cfg_path, cfg_bytes).expect("write scratch config");
    std::fs::write(&st_path, st_bytes).expect("write scratch weights");

    let cfg = BertConfig::from_file(&cfg_path);
    // The file loader and the in-memory parse agree.
    let direct = serde_json::from_slice::<BertConfig>(cfg_bytes)
        .ok()
        .filter(|c| c.validate().is_ok());
    assert_eq!(
        cfg.as_ref().ok(),
        direct.as_ref(),
        "from_file vs parse+validate"
    );
    if let Ok(c) = &cfg {
        assert!(c.num_attention_heads > 0 && c.hidden_size % c.num_attention_heads == 0);
        assert!(c.parameter_count().is_some());
    }

    let w = Weights::open(&st_path);
    if let Ok(w) = &w {
        let names: Vec<String> = w.names().map(str::to_string).collect();
        for name in &names {
            let shape = w.shape(name).expect("listed name has a shape").to_vec();
            assert!(w.dtype(name).is_some());
            let elems = shape.iter().product::<usize>();
            match w.tensor(name, &shape) {
                Ok(v) => {
                    assert_eq!(v.len(), elems);
                    assert!(v.iter().all(|x| x.is_finite()));
                }
                Err(e) => assert!(matches!(
                    e,
                    qkv_encoder::Error::Dtype { .. } | qkv_encoder::Error::NonFinite { .. }
                )),
            }
            if let Ok((v, s)) = w.tensor_i64(name) {
                assert_eq!((v.len(), s), (elems, shape.clone()));
            }
            let mut wrong = shape.clone();
            wrong.push(1);
            assert!(w.tensor(name, &wrong).is_err());
        }
        assert!(w.tensor("no such tensor", &[1]).is_err());
    }

    if let (Ok(cfg), Ok(w)) = (&cfg, &w) {
        if let Ok(model) = BertModel::load(w, cfg) {
            let len = cfg.max_position_embeddings.min(5);
            let ids: Vec<u32> = (0..len as u32).map(|i| i % cfg.vocab_size as u32).collect();
            let seqs = [
                TokenSeq {
                    ids: &ids,
                    type_ids: None,
                },
                TokenSeq {
                    ids: &[],
                    type_ids: None,
                },
            ];
            let (mut ws, mut out) = (Workspace::default(), Vec::new());
            model
                .forward_with(&seqs, &mut ws, &mut out, None)
                .expect("a loaded model runs on valid ids");
            assert_eq!(out.len(), len * cfg.hidden_size);
            reached::hit(&reached::MODEL_FORWARD);
            let bad = [TokenSeq {
                ids: &[cfg.vocab_size as u32],
                type_ids: None,
            }];
            assert!(model.forward_with(&bad, &mut ws, &mut out, None).is_err());
        }
    }
    std::fs::remove_file(&cfg_path).ok();
    std::fs::remove_file(&st_path).ok();
}
