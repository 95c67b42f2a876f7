//! The register-blocked microkernel, written once and instantiated per instruction set.
//!
//! Contract (BLIS `gemm_ukr`): given `kc`, a packed A micro-panel (`kc` steps of `MR` values)
//! and a B micro-panel (`kc` steps of `NR = NV·LANES` values: packed, one step after the
//! other, or a row-major B read in place, one step per row), compute the `MR×NR` tile
//! `AB = Ã·B̃` in registers and write `C ← α·AB + β·C` (C is not read when β = 0), then the
//! epilogue (bias per column, activation) if this is the last K block.
//!
//! Kernel selection sits here beside the tile traits (matrixmultiply's `kernel.rs` shape):
//! [`dispatch_tile`] runs a [`TileOp`] with the token of an ISA, whose [`TileShape`] gives the
//! register tile. Dependencies run one way: driver (`loops`) → selection → kernels → `simd`.

use crate::isa::{define_dispatch, Isa};
use crate::ops::activation::Activation;
use crate::simd::Simd;

/// What happens to a finished tile after α·AB + β·C + bias (only on the last K block).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Epilogue {
    /// The activation. ReLU runs on the tile's registers; GELU on each task's block of C right
    /// after its tiles (`loops::MacroKernel`), while it is in cache, by the same `act_row` as
    /// `ops::activation::apply` (the same bits). Inlined into every one of the 24 write-outs
    /// of every tile instance, its polynomial multiplied the kernels' code (an ASan build of
    /// qkv-core then took over 13 minutes and 8 GB).
    pub act: Activation,
}

/// A GEMM computation generic over an ISA with a register tile, run by [`dispatch_tile`].
pub(crate) trait TileOp {
    type Output;
    fn run<S: TileShape>(self, s: S) -> Self::Output;
}

define_dispatch! {
    /// Runs a [`TileOp`] with the token of `isa` (the crate's SIMD dispatch, for ops that also
    /// need the ISA's register-tile shape).
    pub(crate) fn dispatch_tile<Op: TileOp>
}

/// `(MR, NR, LANES)` of the microkernel of `isa`: the narrow tail panel of a packed B is a
/// whole number of LANES wide (see [`TileShape::tile_narrow`]).
pub(crate) fn tile_dims_lanes(isa: Isa) -> (usize, usize, usize) {
    struct Dims;
    impl TileOp for Dims {
        type Output = (usize, usize, usize);
        fn run<S: TileShape>(self, _: S) -> (usize, usize, usize) {
            (S::MR, S::NR, S::LANES)
        }
    }
    dispatch_tile(isa, Dims)
}

/// Register-tile shape of one ISA and its instantiated microkernel. `MR·NV` accumulators + `NV`
/// B registers + 1 broadcast must fit the register file; `MR·NV` must cover FMA latency × FMA
/// ports to keep both ports busy.
pub(crate) trait TileShape: Simd {
    /// Rows of the micro-tile (rows of A per packed panel).
    const MR: usize;
    /// Columns of the micro-tile (columns of B per packed panel), `NV · LANES`.
    const NR: usize;
    /// [`microkernel`] instantiated with this shape.
    ///
    /// # Safety
    /// As for [`microkernel`].
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile(self, t: &TileArgs, c: *mut f32, mr: usize, nr: usize, bias: *const f32);

    /// The tile as narrow as the part of C it covers: the rows rounded up to 1, 2, 4 or MR
    /// and the columns to whole vectors, so an edge tile of 1 row or 16 columns does not pay
    /// for 8 × 48 (M = 1 runs 8× fewer FMAs, N = 64 a third fewer). B̃'s panel must be packed
    /// `⌈nr / LANES⌉ · LANES` wide (a full panel: NR); Ã's panel is MR wide as always.
    ///
    /// # Safety
    /// As for [`microkernel`], with `t.b` holding `⌈nr / LANES⌉ · LANES` values at each of
    /// its `kc` steps.
    unsafe fn tile_narrow(self, t: &TileArgs, c: *mut f32, mr: usize, nr: usize, bias: *const f32);
}

/// Implements [`TileShape`] for a token with `MR` rows and `NV` vectors per row.
macro_rules! tile_shape {
    ($token:ty, $mr:literal, $nv:literal) => {
        impl TileShape for $token {
            const MR: usize = $mr;
            const NR: usize = $nv * <$token as Simd>::LANES;
            #[inline(always)]
            unsafe fn tile(
                self,
                t: &TileArgs,
                c: *mut f32,
                mr: usize,
                nr: usize,
                bias: *const f32,
            ) {
                // SAFETY: forwarded from the caller's contract.
                unsafe {
                    if t.a_rs == 0 {
                        microkernel::<$token, $mr, $nv, $mr, false>(self, t, c, mr, nr, bias)
                    } else {
                        microkernel::<$token, $mr, $nv, $mr, true>(self, t, c, mr, nr, bias)
                    }
                }
            }
            #[inline(always)]
            unsafe fn tile_narrow(
                self,
                t: &TileArgs,
                c: *mut f32,
                mr: usize,
                nr: usize,
                bias: *const f32,
            ) {
                // SAFETY: forwarded from the caller's contract.
                unsafe { narrow::<$token, $mr, $nv>(self, t, c, mr, nr, bias) }
            }
        }
    };
}

/// [`TileShape::tile_narrow`]: picks the instance of [`microkernel`] with `rows ∈ {1, 2, 4,
/// MR}` and `nv = ⌈nr / LANES⌉` vectors, stepping Ã by MR and B by `nv · LANES` per k (a
/// packed panel) or by `t.b_rs` (B in place).
///
/// # Safety
/// As for [`TileShape::tile_narrow`].
#[inline(always)]
unsafe fn narrow<S: Simd, const MR: usize, const NV: usize>(
    s: S,
    t: &TileArgs,
    c: *mut f32,
    mr: usize,
    nr: usize,
    bias: *const f32,
) {
    if t.a_rs == 0 {
        // SAFETY: forwarded from the caller's contract.
        unsafe { narrow_a::<S, MR, NV, false>(s, t, c, mr, nr, bias) }
    } else {
        // SAFETY: as above.
        unsafe { narrow_a::<S, MR, NV, true>(s, t, c, mr, nr, bias) }
    }
}

/// [`narrow`] for Ã packed (`A_ROWS = false`) or A read in place (`true`).
///
/// # Safety
/// As for [`TileShape::tile_narrow`].
#[inline(always)]
unsafe fn narrow_a<S: Simd, const MR: usize, const NV: usize, const A_ROWS: bool>(
    s: S,
    t: &TileArgs,
    c: *mut f32,
    mr: usize,
    nr: usize,
    bias: *const f32,
) {
    let nv = nr.div_ceil(S::LANES).clamp(1, NV);
    macro_rules! by_nv {
        ($rows:expr) => {
            // SAFETY: `rows ≥ mr` and `nv · LANES ≥ nr` cover the part of C written; the
            // panels hold what the caller's contract says for these steps.
            unsafe {
                match nv {
                    1 => microkernel::<S, { $rows }, 1, MR, A_ROWS>(s, t, c, mr, nr, bias),
                    2 if NV > 2 => {
                        microkernel::<S, { $rows }, 2, MR, A_ROWS>(s, t, c, mr, nr, bias)
                    }
                    3 if NV > 3 => {
                        microkernel::<S, { $rows }, 3, MR, A_ROWS>(s, t, c, mr, nr, bias)
                    }
                    _ => microkernel::<S, { $rows }, NV, MR, A_ROWS>(s, t, c, mr, nr, bias),
                }
            }
        };
    }
    if mr <= 1 {
        by_nv!(1)
    } else if mr <= 2 {
        by_nv!(2)
    } else if mr <= 4 && MR > 4 {
        by_nv!(4)
    } else {
        by_nv!(MR)
    }
}

// AVX-512: 8×48 uses 24 accumulators + 3 B registers + 1 broadcast = 28 of 32 zmm; 24
// independent FMAs ≥ latency 4 × 2 ports. MR = 8 divides the token counts transformers see
// (seq 128, 512) and NR = 48 divides d_model 384/768 and d_ff 1536/3072: no padding waste there.
#[cfg(target_arch = "x86_64")]
tile_shape!(crate::simd::x86::Avx512, 8, 3);
// AVX2: the classic Haswell 6×16: 12 accumulators + 2 B + 1 broadcast = 15 of 16 ymm.
#[cfg(target_arch = "x86_64")]
tile_shape!(crate::simd::x86::Avx2, 6, 2);
// wide::f32x8: 6×8 → 6 accumulators (12 xmm on SSE2, 12 q registers on NEON).
tile_shape!(crate::simd::portable::Portable, 6, 1);
// Scalar: 4×4, 16 accumulators the compiler keeps in registers.
tile_shape!(crate::simd::scalar::Scalar, 4, 4);

/// Prefetch distance for B̃, in k steps (8 × 192 B ahead for AVX-512).
const PF_B: usize = 8;
/// Prefetch distance for Ã, in k steps.
const PF_A: usize = 16;

/// What stays the same for every micro-tile of one macro-kernel call.
#[derive(Clone, Copy)]
pub(crate) struct TileArgs {
    /// Depth of this K block.
    pub kc: usize,
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of the existing C (0: C is not read).
    pub beta: f32,
    /// Row stride of C.
    pub rsc: usize,
    /// Epilogue to apply (only on the last K block).
    pub epi: Epilogue,
    /// A micro-panel of this tile: packed, or the tile's first row of a row-major A.
    pub a: *const f32,
    /// 0 for a packed Ã panel; the row stride of a row-major A read in place, whose rows
    /// `mr..MR` of the tile are not read (the tile's last valid row stands in for them).
    pub a_rs: usize,
    /// B micro-panel of this tile: packed, or the tile's first column of a row-major B.
    pub b: *const f32,
    /// The B̃ micro-panel the next tiles will read (null: none), prefetched into L2 in step
    /// with this tile's k loop. With few rows per pass (one to a few sentences) every B̃ panel
    /// comes from memory once and is used by one or two tiles; fetching the next one while
    /// these compute overlaps the stream with the FMAs instead of stalling on it.
    pub b_next: *const f32,
    /// Values from one k step of B to the next: 0 for a packed panel (its width, `NV·LANES`),
    /// the row stride for a row-major B read in place.
    pub b_rs: usize,
    /// Prefetch the C tile before the k loop (worth it when C does not fit the L2).
    pub prefetch_c: bool,
}

/// One micro-tile of `MR` rows and `NV` vectors, over an Ã panel of `A_STEP ≥ MR` values per
/// k step (its first `MR` used) and a B panel of `NV·LANES` values per k step (`t.b_rs` apart,
/// or packed one after the other). `mr ≤ MR`, `nr ≤ NV·LANES` say how much of it lies inside
/// C; a partial tile is computed in full (the packed panels are zero-padded) and written with
/// masked stores. The arithmetic does not depend on where B comes from: a B read in place
/// gives the same bits as the same B packed.
///
/// # Safety
/// `t.a` must hold `kc·A_STEP` readable f32, and `t.b` `NV·LANES` readable f32 at each of its
/// `kc` steps (`t.b + p·step`, `step = t.b_rs` or `NV·LANES` when 0); `c` must be valid for
/// `mr` rows of `nr` f32 at row stride `t.rsc`; when `bias` is non-null it must hold `nr` f32.
/// With `A_ROWS` (A read in place) `t.a` must instead hold `kc` f32 at each of `mr ≥ 1` rows
/// `t.a_rs` apart.
#[inline(always)]
unsafe fn microkernel<
    S: Simd,
    const MR: usize,
    const NV: usize,
    const A_STEP: usize,
    const A_ROWS: bool,
>(
    s: S,
    t: &TileArgs,
    c: *mut f32,
    mr: usize,
    nr: usize,
    bias: *const f32,
) {
    let l = S::LANES;
    let nr_full = NV * l;
    let b_step = if t.b_rs == 0 { nr_full } else { t.b_rs };
    let (mut a, mut b, mut bn) = (t.a, t.b, t.b_next);
    // Where row i's value of a k step lies from `a`: packed, i; in place, i rows down, the
    // rows past the tile's edge reading its last row (their results are never written).
    let a_off: [usize; MR] = std::array::from_fn(|i| match A_ROWS {
        false => i,
        true => i.min(mr.max(1) - 1) * t.a_rs,
    });
    let a_step = if A_ROWS { 1 } else { A_STEP };
    let mut acc = [[s.zero(); NV]; MR];
    // Fetch the C tile now so its cache misses overlap the k loop instead of stalling the
    // write-out (pointer arithmetic only: a prefetch never faults). Also with β = 0: a store
    // to a line not in cache must fetch it first, and with a short K (64) and a C larger
    // than the L2 those fetches at the write-out cost as much as the tile's FMAs.
    for i in 0..if t.prefetch_c { mr } else { 0 } {
        let row = c.wrapping_add(i * t.rsc);
        let mut off = 0;
        while off < nr {
            s.prefetch(row.wrapping_add(off));
            off += 16;
        }
        s.prefetch(row.wrapping_add(nr - 1));
    }
    // The k loop: NV loads of B, MR broadcasts of A, MR·NV independent FMAs per step.
    for _ in 0..t.kc {
        let mut bv = [s.zero(); NV];
        for (j, v) in bv.iter_mut().enumerate() {
            // SAFETY: B holds NV·LANES values at each of the kc steps; this reads step p's.
            *v = unsafe { s.load(b.add(j * l)) };
            // Software prefetch PF_B steps ahead: each call restarts its streams, and the
            // hardware prefetcher ramps up too late for L2-resident panels.
            s.prefetch(b.wrapping_add(PF_B * b_step + j * l));
        }
        if !A_ROWS {
            s.prefetch(a.wrapping_add(PF_A * A_STEP));
        }
        if !bn.is_null() {
            for j in 0..NV {
                s.prefetch_l2(bn.wrapping_add(j * l));
            }
            bn = bn.wrapping_add(nr_full);
        }
        for (i, row) in acc.iter_mut().enumerate() {
            // SAFETY: Ã holds kc·A_STEP values and this step reads MR ≤ A_STEP of them; in
            // place, a_off[i] is one of the mr rows, each holding kc values from `a`.
            let av = unsafe { s.broadcast(a.add(a_off[i])) };
            for j in 0..NV {
                row[j] = s.mul_add(av, bv[j], row[j]);
            }
        }
        // SAFETY: advancing within (or one past) the packed panel / one row of B past its
        // last step (wrapping: B's last step may end its buffer).
        unsafe {
            a = a.add(a_step);
        }
        b = b.wrapping_add(b_step);
    }

    // Scale by α (skipped for the common α = 1).
    if t.alpha != 1.0 {
        let va = s.splat(t.alpha);
        for row in acc.iter_mut() {
            for v in row.iter_mut() {
                *v = s.mul(*v, va);
            }
        }
    }

    // Write out. A full tile goes straight to C; an edge tile uses masked (partial) loads and
    // stores with the same arithmetic, so a value does not depend on where its tile falls.
    // Every accumulator is named by constant indices (rows 0..8 × vectors 0..4, each behind
    // the tile's bounds): a loop over them with this body is not unrolled, and the whole tile
    // then went through the stack (a 1.5 KiB memset, 24 stores and 24 loads per tile: 1 % of
    // a pass at K = 384, several at K = 64).
    assert!(
        MR <= 8 && NV <= 4,
        "the write-out names 8 rows of 4 vectors"
    );
    let vbeta = s.splat(t.beta);
    macro_rules! vecs {
        ($i:literal: $($j:literal)*) => {$(
            if $j < NV && $j * l < nr {
                // SAFETY: row i < mr of the tile lies inside C, and so do its columns
                // j·L .. min(nr, (j + 1)·L); bias (when set) holds nr values.
                unsafe {
                    write_vec(s, t, acc[$i][$j], c.add($i * t.rsc), $j * l, nr, bias, vbeta)
                };
            }
        )*};
    }
    macro_rules! rows {
        ($($i:literal)*) => {$(
            if $i < MR && $i < mr {
                vecs!($i: 0 1 2 3);
            }
        )*};
    }
    rows!(0 1 2 3 4 5 6 7);
}

/// One vector of the write-out: `C[col..] ← act(v + β·C + bias)` for the `min(L, nr − col)`
/// columns from `col` (masked when fewer than L).
///
/// # Safety
/// `crow` must be valid for `nr` f32 (read when β ≠ 0), `bias` null or holding `nr` f32, and
/// `col < nr`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn write_vec<S: Simd>(
    s: S,
    t: &TileArgs,
    v: S::V,
    crow: *mut f32,
    col: usize,
    nr: usize,
    bias: *const f32,
    vbeta: S::V,
) {
    let l = S::LANES;
    let n = (nr - col).min(l);
    // SAFETY: columns col..col+n lie inside C's row (col + n ≤ nr), and inside bias.
    unsafe {
        let cp = crow.add(col);
        let mut v = if t.beta == 0.0 {
            v
        } else {
            // C is read only when β ≠ 0.
            let cv = if n == l {
                s.load(cp)
            } else {
                s.load_partial(cp, n, 0.0)
            };
            s.mul_add(vbeta, cv, v)
        };
        if !bias.is_null() {
            let bv = if n == l {
                s.load(bias.add(col))
            } else {
                s.load_partial(bias.add(col), n, 0.0)
            };
            v = s.add(v, bv);
        }
        if t.epi.act == Activation::Relu {
            // Data second so NaN propagates.
            v = s.max(s.zero(), v);
        }
        if n == l {
            s.store(cp, v)
        } else {
            s.store_partial(cp, n, v)
        }
    }
}
