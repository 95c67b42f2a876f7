//! The five loops around the microkernel (BLIS order), with (row block, column panels) tasks
//! spread over threads by `crate::par`. K is never split across threads, so every element of C is summed in the same
//! order whatever the thread count: results are bit-identical for 1 and N threads.

use super::blocking::{a_in_place, b_in_place, mc, KC, NC, PARALLEL_MIN_FLOPS, PARALLEL_PACK_MIN};
use super::kernel::{dispatch_tile, tile_dims_lanes, Epilogue, TileArgs, TileOp, TileShape};
use super::pack::{pack_a_for, pack_b_for, packed_a_len, Panels};
use super::packed::PackedMatrix;
use super::scratch::PackBuffers;
use crate::cache::caches;
use crate::isa::Isa;
use crate::mat::MatRef;
use crate::ops::activation::{act_row, Activation};
use crate::par;

/// Where B comes from: a view packed per call, or a matrix packed once.
pub(crate) enum BSource<'a> {
    View(MatRef<'a>),
    Packed(&'a PackedMatrix),
}

/// C as a raw pointer that parallel tasks may share: each task writes a disjoint set of tiles.
#[derive(Clone, Copy)]
struct CPtr(*mut f32);
// SAFETY: tasks write disjoint tiles of C (distinct (row block, column panel) pairs), and the
// pointer outlives the parallel region, which joins before `run` returns.
unsafe impl Send for CPtr {}
// SAFETY: as above.
unsafe impl Sync for CPtr {}

/// Everything `run` needs about one product `C ← α·A·B + β·C`.
pub(crate) struct Problem<'a> {
    pub isa: Isa,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub alpha: f32,
    pub beta: f32,
    pub a: MatRef<'a>,
    pub b: BSource<'a>,
    pub c: *mut f32,
    pub rsc: usize,
    pub bias: Option<&'a [f32]>,
    pub epi: Epilogue,
    pub parallel: bool,
}

/// Runs the product. The caller has validated shapes, strides and buffer lengths.
pub(crate) fn run(p: Problem) {
    let (m, n, k) = (p.m, p.n, p.k);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        scale_only(&p);
        return;
    }
    let (mr, nr, lanes) = tile_dims_lanes(p.isa);
    // B̃'s panels: NR wide, the last one of N only as wide as its vectors (tile_narrow).
    let b_panels = Panels {
        lanes: nr,
        step: lanes,
    };
    let flops = 2usize.saturating_mul(m).saturating_mul(n).saturating_mul(k);
    let threads = if p.parallel && flops >= PARALLEL_MIN_FLOPS {
        rayon::current_num_threads()
    } else {
        1
    };
    let c = CPtr(p.c);
    // A row-major B may be read where it lies instead of packed (`b_in_place`); only a last
    // panel of N that is not a whole number of vectors is packed then (into b_buf).
    let in_place = match p.b {
        BSource::View(b) => b_in_place(b, m),
        BSource::Packed(_) => false,
    };
    let b_len = match p.b {
        BSource::View(_) if in_place => nr * KC.min(k),
        BSource::View(_) => b_panels.len(NC.min(n), KC.min(k)),
        BSource::Packed(_) => 0,
    };
    // A few rows of a row-major A are read where they lie (`a_in_place`): no Ã to pack.
    let a_rows = a_in_place(p.a);
    let a_buf_len = if a_rows {
        0
    } else {
        packed_a_len(m, KC.min(k), mr)
    };
    let mut bufs = PackBuffers::take(a_buf_len, b_len);
    let PackBuffers {
        a: a_buf, b: b_buf, ..
    } = &mut bufs;

    let grid = Grid::new(m, NC.min(n).div_ceil(nr), mr, threads);
    // Prefetch each C tile before its k loop only when C does not fit the L2: its stores then
    // fetch lines from memory, which the prefetch overlaps with the FMAs (2048×64×1536: 16 %);
    // a C that fits is still in cache from the last K block or the last call, and the 32
    // prefetches per tile only cost (1–2 % at K = 64: 128×64×384).
    let prefetch_c = m.saturating_mul(n).saturating_mul(4) > caches().l2;

    // Loop 5 (jc): N in blocks of NC.
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        // Loop 4 (pc): K in blocks of KC, in order (never parallel: C accumulates).
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            let beta = if pc == 0 { p.beta } else { 1.0 };
            let last = pc + kc == k;

            // Pack B̃ (KC × NC) unless it was packed at load time or is read in place.
            let b_block = match &p.b {
                BSource::Packed(pm) => BBlock::Packed(pm.block(pc, jc, kc)),
                BSource::View(b) if in_place => {
                    // The last panel, when its width is not a whole number of vectors.
                    let j_edge = (nc - 1) / nr * nr;
                    let edge = (nc - j_edge) % lanes != 0;
                    let len = if edge {
                        b_panels.len(nc - j_edge, kc)
                    } else {
                        0
                    };
                    if edge {
                        let dst = &mut b_buf[..len];
                        pack_b_for(p.isa, b, jc + j_edge, nc - j_edge, pc, kc, b_panels, dst);
                    }
                    BBlock::InPlace {
                        data: b.data(),
                        off: pc * b.row_stride() + jc,
                        ld: b.row_stride(),
                        edge: edge.then_some(j_edge / nr),
                        edge_panel: &b_buf[..len],
                    }
                }
                BSource::View(b) => {
                    let len = b_panels.len(nc, kc);
                    let panel = nr * kc;
                    let dst = &mut b_buf[..len];
                    if threads > 1 && len >= PARALLEL_PACK_MIN {
                        par::for_each_chunk_mut(dst, panel, |j, d| {
                            let j0 = jc + j * nr;
                            pack_b_for(p.isa, b, j0, nr.min(jc + nc - j0), pc, kc, b_panels, d)
                        });
                    } else {
                        pack_b_for(p.isa, b, jc, nc, pc, kc, b_panels, dst);
                    }
                    BBlock::Packed(&b_buf[..len])
                }
            };

            // Pack Ã for all rows of A at this depth. Panels are independent, so threads split
            // them evenly (not by row block: M = 128 is a single block); a small Ã (a few
            // sentences) is packed in place, where a fork/join would cost more than the copy.
            let a_len = if a_rows { 0 } else { packed_a_len(m, kc, mr) };
            let a_block_len = grid.rows_per * kc; // rows_per is a multiple of MR
            if !a_rows {
                let m_panels = m.div_ceil(mr);
                let threads = if a_len >= PARALLEL_PACK_MIN {
                    threads
                } else {
                    1
                };
                let per = if threads > 1 {
                    m_panels.div_ceil(2 * threads)
                } else {
                    m_panels
                };
                let pack = |(ic, d): (usize, &mut [f32])| {
                    let i0 = ic * per * mr;
                    pack_a_for(p.isa, &p.a, i0, (per * mr).min(m - i0), pc, kc, mr, d)
                };
                let dst = &mut a_buf[..a_len];
                if threads > 1 {
                    par::for_each_chunk_mut(dst, per * mr * kc, |ic, d| pack((ic, d)));
                } else {
                    pack((0, dst));
                }
            }
            let a_packed = &a_buf[..a_len];

            // Loops 3, 2, 1 (ic, jr, ir) as tasks of (row block, range of column panels).
            let n_panels = nc.div_ceil(nr);
            let chunk = n_panels.div_ceil(grid.n_chunks);
            let chunks = n_panels.div_ceil(chunk);
            let task = |t: usize| {
                let (ib, jchunk) = (t / chunks, t % chunks);
                let i0 = ib * grid.rows_per;
                let jp0 = jchunk * chunk;
                let a = match a_rows {
                    false => ABlock::Packed(&a_packed[ib * a_block_len..]),
                    true => ABlock::InPlace {
                        data: p.a.data(),
                        off: i0 * p.a.row_stride() + pc,
                        ld: p.a.row_stride(),
                    },
                };
                let op = MacroKernel {
                    a,
                    b: b_block,
                    c,
                    rsc: p.rsc,
                    i0,
                    mc: grid.rows_per.min(m - i0),
                    jc,
                    nc,
                    kc,
                    jp: jp0..(jp0 + chunk).min(n_panels),
                    alpha: p.alpha,
                    beta,
                    bias: if last { p.bias } else { None },
                    epi: if last { p.epi } else { Epilogue::default() },
                    prefetch_c,
                };
                dispatch_tile(p.isa, op);
            };
            let m_blocks = m.div_ceil(grid.rows_per);
            if threads > 1 {
                par::for_each(m_blocks * chunks, task);
            } else {
                (0..m_blocks * chunks).for_each(task);
            }
        }
    }
}

/// How one (jc, pc) block is cut into tasks: row blocks of `rows_per` rows (≤ mc(), a multiple
/// of MR) times `n_chunks` ranges of column panels. One thread gets one task per mc() rows; with
/// more threads the grid aims at 2 tasks per thread (1 for a few rows), splitting N first (the
/// B̃ panels are shared) and M when N has too few panels (e.g. N = 384 is only 8 panels of 48).
struct Grid {
    rows_per: usize,
    n_chunks: usize,
}

/// Up to this many rows a product gets one task per thread: each thread then streams one
/// contiguous run of B̃ panels, where finer tasks interleave them (15-token MiniLM pass, 2
/// threads, Zen 4: p50 8 % lower than with 2 tasks per thread, 10 % higher with 4; passes of 1–8
/// sentences level or better). Larger products keep 2 per thread to even out the tail.
const ONE_TASK_PER_THREAD_MAX_M: usize = 256;

impl Grid {
    fn new(m: usize, n_panels: usize, mr: usize, threads: usize) -> Grid {
        let per_thread = if m <= ONE_TASK_PER_THREAD_MAX_M { 1 } else { 2 };
        let target = if threads > 1 { per_thread * threads } else { 1 };
        let n_chunks = n_panels.clamp(1, target);
        let m_panels = m.div_ceil(mr).max(1);
        let m_chunks = m
            .div_ceil(mc())
            .max(target.div_ceil(n_chunks))
            .clamp(1, m_panels);
        let rows_per = m_panels.div_ceil(m_chunks) * mr;
        Grid { rows_per, n_chunks }
    }
}

/// K = 0: the product is zero, so C ← β·C, then the epilogue.
fn scale_only(p: &Problem) {
    for i in 0..p.m {
        // SAFETY: the caller validated that C holds m rows of n values at stride rsc.
        let row = unsafe { std::slice::from_raw_parts_mut(p.c.add(i * p.rsc), p.n) };
        for (j, v) in row.iter_mut().enumerate() {
            let mut x = if p.beta == 0.0 { 0.0 } else { p.beta * *v };
            if let Some(b) = p.bias {
                x += b[j];
            }
            x = p.epi.act.apply_scalar(x);
            *v = x;
        }
    }
}

/// The B block of one (jc, pc) step, as the tasks read it.
#[derive(Clone, Copy)]
enum BBlock<'a> {
    /// Packed panels (`Panels` widths), one after the other.
    Packed(&'a [f32]),
    /// A row-major B read where it lies: element (p, j) of the block (depth pc + p, column
    /// jc + j) is `data[off + p·ld + j]`, except the panel `edge`, packed in `edge_panel`.
    InPlace {
        data: &'a [f32],
        off: usize,
        ld: usize,
        edge: Option<usize>,
        edge_panel: &'a [f32],
    },
}

/// The A block of one task, as its tiles read it.
#[derive(Clone, Copy)]
enum ABlock<'a> {
    /// Packed Ã panels of MR rows, one after the other.
    Packed(&'a [f32]),
    /// A row-major A read where it lies: row r of the block, depth p, is `data[off + r·ld + p]`.
    InPlace {
        data: &'a [f32],
        off: usize,
        ld: usize,
    },
}

/// One task: rows `i0..i0+mc` of C against the column panels `jp` of the B block.
struct MacroKernel<'a> {
    a: ABlock<'a>,
    b: BBlock<'a>,
    c: CPtr,
    rsc: usize,
    i0: usize,
    mc: usize,
    jc: usize,
    nc: usize,
    kc: usize,
    jp: std::ops::Range<usize>,
    alpha: f32,
    beta: f32,
    bias: Option<&'a [f32]>,
    epi: Epilogue,
    prefetch_c: bool,
}

impl TileOp for MacroKernel<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: TileShape>(self, s: S) {
        let (mr, nr, kc) = (S::MR, S::NR, self.kc);
        match self.a {
            ABlock::Packed(a) => assert!(a.len() >= self.mc.div_ceil(mr) * mr * kc),
            // Every row of the block holds kc values from its offset.
            ABlock::InPlace { data, off, ld } => {
                assert!(self.mc > 0 && off + (self.mc - 1) * ld + kc <= data.len())
            }
        }
        // Panels before jp.end are NR wide but the last of N, which is narrow (Panels).
        let panels = Panels {
            lanes: nr,
            step: S::LANES,
        };
        let span = self.nc.min(self.jp.end * nr);
        match self.b {
            BBlock::Packed(b) => assert!(b.len() >= panels.len(span, kc)),
            BBlock::InPlace {
                data,
                off,
                ld,
                edge,
                edge_panel,
            } => {
                // Every step of every column of the block before span lies in data.
                assert!(off + (kc - 1) * ld + span <= data.len());
                if let Some(e) = edge {
                    assert!(edge_panel.len() >= panels.len(self.nc - e * nr, kc));
                }
            }
        }
        let mut t = TileArgs {
            kc,
            alpha: self.alpha,
            beta: self.beta,
            rsc: self.rsc,
            epi: self.epi,
            a: std::ptr::null(),
            a_rs: match self.a {
                ABlock::Packed(_) => 0,
                ABlock::InPlace { ld, .. } => ld.max(1),
            },
            b: std::ptr::null(),
            b_next: std::ptr::null(),
            b_rs: 0,
            prefetch_c: self.prefetch_c,
        };
        // Loop 2 (jr): column panels; the B micro-panel stays hot across loop 1.
        for jp in self.jp.clone() {
            let j = jp * nr;
            let ncur = nr.min(self.nc - j);
            let bias = match self.bias {
                Some(b) => b[self.jc + j..].as_ptr(),
                None => std::ptr::null(),
            };
            (t.b, t.b_rs) = match self.b {
                // SAFETY: jp < jp.end and b holds the panels before jp.end (asserted above).
                BBlock::Packed(b) => (unsafe { b.as_ptr().add(jp * nr * kc) }, 0),
                BBlock::InPlace {
                    edge, edge_panel, ..
                } if edge == Some(jp) => (edge_panel.as_ptr(), 0),
                // off + j + (kc − 1)·ld + ncur ≤ data.len() (asserted above, j + ncur ≤ span);
                // ncur is a whole number of vectors (else this panel is the edge).
                BBlock::InPlace { data, off, ld, .. } => (data[off + j..].as_ptr(), ld),
            };
            // The next packed panel of the block (maybe another task's; only prefetched),
            // fetched into L2 during the first row panel's tile. A B read in place is not
            // prefetched this way (its rows are far apart).
            let next = matches!(self.b, BBlock::Packed(_)) && (jp + 1) * nr < self.nc;
            let b_next = t.b.wrapping_add(if next { nr * kc } else { 0 });
            // Loop 1 (ir): row panels of the Ã block.
            for ip in 0..self.mc.div_ceil(mr) {
                let i = ip * mr;
                t.b_next = if ip == 0 && next {
                    b_next
                } else {
                    std::ptr::null()
                };
                t.a = match self.a {
                    // SAFETY: ip < ⌈mc/mr⌉ and a holds ⌈mc/mr⌉·mr·kc values (asserted above).
                    ABlock::Packed(a) => unsafe { a.as_ptr().add(ip * mr * kc) },
                    // Row i < mc of the block starts kc values inside data (asserted above).
                    ABlock::InPlace { data, off, ld } => data[off + i * ld..].as_ptr(),
                };
                // SAFETY: tile (i0+i, jc+j) of size min(mr, mc−i) × ncur lies inside C, which
                // the caller validated; bias (when set) has n ≥ jc+j+ncur values; the packed
                // panels have the lengths asserted above (the B̃ panel ⌈ncur/LANES⌉·LANES wide),
                // and B in place holds ncur = ⌈ncur/LANES⌉·LANES values at each of kc rows.
                unsafe {
                    let c = self.c.0.add((self.i0 + i) * self.rsc + self.jc + j);
                    s.tile_narrow(&t, c, mr.min(self.mc - i), ncur, bias);
                }
            }
        }
        // GELU over this task's block of C, still in cache (ReLU ran in the write-out).
        if !matches!(self.epi.act, Activation::Identity | Activation::Relu) {
            let (c0, c1) = (self.jc + self.jp.start * nr, self.jc + span);
            for i in 0..self.mc {
                // SAFETY: row i0 + i < M and columns c0..c1 ≤ N lie inside C (validated by the
                // caller); no other task writes them (tasks own disjoint tiles).
                let row = unsafe {
                    std::slice::from_raw_parts_mut(
                        self.c.0.add((self.i0 + i) * self.rsc + c0),
                        c1 - c0,
                    )
                };
                act_row(s, row, None, self.epi.act);
            }
        }
    }
}
